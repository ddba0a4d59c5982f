/**
 * A load-mode producer worker of `generate --rate 0`: sends its share of the simulated stream
 * (event i when i mod stride = offset) with its own kafkajs producer. Protocol: a
 * {@link ProducerTask} in, `{ sent }` (or `{ error }`) out; `{ stop: true }` stops it early.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createKafka } from "../src/kafka.ts";
import { loadProducer, type ProducerTask, sendEvents, shareOf, streamOf } from "../src/generate.ts";

let stopped = false;

self.onmessage = async (e: MessageEvent<ProducerTask | { stop: true }>) => {
  if ("stop" in e.data) {
    stopped = true;
    return;
  }
  const task = e.data;
  try {
    const producer = loadProducer(
      createKafka(task.conn, `anomaly-flow-generator-${task.offset}`),
    );
    await producer.connect();
    try {
      const stream = streamOf(task.scenario, task.sensors, task.contract);
      const sent = await sendEvents({
        producer,
        topic: task.topic,
        events: shareOf(stream.events, task.offset, task.stride),
        stamp: stream.stamp,
        rate: 0,
        limit: task.limit,
        deadline: task.deadline,
        maxMessageBytes: task.maxMessageBytes,
        stopped: () => stopped,
      });
      self.postMessage({ sent });
    } finally {
      await producer.disconnect();
    }
  } catch (err) {
    self.postMessage({ error: String((err as Error)?.message ?? err) });
  }
};

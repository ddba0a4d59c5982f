/**
 * Checkpoints fit their topic: a checkpoint many times larger than the topic's
 * `max.message.bytes` is written in chunks and requests the broker accepts, and read back whole.
 */
import assert from "node:assert/strict";
import { readCheckpoints, writeCheckpoint } from "../../src/checkpoint.ts";
import { createProducer } from "../../src/kafka.ts";
import { createPipeline } from "../../src/pipeline.ts";
import { sensorEvents } from "../../src/sensors.ts";
import { testKafka } from "../helpers/kafka.ts";

Deno.test("a checkpoint far larger than its topic's limit is written in fitting chunks and read back whole", async () => {
  const topic = `ckpt-small-${crypto.randomUUID().slice(0, 8)}`;
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{
      topic,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [{ name: "max.message.bytes", value: "2048" }],
    }],
  });
  const now = 1_767_347_851;
  const values: Uint8Array[] = [];
  for (const { event } of sensorEvents({ seed: 3 })) {
    if (values.length === 3000) break;
    values.push(new TextEncoder().encode(JSON.stringify({ ...event, ts: now })));
  }
  const pipeline = await createPipeline({ workers: 1, now: () => now });
  const producer = createProducer(kafka);
  try {
    await pipeline.process(values);
    const state = await pipeline.snapshot();
    const checkpoint = { topic: "events", partition: 0, offset: "3000", state, takenAt: now };
    await producer.connect();
    const bytes = await writeCheckpoint(producer, topic, "g", checkpoint, {
      maxMessageBytes: 2048,
    });
    assert.ok(bytes > 3 * 2048, `the checkpoint (${bytes} bytes) needs several chunks`);
    const back = await readCheckpoints(kafka, topic, "g", "events", { timeoutMs: 20_000 });
    assert.deepEqual(back.get(0), checkpoint);
  } finally {
    await producer.disconnect();
    await pipeline.close();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});

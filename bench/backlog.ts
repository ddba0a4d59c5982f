/**
 * Backlog benchmark (`deno task bench backlog`): with the processor stopped, 500,000 records are
 * produced (95 % valid events, 5 % large bad records: 32 KiB of truncated JSON, 200 of them
 * within a few bytes of `MAX_EVENT_BYTES`, 1 MiB); the processor started afterwards drains them.
 * Prints the drain rate, the largest RSS seen (sampled every 250 ms) and whether it crashed.
 *
 * Bounded: 500,000 records (~850 MB), 600 s to drain. `BENCH_BACKLOG_RECORDS` sets the count.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Kafka, logLevel, type Message } from "kafkajs";
import { LOCAL_DIR, startBroker, stopBroker } from "../scripts/kafka.ts";
import { createProducer } from "../src/kafka.ts";
import { groupByBytes, recordBudget } from "../src/outbox.ts";
import { ensureTopics } from "../src/topics.ts";
import { committed, startProcessor } from "../tests/helpers/processor.ts";
import { report } from "./report.ts";

const BROKER = {
  port: 29092,
  controllerPort: 29094,
  dataDir: `${LOCAL_DIR}/bench-kafka`,
  heap: "1g",
};
const MAX_EVENT_BYTES = 1 << 20;

function record(i: number, now: number): Message {
  if (i % 20 !== 7) {
    return {
      key: `sensor-${i % 12}`,
      value: JSON.stringify({ sensor_id: `sensor-${i % 12}`, ts: now, value: (i % 97) / 50 - 1 }),
    };
  }
  const big = i % 2500 === 7; // 200 in 500,000
  const bytes = big ? MAX_EVENT_BYTES - 3 : 32 * 1024;
  const head = `{"sensor_id":"s-${i}","ts":1,"value":"`;
  return { key: `bad-${i}`, value: Buffer.from(head + "x".repeat(bytes - head.length)) };
}

/** Runs the backlog drain; prints `name=value` lines. */
export async function benchBacklog(): Promise<void> {
  const n = Number(Deno.env.get("BENCH_BACKLOG_RECORDS") ?? 500_000);
  const broker = await startBroker(BROKER);
  const topic = `backlog-${Date.now()}`;
  await ensureTopics(broker.address, [{
    topic,
    numPartitions: 4,
    configEntries: [{ name: "max.message.bytes", value: String(2 * MAX_EVENT_BYTES) }],
  }]);
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
  const producer = createProducer(kafka);
  await producer.connect();
  const now = Date.now() / 1000;
  const producedAt = performance.now();
  const budget = recordBudget(2 * MAX_EVENT_BYTES);
  for (let i = 0; i < n; i += 5000) {
    const chunk = Array.from({ length: Math.min(5000, n - i) }, (_, k) => record(i + k, now));
    for (const group of groupByBytes(chunk, budget)) {
      await producer.send({ topic, acks: -1, messages: group });
    }
  }
  await producer.disconnect();
  report("backlog_records", n);
  report("backlog_produce_sec", ((performance.now() - producedAt) / 1000).toFixed(1));
  const group = `backlog-${topic}`;
  const started = performance.now();
  const p = await startProcessor({
    KAFKA_BROKER: broker.address,
    TOPIC_EVENTS: topic,
    TOPIC_ALERTS: `${topic}.alerts`,
    TOPIC_DLQ: `${topic}.dlq`,
    CONSUMER_GROUP: group,
    CHECKPOINT_TOPIC: `${topic}.checkpoints`,
    FRESHNESS_MAX_LAG_SEC: "86400",
    WORKERS: "2",
  });
  let maxRss = 0;
  const sampler = setInterval(async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${p.child.pid}/status`);
      maxRss = Math.max(maxRss, Number(status.match(/VmRSS:\s+(\d+)/)![1]) / 1024);
    } catch {
      // exited
    }
  }, 250);
  let exited = false;
  p.status.then(() => exited = true);
  try {
    const deadline = Date.now() + 600_000;
    let done = 0;
    while (Date.now() < deadline && !exited) {
      done = [...(await committed(group, topic, kafka)).values()]
        .reduce((a, o) => a + Math.max(0, o), 0);
      if (done >= n) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const sec = (performance.now() - started) / 1000;
    report("backlog_drained", done);
    report("backlog_crashed", exited ? 1 : 0);
    report("backlog_drain_sec", sec.toFixed(1));
    report("backlog_drain_records_per_sec", Math.round(done / sec));
    report("backlog_rss_max_mb", maxRss.toFixed(0));
  } finally {
    clearInterval(sampler);
    p.child.kill("SIGTERM");
    await p.status;
    await stopBroker(BROKER);
  }
}

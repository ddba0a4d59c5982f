/**
 * Soak benchmark: the processor (2 workers) under a steady 10,000 events/s from the generator for
 * `BENCH_SOAK_SEC` seconds (default 1800), on the bench broker. Samples every 30 s; prints RSS at
 * start and end and its growth, the processing rate per interval (min / max / mean), and the
 * largest consumer lag seen.
 *
 * @module
 */
import { LOCAL_DIR, startBroker, stopBroker } from "../scripts/kafka.ts";
import { ensureTopics } from "../src/topics.ts";
import { startProcessor } from "../tests/helpers/processor.ts";
import { report } from "./report.ts";

const BROKER = {
  port: 29092,
  controllerPort: 29094,
  dataDir: `${LOCAL_DIR}/bench-kafka`,
  heap: "1g",
};
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

/** Runs the soak; prints `name=value` lines. */
export async function benchSoak(): Promise<void> {
  const seconds = Number(Deno.env.get("BENCH_SOAK_SEC") ?? 1800);
  const rate = Number(Deno.env.get("BENCH_SOAK_RATE") ?? 10_000);
  const sampleSec = Math.min(30, Math.max(5, Math.floor(seconds / 10)));
  const broker = await startBroker(BROKER);
  const topic = `soak-${Date.now()}`;
  await ensureTopics(broker.address, [
    { topic, numPartitions: 4 },
    { topic: `${topic}.alerts`, numPartitions: 1 },
    { topic: `${topic}.dlq`, numPartitions: 1 },
  ]);
  const p = await startProcessor({
    KAFKA_BROKER: broker.address,
    TOPIC_EVENTS: topic,
    TOPIC_ALERTS: `${topic}.alerts`,
    TOPIC_DLQ: `${topic}.dlq`,
    CONSUMER_GROUP: `soak-${topic}`,
    CHECKPOINT_TOPIC: `${topic}.checkpoints`,
    WORKERS: "2",
  });
  const generator = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "generate", "--rate", String(rate), "--duration", String(seconds)],
    env: { KAFKA_BROKER: broker.address, TOPIC_EVENTS: topic, LOG_LEVEL: "warning" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const rss = async () =>
    Number((await Deno.readTextFile(`/proc/${p.child.pid}/status`)).match(/VmRSS:\s+(\d+)/)![1]) /
    1024;
  const lag = async () => {
    const text = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
    return text.split("\n").filter((l) => l.startsWith("consumer_lag{"))
      .reduce((a, l) => a + Number(l.split(" ")[1]), 0);
  };
  const rates: number[] = [];
  const rssSamples: number[] = [];
  let maxLag = 0;
  try {
    await new Promise((r) => setTimeout(r, sampleSec * 1000)); // warm-up interval, not counted
    let last = await p.metric("processed_records_total");
    let lastAt = performance.now();
    rssSamples.push(await rss());
    const end = Date.now() + (seconds - sampleSec) * 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, sampleSec * 1000));
      const now = await p.metric("processed_records_total");
      const at = performance.now();
      rates.push((now - last) / ((at - lastAt) / 1000));
      last = now;
      lastAt = at;
      rssSamples.push(await rss());
      maxLag = Math.max(maxLag, await lag());
    }
    await generator.status;
    const first = rssSamples[0], final = rssSamples.at(-1)!;
    report("soak_seconds", seconds);
    report("soak_target_events_per_sec", rate);
    report("soak_processed", last);
    report("soak_rss_start_mb", first.toFixed(0));
    report("soak_rss_end_mb", final.toFixed(0));
    report("soak_rss_max_mb", Math.max(...rssSamples).toFixed(0));
    report("soak_rss_growth_pct", ((final / first - 1) * 100).toFixed(1));
    report("soak_rate_min", Math.round(Math.min(...rates)));
    report("soak_rate_max", Math.round(Math.max(...rates)));
    report("soak_rate_mean", Math.round(rates.reduce((a, b) => a + b, 0) / rates.length));
    report("soak_max_lag", maxLag);
  } finally {
    try {
      generator.kill("SIGTERM");
    } catch {
      // ended
    }
    p.child.kill("SIGTERM");
    await p.status;
    await stopBroker(BROKER);
  }
}

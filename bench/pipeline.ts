/**
 * Pipeline benchmark through a real broker (its own, on port 29092): end-to-end events/s of
 * `process` (1 and 4 partitions, 1 and 2 workers) against the raw kafkajs consume-only rate on
 * the same topic, measured in the same run; event-to-alert latency and RSS (2 workers) at 20
 * events/s; RSS at full load.
 *
 * The same is measured for the payments example contract (`contracts/payments.yaml`, 4
 * partitions, 2 workers): `pipeline_cpu_vs_raw` (the seed's event) and
 * `pipeline_cpu_vs_raw_payments` are CPU per event over the raw consumer's CPU per event on the
 * same topic, and `contract_cpu_payments_vs_seed` the ratio of the two (each the median of three
 * rounds, a round's ratio taken against the raw consumer's run just before the pipeline's). The
 * raw consumer is kafkajs decoding its own records, as a plain consumer does (with the product's
 * request-queue fix, as in every earlier run of these lines); `pipeline_cpu_vs_raw_same_decoder`
 * is the seed's pipeline against a raw consumer with the product's record decoder
 * (`kafkajs_decode.ts`), which makes consuming itself cheaper.
 *
 * Rates and CPU are the steady state's: the clocks start once 30 % of a topic was consumed, so
 * start-up (compilation, building the forest) is not spread over the events of a short run.
 *
 * `BENCH_PIPELINE_EVENTS` (default 200000) sets the number of events per topic, and
 * `BENCH_PIPELINE_CPU_EVENTS` (default 600000) that of the two topics the CPU ratios are measured
 * on ({@link CPU_EVENTS}).
 *
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
// The raw consumer runs on kafkajs with the product's request-queue fix, decoding its records
// itself (the plain consumer a user would write); it is also run with the product's record
// decoder (`kafkajs_decode.ts`), switched in the same process.
import "../src/kafkajs_fix.ts";
import { decodeWithKafkajs } from "../src/kafkajs_decode.ts";
import { LOCAL_DIR, startBroker, stopBroker } from "../scripts/kafka.ts";
import { sensorEvents } from "../src/sensors.ts";
import { loadContract } from "../src/contract/load.ts";
import { contractEvents, stampTime } from "../src/contract/generate.ts";
import { startProcessor, waitFor } from "../tests/helpers/processor.ts";
import { report } from "./report.ts";

/**
 * Share of a topic consumed before the clocks start: rates and CPU per event are the steady
 * state's, without start-up (compilation, the forest's construction, the first fetches).
 */
const STEADY_FROM = 0.3;

const BROKER = {
  port: 29092,
  controllerPort: 29094,
  dataDir: `${LOCAL_DIR}/bench-kafka`,
  heap: "1g",
};

function kafkaAt(address: string) {
  return new Kafka({ clientId: "bench", brokers: [address], logLevel: logLevel.NOTHING });
}

async function createTopic(kafka: Kafka, topic: string, partitions: number) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
  });
  await admin.disconnect();
}

type Message = { key: string; value: string; headers: { injected: string } };

/** The seed's events, `ts` = now. */
function* seedMessages(): Generator<Message> {
  const now = Date.now() / 1000;
  for (const { event, injected } of sensorEvents({ seed: 3 })) {
    event.ts = injected === "stale" ? now - 3 * 86400 : now;
    yield { key: event.sensor_id, value: JSON.stringify(event), headers: { injected } };
  }
}

/** The payments example's events, time = now. */
async function* paymentMessages(): AsyncGenerator<Message> {
  const contract = await loadContract(
    new URL("../contracts/payments.yaml", import.meta.url).pathname,
  );
  const stamp = stampTime(contract);
  const now = Date.now() / 1000;
  // The seed stream's mix: 3 % anomalies, 1.5 % data-quality faults.
  const fault = 0.015 / 6;
  const rates = {
    spike: 0.03,
    missing_field: fault,
    out_of_range: fault,
    bad_type: fault,
    bad_enum: fault,
    unknown_field: fault,
    stale: fault,
  };
  for (
    const { event, key, injected } of contractEvents(contract, { seed: 3, entities: 5, rates })
  ) {
    stamp(event, now, injected);
    yield { key, value: JSON.stringify(event), headers: { injected } };
  }
}

async function fill(
  kafka: Kafka,
  topic: string,
  n: number,
  source: Iterator<Message> | AsyncIterator<Message> = seedMessages(),
): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  const started = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let sent = 0; sent < n;) {
    const messages = [];
    for (let i = 0; i < 2000 && sent < n; i++, sent++) {
      messages.push((await source.next()).value as Message);
    }
    inflight.push(producer.send({ topic, acks: 1, messages }));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  const rate = n / ((performance.now() - started) / 1000);
  await producer.disconnect();
  return rate;
}

/** CPU seconds (user + system, all threads) used so far by process `pid`, from /proc. */
function cpuSeconds(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks of 1/100 s (CLK_TCK)
}

/**
 * Events per second of `kafkajs` consuming `topic` and nothing else, and its CPU per event; its
 * records decoded as kafkajs does (`decoder: "kafkajs"`, the raw consumer of `pipeline_cpu_vs_raw`)
 * or by the product's decoder (`"product"`).
 */
async function rawConsume(
  kafka: Kafka,
  topic: string,
  n: number,
  decoder: "kafkajs" | "product",
): Promise<{ rate: number; cpuUs: number }> {
  decodeWithKafkajs(decoder === "kafkajs");
  try {
    return await consumeOnly(kafka, topic, n);
  } finally {
    decodeWithKafkajs(false);
  }
}

async function consumeOnly(
  kafka: Kafka,
  topic: string,
  n: number,
): Promise<{ rate: number; cpuUs: number }> {
  const consumer = kafka.consumer({ groupId: `raw-${crypto.randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0, started = 0, cpuStarted = 0, from = 0;
  const done = new Promise<number>((resolve) => {
    consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        let bytes = 0;
        for (const m of batch.messages) bytes += m.value?.length ?? 0;
        seen += batch.messages.length;
        // Steady state: the clocks start once the first STEADY_FROM of the topic was consumed.
        if (started === 0 && seen >= STEADY_FROM * n) {
          started = performance.now();
          cpuStarted = cpuSeconds("self");
          from = seen;
        }
        if (bytes < 0) throw new Error("unreachable");
        resolveOffset(batch.lastOffset());
        await heartbeat();
        if (seen >= n) resolve(performance.now());
      },
    });
  });
  const ended = await done;
  const cpu = cpuSeconds("self") - cpuStarted;
  await consumer.disconnect();
  return { rate: (seen - from) / ((ended - started) / 1000), cpuUs: (cpu / (seen - from)) * 1e6 };
}

async function pipelineRate(
  address: string,
  topic: string,
  n: number,
  workers: number,
  extra: Record<string, string> = {},
) {
  const env = {
    ...extra,
    KAFKA_BROKER: address,
    TOPIC_EVENTS: topic,
    TOPIC_ALERTS: `${topic}.alerts`,
    TOPIC_DLQ: `${topic}.dlq`,
    CONSUMER_GROUP: `pipe-${crypto.randomUUID()}`,
    WORKERS: String(workers),
  };
  const p = await startProcessor(env);
  let first = 0, firstCount = 0, cpuFirst = 0;
  await waitFor(
    async () => {
      const done = await p.metric("processed_records_total");
      if (first === 0 && done > 0 && done >= STEADY_FROM * n) {
        first = performance.now();
        firstCount = done;
        cpuFirst = cpuSeconds(p.child.pid);
      }
      return done >= n;
    },
    600_000,
    "pipeline to process the topic",
  );
  const rate = (n - firstCount) / ((performance.now() - first) / 1000);
  const cpuUs = ((cpuSeconds(p.child.pid) - cpuFirst) / (n - firstCount)) * 1e6;
  const rss =
    Number((await Deno.readTextFile(`/proc/${p.child.pid}/status`)).match(/VmRSS:\s+(\d+)/)![1]) /
    1024;
  p.child.kill("SIGTERM");
  await p.status;
  return { rate, rss, cpuUs };
}

async function alertLatency(address: string): Promise<{ latencies: number[]; rss: number }> {
  const kafka = kafkaAt(address);
  const topic = `latency-${Date.now()}`;
  await createTopic(kafka, topic, 1);
  await createTopic(kafka, `${topic}.alerts`, 1);
  await createTopic(kafka, `${topic}.dlq`, 1);
  const p = await startProcessor({
    KAFKA_BROKER: address,
    TOPIC_EVENTS: topic,
    TOPIC_ALERTS: `${topic}.alerts`,
    TOPIC_DLQ: `${topic}.dlq`,
    CONSUMER_GROUP: `lat-${crypto.randomUUID()}`,
    WORKERS: "2",
    HST_WINDOW_SIZE: "100",
  });
  // 20 events/s for 40 s; after warm-up, every 10th event is an extreme value.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const events = sensorEvents({
    seed: 4,
    rates: { value: 0, temperature: 0, missing_value: 0, out_of_range: 0, stale: 0 },
  });
  const sentAt = new Map<number, number>();
  for (let i = 0; i < 800; i++) {
    const { event } = events.next().value!;
    const t = Date.now() / 1000;
    event.ts = t;
    if (i > 200 && i % 10 === 0) event.value = 80;
    sentAt.set(i, t);
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: event.sensor_id, value: JSON.stringify(event) }],
    });
    await new Promise((r) => setTimeout(r, 50));
  }
  await producer.disconnect();
  await waitFor(
    async () => (await p.metric("processed_records_total")) >= 800,
    30_000,
    "latency run processed",
  );
  const rss =
    Number((await Deno.readTextFile(`/proc/${p.child.pid}/status`)).match(/VmRSS:\s+(\d+)/)![1]) /
    1024;
  p.child.kill("SIGTERM");
  await p.status;
  const consumer = kafka.consumer({ groupId: `lat-read-${crypto.randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: `${topic}.alerts`, fromBeginning: true });
  const latencies: number[] = [];
  const admin = kafka.admin();
  await admin.connect();
  const [end] = await admin.fetchTopicOffsets(`${topic}.alerts`);
  await admin.disconnect();
  await new Promise<void>((resolve) => {
    consumer.run({
      eachMessage: ({ message }) => {
        const alert = JSON.parse(message.value!.toString());
        latencies.push(Number(message.timestamp) / 1000 - alert.ts);
        if (Number(message.offset) + 1 >= Number(end.high)) resolve();
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  return { latencies: latencies.sort((a, b) => a - b), rss };
}

/** Rounds of {@link compareContracts}. */
const ROUNDS = 3;
/**
 * Events per topic of {@link compareContracts} by default. At 200,000 a round's pipeline run
 * measured 140,000 events, about 1.3 s: its CPU per event moved 8.5–10.8 µs between the rounds
 * of one run (ratios 2.84 / 3.53 / 4.51), as a collection or a compilation fell inside the window
 * or not. At 600,000 (about 4 s) the same code read 8.1–8.7 µs (3.20 / 3.29 / 3.16), and on a
 * slower stretch of the machine 9.5–10.9 µs (4.06 / 3.42 / 3.45): steadier, not steady.
 */
const CPU_EVENTS = 600_000;
/** Runs of the raw consumer whose median is a round's raw figure. */
const RAW_RUNS = 3;

/** The median of `xs` (not empty). */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * CPU per event over the raw consumer's, 4 partitions and 2 workers, for the seed's event and for
 * the payments contract, the same mix of records (3 % anomalies, 1.5 % data-quality faults): in
 * {@link ROUNDS} rounds, each the raw consumer (the median of {@link RAW_RUNS} runs) then the
 * pipeline on each topic; per topic the median of the rounds' ratios. Prints each round's figures.
 */
async function compareContracts(kafka: Kafka, address: string, n: number) {
  const contractFile = new URL("../contracts/payments.yaml", import.meta.url).pathname;
  const topics = { seed: `cmp-seed-${Date.now()}`, payments: `cmp-payments-${Date.now()}` };
  for (const topic of Object.values(topics)) {
    await createTopic(kafka, topic, 4);
    await createTopic(kafka, `${topic}.alerts`, 1);
    await createTopic(kafka, `${topic}.dlq`, 1);
  }
  await fill(kafka, topics.seed, n);
  await fill(kafka, topics.payments, n, paymentMessages());
  // Each round runs the raw consumer then the pipeline on one topic, then on the other, and the
  // round's ratio is the pipeline's CPU per event over the raw consumer's just before it: the
  // machine's state drifts over minutes (the raw consumer alone moved 1.34–2.17 µs an event
  // across one session's runs), so a ratio of runs far apart measures the drift too. The figure
  // is the median of the rounds' ratios.
  const ratios = { seed: [] as number[], payments: [] as number[] };
  const raw = { seed: Infinity, payments: Infinity };
  // A raw run takes a fraction of a second of CPU, and one run's figure moved ±10 % against the
  // next: each round's raw figure is the median of RAW_RUNS runs.
  const rawOf = async (topic: string, decoder: "kafkajs" | "product" = "kafkajs") => {
    const runs: number[] = [];
    for (let r = 0; r < RAW_RUNS; r++) {
      runs.push((await rawConsume(kafka, topic, n, decoder)).cpuUs);
    }
    return median(runs);
  };
  // The seed's pipeline also against a raw consumer with the product's record decoder.
  const same: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const sameSeed = await rawOf(topics.seed, "product");
    const rawSeed = await rawOf(topics.seed);
    const seed = await pipelineRate(address, topics.seed, n, 2);
    const rawPay = await rawOf(topics.payments);
    const pay = await pipelineRate(address, topics.payments, n, 2, { CONTRACT_FILE: contractFile });
    raw.seed = Math.min(raw.seed, rawSeed);
    raw.payments = Math.min(raw.payments, rawPay);
    ratios.seed.push(seed.cpuUs / rawSeed);
    ratios.payments.push(pay.cpuUs / rawPay);
    report(`pipeline_cpu_us_per_event_seed_round${round}`, seed.cpuUs.toFixed(2));
    report(`raw_consume_cpu_us_per_event_seed_round${round}`, rawSeed.toFixed(2));
    report(`pipeline_cpu_vs_raw_round${round}`, (seed.cpuUs / rawSeed).toFixed(3));
    report(`raw_same_decoder_cpu_us_per_event_seed_round${round}`, sameSeed.toFixed(2));
    report(`pipeline_cpu_vs_raw_same_decoder_round${round}`, (seed.cpuUs / sameSeed).toFixed(3));
    same.push(seed.cpuUs / sameSeed);
    report(`pipeline_cpu_us_per_event_payments_round${round}`, pay.cpuUs.toFixed(2));
    report(`raw_consume_cpu_us_per_event_payments_round${round}`, rawPay.toFixed(2));
    report(`pipeline_events_per_sec_payments_round${round}`, Math.round(pay.rate));
  }
  report("raw_consume_cpu_us_per_event_seed_cmp", raw.seed.toFixed(2));
  report("raw_consume_cpu_us_per_event_payments", raw.payments.toFixed(2));
  return {
    seed: median(ratios.seed),
    payments: median(ratios.payments),
    sameDecoder: median(same),
  };
}

/** Runs the pipeline benchmark; prints `name=value` lines. */
export async function benchPipeline(): Promise<void> {
  const n = Number(Deno.env.get("BENCH_PIPELINE_EVENTS") ?? 200_000);
  await stopBroker(BROKER);
  await Deno.remove(BROKER.dataDir, { recursive: true }).catch(() => {});
  const broker = await startBroker(BROKER);
  try {
    const kafka = kafkaAt(broker.address);
    let best = 0, bestRaw = 0, rssWorkers2 = 0, bestCpu = 0, bestRawCpu = 0;
    for (const partitions of [1, 4]) {
      const topic = `bench-${partitions}p-${Date.now()}`;
      await createTopic(kafka, topic, partitions);
      await createTopic(kafka, `${topic}.alerts`, 1);
      await createTopic(kafka, `${topic}.dlq`, 1);
      const produced = await fill(kafka, topic, n);
      report(`produce_events_per_sec_${partitions}p`, Math.round(produced));
      const { rate: raw, cpuUs: rawCpu } = await rawConsume(kafka, topic, n, "kafkajs");
      report(`raw_consume_events_per_sec_${partitions}p`, Math.round(raw));
      report(`raw_consume_cpu_us_per_event_${partitions}p`, rawCpu.toFixed(2));
      for (const workers of [1, 2]) {
        const { rate, rss, cpuUs } = await pipelineRate(broker.address, topic, n, workers);
        report(`pipeline_events_per_sec_${partitions}p_w${workers}`, Math.round(rate));
        report(`pipeline_vs_raw_${partitions}p_w${workers}`, (rate / raw).toFixed(3));
        report(`pipeline_cpu_us_per_event_${partitions}p_w${workers}`, cpuUs.toFixed(2));
        report(`rss_mb_${partitions}p_w${workers}`, rss.toFixed(0));
        if (rate > best) {
          best = rate;
          bestRaw = raw;
          bestCpu = cpuUs;
          bestRawCpu = rawCpu;
        }
        if (workers === 2) rssWorkers2 = Math.max(rssWorkers2, rss);
      }
    }
    const cpuEvents = Number(Deno.env.get("BENCH_PIPELINE_CPU_EVENTS") ?? CPU_EVENTS);
    const contracts = await compareContracts(kafka, broker.address, cpuEvents);
    report("pipeline_cpu_vs_raw", contracts.seed.toFixed(3));
    report("pipeline_cpu_vs_raw_payments", contracts.payments.toFixed(3));
    // Against a raw consumer that decodes as cheaply as the pipeline's own consumer does.
    report("pipeline_cpu_vs_raw_same_decoder", contracts.sameDecoder.toFixed(3));
    report("contract_cpu_payments_vs_seed", (contracts.payments / contracts.seed).toFixed(3));
    report("pipeline_events_per_sec", Math.round(best));
    report("raw_consume_events_per_sec", Math.round(bestRaw));
    report("pipeline_vs_raw", (best / bestRaw).toFixed(3));
    // What the machine allows: the pipeline needs `pipeline_cpu_us_per_event` of CPU per event
    // (all its threads), so its cores bound its rate whatever the overlap.
    const cores = navigator.hardwareConcurrency;
    report("pipeline_cpu_us_per_event", bestCpu.toFixed(2));
    report("raw_consume_cpu_us_per_event", bestRawCpu.toFixed(2));
    report("cpu_cores", cores);
    report("pipeline_vs_raw_cpu_bound", ((cores * 1e6) / bestCpu / bestRaw).toFixed(3));
    report("rss_mb_full_load", rssWorkers2.toFixed(0));
    const { latencies: lat, rss } = await alertLatency(broker.address);
    report("rss_mb", rss.toFixed(0));
    const q = (p: number) =>
      (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 1000).toFixed(1);
    report("alert_latency_samples", lat.length);
    report("alert_latency_p50_ms", q(0.5));
    report("alert_latency_p99_ms", q(0.99));
  } finally {
    await stopBroker(BROKER);
  }
}

/** Generator load mode (`generate --rate 0`) into the bench broker; prints `generator_events_per_sec`. */
export async function benchGenerator(): Promise<void> {
  const n = Number(Deno.env.get("BENCH_GENERATOR_EVENTS") ?? 500_000);
  const broker = await startBroker(BROKER);
  try {
    const topic = `gen-${Date.now()}`;
    await createTopic(kafkaAt(broker.address), topic, 4);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../src/main.ts", import.meta.url).pathname,
        "generate",
        "--rate",
        "0",
        "--count",
        String(n),
      ],
      env: { KAFKA_BROKER: broker.address, TOPIC_EVENTS: topic },
      stdout: "null",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(out.stderr);
    const rate = log.match(/generator_done .*events_per_sec=(\d+)/)?.[1];
    if (!out.success || !rate) throw new Error(`generate failed:\n${log}`);
    report("generator_events", n);
    report("generator_events_per_sec", rate);
  } finally {
    await stopBroker(BROKER);
  }
}

/**
 * `generate`: simulated IoT sensors (src/sensors.ts) producing to `TOPIC_EVENTS`, keyed by
 * `sensor_id`, with the ground truth in the `injected` header (never in the JSON body).
 *
 * Flags (and environment): `--rate` (`GEN_RATE`, events/s, default 20; 0 = as fast as the broker
 * takes them, in batches), `--sensors` (`GEN_SENSORS`, 5), `--count` (`GEN_COUNT`, default
 * unbounded), `--duration` (`GEN_DURATION`, seconds), `--seed` (`GEN_SEED`, 1), and the injection
 * rates `--value-anomaly-rate`, `--temperature-anomaly-rate` (the seed's 0.02, 0.01).
 * `ts` is the wall clock at send time (three days earlier for `stale`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { ConfigError, loadConfig } from "./config.ts";
import { Partitioners } from "kafkajs";
import { createKafka, createProducer } from "./kafka.ts";
import { logger, setupLogging } from "./log.ts";
import { SEED_RATES, sensorEvents } from "./sensors.ts";
import { ensureTopics } from "./topics.ts";

const FLAGS = {
  rate: {
    env: "GEN_RATE",
    default: "20",
    schema: z.coerce.number().min(0).max(10_000_000),
    allowed: "a number >= 0",
  },
  sensors: {
    env: "GEN_SENSORS",
    default: "5",
    schema: z.coerce.number().int().min(1).max(100_000),
    allowed: "an integer in 1..100000",
  },
  count: {
    env: "GEN_COUNT",
    default: "0",
    schema: z.coerce.number().int().min(0),
    allowed: "an integer >= 0 (0: no limit)",
  },
  duration: {
    env: "GEN_DURATION",
    default: "0",
    schema: z.coerce.number().min(0),
    allowed: "seconds >= 0 (0: no limit)",
  },
  seed: {
    env: "GEN_SEED",
    default: "1",
    schema: z.coerce.number().int().min(0).max(4294967295),
    allowed: "an integer in 0..4294967295",
  },
  "value-anomaly-rate": {
    env: "GEN_VALUE_ANOMALY_RATE",
    default: String(SEED_RATES.value),
    schema: z.coerce.number().min(0).max(1),
    allowed: "a number in [0, 1]",
  },
  "temperature-anomaly-rate": {
    env: "GEN_TEMPERATURE_ANOMALY_RATE",
    default: String(SEED_RATES.temperature),
    schema: z.coerce.number().min(0).max(1),
    allowed: "a number in [0, 1]",
  },
} as const;

type GenOptions = { -readonly [K in keyof typeof FLAGS]: number };

function genOptions(args: string[]): { options: GenOptions; rest: string[] } {
  const { values, tokens } = parseArgs({
    args,
    options: Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: "string" as const }])),
    strict: false,
    tokens: true,
    allowPositionals: true,
  });
  const mine = new Set(Object.keys(FLAGS));
  const rest: string[] = [];
  for (const t of tokens ?? []) {
    if (t.kind === "option" && mine.has(t.name)) continue;
    if (t.kind === "option") rest.push(t.rawName, ...(t.value !== undefined ? [t.value] : []));
    if (t.kind === "positional") rest.push(t.value);
  }
  const options = {} as GenOptions;
  for (const [name, spec] of Object.entries(FLAGS)) {
    const raw = (values[name] as string | undefined) ?? Deno.env.get(spec.env) ?? spec.default;
    const r = spec.schema.safeParse(raw);
    if (!r.success) {
      throw new ConfigError(
        spec.env,
        `invalid setting ${spec.env} (--${name}) = ${
          JSON.stringify(raw)
        }: expected ${spec.allowed}`,
      );
    }
    options[name as keyof GenOptions] = r.data;
  }
  return { options, rest };
}

/** Runs `generate`; returns the exit code. */
export async function runGenerate(args: string[]): Promise<number> {
  const { options, rest } = genOptions(args);
  const { config } = loadConfig({ args: rest });
  setupLogging({ level: config.logLevel, format: config.logFormat });
  const log = logger("generator");
  await ensureTopics(config.kafkaBroker, [{ topic: config.topicEvents, numPartitions: 4 }]);
  // Load mode (--rate 0): several batches in flight, acks from the leader only.
  const load = options.rate === 0;
  const kafka = createKafka(config.kafkaBroker, "anomaly-flow-generator");
  const producer = load
    ? kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    })
    : createProducer(kafka);
  await producer.connect();
  let stopping = false;
  const stop = () => stopping = true;
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  log.info("generator_started", {
    broker: config.kafkaBroker.join(","),
    topic: config.topicEvents,
    rate: options.rate,
    sensors: options.sensors,
  });
  const events = sensorEvents({
    seed: options.seed,
    sensors: options.sensors,
    rates: {
      ...SEED_RATES,
      value: options["value-anomaly-rate"],
      temperature: options["temperature-anomaly-rate"],
    },
  });
  const started = Date.now();
  const deadline = options.duration > 0 ? started + options.duration * 1000 : Infinity;
  const limit = options.count > 0 ? options.count : Infinity;
  const batchSize = load ? 5000 : Math.max(1, Math.min(500, Math.round(options.rate / 20)));
  const inflight: Promise<unknown>[] = [];
  let sent = 0;
  try {
    while (!stopping && sent < limit && Date.now() < deadline) {
      const now = Date.now() / 1000;
      const messages = [];
      for (let i = 0; i < batchSize && sent + i < limit; i++) {
        const { event, injected } = events.next().value!;
        event.ts = Math.round((injected === "stale" ? now - 3 * 86400 : now) * 1000) / 1000;
        messages.push({
          key: event.sensor_id,
          value: JSON.stringify(event),
          headers: { injected },
        });
      }
      sent += messages.length;
      if (load) {
        inflight.push(producer.send({ topic: config.topicEvents, acks: 1, messages }));
        if (inflight.length >= 6) await inflight.shift();
        continue;
      }
      await producer.send({ topic: config.topicEvents, acks: -1, messages });
      if (options.rate > 0) {
        const due = started + (sent / options.rate) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
    await Promise.all(inflight);
  } finally {
    await producer.disconnect();
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
  }
  const seconds = (Date.now() - started) / 1000;
  log.info("generator_done", {
    sent,
    seconds: Number(seconds.toFixed(2)),
    events_per_sec: Math.round(sent / seconds),
  });
  return 0;
}

/**
 * `generate`: simulated IoT sensors (src/sensors.ts) producing to `TOPIC_EVENTS`, keyed by
 * `sensor_id`, with the ground truth in the `injected` header (never in the JSON body).
 *
 * Flags (and environment): `--rate` (`GEN_RATE`, events/s, default 20; 0 = as fast as the broker
 * takes them, in batches), `--sensors` (`GEN_SENSORS`, 5), `--count` (`GEN_COUNT`, default
 * unbounded), `--duration` (`GEN_DURATION`, seconds), `--seed` (`GEN_SEED`, 1), and the injection
 * rates `--value-anomaly-rate`, `--temperature-anomaly-rate` (the seed's 0.02, 0.01). In load
 * mode, `--producers` (`GEN_PRODUCERS`, default: available cores) worker threads each send their
 * share of the stream (event i goes to producer i mod N).
 * `ts` is the wall clock at send time (three days earlier for `stale`).
 *
 * With `CONTRACT_FILE`, the contract's labelled events instead (`contract/generate.ts`): one
 * entity per `--sensors`, keyed by the contract's key, the time field at send time in its unit,
 * `--value-anomaly-rate` as the share of spikes.
 *
 * @module
 */
import { type Config, loadConfig } from "./config.ts";
import { type Kafka, Partitioners, type Producer } from "kafkajs";
import {
  connectionOf,
  createKafka,
  createProducer,
  type KafkaConnection,
  startingKafka,
} from "./kafka.ts";
import { logger, setupLogging } from "./log.ts";
import { type LabelledEvent, scenarioEvents, SEED_RATES, type SensorOptions } from "./sensors.ts";
import { contractOfConfig } from "./options.ts";
import type { Contract } from "./contract/spec.ts";
import { CONTRACT_RATES, contractEvents, stampTime } from "./contract/generate.ts";
import { ensureTopics, eventsTopic } from "./topics.ts";
import {
  BROKER_DEFAULT_MAX_MESSAGE_BYTES,
  groupByBytes,
  readTopicLimits,
  recordBudget,
  sendWithinLimits,
} from "./outbox.ts";

/** A labelled event to send; `key` defaults to the seed's `sensor_id`. */
export interface Sendable {
  event: Record<string, unknown> | LabelledEvent["event"];
  injected: string;
  key?: string;
}

/** How {@link sendEvents} sends. */
export interface SendOptions {
  producer: Producer;
  topic: string;
  events: Iterator<Sendable>;
  /**
   * Sets an event's time to `now` (Unix seconds; three days earlier for `stale`). Default: the
   * seed's `ts` in seconds.
   */
  stamp?: (event: Record<string, unknown>, now: number, injected: string) => void;
  /** Events per second; 0 = load mode (batches of 2,000, 6 in flight, leader acks). */
  rate: number;
  /** Events to send at most. */
  limit: number;
  /** Wall-clock deadline (ms since epoch). */
  deadline: number;
  /** Checked between batches. */
  stopped: () => boolean;
  /** The topic's `max.message.bytes`. Default: the broker default. */
  maxMessageBytes?: number;
}

/**
 * Sends events with `ts` = the wall clock at send time (three days earlier for `stale`), keyed by
 * `sensor_id`, ground truth in the `injected` header. Returns the number sent.
 */
export async function sendEvents(o: SendOptions): Promise<number> {
  const load = o.rate === 0;
  const started = Date.now();
  const batchSize = load ? 2000 : Math.max(1, Math.min(500, Math.round(o.rate / 20)));
  const inflight: Promise<unknown>[] = [];
  const stamp = o.stamp ?? seedStamp;
  let sent = 0;
  while (!o.stopped() && sent < o.limit && Date.now() < o.deadline) {
    const now = Date.now() / 1000;
    const messages = [];
    for (let i = 0; i < batchSize && sent + i < o.limit; i++) {
      const { event, injected, key } = o.events.next().value!;
      const record = event as Record<string, unknown>;
      stamp(record, now, injected);
      messages.push({
        key: key ?? String(record.sensor_id),
        value: JSON.stringify(record),
        headers: { injected },
      });
    }
    sent += messages.length;
    if (load) {
      const limit = o.maxMessageBytes ?? BROKER_DEFAULT_MAX_MESSAGE_BYTES;
      for (const group of groupByBytes(messages, recordBudget(limit))) {
        inflight.push(o.producer.send({ topic: o.topic, acks: 1, messages: group }));
        if (inflight.length >= 6) await inflight.shift();
      }
      continue;
    }
    await sendWithinLimits(o.producer, [{ topic: o.topic, messages }], {
      limits: new Map([[o.topic, o.maxMessageBytes ?? BROKER_DEFAULT_MAX_MESSAGE_BYTES]]),
    });
    const wait = started + (sent / o.rate) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inflight);
  return sent;
}

/** The seed's time: `ts` in Unix seconds, three days earlier for `stale`. */
function seedStamp(event: Record<string, unknown>, now: number, injected: string): void {
  event.ts = Math.round((injected === "stale" ? now - 3 * 86400 : now) * 1000) / 1000;
}

/**
 * The labelled stream `generate` sends, and how its events are timed: the contract's events
 * ({@link contractEvents}) when there is a contract, else the scenario's seed events.
 */
export function streamOf(
  scenario: "seed" | "multi",
  sensors: SensorOptions,
  contract?: Contract,
): { events: Iterator<Sendable>; stamp?: SendOptions["stamp"] } {
  if (!contract) return { events: scenarioEvents(scenario, sensors) };
  return {
    events: contractEvents(contract, {
      seed: sensors.seed,
      entities: sensors.sensors,
      rates: { spike: sensors.rates?.value ?? CONTRACT_RATES.spike },
    }),
    stamp: stampTime(contract),
  };
}

/** Every `stride`-th event of `events`, from `offset`: one producer's share of the stream. */
export function* shareOf<T>(events: Iterator<T>, offset: number, stride: number): Generator<T> {
  for (let i = 0;; i++) {
    const next = events.next();
    if (next.done) return;
    if (i % stride === offset) yield next.value;
  }
}

/** What a load-mode producer worker (workers/producer.ts) is asked to do. */
export interface ProducerTask {
  conn: KafkaConnection;
  topic: string;
  sensors: SensorOptions;
  scenario: "seed" | "multi";
  /** The contract whose events to send (undefined: the scenario's seed events). */
  contract?: Contract;
  offset: number;
  stride: number;
  limit: number;
  deadline: number;
  /** The topic's `max.message.bytes`. */
  maxMessageBytes?: number;
}

/** The load-mode producer for a worker: several batches in flight, acks from the leader only. */
export function loadProducer(kafka: Kafka): Producer {
  return kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

async function sendInWorkers(
  task: Omit<ProducerTask, "offset" | "limit"> & { limit: number },
  stopped: () => boolean,
) {
  const workers = Array.from({ length: task.stride }, (_, offset) => {
    const worker = new Worker(new URL("../workers/producer.ts", import.meta.url), {
      type: "module",
    });
    const limit = Number.isFinite(task.limit)
      ? Math.floor(task.limit / task.stride) + (offset < task.limit % task.stride ? 1 : 0)
      : Infinity;
    const done = new Promise<number>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ sent?: number; error?: string }>) =>
        e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.sent!);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
    });
    worker.postMessage({ ...task, offset, limit } satisfies ProducerTask);
    return { worker, done };
  });
  const poll = setInterval(() => {
    if (stopped()) { for (const { worker } of workers) worker.postMessage({ stop: true }); }
  }, 100);
  try {
    return (await Promise.all(workers.map((w) => w.done))).reduce((a, b) => a + b, 0);
  } finally {
    clearInterval(poll);
    for (const { worker } of workers) worker.terminate();
  }
}

/** `generate`'s settings, by their flag names. */
function generatorOptions(config: Config) {
  return {
    producers: config.genProducers,
    rate: config.genRate,
    sensors: config.genSensors,
    count: config.genCount,
    duration: config.genDuration,
    seed: config.genSeed,
    "value-anomaly-rate": config.genValueAnomalyRate,
    "temperature-anomaly-rate": config.genTemperatureAnomalyRate,
  };
}

/** The events topic's `max.message.bytes` as the broker has it (undefined: the default). */
async function eventsTopicLimit(conn: KafkaConnection, config: Config) {
  const admin = createKafka(conn, "anomaly-flow-generator-admin").admin();
  await admin.connect();
  try {
    return (await readTopicLimits(admin, [config.topicEvents])).get(config.topicEvents);
  } finally {
    await admin.disconnect();
  }
}

/** Runs `generate`; returns the exit code. */
export async function runGenerate(args: string[]): Promise<number> {
  const loaded = loadConfig({ args, aliases: { seed: "gen-seed" } });
  const { config } = loaded;
  const contract = await contractOfConfig(loaded);
  const options = generatorOptions(config);
  setupLogging({ level: config.logLevel, format: config.logFormat });
  const log = logger("generator");
  const conn = await connectionOf(config);
  await startingKafka(
    conn,
    () => ensureTopics(conn, [eventsTopic(config)]),
  );
  // Requests fit the events topic's own limit, read from the broker.
  const maxMessageBytes = await startingKafka(conn, () => eventsTopicLimit(conn, config));
  let stopping = false;
  const stop = () => stopping = true;
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const load = options.rate === 0;
  const producers = load ? options.producers : 1;
  log.info("generator_started", {
    broker: config.kafkaBroker.join(","),
    topic: config.topicEvents,
    rate: options.rate,
    sensors: options.sensors,
    producers,
    contract: contract ? `${contract.name}@${contract.version}` : "built-in",
  });
  const sensors: SensorOptions = {
    seed: options.seed,
    sensors: options.sensors,
    rates: {
      ...SEED_RATES,
      value: options["value-anomaly-rate"],
      temperature: options["temperature-anomaly-rate"],
    },
  };
  const started = Date.now();
  const deadline = options.duration > 0 ? started + options.duration * 1000 : Infinity;
  const limit = options.count > 0 ? options.count : Infinity;
  let sent = 0;
  try {
    if (producers > 1) {
      sent = await sendInWorkers({
        conn,
        topic: config.topicEvents,
        sensors,
        scenario: config.genScenario,
        ...(contract ? { contract } : {}),
        stride: producers,
        limit,
        deadline,
        maxMessageBytes,
      }, () => stopping);
    } else {
      const kafka = createKafka(conn, "anomaly-flow-generator");
      const producer = load ? loadProducer(kafka) : createProducer(kafka);
      await producer.connect();
      try {
        sent = await sendEvents({
          producer,
          topic: config.topicEvents,
          ...streamOf(config.genScenario, sensors, contract),
          rate: options.rate,
          limit,
          deadline,
          stopped: () => stopping,
          maxMessageBytes,
        });
      } finally {
        await producer.disconnect();
      }
    }
  } finally {
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

/**
 * kafkajs clients for the product: logs through LogTape, retries with backoff, and the
 * producer settings delivery relies on (idempotent, `acks: -1`, one request in flight).
 *
 * @module
 */
import process from "node:process";
import {
  type Consumer,
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from "kafkajs";
import type { Config } from "./config.ts";
import { retry } from "./retry.ts";
import { logger } from "./log.ts";
import { registerCodecs } from "./compression.ts";
// Stops kafkajs's request queue from polling itself every millisecond (see the module).
import "./kafkajs_fix.ts";
// Before any client produces: kafkajs takes its record encoder on its first produce.
import "./kafkajs_records.ts";
// Before any client consumes: kafkajs takes its record decoder on its first fetch.
import "./kafkajs_decode.ts";

// kafkajs 2.2.4 can still pass a negative timeout to setTimeout elsewhere (a deadline already
// past); the runtime clamps it to 1 ms and prints a TimeoutNegativeWarning: keep it out of the
// logs.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string })?.type;
  if (type === "TimeoutNegativeWarning") return;
  // deno-lint-ignore no-explicit-any
  (emitWarning as any)(warning, ...rest);
}) as typeof process.emitWarning;

const LEVELS: Record<number, "error" | "warning" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warning",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/** How to reach the brokers: addresses, TLS, SASL. Structured-cloneable (for workers). */
export interface KafkaConnection {
  brokers: string[];
  /** TLS; `ca` is the PEM of an extra CA to trust. */
  ssl?: { ca?: string };
  sasl?: {
    mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
    username: string;
    password: string;
  };
  /** Most bytes one compressed batch may expand to (`MAX_BATCH_BYTES`; default 256 MiB). */
  maxBatchBytes?: number;
}

/** The connection of a configuration (reads `KAFKA_SSL_CA_FILE`). */
export async function connectionOf(config: Config): Promise<KafkaConnection> {
  const conn: KafkaConnection = {
    brokers: config.kafkaBroker,
    maxBatchBytes: config.maxBatchBytes,
  };
  if (config.kafkaSsl) {
    conn.ssl = config.kafkaSslCaFile ? { ca: await Deno.readTextFile(config.kafkaSslCaFile) } : {};
  }
  if (config.kafkaSaslMechanism !== "none") {
    conn.sasl = {
      mechanism: config.kafkaSaslMechanism,
      username: config.kafkaSaslUsername,
      password: config.kafkaSaslPassword,
    };
  }
  return conn;
}

/**
 * The connection's TLS and SASL options for kafkajs: copies, since kafkajs adds its own
 * (uncloneable) fields to the `sasl` object it is given, and the connection must stay
 * structured-cloneable for the generator's worker threads.
 */
export function securityOf(conn: KafkaConnection): Pick<KafkaConfig, "ssl" | "sasl"> {
  return {
    ...(conn.ssl ? { ssl: conn.ssl.ca ? { ca: [conn.ssl.ca] } : true } : {}),
    ...(conn.sasl ? { sasl: { ...conn.sasl } as SASLOptions } : {}),
  };
}

/**
 * One line a person can act on for a failure to reach Kafka; never contains the password.
 * Authentication and TLS failures are not worth retrying: the caller stops.
 */
export function describeKafkaError(
  e: unknown,
  conn: KafkaConnection,
): { message: string; fatal: boolean } {
  const err = e as { name?: string; message?: string };
  const where = conn.brokers.join(",");
  const text = String(err.message ?? e).split(conn.sasl?.password || "\u0000").join("[redacted]");
  if (err.name === "KafkaJSSASLAuthenticationError" || /SASL|authentication/i.test(text)) {
    return {
      message: `Kafka at ${where} refused the credentials of user "${conn.sasl?.username ?? ""}" ` +
        `(${conn.sasl?.mechanism ?? "no SASL"}): check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, ` +
        `KAFKA_SASL_MECHANISM: ${text}`,
      fatal: true,
    };
  }
  if (/certificate|self.signed|SSL|TLS|handshake/i.test(text)) {
    return {
      message: `TLS to Kafka at ${where} failed: ${text} (check KAFKA_SSL and KAFKA_SSL_CA_FILE)`,
      fatal: true,
    };
  }
  return { message: `cannot reach Kafka at ${where}: ${text}`, fatal: false };
}

/** Start-up could not reach Kafka; `message` is the one line to print. */
export class KafkaStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KafkaStartError";
  }
}

/** Options of {@link startingKafka}. */
export interface StartingOptions {
  /** How long to keep retrying a failure that may pass (broker starting, topic just created). Default: 60,000 ms. */
  retryForMs?: number;
  /** First wait between attempts, doubled up to 8 s. Default: 1,000 ms. */
  firstWaitMs?: number;
  /** Waits `ms` (tests pass a fake). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs the start-up step `step`, turning a Kafka failure into a {@link KafkaStartError}. A failure
 * that may pass (a broker still starting, a topic whose leader is not known yet) is retried with
 * backoff for `retryForMs`, each retry logged as `kafka_unavailable`; refused credentials or a
 * failed TLS handshake stop at once (no retry storm).
 */
export async function startingKafka<T>(
  conn: KafkaConnection,
  step: () => Promise<T>,
  options: StartingOptions = {},
): Promise<T> {
  const { retryForMs = 60_000, firstWaitMs = 1000, sleep } = options;
  try {
    return await retry(step, {
      attempts: Infinity,
      withinMs: retryForMs,
      baseMs: firstWaitMs,
      maxMs: 8000,
      jitter: 0,
      sleep,
      retryable: (e) => !describeKafkaError(e, conn).fatal,
      onRetry: (e, _n, ms) =>
        logger().warning("kafka_unavailable", {
          error: describeKafkaError(e, conn).message,
          retry_in_ms: ms,
        }),
    });
  } catch (e) {
    throw new KafkaStartError(describeKafkaError(e, conn).message);
  }
}

/**
 * Conditions kafkajs logs as errors that it retries by itself and that pass without the operator:
 * a broker or coordinator still starting, a leader election, a dropped connection, a rebalance.
 */
const TRANSIENT = new RegExp(
  [
    "coordinator is loading",
    "group coordinator is not available",
    "not the correct coordinator",
    "no leader for this topic-partition",
    "leadership election",
    "does not host this topic-partition",
    "connection error",
    "closed connection",
    "ECONNREFUSED",
    "ECONNRESET",
    "rebalance in progress",
    "rebalancing",
    "the coordinator is not aware of this member",
    "request .* timed out",
    "failed to find group coordinator",
    "group coordinator",
    "broker not available",
    "not available",
  ].join("|"),
  "i",
);

/** True when a kafkajs error (or its causes) is a broker-side condition that passes by itself. */
export function isTransientKafkaError(error: unknown): boolean {
  let e = error as { message?: string; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 8; depth++) {
    if (TRANSIENT.test(e.message ?? "")) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * The LogTape level of a kafkajs log entry: its own level, except that a transient condition
 * kafkajs retries is a warning, so an error-level line always means the operator must act.
 * A consumer crash on a transient condition (a coordinator still loading) is a warning, and so is
 * kafkajs' "Restarting the consumer" that follows it; if the restarts give up,
 * {@link restartAfterTransientCrash} logs the error. Any other crash stays an error.
 */
export function kafkajsLevel(level: number, message: string, error?: string): string {
  const mapped = LEVELS[level] ?? "info";
  if (mapped !== "error") return mapped;
  if (/^Restarting the consumer in/.test(message)) return "warning";
  return TRANSIENT.test(`${message} ${error ?? ""}`) ? "warning" : "error";
}

/**
 * A kafkajs client for `conn`, logging warnings and errors through LogTape, reading topics
 * compressed with any of Kafka's codecs (`compression.ts`).
 */
export function createKafka(conn: KafkaConnection, clientId: string): Kafka {
  registerCodecs({ maxBatchBytes: conn.maxBatchBytes });
  const log = logger("kafkajs");
  return new Kafka({
    clientId,
    brokers: conn.brokers,
    ...securityOf(conn),
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 10 },
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = entry;
      const fields: Record<string, unknown> = { message, namespace };
      for (const [k, v] of Object.entries(rest)) {
        if (typeof v !== "object" || v === null) fields[k] = v;
      }
      const level2 = kafkajsLevel(level, String(message), String(rest.error ?? ""));
      log[level2 as "info"]("kafkajs", fields);
    },
  });
}

/**
 * An idempotent producer (`acks: -1` on every send, one request in flight, retries not limited:
 * while the broker is away a send waits, it is never dropped).
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
}

/**
 * kafkajs does not restart a consumer whose group coordinator stayed away through its retries (a
 * broker restart under load): that passes, so the same process starts it again on `topic`, with
 * backoff (1 s doubling to 10 s, 20 times at most); anything else that stops the consumer for good
 * stops the process.
 */
export function restartAfterTransientCrash(
  consumer: Consumer,
  conn: KafkaConnection,
  topic: string,
  runConsumer: () => Promise<void>,
  stop: (reason: string, code: number) => Promise<void>,
  stopping: () => boolean,
): void {
  const log = logger();
  let restarts = 0;
  // Working again once a fetch completes: a later crash starts the backoff afresh.
  consumer.on(consumer.events.FETCH, () => restarts = 0);
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart || stopping()) return;
    if (!isTransientKafkaError(e.payload.error) || restarts >= 20) {
      log.error("consumer_stopped", { error: e.payload.error.message, restarts });
      void stop("consumer crashed without restart", 1);
      return;
    }
    const wait = Math.min(10_000, 1000 * 2 ** restarts++);
    log.warning("consumer_restart", { error: e.payload.error.message, in_ms: wait });
    setTimeout(() => {
      startingKafka(conn, async () => {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
      }).then(runConsumer).catch((err) => {
        log.error("consumer_restart_failed", { error: (err as Error).message });
        void stop("consumer could not be restarted", 1);
      });
    }, wait);
  });
}

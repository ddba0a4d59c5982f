/**
 * kafkajs clients for the product: logs through LogTape, retries with backoff, and the
 * producer settings delivery relies on (idempotent, `acks: -1`, one request in flight).
 *
 * @module
 */
import process from "node:process";
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { logger } from "./log.ts";

// kafkajs 2.2.4 passes a negative timeout to setTimeout; Node (and Deno's node compat) clamp it
// to 1 ms and print a TimeoutNegativeWarning each time. Harmless: keep it out of the logs.
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

/** A kafkajs client for `brokers`, logging warnings and errors through LogTape. */
export function createKafka(brokers: string[], clientId: string): Kafka {
  const log = logger("kafkajs");
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 10 },
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = entry;
      const fields: Record<string, unknown> = { message, namespace };
      for (const [k, v] of Object.entries(rest)) {
        if (typeof v !== "object" || v === null) fields[k] = v;
      }
      log[LEVELS[level] ?? "info"]("kafkajs", fields);
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

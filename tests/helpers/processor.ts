/**
 * Runs `anomaly-flow process` as a real child process against the test broker, and reads what
 * it publishes.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Kafka, KafkaMessage } from "kafkajs";
import { testBroker, testKafka } from "./kafka.ts";
import { groupByBytes, recordBudget } from "../../src/outbox.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** A running processor (or another long-running command). */
export interface ProcessorProcess {
  child: Deno.ChildProcess;
  /** Metrics port it listens on. */
  port: number;
  /** Log lines so far (stderr). */
  lines: string[];
  /** Output lines so far (stdout). */
  output: string[];
  /** Reads /metrics and returns the value of a sample (`name{labels}`), 0 when absent. */
  metric(sample: string): Promise<number>;
  /** Exit status once it ended. */
  status: Promise<Deno.CommandStatus>;
}

/**
 * Starts `process` with `env` (on top of `KAFKA_BROKER` = the test broker); resolves once it
 * joined its group.
 */
export function startProcessor(env: Record<string, string>): Promise<ProcessorProcess> {
  return startService("process", env);
}

/** Starts `command` (`process`, `alerts`) like {@link startProcessor}. */
export async function startService(
  command: string,
  env: Record<string, string>,
): Promise<ProcessorProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, command],
    env: {
      KAFKA_BROKER: env.KAFKA_BROKER ?? testBroker(),
      METRICS_PORT: "0",
      ALERTS_METRICS_PORT: "0",
      // A crashed (kill -9) member's partitions move on after 6 s instead of 30.
      CONSUMER_SESSION_TIMEOUT_MS: "6000",
      LOG_LEVEL: "info",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const output: string[] = [];
  (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      output.push(...chunk.split("\n"));
    }
  })();
  let portResolve!: (p: number) => void;
  const portKnown = new Promise<number>((r) => portResolve = r);
  (async () => {
    let buf = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const m = line.match(/metrics_server_started port=(\d+)/);
        if (m) portResolve(Number(m[1]));
      }
    }
  })();
  const status = child.status;
  const port = await Promise.race([
    portKnown,
    status.then((s) => {
      throw new Error(`processor exited (${s.code}) before serving metrics:\n${lines.join("\n")}`);
    }),
    new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error(`no metrics port in 30 s:\n${lines.join("\n")}`)), 30_000)
    ),
  ]);
  const p: ProcessorProcess = {
    child,
    port,
    lines,
    output,
    status,
    async metric(sample) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(sample + " "));
      return line ? Number(line.slice(sample.length + 1)) : 0;
    },
  };
  // Joining a group on a broker that has just started can take a while on a loaded machine.
  let readyz = "";
  let exited: Deno.CommandStatus | undefined;
  status.then((s) => exited = s);
  try {
    await waitFor(
      async () =>
        exited !== undefined ||
        (readyz = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.text()))
          .startsWith("ready"),
      60_000,
      "readyz",
    );
    if (exited) throw new Error(`exited (${exited.code}) before it was ready`);
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await status;
    throw new Error(
      `${command}: ${(e as Error).message} (last answer: ${readyz.trim()}); its log:\n` +
        lines.slice(-60).join("\n"),
    );
  }
  return p;
}

/** Polls `condition` every 100 ms until true; fails after `ms` naming `what`. */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every record of `topic` from the beginning (stops when the high watermarks are reached). */
export async function readAll(
  topic: string,
  kafka: Kafka = testKafka(),
): Promise<(KafkaMessage & { partition: number })[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    ends.filter((e) => Number(e.high) > 0).map((e) => [e.partition, Number(e.high)]),
  );
  const out: (KafkaMessage & { partition: number })[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 30_000);
    consumer.run({
      eachMessage: ({ partition, message }) => {
        out.push({ ...message, partition });
        if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) {
          remaining.delete(partition);
        }
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

/** Committed offsets of `group` on `topic`, by partition. */
export async function committed(
  group: string,
  topic: string,
  kafka: Kafka = testKafka(),
): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map(t.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** Produces `messages` (acks -1) to partition `partition` of `topic`, or by key when undefined. */
export async function produce(
  topic: string,
  messages: { key?: string; value: string | Uint8Array | null; headers?: Record<string, string> }[],
  partition?: number,
): Promise<void> {
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const all = messages.map((m) => ({
      ...m,
      value: m.value instanceof Uint8Array ? Buffer.from(m.value) : m.value,
      partition,
    }));
    for (let i = 0; i < all.length; i += 500) {
      for (const group of groupByBytes(all.slice(i, i + 500), recordBudget(1_048_588))) {
        await producer.send({ topic, acks: -1, messages: group });
      }
    }
  } finally {
    await producer.disconnect();
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

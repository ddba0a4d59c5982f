/**
 * Model checkpoints in a compacted Kafka topic, so any instance of the consumer group can restore
 * them: one per partition of the events topic, holding that partition's {@link ModelState} and
 * the offset of the next event it has not learned, gzip-compressed and cut into chunks that fit
 * Kafka's default record size.
 *
 * A checkpoint is tied to its offset: it holds exactly the partition's events before it. The
 * processor writes one only when that offset is committed, and whoever owns the partition next
 * seeks back to it, so the events after the checkpoint are learned once and nothing twice.
 *
 * Records: key `<group>/<topic>/<partition>/<chunk>` (compaction keeps the newest of each),
 * value = chunk bytes, headers `checkpoint_id`, `chunk`, `chunks`, `group`, `topic`, `partition`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Kafka, Producer } from "kafkajs";
import type { ModelState } from "./pipeline.ts";
import {
  BROKER_DEFAULT_MAX_MESSAGE_BYTES,
  recordBudget,
  recordBytes,
  sendWithinLimits,
} from "./outbox.ts";

/** A checkpoint of one partition's model. */
export interface Checkpoint {
  /** Events topic and partition the model learns. */
  topic: string;
  partition: number;
  /** Offset of the first event the model has not learned. */
  offset: string;
  state: ModelState;
  /** Wall-clock time it was taken, ms. */
  takenAt: number;
}

/** Largest chunk, bytes (less when the topic's limit is lower). */
export const CHUNK_BYTES = 512 * 1024;

async function gzip(
  bytes: Uint8Array<ArrayBuffer>,
  mode: "compress" | "decompress",
): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(
    mode === "compress" ? new CompressionStream("gzip") : new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Checkpoint → bytes: `[u32 header length][header JSON][Int32 mass entries][Float64 window
 * events][Float64 baseline values][Float64 baseline excursions' saved values]` (little-endian),
 * gzip. The arrays stay binary: NaN (a
 * missing feature, an hour not seen yet) survives.
 */
export async function encodeCheckpoint(c: Checkpoint): Promise<Uint8Array> {
  const { entries, events, ...masses } = c.state.masses;
  const { values, excursionValues = [], ...baselines } = c.state.baselines;
  const header = new TextEncoder().encode(JSON.stringify({
    ...c,
    state: {
      ...c.state,
      masses: { ...masses, entriesLength: entries.length, eventsLength: events.length },
      baselines: {
        ...baselines,
        valuesLength: values.length,
        excursionValuesLength: excursionValues.length,
      },
    },
  }));
  const body = new Uint8Array(
    4 + header.length + entries.byteLength + events.byteLength +
      8 * (values.length + excursionValues.length),
  );
  const view = new DataView(body.buffer);
  view.setUint32(0, header.length, true);
  body.set(header, 4);
  let at = 4 + header.length;
  for (const v of entries) (view.setInt32(at, v, true), at += 4);
  for (const v of events) (view.setFloat64(at, v, true), at += 8);
  for (const v of values) (view.setFloat64(at, v, true), at += 8);
  for (const v of excursionValues) (view.setFloat64(at, v, true), at += 8);
  return await gzip(body, "compress");
}

/** Bytes → checkpoint (inverse of {@link encodeCheckpoint}). */
export async function decodeCheckpoint(bytes: Uint8Array<ArrayBuffer>): Promise<Checkpoint> {
  const body = await gzip(bytes, "decompress");
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const length = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + length)));
  const { entriesLength, eventsLength, ...masses } = header.state.masses;
  let at = 4 + length;
  const entries = new Int32Array(entriesLength);
  for (let i = 0; i < entries.length; i++, at += 4) entries[i] = view.getInt32(at, true);
  // A checkpoint of an earlier format has its events last and its baseline values in the JSON.
  const events = new Float64Array(eventsLength ?? (body.byteLength - at) / 8);
  for (let i = 0; i < events.length; i++, at += 8) events[i] = view.getFloat64(at, true);
  header.state.masses = { ...masses, entries, events };
  const baselines = header.state.baselines;
  if (baselines && baselines.valuesLength !== undefined) {
    const { valuesLength, excursionValuesLength, ...rest } = baselines;
    const values: number[] = new Array(valuesLength);
    for (let i = 0; i < valuesLength; i++, at += 8) values[i] = view.getFloat64(at, true);
    const excursionValues: number[] = new Array(excursionValuesLength ?? 0);
    for (let i = 0; i < excursionValues.length; i++, at += 8) {
      excursionValues[i] = view.getFloat64(at, true);
    }
    header.state.baselines = {
      ...rest,
      values,
      ...(excursionValues.length > 0 ? { excursionValues } : {}),
    };
  }
  return header as Checkpoint;
}

/** Options of {@link writeCheckpoint}. */
export interface WriteOptions {
  /** The checkpoint topic's `max.message.bytes`. Default: the broker default (1 MiB + 12). */
  maxMessageBytes?: number;
}

/** Writes `checkpoint` for `group` to `topic` (acks from all replicas). Returns its size in bytes. */
export async function writeCheckpoint(
  producer: Producer,
  topic: string,
  group: string,
  checkpoint: Checkpoint,
  options: WriteOptions = {},
): Promise<number> {
  const bytes = await encodeCheckpoint(checkpoint);
  const limit = options.maxMessageBytes ?? BROKER_DEFAULT_MAX_MESSAGE_BYTES;
  const id = `${checkpoint.takenAt}-${crypto.randomUUID().slice(0, 8)}`;
  const partition = String(checkpoint.partition);
  const record = (i: number, chunks: number, value: Buffer) => ({
    key: `${group}/${checkpoint.topic}/${partition}/${i}`,
    value,
    headers: {
      checkpoint_id: id,
      chunk: String(i),
      chunks: String(chunks),
      group,
      topic: checkpoint.topic,
      partition,
    },
  });
  // A chunk is never cut to fit (that would corrupt it): its size leaves room for its key and
  // headers, measured on the largest of them.
  const meta = recordBytes(record(99_999_999, 99_999_999, Buffer.alloc(0)));
  const size = Math.min(CHUNK_BYTES, recordBudget(limit) - meta);
  if (size < 1) {
    throw new RangeError(`checkpoint topic ${topic}: max.message.bytes ${limit} is too small`);
  }
  const chunks = Math.max(1, Math.ceil(bytes.length / size));
  await sendWithinLimits(producer, [{
    topic,
    messages: Array.from(
      { length: chunks },
      (_, i) => record(i, chunks, Buffer.from(bytes.subarray(i * size, (i + 1) * size))),
    ),
  }], { limits: new Map([[topic, limit]]) });
  return bytes.length;
}

/**
 * The newest complete checkpoint of each partition of `eventsTopic` that `group` wrote to
 * `topic`. Records of other groups or topics, and of older formats, are skipped.
 * `options.timeoutMs` (default 60,000) bounds the whole read: each step of it (connecting,
 * the offsets, subscribing, reading) must end by then, or the read fails naming the step; its
 * clean-up (leaving and deleting the reader's group) is best effort, bounded by
 * {@link CLEANUP_MS} a step. A broker that has just restarted can leave a step waiting with no
 * timeout of kafkajs's own: the processor then waited on it for good.
 */
export async function readCheckpoints(
  kafka: Kafka,
  topic: string,
  group: string,
  eventsTopic: string,
  options: {
    timeoutMs?: number;
    /** Told of each checkpoint that does not decode (the one before it is tried). */
    unreadable?: (partition: number, error: Error) => void;
  } = {},
): Promise<Map<number, Checkpoint>> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const step = <T>(what: string, work: Promise<T>) =>
    within(work, deadline - Date.now(), `reading checkpoints from ${topic}: ${what}`);
  const admin = kafka.admin();
  let high: number;
  try {
    await step("connecting", admin.connect());
    const ends = await step("fetching its offsets", admin.fetchTopicOffsets(topic));
    high = Number(ends.find((e) => e.partition === 0)?.high ?? 0);
  } finally {
    await bestEffort(admin.disconnect());
  }
  if (high === 0) return new Map();
  const readerGroup = `${group}.checkpoint-reader.${crypto.randomUUID()}`;
  const consumer = kafka.consumer({ groupId: readerGroup, maxWaitTimeInMs: 100 });
  type Parts = { partition: number; chunks: number; parts: Map<number, Uint8Array>; order: number };
  const byId = new Map<string, Parts>();
  let order = 0;
  try {
    await step("connecting its reader", consumer.connect());
    await step("subscribing", consumer.subscribe({ topic, fromBeginning: true }));
    await step(
      "reading",
      new Promise<void>((resolve, reject) => {
        consumer.run({
          autoCommit: false,
          eachMessage: ({ message }) => {
            const h = message.headers ?? {};
            if (
              h.group?.toString() === group && h.topic?.toString() === eventsTopic &&
              h.partition !== undefined && message.value
            ) {
              const id = h.checkpoint_id?.toString() ?? "";
              const entry = byId.get(id) ?? {
                partition: Number(h.partition.toString()),
                chunks: Number(h.chunks),
                parts: new Map(),
                order: order++,
              };
              entry.parts.set(Number(h.chunk), new Uint8Array(message.value));
              byId.set(id, entry);
            }
            if (Number(message.offset) + 1 >= high) resolve();
            return Promise.resolve();
          },
        }).catch(reject);
      }),
    );
  } finally {
    await bestEffort(consumer.disconnect());
    const admin2 = kafka.admin();
    if (await bestEffort(admin2.connect())) await bestEffort(admin2.deleteGroups([readerGroup]));
    await bestEffort(admin2.disconnect());
  }
  const complete = [...byId.values()]
    .filter((entry) => entry.parts.size === entry.chunks)
    .sort((a, b) => a.order - b.order)
    .map((entry) => {
      const total = [...entry.parts.values()].reduce((a, p) => a + p.length, 0);
      const bytes = new Uint8Array(total);
      for (let i = 0, at = 0; i < entry.chunks; i++) {
        bytes.set(entry.parts.get(i)!, at);
        at += entry.parts.get(i)!.length;
      }
      return { partition: entry.partition, bytes };
    });
  return newestReadable(complete, options.unreadable ?? (() => {}));
}

/**
 * The newest checkpoint of each partition that decodes, from the complete ones in the order they
 * were written. One that does not (cut short, written by something else) is handed to
 * `unreadable` and the one before it is tried, so a bad record on the checkpoint topic costs the
 * model its history rather than stopping every start of the processor.
 */
export async function newestReadable(
  complete: readonly { partition: number; bytes: Uint8Array<ArrayBuffer> }[],
  unreadable: (partition: number, error: Error) => void,
): Promise<Map<number, Checkpoint>> {
  const found = new Map<number, Checkpoint>();
  for (let i = complete.length - 1; i >= 0; i--) {
    const { partition, bytes } = complete[i];
    if (found.has(partition)) continue;
    try {
      found.set(partition, await decodeCheckpoint(bytes));
    } catch (e) {
      unreadable(partition, e as Error);
    }
  }
  return found;
}

/** Milliseconds a clean-up step of {@link readCheckpoints} may take before it is left behind. */
export const CLEANUP_MS = 5_000;

/** `work`, or a rejection naming `what` ("… timed out") after `ms` milliseconds. */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), Math.max(0, ms));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Whether `work` ended well within {@link CLEANUP_MS}; its failure or lateness is dropped. */
export async function bestEffort(work: Promise<unknown>): Promise<boolean> {
  work.catch(() => {});
  try {
    await within(work, CLEANUP_MS, "clean-up");
    return true;
  } catch {
    return false;
  }
}

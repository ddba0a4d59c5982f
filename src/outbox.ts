/**
 * Produce requests that fit the broker's limits.
 *
 * A broker refuses a record batch larger than its topic's `max.message.bytes` (broker default
 * `message.max.bytes`, 1 MiB + 12 bytes) with a non-retriable error, and kafkajs sends all of a
 * request's records for one partition as one batch. So records are grouped here by their size in
 * the v2 record format: each group, whatever partitions its records land on, stays under its
 * topic's limit, and groups are sent one request at a time.
 *
 * A single record that cannot fit is still sent: its value is cut to what fits and headers say
 * so (`dq_value_truncated=true`, `dq_original_bytes`, `dq_original_sha256`). Should the broker
 * still refuse a request as too large (a limit lowered after start-up), the group is halved and
 * sent again, down to one truncated record: never a crash, never a stall.
 *
 * Pure parts ({@link recordBytes}, {@link groupByBytes}, {@link fitRecord}) take no I/O; the
 * shells ({@link sendWithinLimits}, {@link readTopicLimits}) talk to the broker.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { type Admin, ConfigResourceTypes, type Message, type Producer } from "kafkajs";

/** The broker's default `message.max.bytes` (1 MiB + 12), used when a topic's limit is unknown. */
export const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Bytes of a v2 record batch besides its records (header, CRC, producer id, counts). */
export const BATCH_OVERHEAD_BYTES = 61;

/** Headroom kept under a limit for what the estimate may miss. */
const SAFETY_BYTES = 1024;

/** A header value kafkajs accepts. */
type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

function byteLength(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "string" ? Buffer.byteLength(v) : v.byteLength;
}

function headerBytes(headers: Message["headers"]): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(v) ? v : [v as HeaderValue]) {
      n += 10 + Buffer.byteLength(k) + byteLength(one as Buffer | string | undefined);
    }
  }
  return n;
}

/**
 * Upper bound of the bytes `message` takes inside a v2 record batch: its key, value and headers
 * plus the largest varints of its lengths, timestamp and offset deltas.
 */
export function recordBytes(message: Message): number {
  return 36 + byteLength(message.key) + byteLength(message.value) + headerBytes(message.headers);
}

/** Bytes a record batch for a topic with `maxMessageBytes` may spend on records. */
export function recordBudget(maxMessageBytes: number): number {
  return Math.max(1, maxMessageBytes - BATCH_OVERHEAD_BYTES - SAFETY_BYTES);
}

/**
 * `messages` in order, cut into groups whose {@link recordBytes} add up to at most `budget`
 * (a record larger than `budget` alone is a group of one: {@link fitRecord} it first).
 */
export function groupByBytes<T extends Message>(messages: T[], budget: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [], bytes = 0;
  for (const m of messages) {
    const size = recordBytes(m);
    if (group.length > 0 && bytes + size > budget) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(m);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function asBuffer(v: Message["value"] | Message["key"]): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0);
  return typeof v === "string" ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Headers a truncated record keeps when its own headers leave no room for its value. */
const KEPT_HEADERS = /^(dq_|source_)/;

/**
 * `message` if it fits `budget` (see {@link recordBudget}); else the same record with its value
 * cut to what fits and the headers `dq_value_truncated=true`, `dq_original_bytes` and
 * `dq_original_sha256` (hex of the whole original value). Should its headers alone not fit, only
 * the `dq_*` and `source_*` ones are kept (and `dq_headers_truncated=true`); should even those
 * not fit, the value is empty and the key is cut too.
 */
export function fitRecord(message: Message, budget: number): Message {
  if (recordBytes(message) <= budget) return message;
  const value = asBuffer(message.value);
  const marks = {
    dq_value_truncated: "true",
    dq_original_bytes: String(value.byteLength),
    dq_original_sha256: createHash("sha256").update(value).digest("hex"),
  };
  let headers: Message["headers"] = { ...message.headers, ...marks };
  let key = message.key;
  let room = budget - recordBytes({ key, value: null, headers });
  if (room < 0) {
    const kept = Object.entries(message.headers ?? {}).filter(([k]) => KEPT_HEADERS.test(k));
    headers = { ...Object.fromEntries(kept), ...marks, dq_headers_truncated: "true" };
    room = budget - recordBytes({ key, value: null, headers });
  }
  if (room < 0) {
    key = asBuffer(key ?? null).subarray(0, Math.max(0, byteLength(key) + room));
    room = 0;
  }
  return { ...message, key, headers, value: value.subarray(0, Math.max(0, room)) };
}

/** Per-topic `max.message.bytes`; topics not in it get the broker default. */
export type TopicLimits = Map<string, number>;

/** Records for one topic, as kafkajs' `sendBatch` takes them. */
export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/** Options of {@link sendWithinLimits}. */
export interface SendOptions {
  /** `max.message.bytes` per topic. Default: the broker default for every topic. */
  limits?: TopicLimits;
  /** Called when a record had to be cut (topic, original value bytes). Default: none. */
  onTruncated?: (topic: string, originalBytes: number) => void;
}

/**
 * True for the broker's answers that the idempotent producer's state is lost (after a broker
 * restart): kafkajs cannot send with that producer again, a new one must take over.
 */
export function isProducerLost(error: unknown): boolean {
  const types = new Set([
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "UNKNOWN_PRODUCER_ID",
    "INVALID_PRODUCER_EPOCH",
    "INVALID_PRODUCER_ID_MAPPING",
  ]);
  let e = error as { type?: string; cause?: unknown; message?: string } | undefined;
  for (let depth = 0; e && depth < 8; depth++) {
    if (types.has(e.type ?? "") || /out of order sequence number/i.test(e.message ?? "")) {
      return true;
    }
    e = e.cause as typeof e;
  }
  return false;
}

/** True for the broker's answers that a batch or request is over a size limit. */
export function isTooLarge(error: unknown): boolean {
  type E = { type?: string; cause?: unknown; message?: string; errors?: unknown[] };
  const seen = new Set<unknown>();
  const visit = (e: E | undefined, depth: number): boolean => {
    if (!e || depth > 8 || seen.has(e)) return false;
    seen.add(e);
    if (e.type === "MESSAGE_TOO_LARGE" || e.type === "RECORD_LIST_TOO_LARGE") return true;
    if (/larger than the max message size/.test(e.message ?? "")) return true;
    return visit(e.cause as E, depth + 1) ||
      (Array.isArray(e.errors) && e.errors.some((x) => visit(x as E, depth + 1)));
  };
  return visit(error as E, 0);
}

/**
 * Sends every record of `topicMessages` (`acks: -1`) in requests that fit the topics' limits,
 * one request after the other; resolves once the broker has acknowledged all of them. Records
 * too large alone are cut ({@link fitRecord}). A request the broker still refuses as too large is
 * split in half and sent again. Other errors reject (the caller's batch is retried).
 */
export async function sendWithinLimits(
  producer: Producer,
  topicMessages: TopicMessages[],
  options: SendOptions = {},
): Promise<void> {
  const queues = topicMessages.filter((t) => t.messages.length > 0).map((t) => {
    const budget = recordBudget(
      options.limits?.get(t.topic) ?? BROKER_DEFAULT_MAX_MESSAGE_BYTES,
    );
    const messages = t.messages.map((m) => {
      const fitted = fitRecord(m, budget);
      if (fitted !== m) options.onTruncated?.(t.topic, byteLength(m.value));
      return fitted;
    });
    return { topic: t.topic, budget, groups: groupByBytes(messages, budget) };
  });
  for (let i = 0; queues.some((q) => i < q.groups.length); i++) {
    const request = queues.filter((q) => i < q.groups.length)
      .map((q) => ({ topic: q.topic, messages: q.groups[i] }));
    await sendSplitting(producer, request, options);
  }
}

async function sendSplitting(
  producer: Producer,
  request: TopicMessages[],
  options: SendOptions,
): Promise<void> {
  try {
    await producer.sendBatch({ acks: -1, topicMessages: request });
  } catch (e) {
    if (!isTooLarge(e)) throw e;
    // Split each topic's records in half; a single record is cut to half its size.
    const halves: TopicMessages[][] = [[], []];
    for (const t of request) {
      if (t.messages.length > 1) {
        const mid = Math.ceil(t.messages.length / 2);
        halves[0].push({ topic: t.topic, messages: t.messages.slice(0, mid) });
        halves[1].push({ topic: t.topic, messages: t.messages.slice(mid) });
      } else {
        const m = t.messages[0];
        const smaller = fitRecord(m, Math.floor(recordBytes(m) / 2));
        if (recordBytes(smaller) >= recordBytes(m)) throw e; // nothing left to cut
        options.onTruncated?.(t.topic, byteLength(m.value));
        halves[0].push({ topic: t.topic, messages: [smaller] });
      }
    }
    for (const half of halves) if (half.length > 0) await sendSplitting(producer, half, options);
  }
}

/**
 * `max.message.bytes` of each of `topics` as the broker has it (topic override or the broker's
 * default); a topic it cannot describe is left out (callers fall back to
 * {@link BROKER_DEFAULT_MAX_MESSAGE_BYTES}).
 */
export async function readTopicLimits(admin: Admin, topics: string[]): Promise<TopicLimits> {
  const limits: TopicLimits = new Map();
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configNames: ["max.message.bytes"],
    })),
  });
  for (const r of described.resources) {
    const entry = r.configEntries.find((c) => c.configName === "max.message.bytes");
    const bytes = Number(entry?.configValue);
    if (r.errorCode === 0 && Number.isInteger(bytes) && bytes > 0) {
      limits.set(r.resourceName, bytes);
    }
  }
  return limits;
}

/**
 * A faster decoder of the records kafkajs 2.2.4 fetches (a RecordBatch's `Record` v0, magic 2),
 * installed on import; the messages it returns are the same as kafkajs's own, field for field.
 *
 * kafkajs decodes each record's timestamp and offset through 64-bit `Long` arithmetic from the
 * batch's first timestamp and offset, which it keeps as decimal strings: each record parses both
 * strings, adds, and prints the sums back (`Long.toString` divides digit group by digit group),
 * reads the timestamp's delta through a `Long` per byte, and folds the headers into an object by
 * spreading it once per header: 1.3–1.4 µs a record with one header on this project's machines
 * (median of seven rounds of 20,000), where a plain kafkajs consumer spends 1.5–3.5 µs an event
 * in all. Here the sums are plain numbers where they are safe integers (every offset and
 * millisecond timestamp in practice; each batch's strings parsed once) and the headers one object
 * filled in place: 0.7–0.8 µs.
 *
 * A record this decoder does not cover is handed, from its start, to kafkajs's decoder: a
 * timestamp delta of more than 7 bytes, a first offset or timestamp that is not a decimal safe
 * integer, a sum that is not one, a length or count below −1, a header named `__proto__` or
 * without a name (length −1), bytes that end before the record does. So malformed records fail
 * as they did.
 *
 * kafkajs loads its fetch response decoders on the first fetch; the batch decoder takes the
 * record decoder from the module cache then. So this module replaces that cache entry
 * (`kafkajs_module.ts`), and must be imported before any client consumes (`kafka.ts` imports it);
 * it refuses to load after.
 * Idempotent.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { kafkajsModule, replaceKafkajsModule } from "./kafkajs_module.ts";

/** kafkajs's record decoder (v0: the only record format of RecordBatch, magic 2). */
const RECORD_DECODER_MODULE = "kafkajs/src/protocol/recordBatch/record/v0/decoder.js";
/** The batch decoder that takes its record decoder from {@link RECORD_DECODER_MODULE}. */
const BATCH_DECODER_MODULE = "kafkajs/src/protocol/recordBatch/v0/decoder.js";
/** kafkajs's timestamp type of a batch whose records all carry the broker's append time. */
const LOG_APPEND_TIME = 1;

/** What kafkajs's `Decoder` holds: the record's bytes and the position read so far. */
export interface DecoderLike {
  buffer: Buffer;
  offset: number;
}

/** The batch's fields a record is decoded against (kafkajs's `recordContext`). */
export interface BatchContext {
  firstOffset?: unknown;
  firstTimestamp?: unknown;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: unknown;
  [field: string]: unknown;
}

/** A message as kafkajs's record decoder returns it. */
export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: unknown;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, unknown>;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

type RecordDecoder = (decoder: DecoderLike, batchContext?: BatchContext) => DecodedRecord;

/** Records decoded by the fast path (tests read it: the path a fetch takes). */
let decoded = 0;

/** The number of records the fast decoder has decoded in this process. */
export function recordsDecoded(): number {
  return decoded;
}

/** While true, every record goes to kafkajs's decoder ({@link decodeWithKafkajs}). */
let handOver = false;

/**
 * While `on`, every record is handed to kafkajs's own decoder (the messages are the same either
 * way): `bench pipeline` measures a plain kafkajs consumer beside one with this decoder, in one
 * process. Off by default.
 */
export function decodeWithKafkajs(on: boolean): void {
  handOver = on;
}

/** A decimal string's value when it is a safe integer written as `String` writes it, else NaN. */
function safeInteger(s: unknown): number {
  if (typeof s !== "string") return NaN;
  const v = Number(s);
  return Number.isSafeInteger(v) && String(v) === s ? v : NaN;
}

/**
 * The fast decoder over kafkajs's (`fallback`, which takes every record it does not cover).
 * Exported for the tests, which compare the two.
 */
export function createRecordDecoder(fallback: RecordDecoder): RecordDecoder {
  // The read position of the record under way: the varint readers move it.
  let at = 0;
  // kafkajs's readVarInt, bit for bit (32-bit zigzag; a byte past the end reads as 0 and ends
  // it); NaN after more than 5 bytes (the fallback then reads it).
  const varInt = (buf: Buffer): number => {
    let result = 0, i = 0, byte = 0;
    do {
      if (i > 28) return NaN;
      byte = buf[at++];
      result += (byte & 0x7f) << i;
      i += 7;
    } while (byte >= 0x80);
    return (result >>> 1) ^ -(result & 1);
  };
  // A zigzag varlong of at most 7 bytes (49 bits) as a number; NaN beyond, or past the end.
  const varLong = (buf: Buffer): number => {
    let result = 0, scale = 1, byte = 0;
    for (let i = 0;; i++) {
      if (i === 7 || at >= buf.length) return NaN;
      byte = buf[at++];
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) break;
    }
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  };
  // kafkajs's readVarIntBytes; undefined where a length below −1 would make it read backwards.
  const bytes = (buf: Buffer): Buffer | null | undefined => {
    const length = varInt(buf);
    if (length === -1) return null;
    if (!(length >= 0)) return undefined;
    const part = buf.slice(at, at + length);
    at += length;
    return part;
  };
  // The batch under way: its first offset and timestamp, each parsed once (NaN: not covered).
  let batch: BatchContext | undefined, batchOffset = NaN, batchTimestamp = NaN;
  let batchFirstOffset: unknown, batchFirstTimestamp: unknown;
  return (decoder, batchContext = {}) => {
    const buf = decoder.buffer, start = decoder.offset;
    const {
      firstOffset,
      firstTimestamp,
      magicByte,
      isControlBatch = false,
      timestampType,
      maxTimestamp,
    } = batchContext;
    if (
      batchContext !== batch || firstOffset !== batchFirstOffset ||
      firstTimestamp !== batchFirstTimestamp
    ) {
      batch = batchContext;
      batchFirstOffset = firstOffset;
      batchFirstTimestamp = firstTimestamp;
      batchOffset = safeInteger(firstOffset);
      batchTimestamp = safeInteger(firstTimestamp);
    }
    at = start;
    if (handOver || !(at >= 0 && at < buf.length)) return fallback(decoder, batchContext);
    // readInt8: the byte as a signed 8-bit integer.
    const attributes = (buf[at++] << 24) >> 24;
    const timestampDelta = varLong(buf);
    let timestamp: unknown;
    if (timestampType === LOG_APPEND_TIME && maxTimestamp) timestamp = maxTimestamp;
    else {
      const sum = batchTimestamp + timestampDelta;
      if (!Number.isSafeInteger(sum)) return fallback(decoder, batchContext);
      timestamp = String(sum);
    }
    if (Number.isNaN(timestampDelta)) return fallback(decoder, batchContext);
    const offsetDelta = varInt(buf);
    const offsetSum = batchOffset + offsetDelta;
    if (!Number.isSafeInteger(offsetSum)) return fallback(decoder, batchContext);
    const key = bytes(buf), value = bytes(buf);
    if (key === undefined || value === undefined) return fallback(decoder, batchContext);
    const count = varInt(buf);
    if (!(count >= -1)) return fallback(decoder, batchContext);
    // kafkajs folds the headers into an object: a name seen again holds an array of its values.
    const headers: Record<string, unknown> = {};
    for (let h = 0; h < count; h++) {
      const length = varInt(buf);
      if (!(length >= 0)) return fallback(decoder, batchContext);
      const name = buf.slice(at, at + length).toString("utf8");
      at += length;
      const v = bytes(buf);
      if (v === undefined || name === "__proto__") return fallback(decoder, batchContext);
      const seen = headers[name];
      headers[name] = seen === undefined ? v : Array.isArray(seen) ? seen.concat([v]) : [seen, v];
    }
    // Bytes that ended before the record did read as zeros in kafkajs's varints, which go on.
    if (at > buf.length) return fallback(decoder, batchContext);
    decoder.offset = at;
    decoded++;
    return {
      magicByte,
      attributes,
      timestamp,
      offset: String(offsetSum),
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}

/** kafkajs's own record decoder (before this module replaced it). */
export const kafkajsRecordDecoder: RecordDecoder = replaceKafkajsModule<RecordDecoder>(
  RECORD_DECODER_MODULE,
  [BATCH_DECODER_MODULE],
  "kafkajs_decode.ts",
  "any client consumes",
  createRecordDecoder,
);

/** The record decoder kafkajs's batch decoder uses now. */
export function installedRecordDecoder(): RecordDecoder {
  return kafkajsModule(RECORD_DECODER_MODULE);
}

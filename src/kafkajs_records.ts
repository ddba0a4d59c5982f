/**
 * A faster encoder of the records kafkajs 2.2.4 produces (a RecordBatch's `Record` v0, produce
 * requests v3–v7), installed on import; the bytes are the same as kafkajs's own.
 *
 * kafkajs encodes each record with a fresh `Encoder` (a zeroed 512-byte buffer), one more per
 * header, and a new `Buffer` for every variable-length integer, the timestamp's through 64-bit
 * `Long` arithmetic: 11–20 µs an alert and 28–55 µs a dead letter with its six headers (this
 * project's machines), where the processor's whole work on an event is 10–15 µs. Here a record is
 * measured first and written into one buffer of its size: 2–4 µs. Records this encoder
 * does not cover (a key, value or header value that is neither a string nor a `Buffer`, null
 * header values, a timestamp delta that is not a safe integer) are handed to kafkajs's encoder.
 *
 * kafkajs loads its produce request modules on the first produce; they take the record encoder
 * from the module cache then. So this module replaces that cache entry (`kafkajs_module.ts`), and
 * must be imported before any client produces (`kafka.ts` imports it); it refuses to load after.
 * Idempotent.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { kafkajsModule, replaceKafkajsModule } from "./kafkajs_module.ts";

/** kafkajs's record encoder (v0: the only record format of RecordBatch, magic 2). */
const RECORD_MODULE = "kafkajs/src/protocol/recordBatch/record/v0/index.js";
/** kafkajs's `Encoder`, whose instances a RecordBatch concatenates. */
const ENCODER_MODULE = "kafkajs/src/protocol/encoder.js";
/** The produce requests that take their records from {@link RECORD_MODULE}. */
const PRODUCE_MODULES = [3, 4, 5, 6, 7].map((v) =>
  `kafkajs/src/protocol/requests/produce/v${v}/request.js`
);

/** A record as kafkajs's produce request passes it to its encoder. */
export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}

/** What kafkajs's `Encoder` instances hold: the buffer and how much of it is written. */
interface EncoderLike {
  buf: Buffer;
  offset: number;
}

type EncoderClass = new (initialSize?: number) => EncoderLike;
type RecordEncoder = (record: RecordInput) => EncoderLike;

/**
 * A key, value, header name or header value as the fast encoder writes it: a string (UTF-8), a
 * Buffer, or null; `false` for anything else (kafkajs's encoder then takes the record).
 */
type Part = string | Uint8Array | null | false;

/** Strings longer than this are encoded at once (one call); shorter ones byte by byte. */
const SHORT = 32;
const utf8 = new TextEncoder();

function partOf(v: unknown): Part {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v.length > SHORT ? utf8.encode(v) : v;
  return Buffer.isBuffer(v) ? v : false;
}

/** The UTF-8 length of `s`. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  }
  return s.length;
}

/** Bytes of kafkajs's `writeVarInt(v)`: 32-bit zigzag, then 7 bits a byte. */
function sizeOfVarInt(v: number): number {
  let z = (v << 1) ^ (v >> 31), n = 1;
  while ((z & 0xffffff80) !== 0) {
    n++;
    z >>>= 7;
  }
  return n;
}

function writeVarInt(buf: Uint8Array, at: number, v: number): number {
  let z = (v << 1) ^ (v >> 31);
  while ((z & 0xffffff80) !== 0) {
    buf[at++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[at++] = z & 0x7f;
  return at;
}

/** The 64-bit zigzag of a safe integer, exact as a double (|v| ≤ 2^52). */
const zigzag64 = (v: number) => v >= 0 ? 2 * v : -2 * v - 1;

function sizeOfVarLong(v: number): number {
  let z = zigzag64(v), n = 1;
  while (z >= 128) {
    n++;
    z = Math.floor(z / 128);
  }
  return n;
}

function writeVarLong(buf: Uint8Array, at: number, v: number): number {
  let z = zigzag64(v);
  while (z >= 128) {
    buf[at++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[at++] = z;
  return at;
}

/** kafkajs's `writeVarIntBytes` of a part of `length` bytes: the length (−1 for null), the bytes. */
function writePart(buf: Buffer, at: number, p: string | Uint8Array | null, length: number): number {
  if (p === null) return writeVarInt(buf, at, -1);
  at = writeVarInt(buf, at, length);
  if (typeof p !== "string") buf.set(p, at);
  else if (length === p.length) { for (let i = 0; i < length; i++) buf[at + i] = p.charCodeAt(i); }
  else buf.write(p, at, length, "utf8");
  return at + length;
}

/** Bytes of a part of `length` bytes (−1: null) with its length. */
const sizeOfPart = (length: number) =>
  length < 0 ? sizeOfVarInt(-1) : sizeOfVarInt(length) + length;

const lengthOf = (p: string | Uint8Array | null) =>
  p === null ? -1 : typeof p === "string" ? utf8Length(p) : p.length;

let encoded = 0;

/** Records written by the fast path so far (all encoders of {@link createRecordEncoder}). */
export function recordsEncoded(): number {
  return encoded;
}

/**
 * A record encoder with kafkajs's bytes (`Record` v0: length, attributes, timestamp delta,
 * offset delta, key, value, headers), into one buffer of the record's size; `fallback` (kafkajs's
 * own) for what it does not cover.
 */
export function createRecordEncoder(
  Encoder: EncoderClass,
  fallback: RecordEncoder,
): RecordEncoder {
  return (record) => {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
    if (!Number.isSafeInteger(timestampDelta) || Math.abs(timestampDelta) > 2 ** 52) {
      return fallback(record);
    }
    if (!Number.isInteger(offsetDelta) || offsetDelta < 0 || offsetDelta > 0x3fffffff) {
      return fallback(record);
    }
    const k = partOf(key), v = partOf(value);
    if (k === false || v === false) return fallback(record);
    // Parts in order: key, value, then each header's name and value; headers as kafkajs flattens
    // them (an array value is one header per element).
    const parts: (string | Uint8Array | null)[] = [k, v];
    for (const name of Object.keys(headers)) {
      const h = headers[name];
      for (const one of Array.isArray(h) ? h : [h]) {
        const p = partOf(one);
        if (p === false || p === null) return fallback(record);
        parts.push(name.length > SHORT ? utf8.encode(name) : name, p);
      }
    }
    const lengths = parts.map(lengthOf);
    const count = (parts.length - 2) / 2;
    let body = 1 + sizeOfVarLong(timestampDelta) + sizeOfVarInt(offsetDelta) + sizeOfVarInt(count);
    for (const length of lengths) body += sizeOfPart(length);
    const out = new Encoder(sizeOfVarInt(body) + body);
    const buf = out.buf;
    let at = writeVarInt(buf, 0, body);
    buf[at++] = 0;
    at = writeVarLong(buf, at, timestampDelta);
    at = writeVarInt(buf, at, offsetDelta);
    at = writePart(buf, at, parts[0], lengths[0]);
    at = writePart(buf, at, parts[1], lengths[1]);
    at = writeVarInt(buf, at, count);
    for (let i = 2; i < parts.length; i++) at = writePart(buf, at, parts[i], lengths[i]);
    out.offset = at;
    encoded++;
    return out;
  };
}

/** kafkajs's own record encoder (before this module replaced it). */
export const kafkajsRecord: RecordEncoder = replaceKafkajsModule<RecordEncoder>(
  RECORD_MODULE,
  PRODUCE_MODULES,
  "kafkajs_records.ts",
  "any client produces",
  (original) => createRecordEncoder(kafkajsModule(ENCODER_MODULE), original),
);

/** The record encoder kafkajs's produce requests use now. */
export function installedRecordEncoder(): RecordEncoder {
  return kafkajsModule(RECORD_MODULE);
}

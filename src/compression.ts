/**
 * Kafka's compression codecs that kafkajs lacks, so a topic is read whatever its producers
 * compress with: snappy (raw, or in the xerial framing the Java client writes), lz4 (the LZ4 frame
 * format of KIP-57) and zstd (read only; nothing this product writes is compressed with it).
 * gzip is kafkajs's own.
 *
 * The codecs are pure functions over bytes ({@link decompressSnappy}, {@link compressSnappy},
 * {@link decompressLz4}, {@link compressLz4}, {@link decompressZstd}); {@link registerCodecs}
 * installs them into kafkajs's `CompressionCodecs`, once, before any client reads.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import snappy from "snappyjs";
import lz4 from "lz4js";
import { decompress as zstdDecompress } from "fzstd";

/**
 * Most bytes one snappy or lz4 batch may expand to: a bogus length in a batch stops its read with
 * an error instead of allocating gigabytes.
 */
export const MAX_DECOMPRESSED_BYTES = 256 * 2 ** 20;

/** The first bytes of a xerial snappy stream: `\x82SNAPPY\0`, then two 32-bit versions. */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER = 16;

/** Whether `bytes` start with the xerial snappy stream's magic. */
function isXerial(bytes: Uint8Array): boolean {
  if (bytes.length < XERIAL_HEADER) return false;
  return XERIAL_MAGIC.every((b, i) => bytes[i] === b);
}

/** Joins `parts` into one array. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Decompresses a snappy-compressed batch: a raw snappy block, or xerial chunks (each a 32-bit
 * big-endian length and a raw block). Throws on malformed input or beyond
 * {@link MAX_DECOMPRESSED_BYTES}.
 */
export function decompressSnappy(bytes: Uint8Array): Uint8Array {
  if (!isXerial(bytes)) return snappy.uncompress(bytes, MAX_DECOMPRESSED_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Uint8Array[] = [];
  let at = XERIAL_HEADER, total = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new RangeError("snappy: truncated xerial chunk length");
    const size = view.getUint32(at);
    at += 4;
    if (at + size > bytes.length) throw new RangeError("snappy: truncated xerial chunk");
    const chunk = snappy.uncompress(bytes.subarray(at, at + size), MAX_DECOMPRESSED_BYTES - total);
    total += chunk.length;
    chunks.push(chunk);
    at += size;
  }
  return concat(chunks);
}

/** Compresses `bytes` as one raw snappy block (what kafkajs's and librdkafka's readers take). */
export function compressSnappy(bytes: Uint8Array): Uint8Array {
  return snappy.compress(bytes);
}

/** Block sizes of an LZ4 frame by its descriptor's code (4–7). */
const LZ4_BLOCK_SIZES: Record<number, number> = { 4: 2 ** 16, 5: 2 ** 18, 6: 2 ** 20, 7: 2 ** 22 };

/**
 * The most bytes an LZ4 frame can decompress to, from its blocks' sizes (its declared content
 * size is not trusted). Throws on a frame that is not one or is cut short.
 */
export function lz4Bound(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 7 || view.getUint32(0, true) !== 0x184d2204) {
    throw new RangeError("lz4: not an LZ4 frame");
  }
  const flags = bytes[4], blockMax = LZ4_BLOCK_SIZES[(bytes[5] >> 4) & 7];
  if ((flags & 0xc0) !== 0x40 || blockMax === undefined) {
    throw new RangeError("lz4: an LZ4 frame of another version or block size");
  }
  const blockSum = (flags & 0x10) !== 0;
  let at = 6 + ((flags & 0x08) !== 0 ? 8 : 0) + ((flags & 0x01) !== 0 ? 4 : 0) + 1;
  let bound = 0;
  for (;;) {
    if (at + 4 > bytes.length) throw new RangeError("lz4: truncated frame");
    const word = view.getUint32(at, true);
    at += 4;
    if (word === 0) return bound;
    const size = word & 0x7fffffff;
    bound += (word & 0x80000000) !== 0 ? size : blockMax;
    at += size + (blockSum ? 4 : 0);
  }
}

/**
 * Decompresses an LZ4 frame (block checksums and the content checksum are not verified: the
 * batch's own CRC already was). Throws on malformed input or beyond
 * {@link MAX_DECOMPRESSED_BYTES}.
 */
export function decompressLz4(bytes: Uint8Array): Uint8Array {
  const bound = lz4Bound(bytes);
  if (bound > MAX_DECOMPRESSED_BYTES) {
    throw new RangeError(`lz4: a batch of up to ${bound} bytes, at most ${MAX_DECOMPRESSED_BYTES}`);
  }
  return asBytes(lz4.decompress(bytes, bound));
}

/** Compresses `bytes` as one LZ4 frame. */
export function compressLz4(bytes: Uint8Array): Uint8Array {
  return asBytes(lz4.compress(bytes));
}

/** lz4js's output as bytes: a `Uint8Array` already where typed arrays exist, else copied. */
function asBytes(out: Uint8Array | number[]): Uint8Array {
  return out instanceof Uint8Array ? out : Uint8Array.from(out);
}

/** Decompresses zstd frames. Throws on malformed input. */
export function decompressZstd(bytes: Uint8Array): Uint8Array {
  return zstdDecompress(bytes);
}

/** A codec in kafkajs's shape: it compresses an encoder's buffer and decompresses a buffer. */
function codec(
  compress: (bytes: Uint8Array) => Uint8Array,
  decompress: (bytes: Uint8Array) => Uint8Array,
) {
  const toBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const kafkajsCodec = {
    compress: (encoder: { buffer: Buffer }) => Promise.resolve(toBuffer(compress(encoder.buffer))),
    decompress: (buffer: Buffer) => Promise.resolve(toBuffer(decompress(buffer))),
  };
  return () => kafkajsCodec;
}

/** Raises for a codec this product only reads. */
function readOnly(name: string) {
  return () => {
    throw new Error(`${name}: this product reads it but does not compress with it`);
  };
}

/**
 * Installs snappy, lz4 and zstd into kafkajs's `CompressionCodecs` (repeatable). Call before any
 * consumer fetches.
 */
export function registerCodecs(): void {
  const codecs = CompressionCodecs as Record<number, unknown>;
  codecs[CompressionTypes.Snappy] = codec(compressSnappy, decompressSnappy);
  codecs[CompressionTypes.LZ4] = codec(compressLz4, decompressLz4);
  codecs[CompressionTypes.ZSTD] = codec(readOnly("zstd"), decompressZstd);
}

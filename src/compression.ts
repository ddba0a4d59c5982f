/**
 * Kafka's compression codecs that kafkajs lacks, so a topic is read whatever its producers
 * compress with: snappy (raw, or in the xerial framing the Java client writes), lz4 (the LZ4 frame
 * format of KIP-57) and zstd (read only; nothing this product writes is compressed with it).
 * gzip compresses with kafkajs's own codec and decompresses here, so every codec has the same
 * limit on what one batch may expand to, and the same answer to a batch it cannot read
 * (`unreadable.ts`: its records are dead-lettered, the consumer moves on).
 *
 * The codecs are pure functions over bytes ({@link decompressSnappy}, {@link compressSnappy},
 * {@link decompressLz4}, {@link compressLz4}, {@link decompressZstd}, {@link decompressGzip});
 * {@link registerCodecs} installs them into kafkajs's `CompressionCodecs` before any client reads.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import snappy from "snappyjs";
import lz4 from "lz4js";
import { decompress as zstdDecompress } from "fzstd";
import zlib from "node:zlib";
import { logger } from "./log.ts";
import { batchRecordCount, COMPRESSED_RECORDS_HEADER, standInRecords } from "./unreadable.ts";

/**
 * Default of the most bytes one compressed batch may expand to (`MAX_BATCH_BYTES`): a batch
 * beyond it, or whose framing claims more, is refused before it is decompressed instead of
 * allocating gigabytes, and its records are dead-lettered (see {@link registerCodecs}).
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
 * big-endian length and a raw block). Throws on malformed input or beyond `limit` bytes.
 */
export function decompressSnappy(
  bytes: Uint8Array,
  limit: number = MAX_DECOMPRESSED_BYTES,
): Uint8Array {
  if (!isXerial(bytes)) return snappy.uncompress(bytes, limit);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Uint8Array[] = [];
  let at = XERIAL_HEADER, total = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new RangeError("snappy: truncated xerial chunk length");
    const size = view.getUint32(at);
    at += 4;
    if (at + size > bytes.length) throw new RangeError("snappy: truncated xerial chunk");
    const chunk = snappy.uncompress(bytes.subarray(at, at + size), limit - total);
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

/** Most bytes a zstd block regenerates (the format's `Block_Maximum_Size`). */
const ZSTD_BLOCK_MAX = 2 ** 17;

/**
 * Largest zstd window read (128 MiB, the reference decoder's own default limit): fzstd allocates
 * a frame's window up front, so a frame claiming a larger one is refused whatever its content.
 */
export const ZSTD_WINDOW_MAX = 2 ** 27;

/**
 * The most bytes zstd frames `bytes` regenerate: per frame, the larger of its declared content
 * size and its blocks' regenerated sizes (raw and RLE blocks exactly, a compressed block at most
 * 128 KiB), summed over the frames (RFC 8878). Throws on bytes that are not zstd frames, are cut
 * short, or claim a window beyond {@link ZSTD_WINDOW_MAX}.
 */
export function zstdBound(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0, total = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new RangeError("zstd: truncated frame");
  };
  while (at < bytes.length) {
    need(4);
    const magic = view.getUint32(at, true);
    if ((magic & 0xfffffff0) === 0x184d2a50) { // a skippable frame
      need(8);
      at += 8 + view.getUint32(at + 4, true);
      continue;
    }
    if (magic !== 0xfd2fb528) throw new RangeError("zstd: not a zstd frame");
    need(6);
    const flags = bytes[at + 4];
    const single = (flags >> 5) & 1, checksum = (flags >> 2) & 1, dict = flags & 3;
    const sizeBytes = flags >> 6 ? 1 << (flags >> 6) : single;
    at += 5;
    if (!single) {
      const w = bytes[at++];
      const base = 2 ** (10 + (w >> 3));
      const window = base + (base / 8) * (w & 7);
      if (window > ZSTD_WINDOW_MAX) {
        throw new RangeError(`zstd: a window of ${window} bytes, at most ${ZSTD_WINDOW_MAX}`);
      }
    }
    at += [0, 1, 2, 4][dict];
    need(sizeBytes);
    let content = 0;
    for (let i = 0; i < sizeBytes; i++) content += bytes[at + i] * 2 ** (8 * i);
    if (sizeBytes === 2) content += 256;
    at += sizeBytes;
    let blocks = 0;
    for (let last = 0; !last;) {
      need(3);
      const header = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
      last = header & 1;
      const type = (header >> 1) & 3, size = header >>> 3;
      at += 3;
      if (type === 3) throw new RangeError("zstd: a reserved block type");
      blocks += type === 2 ? ZSTD_BLOCK_MAX : size;
      at += type === 1 ? 1 : size;
    }
    at += 4 * checksum;
    need(0);
    total += Math.max(content, blocks);
  }
  return total;
}

/**
 * Decompresses zstd frames. Throws on malformed input or when {@link zstdBound} is beyond `limit`
 * bytes (a frame can regenerate over 30,000 times its size).
 */
export function decompressZstd(
  bytes: Uint8Array,
  limit: number = MAX_DECOMPRESSED_BYTES,
): Uint8Array {
  const bound = zstdBound(bytes);
  if (bound > limit) {
    throw new RangeError(`zstd: a batch of up to ${bound} bytes, at most ${limit}`);
  }
  return zstdDecompress(bytes);
}

/** Decompresses gzip (kafkajs's own codec, here with the limit). Throws beyond `limit` bytes. */
export function decompressGzip(
  bytes: Uint8Array,
  limit: number = MAX_DECOMPRESSED_BYTES,
): Uint8Array {
  return zlib.unzipSync(bytes, { maxOutputLength: limit });
}

/** kafkajs's own gzip codec, taken before {@link registerCodecs} replaces it (its compression is kept). */
const KAFKAJS_GZIP =
  (CompressionCodecs as Record<number, () => KafkajsCodec>)[CompressionTypes.GZIP];

/** Options of {@link registerCodecs}. */
export interface CodecOptions {
  /** Most bytes one batch may expand to. Default: {@link MAX_DECOMPRESSED_BYTES}. */
  maxBatchBytes?: number;
}

/** A codec as kafkajs keeps it: compresses an encoder's buffer, decompresses a buffer. */
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Codec names by Kafka's attribute bits. */
const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];

const toBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * kafkajs's codec for `type`: `decompress` (bounded by `limit`) or, for a batch it fails on,
 * stand-ins for the batch's records that the checker dead-letters ({@link standInRecords}).
 */
function codec(
  type: number,
  compress: KafkajsCodec["compress"],
  decompress: (bytes: Uint8Array, limit: number) => Uint8Array,
  limit: number,
) {
  const name = CODEC_NAMES[type];
  const kafkajsCodec: KafkajsCodec = {
    compress,
    decompress: (buffer: Buffer) => {
      try {
        return Promise.resolve(toBuffer(decompress(buffer, limit)));
      } catch (e) {
        const count = batchRecordCount(buffer, type);
        if (count === undefined) return Promise.reject(e);
        const reason = `unreadable ${name} batch of ${count} records (${buffer.length} ` +
          `compressed bytes): ${(e as Error).message}; the first record's dead letter holds ` +
          `its compressed bytes in the ${COMPRESSED_RECORDS_HEADER} header`;
        logger("consumer").warn("unreadable_batch", { codec: name, records: count, reason });
        return Promise.resolve(toBuffer(standInRecords(count, reason, buffer)));
      }
    },
  };
  return () => kafkajsCodec;
}

/** Compresses with `fn` (an encoder's buffer in, a Buffer out). */
function compressWith(fn: (bytes: Uint8Array) => Uint8Array): KafkajsCodec["compress"] {
  return (encoder) => Promise.resolve(toBuffer(fn(encoder.buffer)));
}

/** Raises for a codec this product only reads. */
function readOnly(name: string): KafkajsCodec["compress"] {
  return () =>
    Promise.reject(new Error(`${name}: this product reads it but does not compress with it`));
}

/**
 * Installs gzip, snappy, lz4 and zstd into kafkajs's `CompressionCodecs` (repeatable; the last
 * call's options hold for every client of the process). Call before any consumer fetches.
 *
 * Each decompresses at most `maxBatchBytes`. A batch a codec cannot read (malformed, or beyond
 * the limit) is answered with one stand-in record per record of the batch, which the checker
 * dead-letters with the reason, the first with the batch's compressed bytes: the consumer moves
 * on instead of failing on the batch again and again.
 */
export function registerCodecs(options: CodecOptions = {}): void {
  const limit = options.maxBatchBytes ?? MAX_DECOMPRESSED_BYTES;
  const codecs = CompressionCodecs as Record<number, () => KafkajsCodec>;
  const gzip = KAFKAJS_GZIP();
  codecs[CompressionTypes.GZIP] = codec(
    CompressionTypes.GZIP,
    gzip.compress,
    decompressGzip,
    limit,
  );
  codecs[CompressionTypes.Snappy] = codec(
    CompressionTypes.Snappy,
    compressWith(compressSnappy),
    decompressSnappy,
    limit,
  );
  codecs[CompressionTypes.LZ4] = codec(
    CompressionTypes.LZ4,
    compressWith(compressLz4),
    decompressLz4,
    limit,
  );
  codecs[CompressionTypes.ZSTD] = codec(
    CompressionTypes.ZSTD,
    readOnly("zstd"),
    decompressZstd,
    limit,
  );
}

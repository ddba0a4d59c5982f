/**
 * Stand-ins for the records of a compressed batch that cannot be decompressed, so such a batch
 * is dead-lettered instead of stopping the consumer.
 *
 * kafkajs decompresses a batch inside its fetch and cannot skip one it fails on: the consumer
 * would fetch it, fail and restart at the same offset forever. The codecs (`compression.ts`)
 * answer such a batch with {@link standInRecords}: as many records as the batch holds, in
 * Kafka's record format, each a value {@link UNREADABLE_PREFIX} + the reason. The checker
 * ({@link unreadableReason}) rejects them with that reason, so each goes to the dead-letter topic
 * and the group's offset moves past the batch. The first one carries the batch's compressed bytes
 * in its {@link COMPRESSED_RECORDS_HEADER} header: nothing is lost.
 *
 * The record count is read from the batch header that precedes the compressed bytes in the
 * fetch response ({@link batchRecordCount}), checked against the header's magic byte, codec and
 * offsets, so bytes that are not such a header are never taken for one.
 *
 * Pure functions over bytes.
 *
 * @module
 */

/** How a stand-in record's value starts: a zero byte, this product's name, a zero byte. */
export const UNREADABLE_PREFIX = "\u0000anomaly-flow:unreadable-batch\u0000";
/** Header of the first stand-in record holding the batch's compressed bytes. */
export const COMPRESSED_RECORDS_HEADER = "dq_compressed_records";
/** Most records one stand-in batch may hold (a batch header claiming more is not trusted). */
export const MAX_STAND_INS = 1_000_000;

const PREFIX_BYTES = new TextEncoder().encode(UNREADABLE_PREFIX);

/** Bytes of a record batch header (magic 2) from its partition leader epoch to its records. */
const HEADER_AFTER_LENGTH = 49;

/**
 * The record count of the batch whose compressed records are `records`, read from the batch
 * header just before them in the same memory (kafkajs hands a codec a view into the fetch
 * response); `undefined` unless that header is a magic-2 header of codec `codec` whose length
 * and last offset agree with the count and `records`.
 */
export function batchRecordCount(records: Uint8Array, codec: number): number | undefined {
  const start = records.byteOffset;
  if (start < HEADER_AFTER_LENGTH + 4) return undefined;
  const view = new DataView(records.buffer, start - HEADER_AFTER_LENGTH - 4);
  const length = view.getInt32(0);
  const magic = view.getInt8(4 + 4);
  const attributes = view.getInt16(4 + 9);
  const lastOffsetDelta = view.getInt32(4 + 11);
  const count = view.getInt32(4 + HEADER_AFTER_LENGTH - 4);
  if (magic !== 2 || (attributes & 7) !== codec) return undefined;
  if (length !== HEADER_AFTER_LENGTH + records.length) return undefined;
  if (count < 1 || count > lastOffsetDelta + 1 || count > MAX_STAND_INS) return undefined;
  return count;
}

/** Appends `v` as a zigzag varint (Kafka's record fields). */
function pushVarint(out: number[], v: number): void {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
}

/** Appends `bytes` with its zigzag varint length. */
function pushBytes(out: number[], bytes: Uint8Array): void {
  pushVarint(out, bytes.length);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

/**
 * `count` records in Kafka's record format (offset deltas 0…count−1, the batch's first
 * timestamp, no key), each with the value {@link UNREADABLE_PREFIX} + `reason`; the first also
 * has the header {@link COMPRESSED_RECORDS_HEADER} = `compressed`.
 */
export function standInRecords(count: number, reason: string, compressed: Uint8Array): Uint8Array {
  const value = new TextEncoder().encode(UNREADABLE_PREFIX + reason);
  const headerKey = new TextEncoder().encode(COMPRESSED_RECORDS_HEADER);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const body: number[] = [0]; // attributes
    pushVarint(body, 0); // timestamp delta
    pushVarint(body, i); // offset delta
    pushVarint(body, -1); // no key
    pushBytes(body, value);
    pushVarint(body, i === 0 ? 1 : 0); // headers
    if (i === 0) {
      pushBytes(body, headerKey);
      pushBytes(body, compressed);
    }
    pushVarint(out, body.length);
    for (const b of body) out.push(b);
  }
  return Uint8Array.from(out);
}

/** The reason carried by a stand-in record's value, or `undefined` for any other record. */
export function unreadableReason(bytes: Uint8Array): string | undefined {
  if (bytes.length < PREFIX_BYTES.length || bytes[0] !== 0) return undefined;
  for (let i = 1; i < PREFIX_BYTES.length; i++) if (bytes[i] !== PREFIX_BYTES[i]) return undefined;
  return new TextDecoder().decode(bytes.subarray(PREFIX_BYTES.length));
}

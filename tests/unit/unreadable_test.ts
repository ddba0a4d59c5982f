import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionTypes } from "kafkajs";
import decodeRecordBatch from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import KafkaDecoder from "kafkajs/src/protocol/decoder.js";
import { compressLz4, registerCodecs } from "../../src/compression.ts";
import { compileChecker, createCheckOutput } from "../../src/contract/compile.ts";
import { builtinContract } from "../../src/event.ts";
import {
  batchRecordCount,
  COMPRESSED_RECORDS_HEADER,
  MAX_STAND_INS,
  unreadableReason,
} from "../../src/unreadable.ts";

/**
 * A magic-2 record batch as a fetch response holds it: first offset 100, codec `codec`, `count`
 * records whose (compressed) bytes are `records`, after `before` bytes of other data.
 */
function recordBatch(
  codec: number,
  count: number,
  records: Uint8Array,
  { lastOffsetDelta = count - 1, before = 32 } = {},
): Buffer {
  const out = Buffer.alloc(before + 61 + records.length);
  const v = new DataView(out.buffer, out.byteOffset + before);
  v.setBigInt64(0, 100n); // first offset
  v.setInt32(8, 49 + records.length); // length
  v.setInt8(16, 2); // magic
  v.setInt16(21, codec); // attributes
  v.setInt32(23, lastOffsetDelta);
  v.setBigInt64(27, 1767225600000n); // first timestamp
  v.setBigInt64(35, 1767225600000n); // max timestamp
  v.setBigInt64(43, -1n); // producer id
  v.setInt16(51, -1); // producer epoch
  v.setInt32(53, -1); // first sequence
  v.setInt32(57, count);
  out.set(records, before + 61);
  return out.subarray(before);
}

type Decoded = {
  records: { offset: string; value: Buffer; headers: Record<string, Buffer> }[];
};
const decode = (batch: Buffer) =>
  (decodeRecordBatch as (d: unknown) => Promise<Decoded>)(new KafkaDecoder(batch));

const GARBAGE = new TextEncoder().encode("these bytes are no codec's output at all");

Deno.test("a batch no codec can read becomes one dead letter per record, with the reason, the first holding the compressed bytes", async () => {
  registerCodecs();
  const checker = compileChecker(builtinContract());
  const x = new Float64Array(checker.features.length);
  const codecs = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
  for (const [name, codec] of Object.entries(codecs)) {
    const decoded = await decode(recordBatch(codec, 3, GARBAGE, { lastOffsetDelta: 4 }));
    assert.deepEqual(decoded.records.map((r) => r.offset), ["100", "101", "102"], name);
    for (const [i, r] of decoded.records.entries()) {
      const out = createCheckOutput();
      assert.equal(checker.checks[checker.check(r.value, x, 0, out)], "schema", name);
      assert.match(
        out.reason,
        new RegExp(`^unreadable ${name} batch of 3 records \\(${GARBAGE.length} `),
      );
      assert.equal(out.reason, unreadableReason(r.value));
      const kept = r.headers[COMPRESSED_RECORDS_HEADER];
      if (i === 0) assert.deepEqual(new Uint8Array(kept), GARBAGE, name);
      else assert.equal(kept, undefined, name);
    }
  }
});

Deno.test("a readable batch is decoded as it was written; bytes not preceded by a batch header are never taken for one", async () => {
  registerCodecs();
  // One record, value "v", in Kafka's record format, compressed with lz4.
  const record = Uint8Array.from([14, 0, 0, 0, 1, 2, 0x76, 0]);
  const decoded = await decode(recordBatch(CompressionTypes.LZ4, 1, compressLz4(record)));
  assert.equal(decoded.records[0].value.toString(), "v");
  assert.equal(unreadableReason(decoded.records[0].value), undefined);
  // Unreadable, but the header before it does not fit: the codec's own error stands.
  const lz4 = CompressionTypes.LZ4;
  for (
    const wrong of [
      recordBatch(CompressionTypes.Snappy, 3, GARBAGE), // another codec
      recordBatch(lz4, 3, GARBAGE, { lastOffsetDelta: 1 }), // more records than offsets
      recordBatch(lz4, MAX_STAND_INS + 1, GARBAGE, { lastOffsetDelta: 2 ** 30 }),
    ]
  ) {
    const records = wrong.subarray(61);
    assert.equal(batchRecordCount(records, lz4), undefined);
  }
  await assert.rejects(
    decode(recordBatch(lz4, 3, GARBAGE, { lastOffsetDelta: 1 })),
    /not an LZ4 frame/,
  );
  assert.equal(batchRecordCount(GARBAGE, lz4), undefined, "nothing before it");
  // A Schema Registry record starts with byte 0 too; it is not taken for a stand-in.
  assert.equal(unreadableReason(Uint8Array.from([0, 0, 0, 0, 7, 1, 2])), undefined);
});

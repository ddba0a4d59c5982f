import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import fc from "fast-check";
import {
  type BatchContext,
  createRecordDecoder,
  type DecoderLike,
  decodeWithKafkajs,
  installedRecordDecoder,
  kafkajsRecordDecoder,
  recordsDecoded,
} from "../../src/kafkajs_decode.ts";
import { kafkajsRecord, type RecordInput } from "../../src/kafkajs_records.ts";
import { replaceKafkajsModule } from "../../src/kafkajs_module.ts";

const require = createRequire(import.meta.url);
const Decoder = require("kafkajs/src/protocol/decoder.js") as new (b: Buffer) => DecoderLike;
const fast = createRecordDecoder(kafkajsRecordDecoder);

/** A record's bytes as a batch holds them after its length: what kafkajs's decoder is given. */
function recordBytes(record: RecordInput): Buffer {
  const e = kafkajsRecord(record);
  const framed = new Decoder(Buffer.from(e.buf.subarray(0, e.offset))) as DecoderLike & {
    readVarIntBytes(): Buffer;
  };
  return framed.readVarIntBytes();
}

/** What a decoder makes of `bytes` from `start`: the message and where it stopped, or its error. */
function outcome(
  decode: (d: DecoderLike, c?: BatchContext) => unknown,
  bytes: Buffer,
  context: BatchContext,
  start = 0,
) {
  const d = new Decoder(bytes);
  d.offset = start;
  try {
    return { message: decode(d, context), offset: d.offset };
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("__proto__", "toString", "constructor", "0", "17", "a\uDC00b"),
);
const blob = fc.oneof(
  text,
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.constant(null),
);
const record = fc.record({
  offsetDelta: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constant(2 ** 30 + 5)),
  timestampDelta: fc.oneof(
    fc.integer({ min: 0, max: 10_000_000 }),
    fc.integer({ min: -1000, max: 0 }),
    fc.constantFrom(2 ** 40 + 3, -(2 ** 45), 2 ** 48 + 1, 2 ** 52),
  ),
  key: blob,
  value: blob,
  headers: fc.dictionary(
    text,
    fc.oneof(
      { weight: 4, arbitrary: text },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)) },
      // A name written more than once: kafkajs reads its values back as an array.
      { weight: 1, arbitrary: fc.array(text, { minLength: 1, maxLength: 3 }) },
    ),
    { maxKeys: 6 },
  ),
}, { requiredKeys: ["key", "value"] });
/** A decimal int64 as kafkajs prints a batch's first offset or timestamp. */
const int64 = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2 ** 45 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom("-1", "0", "9007199254740991", "9007199254740993") },
  { weight: 1, arbitrary: fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map(String) },
);
const context = fc.record({
  firstOffset: int64,
  firstTimestamp: int64,
  magicByte: fc.constant(2),
  isControlBatch: fc.option(fc.boolean(), { nil: undefined }),
  timestampType: fc.constantFrom(0, 1),
  maxTimestamp: fc.oneof(int64, fc.constant("")),
});

/** A decimal safe integer's value, as `String` writes it; else undefined. */
function safe(s: string): number | undefined {
  const v = Number(s);
  return Number.isSafeInteger(v) && String(v) === s ? v : undefined;
}

/** Whether the fast path is meant to take record `r` of batch `c` (see the module doc). */
function covered(r: RecordInput, c: { [k: string]: unknown }): boolean {
  const sum = (first: unknown, delta: number) => {
    const v = safe(first as string);
    return v !== undefined && Number.isSafeInteger(v + delta);
  };
  const delta = r.timestampDelta ?? 0;
  const appendTime = c.timestampType === 1 && Boolean(c.maxTimestamp);
  return sum(c.firstOffset, r.offsetDelta ?? 0) &&
    (appendTime || sum(c.firstTimestamp, delta)) &&
    delta >= -(2 ** 48) && delta < 2 ** 48 &&
    !Object.keys(r.headers ?? {}).includes("__proto__");
}

Deno.test("the record decoder returns kafkajs's messages field for field: offsets, timestamps, keys, values and repeated headers", () => {
  let fastPath = 0;
  fc.assert(
    fc.property(record, context, (r, c) => {
      let bytes: Buffer;
      try {
        bytes = recordBytes(r);
      } catch {
        return; // kafkajs cannot encode it (a delta beyond its Long range): nothing to read.
      }
      const before = recordsDecoded();
      const got = outcome(fast, bytes, c), want = outcome(kafkajsRecordDecoder, bytes, c);
      assert.deepStrictEqual(got, want);
      // Every record it covers goes the fast way; the others are kafkajs's.
      assert.equal(recordsDecoded() - before, covered(r, c) ? 1 : 0, JSON.stringify(c));
      fastPath += recordsDecoded() - before;
    }),
    { numRuns: 3000 },
  );
  assert.ok(fastPath > 1000, `${fastPath} of 3,000 by the fast path`);
});

/** The header count kafkajs reads in `bytes` from `start` (0 when it fails before). */
function headerCount(bytes: Buffer, start: number): number {
  const d = new Decoder(bytes) as DecoderLike & Record<string, () => unknown>;
  d.offset = start;
  try {
    d.readInt8();
    d.readVarLong();
    d.readVarInt();
    d.readVarIntBytes();
    d.readVarIntBytes();
    return d.readVarInt() as number;
  } catch {
    return 0;
  }
}

Deno.test("the record decoder fails, or reads, any bytes exactly as kafkajs's does", () => {
  const good = recordBytes({
    offsetDelta: 3,
    timestampDelta: 250,
    key: "sensor-1",
    value: '{"value": 1}',
    headers: { injected: "none", dq_check: ["json", "range"] },
  });
  const c = { firstOffset: "1000", firstTimestamp: "1767347851000", magicByte: 2 };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
        // The good record cut short, or with a byte changed.
        fc.integer({ min: 0, max: good.length }).map((n) => good.subarray(0, n)),
        fc.tuple(fc.nat(good.length - 1), fc.nat(255)).map(([at, v]) => {
          const b = Buffer.from(good);
          b[at] = v;
          return b;
        }),
      ),
      fc.nat(4),
      (bytes, start) => {
        // kafkajs reads a header count of millions past the end, folding each into a new object:
        // such bytes never finish, whoever decodes them. The broker's own checks keep them out.
        fc.pre(headerCount(bytes, start) <= 100);
        assert.deepStrictEqual(
          outcome(fast, bytes, c, start),
          outcome(kafkajsRecordDecoder, bytes, c, start),
        );
      },
    ),
    { numRuns: 5000 },
  );
  // The good record itself, through the fast path.
  const before = recordsDecoded();
  const m = outcome(fast, good, c).message as Record<string, unknown>;
  assert.equal(recordsDecoded() - before, 1);
  assert.equal(m.offset, "1003");
  assert.equal(m.timestamp, "1767347851250");
  assert.deepEqual(
    Object.fromEntries(
      Object.entries(m.headers as Record<string, Buffer | Buffer[]>).map((
        [k, v],
      ) => [k, Array.isArray(v) ? v.map(String) : String(v)]),
    ),
    { injected: "none", dq_check: ["json", "range"] },
  );
});

Deno.test("kafkajs's batch decoder, loaded after the product's, decodes a batch's records through it", async () => {
  assert.notEqual(installedRecordDecoder(), kafkajsRecordDecoder);
  const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
  const decodeBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js");
  const records = Array.from({ length: 20 }, (_, i) =>
    kafkajsRecord({
      offsetDelta: i,
      timestampDelta: 10 * i,
      key: `sensor-${i % 3}`,
      value: `{"n":${i}}`,
      headers: { injected: i % 2 ? "spike" : "none" },
    }));
  const encoded = await RecordBatch({
    firstOffset: 500,
    firstTimestamp: 1767347851000,
    maxTimestamp: 1767347851190,
    lastOffsetDelta: 19,
    records,
  });
  const before = recordsDecoded();
  const batch = await decodeBatch(new Decoder(Buffer.from(encoded.buffer)));
  assert.equal(recordsDecoded() - before, 20, "every record by the product's decoder");
  assert.deepEqual(
    batch.records.map((m: Record<string, unknown>) => [m.offset, m.timestamp, `${m.value}`]),
    records.map((_, i) => [String(500 + i), String(1767347851000 + 10 * i), `{"n":${i}}`]),
  );
});

Deno.test("switched to kafkajs's own decoding (the benchmark's plain consumer), the same messages come from kafkajs's decoder", () => {
  const bytes = recordBytes({
    offsetDelta: 1,
    timestampDelta: 5,
    key: "k",
    value: "v",
    headers: {},
  });
  const c = { firstOffset: "7", firstTimestamp: "1000", magicByte: 2 };
  const want = outcome(kafkajsRecordDecoder, bytes, c);
  const before = recordsDecoded();
  decodeWithKafkajs(true);
  try {
    assert.deepStrictEqual(outcome(fast, bytes, c), want);
    assert.equal(recordsDecoded(), before, "not by the fast path");
  } finally {
    decodeWithKafkajs(false);
  }
  assert.deepStrictEqual(outcome(fast, bytes, c), want);
  assert.equal(recordsDecoded(), before + 1);
});

Deno.test("a kafkajs module is replaced once, and never after a module that takes it has loaded", () => {
  const path = "kafkajs/src/protocol/recordBatch/record/v0/decoder.js";
  // A second install hands back kafkajs's own decoder and leaves the product's in place.
  const again = replaceKafkajsModule(path, [], "again.ts", "any fetch", () => {
    throw new Error("not called: replaced already");
  });
  assert.equal(again, kafkajsRecordDecoder);
  assert.notEqual(installedRecordDecoder(), kafkajsRecordDecoder);
  // kafkajs's Decoder is loaded (this file uses it): a module it took cannot be replaced now.
  assert.throws(
    () =>
      replaceKafkajsModule(
        "kafkajs/src/utils/long.js",
        ["kafkajs/src/protocol/decoder.js"],
        "late.ts",
        "any client consumes",
        (original) => original,
      ),
    /late\.ts was imported after kafkajs loaded kafkajs\/src\/protocol\/decoder\.js: import it before any client consumes/,
  );
});

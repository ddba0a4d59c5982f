import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import fc from "fast-check";
import {
  installedRecordEncoder,
  kafkajsRecord,
  type RecordInput,
  recordsEncoded,
} from "../../src/kafkajs_records.ts";

const require = createRequire(import.meta.url);

/** The bytes an encoder writes for `record`, or the error it throws. */
function bytes(encode: (r: RecordInput) => { buf: Buffer; offset: number }, record: RecordInput) {
  try {
    const e = encode(record);
    return [...e.buf.subarray(0, e.offset)];
  } catch (e) {
    return `throws ${(e as Error).constructor.name}`;
  }
}

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "binary", minLength: 33, maxLength: 300 }),
  // Lone surrogates (encoded as U+FFFD by both).
  fc.constantFrom("\uD800", "a\uDC00b", "x".repeat(40) + "\uD83D"),
);
const blob = fc.oneof(
  text,
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.constant(null),
  fc.constant(undefined),
);
const headerValue = fc.oneof(
  { weight: 5, arbitrary: text },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }) },
  // kafkajs cannot encode these; both must fail alike.
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, 7) },
);
const record = fc.record({
  offsetDelta: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constant(2 ** 30 + 5)),
  timestampDelta: fc.oneof(
    fc.integer({ min: 0, max: 10_000_000 }),
    fc.integer({ min: -1000, max: 0 }),
    fc.constantFrom(2 ** 40 + 3, -(2 ** 45), 2 ** 52),
  ),
  key: fc.oneof(blob, fc.constant(12)),
  value: blob,
  headers: fc.dictionary(
    fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: 33 })),
    headerValue,
    {
      maxKeys: 8,
    },
  ),
}, { requiredKeys: ["key", "value"] });

Deno.test("kafkajs records: the faster encoder writes kafkajs's bytes for every record (and fails where it fails)", () => {
  const fast = installedRecordEncoder();
  assert.notEqual(fast, kafkajsRecord, "installed");
  fc.assert(
    fc.property(record, (r) => {
      assert.deepEqual(bytes(fast, r), bytes(kafkajsRecord, r));
    }),
    { numRuns: 3000 },
  );
  // A dead letter as the processor sends one, and an alert.
  const dead = {
    offsetDelta: 3,
    timestampDelta: 12,
    key: Buffer.from("sensor-1"),
    value: Buffer.from('{"value":9999}'),
    headers: { dq_check: "range_value", dq_reason: "value 9999 outside [-100, 100]" },
  };
  assert.deepEqual(bytes(fast, dead), bytes(kafkajsRecord, dead));
  const alert = { key: "sensor-1", value: JSON.stringify({ type: "anomaly", explain: [] }) };
  assert.deepEqual(bytes(fast, alert), bytes(kafkajsRecord, alert));
});

Deno.test("kafkajs records: a produce request's records go through the faster encoder, with kafkajs's bytes", async () => {
  const produce = require("kafkajs/src/protocol/requests/produce/v3/request.js");
  const messages = Array.from({ length: 50 }, (_, i) => ({
    key: `sensor-${i % 5}`,
    value: JSON.stringify({ i, explain: [{ feature: "value", actual: i }] }),
    headers: i % 2 ? { dq_check: "schema", source_offset: String(i) } : {},
    timestamp: String(1_767_225_600_000 + i),
  }));
  const before = recordsEncoded();
  const request = await produce({
    acks: -1,
    timeout: 30_000,
    topicData: [{ topic: "t", partitions: [{ partition: 0, firstSequence: 0, messages }] }],
  }).encode();
  assert.equal(recordsEncoded() - before, 50);
  // Each record lies in the request as kafkajs's own encoder writes it.
  const all = Buffer.from(request.buffer);
  messages.forEach((m, i) => {
    const own = kafkajsRecord({ ...m, offsetDelta: i, timestampDelta: i });
    assert.ok(all.indexOf(Buffer.from(own.buf.subarray(0, own.offset))) > 0, `record ${i}`);
  });
});

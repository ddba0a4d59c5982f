import assert from "node:assert/strict";
import fc from "fast-check";
import { asciiText, compileChecker, createCheckOutput } from "../../src/contract/compile.ts";
import { SEED_CONTRACT } from "../../src/contract/spec.ts";
import { checkSlice, packRecords } from "../../src/stage.ts";

const enc = new TextEncoder();

/** Each record checked on its own, as a slice's records were before a slice was decoded whole. */
function checkEach(values: Uint8Array[]) {
  const checker = compileChecker(SEED_CONTRACT);
  const x = new Float64Array(2);
  const out = createCheckOutput();
  return values.map((v) => {
    const code = checker.check(v, x, 0, out);
    return code === 0
      ? { code, key: out.key, ts: out.ts, x: [...x] }
      : { code, reason: out.reason, field: out.field, rule: out.rule };
  });
}

/** The same records as {@link checkSlice} reports them for one packed slice. */
function checkPacked(values: Uint8Array[]) {
  const { bytes, offsets } = packRecords(values);
  const r = checkSlice(bytes, offsets, compileChecker(SEED_CONTRACT));
  const why = new Map(r.reasons.map(([i, reason, field, rule]) => [i, { reason, field, rule }]));
  return values.map((_, i) =>
    r.status[i] === 0
      ? { code: 0, key: r.keys[i], ts: r.ts[i], x: [...r.features.subarray(2 * i, 2 * i + 2)] }
      : { code: r.status[i], ...why.get(i)! }
  );
}

const event = fc.record({
  sensor_id: fc.oneof(fc.string(), fc.string({ unit: "binary" })),
  ts: fc.oneof(fc.double({ min: 1.7e9, max: 1.8e9 }), fc.string()),
  value: fc.oneof(fc.double({ min: -200, max: 200 }), fc.constant(null)),
  temperature: fc.double({ min: -50, max: 100 }),
  status: fc.constantFrom("OK", "WARN", "FAIL", "ÖK"),
}, { requiredKeys: [] });

const record = fc.oneof(
  { weight: 6, arbitrary: event.map((e) => enc.encode(JSON.stringify(e))) },
  // Not UTF-8, not JSON, a BOM before the object, nothing at all.
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: event.map((e) => enc.encode("\uFEFF" + JSON.stringify(e))) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
);

Deno.test("a slice's records get the same outcome, key, time, features and reason whether it is decoded whole or each record on its own", () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), (values) => {
      assert.deepEqual(checkPacked(values), checkEach(values));
    }),
    { numRuns: 2000 },
  );
  // Slices of ASCII records only, the case decoded whole: one of each outcome's kinds.
  const ascii = [
    { sensor_id: "s-1", ts: 1.75e9, value: 1.5, temperature: 20, status: "OK" },
    { sensor_id: "s-2", ts: 1.75e9, value: 999, temperature: 20, status: "OK" },
    { sensor_id: "s-3", ts: 1.75e9, temperature: 20, status: "OK" },
    { sensor_id: "s-\\u00e9", ts: 1.75e9, value: -3, temperature: 21, status: "WARN" },
  ].map((e) => enc.encode(JSON.stringify(e)));
  ascii.push(enc.encode("{not json"), enc.encode('{"a":1,"a":2}'));
  assert.notEqual(asciiText(packRecords(ascii).bytes), undefined);
  assert.deepEqual(checkPacked(ascii), checkEach(ascii));
  assert.deepEqual(checkPacked(ascii).map((r) => r.code === 0), [
    true,
    false,
    false,
    true,
    false,
    false,
  ]);
});

Deno.test("asciiText: the text of ASCII bytes; nothing for other UTF-8, a BOM or bytes that are not UTF-8", () => {
  assert.equal(asciiText(enc.encode('{"a":1}')), '{"a":1}');
  assert.equal(asciiText(new Uint8Array(0)), "");
  assert.equal(asciiText(enc.encode('{"a":"é"}')), undefined);
  assert.equal(asciiText(enc.encode("\uFEFF{}")), undefined);
  assert.equal(asciiText(new Uint8Array([0x7b, 0xff, 0x7d])), undefined);
});

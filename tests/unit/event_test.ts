import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkRecord,
  CHECKS,
  checkTime,
  countTopLevelKeys,
  DEFAULT_LIMITS,
  topLevelKeys,
} from "../../src/event.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const good = {
  sensor_id: "sensor-0",
  ts: 1767347851.123,
  value: 1.2345,
  temperature: 24.5,
  status: "OK",
};

function rejected(input: string | Uint8Array, check: string, reason: RegExp) {
  const r = checkRecord(typeof input === "string" ? bytes(input) : input);
  assert.equal(r.ok, false, `expected a rejection for ${String(input).slice(0, 60)}`);
  if (!r.ok) {
    assert.equal(r.check, check, r.reason);
    assert.match(r.reason, reason);
  }
}

Deno.test("the seed's event passes, status defaults to OK, temperature is optional", () => {
  const r = checkRecord(bytes(JSON.stringify(good)));
  assert.ok(r.ok);
  const { status: _, temperature: __, ...bare } = good;
  const r2 = checkRecord(bytes(JSON.stringify(bare)));
  assert.ok(r2.ok && r2.event.status === "OK" && r2.event.temperature === undefined);
});

Deno.test("each data-quality fault gets its check and a specific reason", () => {
  rejected(JSON.stringify({ ...good, value: undefined }), "required", /missing field value/);
  rejected(JSON.stringify({ ...good, sensor_id: null }), "required", /missing field sensor_id/);
  rejected(
    JSON.stringify({ ...good, value: 9999 }),
    "range_value",
    /value 9999 outside \[-100, 100\]/,
  );
  rejected(
    JSON.stringify({ ...good, temperature: -40 }),
    "range_temperature",
    /temperature -40 outside \[-20, 80\]/,
  );
  rejected(JSON.stringify({ ...good, sensor_id: "" }), "schema", /field sensor_id/);
  rejected(JSON.stringify({ ...good, status: "BROKEN" }), "schema", /field status/);
});

Deno.test("an entity key over 256 characters is rejected: entities are kept in memory", () => {
  assert.ok(checkRecord(bytes(JSON.stringify({ ...good, sensor_id: "s".repeat(256) }))).ok);
  rejected(
    JSON.stringify({ ...good, sensor_id: "s".repeat(257) }),
    "schema",
    /field sensor_id: expected 1 to 256 characters/,
  );
});

Deno.test("hostile input ends in a rejection with a reason, never a crash", () => {
  rejected("", "schema", /empty record/);
  rejected(new Uint8Array([0xff, 0xfe, 0x00, 0x80]), "schema", /not UTF-8/);
  rejected("not json at all", "schema", /not JSON/);
  rejected("[1,2,3]", "schema", /not a JSON object but an array/);
  rejected("42", "schema", /not a JSON object but 42/);
  rejected("x".repeat(10 * 1024 * 1024), "schema", /10485760 bytes exceeds the limit of 1048576/);
  rejected("[".repeat(100_000) + "]".repeat(100_000), "schema", /not a JSON object/);
  rejected(
    JSON.stringify({ ...good, value: "NaN" }),
    "schema",
    /field value: expected number.*"NaN"/,
  );
  rejected(JSON.stringify(good).replace("1.2345", "1e999"), "schema", /field value/);
  rejected(
    JSON.stringify(good).replace('"sensor_id"', '"__proto__":{"x":1},"sensor_id"'),
    "schema",
    /__proto__/,
  );
  rejected(JSON.stringify({ ...good, extra: 1 }), "schema", /unknown field "extra"/);
  rejected(JSON.stringify({ ...good, ts: "yesterday" }), "schema", /field ts/);
  rejected('{"sensor_id":"a","ts":1,"value":1,"value":2}', "schema", /duplicate key "value"/);
  rejected(
    JSON.stringify({ ...good, temperature: { deep: [1, 2] } }),
    "schema",
    /field temperature/,
  );
});

Deno.test("time checks: stale fails freshness, far future fails schema", () => {
  const now = 1_767_347_851;
  assert.deepEqual(checkTime(now - 10, now), { ok: true });
  assert.deepEqual(checkTime(now + 3600, now), { ok: true });
  const stale = checkTime(now - 3 * 86400, now);
  assert.ok(
    !stale.ok && stale.check === "freshness" && /259200 s old, more than 300 s/.test(stale.reason),
  );
  const future = checkTime(now + 2 * 86400, now);
  assert.ok(
    !future.ok && future.check === "schema" && /more than 1 day in the future/.test(future.reason),
  );
});

Deno.test("top-level keys are read in order with duplicates, nested keys ignored", () => {
  const text = '{"a":1,"b":{"a":2,"c":[{"d":3}]},"e":"x,\\"y","a":4}';
  assert.deepEqual(topLevelKeys(text), ["a", "b", "e", "a"]);
  // The check counts them (no strings built) and compares with the keys JSON.parse kept.
  assert.equal(countTopLevelKeys(text), 4);
  assert.equal(Object.keys(JSON.parse(text)).length, 3);
  assert.equal(countTopLevelKeys('{"a\\\\":1, "b\\"c" : [1, {"d": 2}] }'), 2, "escapes, spaces");
  assert.equal(countTopLevelKeys("{}"), 0);
  assert.equal(countTopLevelKeys(" { } "), 0);
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ unit: "binary" }), fc.jsonValue()),
      fc.constantFrom(undefined, 1, "\t"),
      (object, space) => {
        const json = JSON.stringify(object, null, space);
        assert.equal(countTopLevelKeys(json), topLevelKeys(json).length);
        assert.equal(countTopLevelKeys(json), Object.keys(object).length);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("fuzz: 10,000 arbitrary records never throw and always name a known check", () => {
  const record = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => b),
    fc.string({ maxLength: 200 }).map(bytes),
    fc.json().map(bytes),
    fc.record({
      sensor_id: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
      ts: fc.oneof(fc.double(), fc.string(), fc.constant(null)),
      value: fc.oneof(fc.double(), fc.string(), fc.boolean()),
      temperature: fc.oneof(fc.double(), fc.constant(undefined)),
      status: fc.oneof(fc.constantFrom("OK", "WARN", "FAIL"), fc.string()),
    }, { requiredKeys: [] }).map((o) => bytes(JSON.stringify(o))),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue()).map((o) =>
      bytes(JSON.stringify(o))
    ),
  );
  fc.assert(
    fc.property(record, (b) => {
      const r = checkRecord(b);
      if (r.ok) {
        return Number.isFinite(r.event.value) && Number.isFinite(r.event.ts) &&
          r.event.value >= DEFAULT_LIMITS.valueMin && r.event.value <= DEFAULT_LIMITS.valueMax;
      }
      return CHECKS.indexOf(r.check) > 0 && r.reason.length > 0;
    }),
    { numRuns: 10_000 },
  );
});

Deno.test("property: NaN and ±Infinity never pass to the model", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "null"),
      fc.constantFrom("value", "temperature", "ts"),
      (bad, field) => {
        const text = JSON.stringify({ ...good, [field]: 0 }).replace(
          `"${field}":0`,
          `"${field}":${bad}`,
        );
        const r = checkRecord(bytes(text));
        return !r.ok;
      },
    ),
  );
});

Deno.test("an event in Schema Registry's wire format is rejected naming that format and its schema id", () => {
  const json = new TextEncoder().encode(JSON.stringify(good));
  // JSON Schema's serializer: byte 0, schema id 42, then the JSON.
  rejected(
    new Uint8Array([0, 0, 0, 0, 42, ...json]),
    "schema",
    /not JSON.*schema id 42: Schema Registry/,
  );
  // Avro's: byte 0, schema id 70000, then binary that is not UTF-8.
  rejected(
    new Uint8Array([0, 0, 1, 17, 112, 0xc8, 0xff, 2]),
    "schema",
    /not UTF-8.*schema id 70000/,
  );
  // Plain text that does not parse gets no such hint.
  const plain = checkRecord(bytes("nope"));
  assert.ok(!plain.ok && !plain.reason.includes("Schema Registry"));
});

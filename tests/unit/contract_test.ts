import assert from "node:assert/strict";
import fc from "fast-check";
import { Ajv2020 } from "ajv/dist/2020.js";
import {
  type Contract,
  ContractError,
  parseContract,
  SEED_CONTRACT,
} from "../../src/contract/spec.ts";
import { contractFromText, loadContract } from "../../src/contract/load.ts";
import {
  checkTime,
  compileChecker,
  createCheckOutput,
  isoSeconds,
} from "../../src/contract/compile.ts";
import { jsonSchemaOf } from "../../src/contract/json_schema.ts";
import { createRandom } from "../../src/random.ts";
import { csvContract, inferContract, variesByFactors } from "../../src/contract/infer.ts";
import { contractEvents } from "../../src/contract/generate.ts";
import { simpleChain } from "../../src/contract/pattern.ts";
import { RE2JS } from "re2js";
import { checkRecord } from "../../src/event.ts";
import { csvCells, fieldNames } from "../../src/csv.ts";
import { sampleText } from "../../scripts/samples.ts";

const ROOT = new URL("../../contracts/", import.meta.url);
const contractPath = (name: string) => new URL(`${name}.yaml`, ROOT).pathname;
const bytes = (v: unknown) =>
  new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

/** The ranges a CSV replayed without a contract is checked against, for these tests. */
const CSV_RANGES = {
  valueMin: -10,
  valueMax: 10,
  temperatureMin: -20,
  temperatureMax: 80,
  freshnessMaxLagSec: 300,
};

/** The problem lines a document is refused with. */
function problems(document: unknown): string[] {
  try {
    parseContract(document, "c.yaml");
  } catch (e) {
    assert.ok(e instanceof ContractError, String(e));
    return e.problems;
  }
  assert.fail("expected the contract to be refused");
}

const minimal = () => ({
  name: "m",
  version: 1,
  key: "id",
  time: { field: "ts" },
  fields: {
    id: { type: "string" },
    ts: { type: "timestamp" },
    amount: { type: "number", min: 0, max: 100 },
  },
  features: ["amount"],
});

Deno.test("a bad contract is refused with one line per problem, naming the file and the path in it", () => {
  const doc = minimal() as Record<string, unknown>;
  (doc.fields as Record<string, Record<string, unknown>>).amount.min = "ten";
  assert.deepEqual(problems(doc), ['c.yaml: fields.amount.min: expected a number, got "ten"']);
  const many = problems({
    ...minimal(),
    key: "nobody",
    features: ["id", { field: "ghost" }],
    fields: { ...minimal().fields, n: { type: "number", min: 5, max: 1 }, id: { type: "string" } },
  });
  assert.ok(many.some((l) => /^c\.yaml: key: "nobody" is not a field/.test(l)), many.join("\n"));
  assert.ok(
    many.some((l) => /features\.0: field "id" is string; a feature must be a number/.test(l)),
  );
  assert.ok(many.some((l) => /features\.1: "ghost" is not a field/.test(l)));
  assert.ok(many.some((l) => /fields\.n: the range is empty \(min 5 > max 1\)/.test(l)));
  assert.ok(problems({ ...minimal(), colour: "red" }).some((l) => /unknown key "colour"/.test(l)));
  assert.ok(
    problems({ ...minimal(), fields: { ...minimal().fields, amount: { type: "decimal" } } })
      .some((l) =>
        /fields\.amount\.type: expected one of string, number, integer, boolean, timestamp, got "decimal"/
          .test(l)
      ),
  );
  assert.ok(
    problems({ ...minimal(), features: [{ field: "amount", min: 3, max: 3 }] })
      .some((l) => /the range of feature "amount" is empty/.test(l)),
  );
  assert.ok(
    problems({ ...minimal(), fields: { ...minimal().fields, amount: { type: "number" } } })
      .some((l) => /feature "amount" needs limits/.test(l)),
  );
  assert.ok(
    problems({ ...minimal(), time: { field: "amount" } }).some((l) =>
      /time\.field: field "amount" is number/.test(l)
    ),
  );
  assert.ok(
    problems({
      ...minimal(),
      fields: { ...minimal().fields, p: { type: "string", pattern: "([" } },
    })
      .some((l) =>
        /fields\.p\.pattern: not a pattern this product runs: missing closing \]/.test(l)
      ),
  );
  // What no linear-time engine runs is refused at once, saying what patterns allow.
  const refused: [string, RegExp][] = [["^(?=a)b", /lookaround/], ["(a)\\1", /backreferences/]];
  for (const [pattern, why] of refused) {
    const found = problems({
      ...minimal(),
      fields: { ...minimal().fields, p: { type: "string", pattern } },
    });
    assert.ok(
      found.some((l) => /fields\.p\.pattern: not a pattern/.test(l) && why.test(l)),
      found.join("\n"),
    );
  }
});

Deno.test("a pattern runs in linear time: a value that backtracks JavaScript's engine for days is judged at once, with JavaScript's syntax and search semantics", () => {
  const field = (pattern: string) => ({ ...minimal().fields, p: { type: "string", pattern } });
  const checkerOf = (pattern: string) =>
    compileChecker(parseContract({ ...minimal(), fields: field(pattern) }, "c.yaml"));
  const x = new Float64Array(1);
  const verdict = (pattern: string, p: string) => {
    const checker = checkerOf(pattern);
    const out = createCheckOutput();
    const event = new TextEncoder().encode(
      JSON.stringify({ id: "a", ts: 1767225600, amount: 1, p }),
    );
    return checker.checks[checker.check(event, x, 0, out)];
  };
  // 2⁴⁰ backtracking steps for JavaScript's RegExp (it took 43 s at 2³⁰ here).
  assert.equal(verdict("^(a+)+$", "a".repeat(40) + "!"), "pattern_p");
  assert.equal(verdict("^(a+)+$", "a".repeat(40)), "ok");
  assert.equal(verdict("^(a|aa)*$", "a".repeat(100_000) + "!"), "pattern_p");
  // JavaScript's syntax: \u escapes, named groups, classes; a match is a search.
  assert.equal(verdict("^\\u0041(?<n>\\d+)$", "A12"), "ok");
  assert.equal(verdict("^\\p{Lu}\\p{Ll}+$", "Élan"), "ok");
  assert.equal(verdict("acc", "an account"), "ok");
  assert.equal(verdict("^acc$", "an account"), "pattern_p");
});

Deno.test("a feature may declare its change since the previous event to be judged; only as true or false", () => {
  const c = parseContract(
    { ...minimal(), features: [{ field: "amount", change: true }] },
    "c.yaml",
  );
  assert.deepEqual(c.features, [{ field: "amount", min: 0, max: 100, change: true }]);
  assert.deepEqual(parseContract(minimal(), "c.yaml").features, [
    { field: "amount", min: 0, max: 100 },
  ]);
  assert.ok(
    problems({ ...minimal(), features: [{ field: "amount", change: "yes" }] })
      .some((l) =>
        /^c\.yaml: features\.0: expected a field name or \{ field, min, max, change, recent, scale, alert_on \}/
          .test(l)
      ),
  );
});

Deno.test("a feature may declare its recent level to be judged; only as true or false", () => {
  const c = parseContract(
    { ...minimal(), features: [{ field: "amount", recent: true, change: true }] },
    "c.yaml",
  );
  assert.deepEqual(c.features, [
    { field: "amount", min: 0, max: 100, change: true, recent: true },
  ]);
  assert.ok(
    problems({ ...minimal(), features: [{ field: "amount", recent: 1 }] })
      .some((l) => /^c\.yaml: features\.0: expected a field name or \{ field/.test(l)),
  );
});

Deno.test("a contract may name the time zone its hours follow; an unknown one is refused saying what is allowed", () => {
  const c = parseContract(
    { ...minimal(), time: { field: "ts", zone: "America/New_York" } },
    "c.yaml",
  );
  assert.equal(c.time.zone, "America/New_York");
  assert.equal(parseContract(minimal(), "c.yaml").time.zone, undefined);
  assert.deepEqual(problems({ ...minimal(), time: { field: "ts", zone: "Mars/Olympus" } }), [
    "c.yaml: time.zone: expected an IANA time zone such as Europe/Berlin or America/New_York, " +
    'or UTC, got "Mars/Olympus"',
  ]);
});

Deno.test("a feature may declare a log scale; a field that can be negative, or any other scale, is refused saying what is allowed", () => {
  const c = parseContract(
    { ...minimal(), features: [{ field: "amount", scale: "log" }] },
    "c.yaml",
  );
  assert.deepEqual(c.features, [{ field: "amount", min: 0, max: 100, scale: "log" }]);
  assert.deepEqual(
    parseContract({ ...minimal(), features: [{ field: "amount", scale: "linear" }] }, "c.yaml")
      .features,
    [{ field: "amount", min: 0, max: 100 }],
  );
  assert.deepEqual(problems({ ...minimal(), features: [{ field: "amount", scale: "sqrt" }] }), [
    'c.yaml: features.0.scale: expected one of linear, log, got "sqrt"',
  ]);
  const signed = minimal();
  signed.fields.amount.min = -5;
  assert.deepEqual(problems({ ...signed, features: [{ field: "amount", scale: "log" }] }), [
    'c.yaml: features.0.scale: log judges ln(1 + value), so field "amount" must never be ' +
    "negative: give fields.amount.min ≥ 0 (it has min -5)",
  ]);
  assert.deepEqual(
    problems({ ...minimal(), features: [{ field: "amount", min: -1, max: 50, scale: "log" }] }),
    ["c.yaml: features.0.scale: log needs the feature's min ≥ 0, got -1"],
  );
});

Deno.test("a feature may alert on one side only: high, low or both; anything else is refused saying what is allowed", () => {
  const side = (alert_on: unknown) =>
    parseContract({ ...minimal(), features: [{ field: "amount", alert_on }] }, "c.yaml").features;
  assert.deepEqual(side("high"), [{ field: "amount", min: 0, max: 100, alertOn: "high" }]);
  assert.deepEqual(side("low"), [{ field: "amount", min: 0, max: 100, alertOn: "low" }]);
  assert.deepEqual(side("both"), [{ field: "amount", min: 0, max: 100 }]);
  assert.deepEqual(problems({ ...minimal(), features: [{ field: "amount", alert_on: "up" }] }), [
    'c.yaml: features.0.alert_on: expected one of both, high, low, got "up"',
  ]);
});

Deno.test("the generator puts a one-sided feature's spikes on the side it alerts on", () => {
  for (const side of ["high", "low"] as const) {
    const c = parseContract(
      { ...minimal(), features: [{ field: "amount", alert_on: side }] },
      "c.yaml",
    );
    const levels = new Map<string, number[]>(), spikes: [string, number][] = [];
    for (const { event, key, injected } of take(contractEvents(c, { seed: 5 }), 4000)) {
      if (injected === "none") levels.set(key, [...levels.get(key) ?? [], event.amount as number]);
      if (injected === "spike") spikes.push([key, event.amount as number]);
    }
    assert.ok(spikes.length > 40, `${spikes.length} spikes`);
    for (const [key, amount] of spikes) {
      const normal = levels.get(key)!, mean = normal.reduce((a, b) => a + b) / normal.length;
      assert.ok(side === "high" ? amount > mean : amount < mean, `${side}: ${amount} vs ${mean}`);
    }
  }
});

Deno.test("YAML errors name the line and column; the file's own problems name the file", async () => {
  assert.throws(
    () => contractFromText("name: a\nname: b\n", "x.yaml"),
    (e: unknown) =>
      e instanceof ContractError &&
      /^x\.yaml: line 2, column 1: Map keys must be unique/.test(e.problems[0]),
  );
  await assert.rejects(
    loadContract("/nonexistent/c.yaml"),
    (e: unknown) => e instanceof ContractError && /cannot read the contract file/.test(e.message),
  );
});

Deno.test("contracts/iot-sensor.yaml is the built-in contract, and checks exactly as it does", async () => {
  const file = await loadContract(contractPath("iot-sensor"));
  const { builtin: _, ...seed } = SEED_CONTRACT;
  assert.deepEqual({ ...file, description: seed.description }, seed);
  const checker = compileChecker(file);
  const x = new Float64Array(2);
  const out = createCheckOutput();
  fc.assert(
    fc.property(
      fc.record({
        sensor_id: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
        ts: fc.oneof(fc.double(), fc.string()),
        value: fc.oneof(fc.double({ min: -200, max: 200 }), fc.string(), fc.constant(null)),
        temperature: fc.oneof(fc.double({ min: -50, max: 100 }), fc.constant(undefined)),
        status: fc.oneof(fc.constantFrom("OK", "WARN", "FAIL"), fc.string()),
      }, { requiredKeys: [] }),
      (event) => {
        const b = bytes(event);
        const seedResult = checkRecord(b);
        const code = checker.check(b, x, 0, out);
        assert.equal(checker.checks[code], seedResult.ok ? "ok" : seedResult.check);
      },
    ),
    { numRuns: 3000 },
  );
});

/** Checks `event` with `contract`; returns the check name and the reason. */
function check(contract: Contract, event: unknown) {
  const checker = compileChecker(contract);
  const x = new Float64Array(contract.features.length);
  const out = createCheckOutput();
  const code = checker.check(bytes(event), x, 0, out);
  return { check: checker.checks[code], ...out, x: [...x] };
}

Deno.test("payments: each rule has its check name, field and reason; a valid event gives key, time and features", async () => {
  const c = await loadContract(contractPath("payments"));
  const good = {
    transaction_id: "tx-00000042",
    account_id: "acc-0007",
    amount: 12.5,
    currency: "EUR",
    merchant_category: "5411",
    ts: "2026-01-02T10:00:00Z",
  };
  const ok = check(c, good);
  assert.equal(ok.check, "ok");
  assert.equal(ok.key, "acc-0007");
  assert.equal(ok.ts, Date.parse("2026-01-02T10:00:00Z") / 1000);
  assert.deepEqual(ok.x, [12.5]);
  assert.equal(check(c, { ...good, merchant_category: null }).check, "ok", "nullable");
  const { merchant_category: _, ...noMcc } = good;
  assert.equal(check(c, noMcc).check, "ok", "optional");
  const cases: [Record<string, unknown>, string, string, RegExp][] = [
    [{ ...good, amount: undefined }, "required", "amount", /missing field amount/],
    [{ ...good, account_id: null }, "required", "account_id", /missing field account_id/],
    [{ ...good, amount: -1 }, "range_amount", "amount", /amount -1 outside \[0, 100000\]/],
    [{ ...good, amount: "12" }, "type_amount", "amount", /expected number, received string/],
    [{ ...good, currency: "XXX" }, "enum_currency", "currency", /expected one of "EUR"\|"USD"/],
    [{ ...good, account_id: "bob" }, "pattern_account_id", "account_id", /does not match/],
    [
      { ...good, merchant_category: 5411 },
      "type_merchant_category",
      "merchant_category",
      /expected string/,
    ],
    [{ ...good, ts: "yesterday" }, "type_ts", "ts", /expected ISO 8601 time/],
    [{ ...good, tip: 1 }, "schema", "", /unknown field "tip"/],
  ];
  for (const [event, name, field, reason] of cases) {
    const r = check(c, event);
    assert.equal(r.check, name, JSON.stringify(event));
    assert.equal(r.field, field, name);
    assert.match(r.reason, reason);
    assert.deepEqual(r.x, [NaN], "a rejected event gives the model nothing");
  }
  assert.equal(check(c, '{"amount":1,"amount":2}').rule, "duplicate");
});

Deno.test("time units: seconds, milliseconds and ISO 8601 (offsets, no offset = UTC) all read as Unix seconds", async () => {
  const c = await loadContract(contractPath("pipeline-metrics"));
  const event = {
    job: "orders",
    run_id: "r1",
    rows: 10,
    duration_ms: 5,
    bytes: 1,
    status: "succeeded",
    finished_at_ms: 1767347851123,
  };
  assert.equal(check(c, event).ts, 1767347851.123);
  assert.equal(check(c, { ...event, rows: 1.5 }).check, "type_rows", "integer");
  assert.equal(isoSeconds("2024-01-01T10:00:00+01:00"), Date.UTC(2024, 0, 1, 9) / 1000);
  assert.equal(isoSeconds("2024-01-01T10:00:00+0100"), Date.UTC(2024, 0, 1, 9) / 1000);
  assert.equal(isoSeconds("2024-01-01 10:00:00"), Date.UTC(2024, 0, 1, 10) / 1000);
  assert.equal(isoSeconds("2024-01-01"), Date.UTC(2024, 0, 1) / 1000);
  assert.ok(Number.isNaN(isoSeconds("Tue Dec 1 2026")), "not ISO 8601");
  for (
    const impossible of [
      "2024-02-30T00:00:00Z",
      "2023-02-29",
      "2024-01-01T24:00:00Z",
      "2024-01-01T10:00+25:00",
    ]
  ) {
    assert.ok(Number.isNaN(isoSeconds(impossible)), `${impossible}: no calendar has it`);
  }
  assert.equal(isoSeconds("2024-02-29T00:00:00.25Z"), Date.UTC(2024, 1, 29) / 1000 + 0.25);
  fc.assert(
    fc.property(
      fc.date({
        min: new Date("0001-01-01T00:00:00Z"),
        max: new Date("9999-12-31T23:59:59Z"),
        noInvalidDate: true,
      }),
      (d) => {
        const z = d.toISOString();
        assert.ok(Math.abs(isoSeconds(z) - d.getTime() / 1000) < 1e-6, z);
        const whole = Math.floor(d.getTime() / 1000);
        assert.equal(isoSeconds(z.slice(0, 19) + "-01:30"), whole + 5400);
        assert.equal(isoSeconds(z.slice(0, 19).replace("T", " ")), whole);
      },
    ),
    { numRuns: 5000 },
  );
  const limits = { freshnessLagSec: 300, maxFutureSec: 300, field: "finished_at_ms" };
  assert.deepEqual(checkTime(1000, 1100, limits), { ok: true });
  const future = checkTime(2000, 1000, limits);
  assert.ok(
    !future.ok && future.which === "future" &&
      /finished_at_ms 2000 is more than 300 s in the future/.test(future.reason),
  );
  const stale = checkTime(0, 1000, limits);
  assert.ok(!stale.ok && stale.which === "stale");
  assert.deepEqual(
    checkTime(0, 1e9, { ...limits, freshnessLagSec: null }),
    { ok: true },
    "no lag: never stale",
  );
});

Deno.test("a simple chain runs on JavaScript's engine and answers as RE2 does; anything that could backtrack badly does not", () => {
  const chains = [
    "^tx-[0-9]{8,20}$",
    "^acc-[0-9]{4,12}$",
    "^[0-9]{4}$",
    "^\\d+$",
    "^[A-Z]{2}\\d{6}$",
    "^[a-z_][a-z0-9_]*$",
    "^[^,]+$",
    "^a{3,}b$",
    "^a{2,3}b{2,3}c{2,3}d{2,3}e{2,3}f{2,3}$",
  ];
  const others = [
    "^(a+)+$", // a group
    "^a*a*$", // two unbounded repeats: quadratic
    "^a{2,3}b{2,3}c{2,3}d{2,3}e{2,3}f{2,3}g{2,3}$", // 128 paths
    "^a{1,100}$",
    "^a|b$",
    "^.+$", // the engines read `.` differently
    "^\\s+$",
    "^\\p{L}+$",
    "tx-\\d+", // not anchored
    "^\\d+\\$",
    "^a+?$",
    "^[\\]]+$", // in doubt
  ];
  for (const p of chains) assert.ok(simpleChain(p), p);
  for (const p of others) assert.ok(!simpleChain(p), p);
  // Each chain gives JavaScript's and RE2's answers alike, on values from its own alphabet.
  const value = fc.string({ unit: fc.constantFrom(..."acxbt-_,AZ019é"), maxLength: 24 });
  for (const p of chains) {
    const js = new RegExp(p, "u"), re2 = RE2JS.compile(RE2JS.translateRegExp(p));
    fc.assert(fc.property(value, (v) => js.test(v) === re2.test(v)), { numRuns: 500 });
  }
  const matching: [string, string][] = [
    ["^tx-[0-9]{8,20}$", "tx-00261600"],
    ["^acc-[0-9]{4,12}$", "acc-0001"],
    ["^[A-Z]{2}\\d{6}$", "AZ019019"],
    ["^[a-z_][a-z0-9_]*$", "a_b0"],
    ["^[^,]+$", "é-x"],
  ];
  for (const [p, v] of matching) {
    assert.ok(new RegExp(p, "u").test(v) && RE2JS.compile(RE2JS.translateRegExp(p)).test(v), p);
  }
  // A chain's unbounded repeat on a value of a million characters: one pass, no stall.
  assert.equal(new RegExp("^\\d+$", "u").test("1".repeat(1_000_000) + "x"), false);
});

Deno.test("a time in the wrong unit is rejected with a reason that says which unit would make it now", () => {
  const now = 1767225600;
  const limits = { freshnessLagSec: 300, maxFutureSec: 86_400, field: "ts" };
  const reason = (ts: number, unit?: string) => {
    const t = checkTime(ts, now, { ...limits, unit });
    assert.ok(!t.ok);
    return t.reason;
  };
  // Milliseconds (or micro-, nanoseconds) sent where the contract reads seconds: past the year 3000.
  assert.match(
    reason(now * 1000 + 123),
    /after the year 3000 \(read as milliseconds it would be now; the contract reads it as seconds\)/,
  );
  assert.match(reason(now * 1e6), /read as microseconds it would be now/);
  assert.match(reason(now * 1e9), /read as nanoseconds it would be now/);
  // Seconds sent where the contract reads milliseconds: read as 1970, stale.
  assert.match(
    reason(now / 1000, "milliseconds"),
    /s old, .*read as seconds it would be now; the contract reads it as milliseconds/,
  );
  // A time that is simply old or ahead gets no hint.
  assert.doesNotMatch(reason(now - 3600), /read as/);
  assert.doesNotMatch(reason(now + 30 * 86_400), /read as/);
});

Deno.test("fuzz: no input bytes make a compiled contract throw, and a pass always gives finite features within their field's range", async () => {
  for (const name of ["payments", "pipeline-metrics"]) {
    const c = await loadContract(contractPath(name));
    const checker = compileChecker(c, { maxEventBytes: 4096 });
    const x = new Float64Array(c.features.length);
    const out = createCheckOutput();
    const field = fc.constantFrom(...c.fields.map((f) => f.name), "__proto__", "constructor", "x");
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          fc.dictionary(field, fc.jsonValue()).map((o) => bytes(o)),
          fc.json().map((s) => bytes(s)),
        ),
        (b) => {
          const code = checker.check(b, x, 0, out);
          assert.ok(code >= 0 && code < checker.checks.length);
          if (code === 0) {
            c.features.forEach((f, j) => {
              const spec = c.fields.find((s) => s.name === f.field)!;
              assert.ok(Number.isFinite(x[j]) && x[j] >= spec.min! && x[j] <= spec.max!);
            });
          } else assert.ok(out.reason.length > 0);
        },
      ),
      { numRuns: 5000 },
    );
  }
});

Deno.test("json-schema: every sample event the contract accepts validates, every one its field checks reject does not", async () => {
  for (const name of ["iot-sensor", "payments", "pipeline-metrics"]) {
    const c = await loadContract(contractPath(name));
    const schema = jsonSchemaOf(c);
    const validate = new Ajv2020({
      validateFormats: false,
      strict: true,
      keywords: ["x-anomaly-flow"],
    })
      .compile(schema);
    const checker = compileChecker(c);
    const x = new Float64Array(c.features.length);
    const out = createCheckOutput();
    let accepted = 0, rejected = 0;
    for (const { event } of take(contractEvents(c, { seed: 3 }), 2000)) {
      const code = checker.check(bytes(event), x, 0, out);
      assert.equal(validate(event), code === 0, `${name}: ${JSON.stringify(event)} ${out.reason}`);
      code === 0 ? accepted++ : rejected++;
    }
    assert.ok(
      accepted > 1800 && rejected > 20,
      `${name}: ${accepted} accepted, ${rejected} rejected`,
    );
  }
});

function* take<T>(it: Iterator<T>, n: number): Generator<T> {
  for (let i = 0; i < n; i++) yield it.next().value!;
}

Deno.test("infer drafts a contract that checks its own sample: types, required, widened ranges, enums, time, key, features", () => {
  const records = Array.from({ length: 200 }, (_, i) => ({
    device: `dev-${i % 7}`,
    at: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    watts: 100 + (i % 13),
    count: i % 5,
    mode: ["eco", "boost"][i % 2],
    note: i % 3 === 0 ? null : `n${i}`,
  }));
  const { document } = inferContract(records, { name: "power" });
  const c = parseContract(document, "draft");
  assert.equal(c.key, "device");
  assert.equal(c.time.field, "at");
  assert.equal(c.fields.find((f) => f.name === "at")!.unit, "iso8601");
  const watts = c.fields.find((f) => f.name === "watts")!;
  assert.equal(watts.type, "integer");
  assert.ok(watts.min! < 100 && watts.max! > 112, `widened: ${watts.min}..${watts.max}`);
  assert.deepEqual(c.fields.find((f) => f.name === "mode")!.enum, ["boost", "eco"]);
  assert.equal(c.fields.find((f) => f.name === "note")!.nullable, true);
  assert.deepEqual(c.features.map((f) => f.field), ["watts", "count"]);
  const checker = compileChecker(c);
  const x = new Float64Array(c.features.length);
  const out = createCheckOutput();
  for (const r of records) assert.equal(checker.check(bytes(r), x, 0, out), 0, out.reason);
  // Values spread evenly over factors (3 × 1.03^i) vary by factors: judged on a log scale, said
  // in a note. Values spread evenly from 3 to 300 only span factors: a note suggests it. Watts
  // (100–112) neither.
  const spread = records.map((r, i) => ({
    ...r,
    amount: Number((3 * 1.03 ** i).toFixed(2)),
    level: Number((3 + 1.5 * i).toFixed(2)),
  }));
  const notes = inferContract(spread).notes.filter((n) => n.includes("scale: log"));
  assert.deepEqual(notes, [
    "amount: varies by factors (from 3 to 1075.79; skewed, about symmetric on a log scale), " +
    "judged on a log scale: { field: amount, scale: log }; no upper range, so a value many " +
    "times the sample's is judged, not dead-lettered; the model's limits are [0, 20400] (drop " +
    "`scale: log` to judge it as it is)",
    "level: from 3 to 301.5, a factor of 101; if it varies by factors (an amount, a latency, " +
    "a duration, a size), judge it on a log scale: { field: level, scale: log }",
  ]);
  assert.throws(() => inferContract([{ a: "x" }]), /no field of the sample looks like a time/);
  const ms = inferContract([{ t: 1767347851123, v: 1 }, { t: 1767347852123, v: 2 }]).document;
  assert.equal((ms.fields as Record<string, Record<string, unknown>>).t.unit, "milliseconds");
});

Deno.test("infer: a field that varies by factors has its limits on a log scale and no upper range, so its normal values and its jumps are judged", () => {
  const rng = createRandom(31);
  const draw = (n: number, t0: number) =>
    Array.from({ length: n }, (_, i) => ({
      at: new Date(Date.UTC(2026, 0, 1) + (t0 + i) * 60_000).toISOString(),
      size: Number((50 * Math.exp(0.5 * rng.normal())).toFixed(1)),
      temp: Number((20 + rng.normal()).toFixed(2)),
      wait: Number((-10 * Math.log(1 - rng.next())).toFixed(3)),
    }));
  const { document, notes } = inferContract(draw(20_000, 0));
  const c = parseContract(document, "draft");
  const range = (name: string) => c.fields.find((f) => f.name === name)!;
  // Log-normal sizes (σ 0.5): fenced and widened on their own scale, the range ended at about 260
  // and 56 of 115,200 normal values failed it. Now the model's limits are widened on a log scale
  // and hold new normal values.
  const size = c.features.find((f) => f.field === "size")!;
  let beyond = 0;
  for (const r of draw(100_000, 20_000)) if (r.size > size.max) beyond++;
  assert.equal(beyond, 0, `${beyond} normal sizes beyond the model's ${size.max}`);
  assert.equal(size.min, 0);
  // The field itself has no upper range: a size twelve times the largest normal one is judged
  // (it was dead-lettered by range_size).
  assert.equal(range("size").min, 0);
  assert.equal(range("size").max, undefined, "no upper range");
  const checker = compileChecker(c), x = new Float64Array(c.features.length);
  const out = createCheckOutput();
  const jump = { ...draw(1, 0)[0], size: 12 * size.max };
  assert.equal(checker.check(bytes(jump), x, 0, out), 0, out.reason);
  const negative = checker.check(bytes({ ...jump, size: -1 }), x, 0, out);
  assert.equal(checker.checks[negative], "range_size", "a negative size still fails");
  // The draft judges it on a log scale, and the others as they are.
  const scaleOf = (name: string) => c.features.find((f) => f.field === name)!.scale;
  assert.equal(scaleOf("size"), "log");
  assert.notEqual(scaleOf("temp"), "log");
  assert.notEqual(scaleOf("wait"), "log");
  assert.ok(notes.some((n) => n.startsWith("size: ") && n.includes("{ field: size, scale: log }")));
  // Gaussian readings and exponential waiting times do not vary by factors: no log note.
  const logNotes = notes.filter((n) => n.includes("scale: log"));
  assert.equal(logNotes.length, 1, logNotes.join("\n"));
  assert.ok(range("temp").max! < 30, `temp ${range("temp").max}`);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  assert.equal(variesByFactors(sorted(draw(1000, 0).map((r) => r.size))), true);
  assert.equal(variesByFactors(sorted(draw(1000, 0).map((r) => r.temp))), false);
  assert.equal(variesByFactors(sorted(draw(1000, 0).map((r) => r.wait))), false);
});

Deno.test("infer: a count has no upper range, so a burst beyond its sample is judged, not dead-lettered", () => {
  const rng = createRandom(32);
  const records = Array.from({ length: 2000 }, (_, i) => {
    let errors = 0, p = rng.next();
    while (p > Math.exp(-0.5)) (errors++, p *= rng.next());
    return {
      at: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
      errors,
      watts: 100 + i % 13,
    };
  });
  const { document, notes } = inferContract(records);
  const c = parseContract(document, "draft");
  const errors = c.fields.find((f) => f.name === "errors")!;
  assert.equal(errors.min, 0);
  assert.equal(errors.max, undefined, "no upper range");
  const feature = c.features.find((f) => f.field === "errors")!;
  assert.ok(
    feature.max! >= Math.max(...records.map((r) => r.errors)),
    `limits up to ${feature.max}`,
  );
  assert.ok(notes.some((n) => n.startsWith("errors: a count")));
  // Watts never reach 0: not a count, their range stays.
  assert.ok(c.fields.find((f) => f.name === "watts")!.max! < 200);
  const checker = compileChecker(c), x = new Float64Array(c.features.length);
  const out = createCheckOutput();
  const burst = { ...records[0], errors: 25 };
  assert.equal(checker.check(bytes(burst), x, 0, out), 0, out.reason);
});

Deno.test("infer on events keyed by ids: the draft allows the fields it cannot declare, and names ten of thousands", () => {
  // Readings keyed by a device id that changes with each event: 200 events, 100 fields each.
  const records = Array.from({ length: 200 }, (_, i) => {
    const r: Record<string, unknown> = { site: "a", ts: 1767225600 + 60 * i, load: i % 9 };
    for (let k = 0; k < 100; k++) r[`dev_${i}_${k}`] = k;
    return r;
  });
  const { document, notes } = inferContract(records);
  assert.equal(document.unknown_fields, "allow");
  assert.ok(notes.length < 20, `${notes.length} notes`);
  assert.ok(notes.some((n) => /and 19990 more fields/.test(n)), notes.join("\n"));
  const c = parseContract(document, "draft");
  const checker = compileChecker(c);
  const x = new Float64Array(c.features.length);
  const out = createCheckOutput();
  for (const r of records) assert.equal(checker.check(bytes(r), x, 0, out), 0, out.reason);
  // A few bad events with a stray field (under 1 %) are still rejected by the draft.
  const stray = records.map(({ site, ts, load }, i) =>
    i === 7 ? { site, ts, load, x: 1 } : { site, ts, load }
  );
  assert.equal(inferContract(stray).document.unknown_fields, "reject");
});

Deno.test("a CSV without a contract: the first column is the time, every other numeric column a feature named by its header", () => {
  const rows = ["2026-01-01 00:00:00,1.5,7,x", "2026-01-01 00:01:00,2.5,8,y"].map(csvCells);
  const c = csvContract(["time", "a", "b", "label"], rows, CSV_RANGES);
  assert.deepEqual(c.features, [{ field: "a", min: -10, max: 10 }, {
    field: "b",
    min: -10,
    max: 10,
  }]);
  assert.equal(c.fields[0].unit, "iso8601");
  assert.equal(c.fields.find((f) => f.name === "label")!.type, "string");
  const seconds = csvContract(
    ["timestamp", "value", "temperature"],
    [["1767347851", "1", "20"]],
    CSV_RANGES,
  );
  assert.equal(seconds.fields[0].unit, "seconds");
  assert.deepEqual(seconds.features.map((f) => [f.field, f.min, f.max]), [["value", -10, 10], [
    "temperature",
    -20,
    80,
  ]]);
  assert.deepEqual(csvCells('1,"a, b","say ""hi"""'), ["1", "a, b", 'say "hi"']);
});

Deno.test("a CSV column with a few cells that are not numbers stays a feature; one without numbers is refused by name", () => {
  const time = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  // A sensor's dropouts written as NaN or n/a: 3 of 100 cells.
  const rows = Array.from(
    { length: 100 },
    (_, i) => [time(i), i === 5 ? "NaN" : i === 40 ? "n/a" : i === 70 ? "-" : String(i / 10)],
  );
  const c = csvContract(["timestamp", "value"], rows, CSV_RANGES);
  assert.deepEqual(c.features.map((f) => f.field), ["value"]);
  // Text, not a reading: no feature, and the error names the column and what it holds.
  const text = rows.map(([t], i) => [t, i % 2 ? "on" : "off"]);
  assert.throws(
    () => csvContract(["timestamp", "state"], text, CSV_RANGES),
    (e: unknown) =>
      e instanceof ContractError &&
      /no column after the time column "timestamp" is numeric/.test(e.message) &&
      /state: 100 of 100 cells are not numbers, e\.g\. "off"/.test(e.message),
  );
  // A file separated by semicolons reads as one column: the error says so.
  assert.throws(
    () => csvContract(["timestamp;value"], [["2026-01-01 00:00:00;1.5"]], CSV_RANGES),
    /there is none: its cells are separated by ";", and a CSV's by commas/,
  );
  // More numeric columns than a model judges: a contract picks the ones worth watching.
  const wide = ["timestamp", ...Array.from({ length: 65 }, (_, i) => `c${i}`)];
  assert.throws(
    () => csvContract(wide, [[time(0), ...wide.slice(1).map(() => "1")]], CSV_RANGES),
    /65 numeric columns, and a model judges at most 64: draft a contract/,
  );
});

Deno.test("a contract with more features than a model judges is refused, saying how many", () => {
  const fields: Record<string, unknown> = { id: { type: "string" }, ts: { type: "timestamp" } };
  const features = Array.from({ length: 65 }, (_, i) => `f${i}`);
  for (const f of features) fields[f] = { type: "number", min: 0, max: 1 };
  assert.deepEqual(problems({ ...minimal(), fields, features }), [
    "c.yaml: features: 65 declared, at most 64; keep those worth watching",
  ]);
  assert.equal(
    parseContract({ ...minimal(), fields, features: features.slice(0, 64) }).features.length,
    64,
  );
});

Deno.test("a string entity key holds at most 256 characters unless its field says otherwise", () => {
  const c = parseContract({ ...minimal(), check_names: "per_field" });
  assert.equal(c.fields.find((f) => f.name === "id")!.maxLength, 256);
  const event = (id: string) => ({ id, ts: 1767347851, amount: 5 });
  assert.equal(check(c, event("a".repeat(256))).check, "ok");
  const long = check(c, event("a".repeat(257)));
  assert.equal(long.check, "length_id");
  assert.match(long.reason, /field id: expected 0 to 256 characters/);
  // A key declared longer is the contract's own choice.
  const declared = {
    ...minimal(),
    fields: { ...minimal().fields, id: { type: "string", max_length: 1000 } },
  };
  assert.equal(check(parseContract(declared), event("a".repeat(1000))).check, "ok");
});

Deno.test("a CSV header's cells become field names: valid ones kept, others made valid, repeats numbered", () => {
  assert.deepEqual(fieldNames(["timestamp", "value", "temperature"]), [
    "timestamp",
    "value",
    "temperature",
  ]);
  assert.deepEqual(
    fieldNames(["Time (UTC)", "CPU %", "temp-1", "1st", "", "value", "value", "__proto__"]),
    ["Time_UTC", "CPU", "temp_1", "c_1st", "column_5", "value", "value_2", "proto"],
  );
  const long = fieldNames(["x".repeat(80), "x".repeat(70)]);
  assert.deepEqual(long, ["x".repeat(63), `${"x".repeat(58)}_2`]);
  // Every name is one a contract accepts.
  for (const name of fieldNames(["a b", "constructor", "ä", "-", "x".repeat(100)])) {
    assert.match(name, /^[A-Za-z_][A-Za-z0-9_]{0,62}$/);
    assert.notEqual(name, "constructor");
  }
});

Deno.test("a feature's limits beyond ±1e15 are refused: its squared deviations must stay finite", () => {
  const wide = { ...minimal(), features: [{ field: "amount", min: -1e300, max: 1e300 }] };
  assert.deepEqual(problems(wide), [
    'c.yaml: features.0: the limits of feature "amount" (-1e+300 .. 1e+300) must lie within ' +
    "±1e15 (its squared deviations must stay finite)",
  ]);
  const edge = { ...minimal(), features: [{ field: "amount", min: -1e15, max: 1e15 }] };
  assert.equal(parseContract(edge).features[0].max, 1e15);
});

Deno.test("a contract without features is refused, naming the fields it could judge", () => {
  assert.deepEqual(problems({ ...minimal(), features: [] }), [
    "c.yaml: features: none declared; the model judges at least one number or integer field " +
    "(this contract's: amount)",
  ]);
  const { amount: _, ...textOnly } = minimal().fields;
  assert.deepEqual(problems({ ...minimal(), fields: textOnly, features: [] }), [
    "c.yaml: features: none declared; the model judges at least one number or integer field " +
    "(this contract has none)",
  ]);
});

Deno.test("contract infer drafts from a large file's first 100,000 lines and says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/large.jsonl`;
    const line = (i: number) =>
      JSON.stringify({ device: `d${i % 5}`, ts: 1767225600 + i, watts: 100 + (i % 7) });
    await Deno.writeTextFile(
      file,
      Array.from({ length: 100_005 }, (_, i) => line(i)).join("\n") + "\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../src/main.ts", import.meta.url).pathname,
        "contract",
        "infer",
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const draft = new TextDecoder().decode(out.stdout);
    assert.match(draft, /# {2}- read the file's first 100,000 lines/);
    assert.match(draft, /drafted from 100000 sample events/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the committed sample files are what scripts/samples.ts writes", async () => {
  for (const name of ["iot-sensor", "payments", "pipeline-metrics"]) {
    const committed = await Deno.readTextFile(new URL(`samples/${name}.jsonl`, ROOT));
    assert.equal(
      committed,
      await sampleText(contractPath(name)),
      `regenerate: deno run -A scripts/samples.ts`,
    );
  }
});

Deno.test("the README's contract example is a valid contract", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Your own events"));
  const yaml = section.match(/```yaml\n([\s\S]*?)```/)![1];
  const c = contractFromText(yaml, "README.md");
  assert.equal(c.key, "account_id");
  assert.deepEqual(c.features, [{ field: "amount", min: 0, max: 100000, scale: "log" }]);
});

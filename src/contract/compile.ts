/**
 * A contract compiled into its checking code: {@link compileChecker} writes one JavaScript
 * function for the contract's fields (each field's type, rules and feature slot unrolled, with
 * its names and limits as constants) and builds it once, so checking an event interprets no
 * description. Field names are checked by the contract's validation (`[A-Za-z_][A-Za-z0-9_]*`)
 * and every constant enters the code through `JSON.stringify` or a closure, never as raw text.
 *
 * A record's bytes go through, in order (the first failure names the record's check):
 *
 * | check | rule | fails when |
 * |---|---|---|
 * | `schema` | size, encoding, json, object, duplicate | over the size limit, a record of a compressed batch that could not be read, not UTF-8, not JSON, not an object, a key twice |
 * | `required` | required | a required field missing (or null and not nullable) |
 * | `type_<f>` or `schema` | type | wrong type, a non-finite number, a timestamp that is not one |
 * | `enum_<f>`, `length_<f>`, `pattern_<f>` (or `schema`) | enum, length, pattern | not an allowed value, too short or long, no match |
 * | `schema` | unknown | a field the contract does not name (`unknown_fields: reject`) |
 * | `range_<f>` | range | a number outside [min, max] |
 *
 * The time checks (`freshness`) need a clock and run later, in order ({@link checkTime}).
 *
 * @module
 */
import { compilePattern, type Pattern } from "./pattern.ts";
import { unreadableReason } from "../unreadable.ts";
import { checkNamesOf, type Contract, type FieldSpec } from "./spec.ts";
import { countTopLevelKeys, topLevelKeys } from "./keys.ts";

/** What {@link Checker.check} leaves for the record it checked. */
export interface CheckOutput {
  /** Event time, Unix seconds (valid records). */
  ts: number;
  /** Entity key (valid records). */
  key: string;
  /** The parsed event, defaults applied (valid records). */
  record: Record<string, unknown>;
  /** Why it failed, the field concerned ("" when none) and the rule. */
  reason: string;
  field: string;
  rule: string;
}

/** A fresh {@link CheckOutput} to reuse across {@link Checker.check} calls. */
export function createCheckOutput(): CheckOutput {
  return { ts: NaN, key: "", record: {}, reason: "", field: "", rule: "" };
}

/** A compiled contract. */
export interface Checker {
  readonly contract: Contract;
  /** Check names; index = the code {@link check} returns (0 = passed). */
  readonly checks: readonly string[];
  /** Names of the model's features, in the order they are written. */
  readonly features: readonly string[];
  /** Codes of the time checks: an event too old, one too far in the future. */
  readonly timeCodes: { stale: number; future: number };
  /**
   * Checks one record's value bytes (everything but the time checks); writes its features at
   * `x[at …]` (NaN when absent) and the rest into `out`. Returns the check code. Never throws.
   * `text`: the bytes already decoded, when the caller has them ({@link asciiText}); the same
   * outcome as without it.
   */
  check(bytes: Uint8Array, x: Float64Array, at: number, out: CheckOutput, text?: string): number;
}

/** Options of {@link compileChecker}. */
export interface CompileOptions {
  /** Largest record accepted, in bytes (checked before decoding). Default: 1 MiB. */
  maxEventBytes?: number;
}

/** A value as a reason shows it: `the string "x"`, `42`, `null`, `an object`. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") {
    return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + "..." : v)}`;
  }
  if (typeof v === "object") return "an object";
  return typeof v === "number" ? String(v) : typeof v;
}

const kindOf = (v: unknown) =>
  v === null
    ? "null"
    : Array.isArray(v)
    ? "array"
    : typeof v === "number" && !Number.isFinite(v)
    ? String(v)
    : typeof v;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?)?$/i;

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1–12). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Unix seconds of a UTC civil time; NaN when no calendar has it (Feb 30, 24:00, 23:60). */
function civilSeconds(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  frac: number,
): number {
  const leap = mo === 2 && (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? 1 : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > MONTH_DAYS[mo - 1] + leap || h > 23 || mi > 59 || s > 59) {
    return NaN;
  }
  return daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s + frac;
}

/** The value of the digits of `s` in [from, to); -1 when one is not a digit. */
function digits(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Unix seconds of ISO 8601 text (`2024-01-01`, `2024-01-01T10:00:00Z`, `2024-01-01 10:00:00`,
 * fractions to 9 digits, offsets `+01:00` / `+0100` / `+01`); NaN when it is not one or names a
 * time no calendar has. A time without an offset is UTC.
 */
export function isoSeconds(s: string): number {
  const n = s.length;
  // The common form, `YYYY-MM-DDTHH:MM:SS[.fff]Z`, read without a regular expression.
  if (
    n >= 20 && n <= 30 && s.charCodeAt(n - 1) === 90 && s.charCodeAt(10) === 84 &&
    s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45 && s.charCodeAt(13) === 58 &&
    s.charCodeAt(16) === 58 && (n === 20 || (s.charCodeAt(19) === 46 && n > 21))
  ) {
    const f = n === 20 ? 0 : digits(s, 20, n - 1);
    const y = digits(s, 0, 4), mo = digits(s, 5, 7), d = digits(s, 8, 10);
    const h = digits(s, 11, 13), mi = digits(s, 14, 16), sec = digits(s, 17, 19);
    if ((y | mo | d | h | mi | sec | f) < 0) return NaN;
    return civilSeconds(y, mo, d, h, mi, sec, n === 20 ? 0 : f / 10 ** (n - 21));
  }
  const m = ISO.exec(s);
  if (!m) return NaN;
  const frac = m[7] ? Number(m[7]) / 10 ** m[7].length : 0;
  const t = civilSeconds(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
    frac,
  );
  if (!m[9]) return t;
  const oh = Number(m[10]), om = Number(m[11] ?? 0);
  if (oh > 23 || om > 59) return NaN;
  return t - (m[9] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
}

/** The helpers and constants the generated code reaches through `C`. */
interface Constants {
  fail(o: CheckOutput, code: number, reason: string, field: string, rule: string): number;
  type(field: string, expected: string, v: unknown): string;
  unknown(r: Record<string, unknown>): string;
  iso: typeof isoSeconds;
  describe: typeof describeValue;
  sets: Set<unknown>[];
  patterns: Pattern[];
}

const q = JSON.stringify;
const EXPECTED: Record<FieldSpec["type"], string> = {
  string: "string",
  number: "number",
  integer: "integer",
  boolean: "boolean",
  timestamp: "number",
};

/** The condition (JS) under which `v` is not of field `f`'s type. */
function badType(f: FieldSpec, v: string): string {
  switch (f.type) {
    case "string":
      return `typeof ${v} !== "string"`;
    case "integer":
      return `!Number.isInteger(${v})`;
    case "boolean":
      return `typeof ${v} !== "boolean"`;
    case "timestamp":
      if (f.unit === "iso8601") {
        return `typeof ${v} !== "string" || !((t${v.slice(1)} = C.iso(${v})) > -Infinity)`;
      }
      return `typeof ${v} !== "number" || ${v} - ${v} !== 0`;
    default:
      return `typeof ${v} !== "number" || ${v} - ${v} !== 0`;
  }
}

/** The generated source of the checking function for `contract` (exported for the docs/tests). */
export function checkerSource(contract: Contract, C: Constants): string {
  const checks = checkNamesOf(contract);
  const code = (name: string, fallback = "schema") =>
    checks.includes(name) ? checks.indexOf(name) : checks.indexOf(fallback);
  const perField = contract.checkNames === "per_field";
  const fields = contract.fields;
  const lines: string[] = ["let present = 0;"];
  // Read each field once; names that Object.prototype also has are read as own properties only.
  fields.forEach((f, i) => {
    lines.push(
      f.name in Object.prototype
        ? `let v${i} = Object.hasOwn(r, ${q(f.name)}) ? r[${q(f.name)}] : undefined;`
        : `let v${i} = r[${q(f.name)}];`,
      `if (v${i} !== undefined) present++;`,
    );
    if (f.unit === "iso8601") lines.push(`let t${i} = NaN;`);
  });
  const fail = (c: number, reason: string, field: string, rule: string) =>
    `return C.fail(o, ${c}, ${reason}, ${q(field)}, ${q(rule)});`;
  fields.forEach((f, i) => {
    if (!f.required) return;
    const missing = f.nullable ? `v${i} === undefined` : `v${i} === undefined || v${i} === null`;
    lines.push(
      `if (${missing}) ${fail(code("required"), q(`missing field ${f.name}`), f.name, "required")}`,
    );
  });
  fields.forEach((f, i) => {
    const v = `v${i}`;
    const rule = (name: string) => perField ? code(`${name}_${f.name}`) : code("schema");
    const body: string[] = [];
    body.push(
      `if (${badType(f, v)}) ${
        fail(
          rule("type"),
          `C.type(${q(f.name)}, ${
            q(f.unit === "iso8601" ? "ISO 8601 time" : EXPECTED[f.type])
          }, ${v})`,
          f.name,
          "type",
        )
      }`,
    );
    if (f.enum) {
      const k = C.sets.push(new Set(f.enum)) - 1;
      const allowed = f.enum.map((e) => q(e)).join("|");
      body.push(
        `if (!C.sets[${k}].has(${v})) ${
          fail(
            rule("enum"),
            `${q(`field ${f.name}: expected one of ${allowed} (got `)} + C.describe(${v}) + ")"`,
            f.name,
            "enum",
          )
        }`,
      );
    }
    if (f.minLength !== undefined || f.maxLength !== undefined) {
      const lo = f.minLength ?? 0, hi = f.maxLength ?? Number.MAX_SAFE_INTEGER;
      const want = f.maxLength === undefined ? `at least ${lo}` : `${lo} to ${hi}`;
      body.push(
        `if (${v}.length < ${lo} || ${v}.length > ${hi}) ${
          fail(
            rule("length"),
            `${q(`field ${f.name}: expected ${want} characters (got `)} + C.describe(${v}) + ")"`,
            f.name,
            "length",
          )
        }`,
      );
    }
    if (f.pattern) {
      const k = C.patterns.push(compilePattern(f.pattern)) - 1;
      body.push(
        `if (!C.patterns[${k}].test(${v})) ${
          fail(
            rule("pattern"),
            `${q(`field ${f.name}: does not match /${f.pattern}/ (got `)} + C.describe(${v}) + ")"`,
            f.name,
            "pattern",
          )
        }`,
      );
    }
    const absent = f.nullable ? `${v} !== undefined && ${v} !== null` : `${v} !== undefined`;
    lines.push(`if (${absent}) {`, ...body.map((b) => "  " + b), "}");
    if (f.default !== undefined) {
      lines.push(`else if (${v} === undefined) r[${q(f.name)}] = ${q(f.default)};`);
    }
  });
  if (contract.unknownFields === "reject") {
    lines.push(`if (present !== keyCount) ${fail(code("schema"), "C.unknown(r)", "", "unknown")}`);
  }
  fields.forEach((f, i) => {
    if (f.min === undefined && f.max === undefined) return;
    const lo = f.min ?? -Infinity, hi = f.max ?? Infinity;
    const v = `v${i}`;
    lines.push(
      `if (${v} != null && (${v} < ${lo} || ${v} > ${hi})) ${
        fail(
          code(`range_${f.name}`),
          `${q(`${f.name} `)} + ${v} + ${q(` outside [${lo}, ${hi}]`)}`,
          f.name,
          "range",
        )
      }`,
    );
  });
  const t = fields.findIndex((f) => f.name === contract.time.field);
  const unit = fields[t].unit;
  lines.push(
    unit === "iso8601"
      ? `o.ts = t${t};`
      : unit === "milliseconds"
      ? `o.ts = v${t} / 1000;`
      : `o.ts = v${t};`,
  );
  if (contract.key !== undefined) {
    const k = fields.findIndex((f) => f.name === contract.key);
    lines.push(`o.key = typeof v${k} === "string" ? v${k} : String(v${k});`);
  } else lines.push(`o.key = ${q(contract.name)};`);
  contract.features.forEach((feature, j) => {
    const k = fields.findIndex((f) => f.name === feature.field);
    lines.push(`x[at + ${j}] = v${k} == null ? NaN : v${k};`);
  });
  lines.push("o.record = r;", "return 0;");
  return `return function check(r, keyCount, x, at, o) {\n  ${lines.join("\n  ")}\n};`;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The text of `bytes` when every byte is ASCII (under 0x80), else `undefined`: one decoding for a
 * whole slice of records, whose texts are then slices of it at the records' byte offsets (an
 * ASCII byte is one UTF-16 unit; any other UTF-8 sequence, a BOM included, decodes to fewer units
 * than its bytes). Decoding each record of a batch on its own cost about 1 µs of the 3 µs its
 * checks took (93-byte seed events).
 */
export function asciiText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  return text.length === bytes.length ? text : undefined;
}

/**
 * For a record in Confluent Schema Registry's wire format (a zero byte, then a 4-byte schema id),
 * what the rejection adds: that format, and that events must be plain JSON. Empty otherwise.
 */
export function registryHint(bytes: Uint8Array): string {
  if (bytes.length < 5 || bytes[0] !== 0) return "";
  const id = new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getUint32(0);
  return ` (it starts with byte 0 and schema id ${id}: Schema Registry's wire format, Avro, ` +
    "Protobuf or JSON Schema; events must be plain JSON)";
}

/** Compiles `contract` into its {@link Checker}, once. */
export function compileChecker(contract: Contract, options: CompileOptions = {}): Checker {
  const maxEventBytes = options.maxEventBytes ?? 1 << 20;
  const known = new Set(contract.fields.map((f) => f.name));
  const C: Constants = {
    fail(o, code, reason, field, rule) {
      o.reason = reason;
      o.field = field;
      o.rule = rule;
      return code;
    },
    type: (field, expected, v) =>
      `field ${field}: expected ${expected}, received ${kindOf(v)} (got ${describeValue(v)})`,
    unknown(r) {
      for (const k of Object.keys(r)) if (!known.has(k)) return `unknown field ${q(k)}`;
      return "unknown field";
    },
    iso: isoSeconds,
    describe: describeValue,
    sets: [],
    patterns: [],
  };
  const fields = new Function("C", checkerSource(contract, C))(C) as (
    r: Record<string, unknown>,
    keyCount: number,
    x: Float64Array,
    at: number,
    o: CheckOutput,
  ) => number;
  const checks = checkNamesOf(contract);
  const schema = checks.indexOf("schema");
  const failed = (o: CheckOutput, reason: string, rule: string) =>
    C.fail(o, schema, reason, "", rule);
  const stale = checks.indexOf("freshness");
  /** Decodes and checks one record; writes the features of a valid one. */
  const checkBytes = (
    bytes: Uint8Array,
    x: Float64Array,
    at: number,
    o: CheckOutput,
    decoded: string | undefined,
  ) => {
    if (bytes.length === 0) return failed(o, "empty record", "size");
    const unreadable = unreadableReason(bytes);
    if (unreadable !== undefined) return failed(o, unreadable, "encoding");
    if (bytes.length > maxEventBytes) {
      return failed(
        o,
        `record of ${bytes.length} bytes exceeds the limit of ${maxEventBytes} bytes`,
        "size",
      );
    }
    let text: string;
    if (decoded !== undefined) text = decoded;
    else {
      try {
        text = decoder.decode(bytes);
      } catch {
        return failed(o, `not UTF-8 text${registryHint(bytes)}`, "encoding");
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return failed(o, `not JSON: ${(e as Error).message}${registryHint(bytes)}`, "json");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return failed(o, `not a JSON object but ${describeValue(parsed)}`, "object");
    }
    const keyCount = Object.keys(parsed).length;
    // JSON.parse keeps the last of duplicate keys: fewer keys parsed than written means duplicates.
    if (countTopLevelKeys(text) !== keyCount) {
      const seen = new Set<string>();
      for (const key of topLevelKeys(text)) {
        if (seen.has(key)) return failed(o, `duplicate key ${q(key)}`, "duplicate");
        seen.add(key);
      }
    }
    return fields(parsed as Record<string, unknown>, keyCount, x, at, o);
  };
  return {
    contract,
    checks,
    features: contract.features.map((f) => f.field),
    timeCodes: { stale, future: contract.checkNames === "schema" ? schema : stale },
    check(bytes, x, at, o, text) {
      const code = checkBytes(bytes, x, at, o, text);
      // A rejected record gives the model nothing (a valid one wrote every feature).
      if (code !== 0) x.fill(NaN, at, at + contract.features.length);
      return code;
    },
  };
}

/** Time limits of a contract's time checks. */
export interface TimeLimits {
  freshnessLagSec: number | null;
  maxFutureSec: number;
  /** The time field's name, for the reason. Default: `ts`. */
  field?: string;
  /** The time field's unit, for the reason. Default: `seconds`. */
  unit?: string;
}

/** Seconds per unit of a numeric time field. */
const UNIT_SECONDS: Record<string, number> = {
  seconds: 1,
  milliseconds: 1e-3,
  microseconds: 1e-6,
  nanoseconds: 1e-9,
};

/**
 * For a time `ts` (Unix seconds, as the contract read it in `unit`) far from `now`: the hint when
 * its number read in another unit lands within a year of `now` (the producer writes milliseconds
 * where the contract says seconds, or the other way round); empty otherwise.
 */
export function unitHint(ts: number, now: number, unit = "seconds"): string {
  const read = UNIT_SECONDS[unit];
  if (read === undefined) return "";
  for (const [other, scale] of Object.entries(UNIT_SECONDS)) {
    if (other !== unit && Math.abs((ts * scale) / read - now) < 366 * 86_400) {
      return ` (read as ${other} it would be now; the contract reads it as ${unit})`;
    }
  }
  return "";
}

/**
 * The latest time an event may carry, 3000-01-01 UTC in Unix seconds: later, it is a time in a
 * finer unit than the contract reads (milliseconds read as seconds land in the year 57,000).
 */
export const MAX_EVENT_TIME = 32_503_680_000;

/**
 * The time checks of an event whose other checks passed; `now` in Unix seconds. Returns ok when
 * it passes, else which limit it broke (`stale`, `future`) and the reason.
 */
export function checkTime(
  ts: number,
  now: number,
  limits: TimeLimits,
): { ok: true } | { ok: false; which: "stale" | "future"; reason: string } {
  const field = limits.field ?? "ts";
  if (ts > MAX_EVENT_TIME) {
    return {
      ok: false,
      which: "future",
      reason: `${field} ${ts} is after the year 3000${unitHint(ts, now, limits.unit)}`,
    };
  }
  if (ts > now + limits.maxFutureSec) {
    const days = limits.maxFutureSec / 86_400;
    const ahead = Number.isInteger(days)
      ? `${days} day${days === 1 ? "" : "s"}`
      : `${limits.maxFutureSec} s`;
    return {
      ok: false,
      which: "future",
      reason: `${field} ${ts} is more than ${ahead} in the future (now ${now})${
        unitHint(ts, now, limits.unit)
      }`,
    };
  }
  if (limits.freshnessLagSec !== null && ts < now - limits.freshnessLagSec) {
    return {
      ok: false,
      which: "stale",
      reason: `${field} ${ts} is ${
        Math.round(now - ts)
      } s old, more than ${limits.freshnessLagSec} s${unitHint(ts, now, limits.unit)}`,
    };
  }
  return { ok: true };
}

/**
 * The data contract: what an event is (its fields, their types and rules), which field names the
 * entity, which field is the event time, and which numeric fields the model sees. A contract is
 * written by the user as YAML or JSON (`CONTRACT_FILE`); without one the built-in contract is the
 * seed's IoT event ({@link SEED_CONTRACT}).
 *
 * ```yaml
 * name: payments
 * version: 1
 * key: account_id                  # whose events belong together
 * time: { field: ts, freshness_lag_sec: 300, max_future_sec: 86400 }   # zone: Europe/Berlin
 * fields:
 *   account_id: { type: string, pattern: "^acc-[0-9]+$" }
 *   amount: { type: number, min: 0, max: 100000 }
 *   currency: { type: string, enum: [EUR, USD, GBP] }
 *   ts: { type: timestamp, unit: iso8601 }
 * features: [amount]    # or [{ field: amount, min: 0, max: 5000, change: true, recent: true,
 *                       #        scale: log, alert_on: high }]
 * ```
 *
 * This module is pure: {@link parseContract} validates a parsed document with zod and the rules
 * between its parts, returning a normalized {@link Contract} or throwing a {@link ContractError}
 * with one line per problem, each naming the path inside the file. {@link checkNamesOf} lists the
 * checks a contract yields (the `check` label values).
 *
 * @module
 */
import { compilePattern } from "./pattern.ts";
import { type Scale, SCALES } from "./scale.ts";
import { zoneName, ZONES_ALLOWED } from "../zone.ts";
import { ALERT_SIDES } from "../baseline.ts";
import { z } from "zod";

/** Types a field can have. */
export const FIELD_TYPES = ["string", "number", "integer", "boolean", "timestamp"] as const;
/** Units of a timestamp field: Unix seconds, Unix milliseconds, or ISO 8601 text. */
export const TIME_UNITS = ["seconds", "milliseconds", "iso8601"] as const;

/** One field of a {@link Contract}, normalized. */
export interface FieldSpec {
  name: string;
  type: typeof FIELD_TYPES[number];
  /** Missing (or null, unless nullable) fails check `required`. Default: true. */
  required: boolean;
  /** null is accepted (and read as absent). Default: false. */
  nullable: boolean;
  /** Numbers: lowest and highest valid values (check `range_<field>`). */
  min?: number;
  max?: number;
  /** Allowed values (check `enum_<field>`). */
  enum?: (string | number | boolean)[];
  /** Strings: length bounds, in UTF-16 units (check `length_<field>`). */
  minLength?: number;
  maxLength?: number;
  /** Strings: a regular expression the whole value must match (check `pattern_<field>`). */
  pattern?: string;
  /** Timestamps: how the time is written. Default: seconds. */
  unit?: typeof TIME_UNITS[number];
  /** Value of an absent optional field. */
  default?: string | number | boolean;
  /** Example values (used by `generate` and the JSON Schema). */
  examples?: (string | number | boolean)[];
  description?: string;
}

/** Cycles of the event time a contract may give the forest (`time.cycles`). */
export const CYCLES = ["day", "week"] as const;
/** One of {@link CYCLES}. */
export type Cycle = typeof CYCLES[number];

/** Seconds in each of {@link CYCLES}. */
export const CYCLE_SECONDS: Record<Cycle, number> = { day: 86_400, week: 604_800 };

/** A numeric field the model sees, with the limits the forest splits within. */
export interface FeatureSpec {
  field: string;
  min: number;
  max: number;
  /**
   * Also judge the change since the entity's previous event against that entity's usual changes
   * (`baseline.ts`), besides the deviation from its level. Default: false.
   */
  change?: boolean;
  /**
   * Also judge the entity's recent level (the mean of its last few deviations, `baseline.ts`),
   * so a lasting shift of a few noise units is caught. Default: false.
   */
  recent?: boolean;
  /**
   * How the model sees the values (`scale.ts`): `log` judges `ln(1 + value)`, for amounts,
   * latencies, durations and sizes, whose spread grows with their level; the field must then
   * have `min` ≥ 0. `min` and `max` stay in the field's units. Absent: `linear`.
   */
  scale?: Scale;
  /**
   * Which side of the entity's typical value may alert (`baseline.ts`): `high` (latencies, error
   * counts) or `low` (throughput); the other side's deviations decide nothing. Absent: both.
   */
  alertOn?: "high" | "low";
}

/** A validated contract. */
export interface Contract {
  name: string;
  version: string;
  description?: string;
  /** What an unknown top-level field does: fail `schema` (`reject`) or pass (`allow`). */
  unknownFields: "reject" | "allow";
  /**
   * How the field checks are named: `per_field` (`type_<field>`, `enum_<field>`,
   * `pattern_<field>`, `length_<field>`) or `schema` (all of them `schema`, as the seed's contract
   * does). `required`, `range_<field>` and `freshness` are the same in both.
   */
  checkNames: "per_field" | "schema";
  /** The entity key field; absent: every event is the one entity named after the contract. */
  key?: string;
  time: {
    field: string;
    /** Oldest accepted time, seconds before the clock (check `freshness`); null: no limit. */
    freshnessLagSec: number | null;
    /** Newest accepted time, seconds after the clock. */
    maxFutureSec: number;
    /**
     * Cycles of the event time the forest also sees, each as two features (the sine and cosine
     * of its phase, in {@link Contract.time.zone}'s time): `day` (time of day), `week` (time of
     * the week). Default: none.
     */
    cycles?: readonly Cycle[];
    /**
     * The IANA time zone whose hours, days and weeks the baselines' profiles and the cycles
     * follow (`zone.ts`). Absent: the pipeline's `TIME_ZONE` (UTC by default).
     */
    zone?: string;
  };
  fields: FieldSpec[];
  features: FeatureSpec[];
  /** True for the built-in seed contract only: alerts and dead letters keep the seed's format. */
  builtin?: boolean;
}

/** A contract that failed validation: one line per problem (`file: path: message`). */
export class ContractError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.name = "ContractError";
    this.problems = problems;
  }
}

/**
 * Characters an entity key holds at most when its field declares no `max_length`: every entity
 * is kept in memory (up to `MAX_ENTITIES` of them) and named in alerts and checkpoints, so a
 * producer writing a payload into the key must not grow them without bound.
 */
export const KEY_MAX_LENGTH = 256;

/**
 * The largest magnitude a feature's limits may have. A feature's deviations are squared (its
 * noise is a running variance), and beyond about 1e154 a square overflows: one such value would
 * leave its entity's variance infinite, and that entity never judged again. Within ±1e15 every
 * square is finite, and that is still far beyond any reading's scale.
 */
export const FEATURE_LIMIT = 1e15;

/** Features a contract declares at most (the forest's dimensions). */
export const MAX_FEATURES = 64;

/** Field names usable in check names, metric labels and generated code. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const finite = z.number().refine(Number.isFinite, "expected a finite number");
const scalar = z.union([z.string(), finite, z.boolean()]);

const FieldFile = z.strictObject({
  type: z.enum(FIELD_TYPES),
  required: z.boolean().default(true),
  nullable: z.boolean().default(false),
  min: finite.optional(),
  max: finite.optional(),
  enum: z.array(scalar).min(1).max(1000).optional(),
  min_length: z.number().int().min(0).optional(),
  max_length: z.number().int().min(0).optional(),
  pattern: z.string().min(1).optional(),
  unit: z.enum(TIME_UNITS).optional(),
  default: scalar.optional(),
  examples: z.array(scalar).max(100).optional(),
  description: z.string().optional(),
});

const FeatureFile = z.union([
  z.string(),
  z.strictObject({
    field: z.string(),
    min: finite.optional(),
    max: finite.optional(),
    change: z.boolean().optional(),
    recent: z.boolean().optional(),
    // Checked with the rules between parts, so a wrong value is named with what is allowed.
    scale: z.unknown().optional(),
    alert_on: z.unknown().optional(),
  }),
]);

const ContractFile = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.\-]{1,64}$/, "expected 1-64 letters, digits, _ . -"),
  version: z.union([z.string().min(1).max(64), finite]),
  description: z.string().optional(),
  unknown_fields: z.enum(["reject", "allow"]).default("reject"),
  check_names: z.enum(["per_field", "schema"]).default("per_field"),
  key: z.string().optional(),
  time: z.strictObject({
    field: z.string(),
    freshness_lag_sec: z.union([finite.pipe(z.number().min(0)), z.null()]).default(300),
    max_future_sec: finite.pipe(z.number().min(0)).default(86_400),
    cycles: z.array(z.enum(CYCLES)).max(CYCLES.length).refine(
      (c) => new Set(c).size === c.length,
      "expected each cycle at most once",
    ).default([]),
    zone: z.string().transform((zone, ctx) => {
      const name = zoneName(zone);
      if (name === undefined) ctx.addIssue({ code: "custom", message: ZONES_ALLOWED });
      return name ?? z.NEVER;
    }).optional(),
  }),
  fields: z.record(z.string(), FieldFile).refine(
    (f) => Object.keys(f).length >= 1,
    "expected at least one field",
  ),
  features: z.array(FeatureFile).default([]),
});

/** Most checks a contract may yield (a check code is one byte). */
export const MAX_CHECKS = 250;

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  const s = JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + '..."' : s;
}

const ARTICLE: Record<string, string> = {
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
};

/** One readable line of a zod issue: `path: expected …, got …`. */
function issueLine(issue: z.core.$ZodIssue & { input?: unknown }): string {
  const path = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
  switch (issue.code) {
    case "invalid_type":
      return `${path}: expected ${ARTICLE[issue.expected] ?? issue.expected}, got ${
        describe(issue.input)
      }`;
    case "unrecognized_keys":
      return `${path === "(top level)" ? "" : path + ": "}unknown key${
        issue.keys.length > 1 ? "s" : ""
      } ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    case "invalid_value":
      return `${path}: expected one of ${issue.values.map((v) => String(v)).join(", ")}, got ${
        describe(issue.input)
      }`;
    case "invalid_union":
      return `${path}: expected ${
        path.startsWith("features")
          ? "a field name or { field, min, max, change, recent, scale, alert_on }"
          : "a valid value"
      }, got ${describe(issue.input)}`;
    default:
      return `${path}: ${issue.message.replace(/^Invalid input: /, "")}${
        issue.input !== undefined ? `, got ${describe(issue.input)}` : ""
      }`;
  }
}

/** The rules between a contract's parts: key, time, features, ranges, patterns. */
function crossCheck(file: z.output<typeof ContractFile>): string[] {
  const problems: string[] = [];
  const fields = file.fields;
  for (const [name, f] of Object.entries(fields)) {
    const at = `fields.${name}`;
    if (!NAME.test(name)) {
      problems.push(
        `${at}: a field name must be 1-63 letters, digits or _, not starting with a digit`,
      );
    }
    const numeric = f.type === "number" || f.type === "integer";
    if ((f.min !== undefined || f.max !== undefined) && !numeric) {
      problems.push(`${at}: min and max apply to number and integer fields, not ${f.type}`);
    }
    if (f.min !== undefined && f.max !== undefined && !(f.min <= f.max)) {
      problems.push(`${at}: the range is empty (min ${f.min} > max ${f.max})`);
    }
    if (
      (f.min_length !== undefined || f.max_length !== undefined || f.pattern) && f.type !== "string"
    ) {
      problems.push(
        `${at}: min_length, max_length and pattern apply to string fields, not ${f.type}`,
      );
    }
    if (f.min_length !== undefined && f.max_length !== undefined && f.min_length > f.max_length) {
      problems.push(
        `${at}: the length range is empty (min_length ${f.min_length} > max_length ${f.max_length})`,
      );
    }
    if (f.pattern) {
      try {
        compilePattern(f.pattern);
      } catch (e) {
        problems.push(`${at}.pattern: not a pattern this product runs: ${(e as Error).message}`);
      }
    }
    if (f.unit && f.type !== "timestamp") {
      problems.push(`${at}.unit: applies to timestamp fields only`);
    }
    if (f.default !== undefined && f.required) {
      problems.push(`${at}.default: a required field has no default`);
    }
    for (const [i, v] of (f.enum ?? []).entries()) {
      if (!fitsType(f, v)) problems.push(`${at}.enum.${i}: ${describe(v)} is not ${f.type}`);
    }
    if (f.default !== undefined && !fitsType(f, f.default)) {
      problems.push(`${at}.default: ${describe(f.default)} is not ${f.type}`);
    }
  }
  if (file.key !== undefined) {
    const k = fields[file.key];
    if (!k) {
      problems.push(
        `key: "${file.key}" is not a field (fields: ${Object.keys(fields).join(", ")})`,
      );
    } else if (k.type !== "string" && k.type !== "integer") {
      problems.push(
        `key: field "${file.key}" is ${k.type}; the key must be a string or integer field`,
      );
    } else if (!k.required || k.nullable) {
      problems.push(`key: field "${file.key}" must be required and not nullable`);
    }
  }
  const t = fields[file.time.field];
  if (!t) problems.push(`time.field: "${file.time.field}" is not a field`);
  else if (t.type !== "timestamp") {
    problems.push(
      `time.field: field "${file.time.field}" is ${t.type}; it must be a timestamp field`,
    );
  } else if (!t.required || t.nullable) {
    problems.push(`time.field: field "${file.time.field}" must be required and not nullable`);
  }
  if (file.features.length > MAX_FEATURES) {
    problems.push(
      `features: ${file.features.length} declared, at most ${MAX_FEATURES}; keep those worth watching`,
    );
  }
  if (file.features.length === 0) {
    const numeric = Object.entries(fields)
      .filter(([, f]) => f.type === "number" || f.type === "integer").map(([name]) => name);
    problems.push(
      `features: none declared; the model judges at least one number or integer field (${
        numeric.length > 0 ? `this contract's: ${numeric.join(", ")}` : "this contract has none"
      })`,
    );
  }
  const seen = new Set<string>();
  file.features.forEach((entry, i) => {
    const name = typeof entry === "string" ? entry : entry.field;
    const at = `features.${i}`;
    const f = fields[name];
    if (seen.has(name)) problems.push(`${at}: "${name}" is listed twice`);
    seen.add(name);
    if (!f) return problems.push(`${at}: "${name}" is not a field`);
    if (f.type !== "number" && f.type !== "integer") {
      return problems.push(
        `${at}: field "${name}" is ${f.type}; a feature must be a number or integer field`,
      );
    }
    const min = typeof entry === "string" ? f.min : entry.min ?? f.min;
    const max = typeof entry === "string" ? f.max : entry.max ?? f.max;
    const scale = typeof entry === "string" ? undefined : entry.scale;
    if (scale !== undefined && !(SCALES as readonly unknown[]).includes(scale)) {
      problems.push(
        `${at}.scale: expected one of ${SCALES.join(", ")}, got ${describe(scale)}`,
      );
    } else if (scale === "log" && !(f.min !== undefined && f.min >= 0)) {
      problems.push(
        `${at}.scale: log judges ln(1 + value), so field "${name}" must never be negative: ` +
          `give fields.${name}.min ≥ 0 (it has ${f.min === undefined ? "no min" : `min ${f.min}`})`,
      );
    } else if (scale === "log" && min !== undefined && min < 0) {
      problems.push(`${at}.scale: log needs the feature's min ≥ 0, got ${min}`);
    }
    const side = typeof entry === "string" ? undefined : entry.alert_on;
    if (side !== undefined && !(ALERT_SIDES as readonly unknown[]).includes(side)) {
      problems.push(
        `${at}.alert_on: expected one of ${ALERT_SIDES.join(", ")}, got ${describe(side)}`,
      );
    }
    if (min === undefined || max === undefined) {
      problems.push(
        `${at}: feature "${name}" needs limits: give fields.${name}.min and max, or min and max here`,
      );
    } else if (!(min < max)) {
      problems.push(`${at}: the range of feature "${name}" is empty (${min} .. ${max})`);
    } else if (Math.max(-min, max) > FEATURE_LIMIT) {
      problems.push(
        `${at}: the limits of feature "${name}" (${min} .. ${max}) must lie within ±1e15 ` +
          `(its squared deviations must stay finite)`,
      );
    }
  });
  return problems;
}

function fitsType(f: { type: string }, v: unknown): boolean {
  switch (f.type) {
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number";
    case "integer":
      return Number.isInteger(v);
    case "boolean":
      return typeof v === "boolean";
    default:
      return typeof v === "number" || typeof v === "string";
  }
}

/** Normalizes a checked file. */
function normalize(file: z.output<typeof ContractFile>): Contract {
  const fields: FieldSpec[] = Object.entries(file.fields).map(([name, f]) => ({
    name,
    type: f.type,
    required: f.required,
    nullable: f.nullable,
    ...(f.min !== undefined ? { min: f.min } : {}),
    ...(f.max !== undefined ? { max: f.max } : {}),
    ...(f.enum ? { enum: f.enum } : {}),
    ...(f.min_length !== undefined ? { minLength: f.min_length } : {}),
    ...(f.max_length !== undefined
      ? { maxLength: f.max_length }
      : name === file.key && f.type === "string"
      ? { maxLength: KEY_MAX_LENGTH }
      : {}),
    ...(f.pattern ? { pattern: f.pattern } : {}),
    ...(f.type === "timestamp" ? { unit: f.unit ?? "seconds" } : {}),
    ...(f.default !== undefined ? { default: f.default } : {}),
    ...(f.examples ? { examples: f.examples } : {}),
    ...(f.description ? { description: f.description } : {}),
  }));
  const features = file.features.map((entry): FeatureSpec => {
    const name = typeof entry === "string" ? entry : entry.field;
    const f = file.fields[name];
    return {
      field: name,
      min: (typeof entry === "string" ? undefined : entry.min) ?? f.min!,
      max: (typeof entry === "string" ? undefined : entry.max) ?? f.max!,
      ...(typeof entry !== "string" && entry.change ? { change: true } : {}),
      ...(typeof entry !== "string" && entry.recent ? { recent: true } : {}),
      ...(typeof entry !== "string" && entry.scale === "log" ? { scale: "log" as const } : {}),
      ...(typeof entry !== "string" && (entry.alert_on === "high" || entry.alert_on === "low")
        ? { alertOn: entry.alert_on }
        : {}),
    };
  });
  return {
    name: file.name,
    version: String(file.version),
    ...(file.description ? { description: file.description } : {}),
    unknownFields: file.unknown_fields,
    checkNames: file.check_names,
    ...(file.key !== undefined ? { key: file.key } : {}),
    time: {
      field: file.time.field,
      freshnessLagSec: file.time.freshness_lag_sec,
      maxFutureSec: file.time.max_future_sec,
      ...(file.time.cycles.length > 0 ? { cycles: file.time.cycles } : {}),
      ...(file.time.zone !== undefined ? { zone: file.time.zone } : {}),
    },
    fields,
    features,
  };
}

/**
 * Validates a parsed contract document; `source` names it in every problem line. Throws
 * {@link ContractError} listing every problem found.
 */
export function parseContract(document: unknown, source = "contract"): Contract {
  const result = ContractFile.safeParse(document, { reportInput: true });
  if (!result.success) {
    throw new ContractError(result.error.issues.map((i) => `${source}: ${issueLine(i)}`));
  }
  const problems = crossCheck(result.data);
  const contract = problems.length === 0 ? normalize(result.data) : undefined;
  if (contract && checkNamesOf(contract).length > MAX_CHECKS) {
    problems.push(`fields: ${checkNamesOf(contract).length} checks, more than ${MAX_CHECKS}`);
  }
  if (problems.length > 0) throw new ContractError(problems.map((p) => `${source}: ${p}`));
  return contract!;
}

/**
 * The checks of a contract, in the order they run; index = check code, 0 = `ok`. The seed's:
 * `ok`, `schema`, `required`, `range_value`, `range_temperature`, `freshness`.
 */
export function checkNamesOf(contract: Contract): string[] {
  const names = ["ok", "schema", "required"];
  if (contract.checkNames === "per_field") {
    for (const f of contract.fields) {
      names.push(`type_${f.name}`);
      if (f.enum) names.push(`enum_${f.name}`);
      if (f.pattern) names.push(`pattern_${f.name}`);
      if (f.minLength !== undefined || f.maxLength !== undefined) names.push(`length_${f.name}`);
    }
  }
  for (const f of contract.fields) {
    if (f.min !== undefined || f.max !== undefined) names.push(`range_${f.name}`);
  }
  names.push("freshness");
  return names;
}

/** The seed's ranges, which `VALUE_MIN` … `TEMPERATURE_MAX` set for the built-in contract. */
export interface SeedRanges {
  valueMin: number;
  valueMax: number;
  temperatureMin: number;
  temperatureMax: number;
  freshnessMaxLagSec: number;
}

/**
 * The built-in contract: the seed's IoT event
 * `{"sensor_id", "ts" (Unix seconds), "value", "temperature"?, "status"? (OK|WARN|FAIL)}`,
 * keyed by `sensor_id`, features `value` and `temperature`, field checks named `schema`.
 */
export function seedContract(r: SeedRanges): Contract {
  return {
    name: "iot-sensor",
    version: "1",
    description: "The seed's IoT sensor event",
    unknownFields: "reject",
    checkNames: "schema",
    key: "sensor_id",
    time: { field: "ts", freshnessLagSec: r.freshnessMaxLagSec, maxFutureSec: 86_400 },
    fields: [
      {
        name: "sensor_id",
        type: "string",
        required: true,
        nullable: false,
        minLength: 1,
        maxLength: KEY_MAX_LENGTH,
        examples: ["sensor-0"],
      },
      { name: "ts", type: "timestamp", required: true, nullable: false, unit: "seconds" },
      {
        name: "value",
        type: "number",
        required: true,
        nullable: false,
        min: r.valueMin,
        max: r.valueMax,
      },
      {
        name: "temperature",
        type: "number",
        required: false,
        nullable: false,
        min: r.temperatureMin,
        max: r.temperatureMax,
      },
      {
        name: "status",
        type: "string",
        required: false,
        nullable: false,
        enum: ["OK", "WARN", "FAIL"],
        default: "OK",
      },
    ],
    // Sensor readings: each one's recent level (a lasting shift of a few noise units) and its
    // change since the sensor's previous reading (a jump) are judged too.
    features: [
      { field: "value", min: r.valueMin, max: r.valueMax, recent: true, change: true },
      {
        field: "temperature",
        min: r.temperatureMin,
        max: r.temperatureMax,
        recent: true,
        change: true,
      },
    ],
    builtin: true,
  };
}

/** The built-in contract with the seed's default ranges. */
export const SEED_CONTRACT: Contract = seedContract({
  valueMin: -100,
  valueMax: 100,
  temperatureMin: -20,
  temperatureMax: 80,
  freshnessMaxLagSec: 300,
});

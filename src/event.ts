/**
 * The event format and its data-quality checks, as pure functions over a record's bytes.
 *
 * An event (topic `events`):
 * `{"sensor_id": "sensor-0", "ts": 1767347851.123, "value": 1.2345, "temperature": 24.5, "status": "OK"}`
 *
 * Checks, in order; the first that fails names the record's `check` and `reason`:
 *
 * | check | rejects when |
 * |---|---|
 * | `schema` | empty, over the size limit, not UTF-8, not JSON, not an object, a duplicate or unknown key, a wrong type, a non-finite number, `status` not OK/WARN/FAIL, `ts` more than 1 day in the future |
 * | `required` | `sensor_id`, `ts` or `value` missing (or null) |
 * | `range_value` | `value` outside the configured range ([-100, 100]) |
 * | `range_temperature` | `temperature` outside the configured range ([-20, 80]) |
 * | `freshness` | `ts` older than the configured lag (300 s) |
 *
 * The time checks need a clock, so they are split out ({@link checkTime}): the worker threads
 * run {@link checkRecord}, and the main thread applies {@link checkTime} in offset order with the
 * wall clock (`process`) or the event-time clock (`replay`). A `ts` more than one day in the past
 * fails `freshness` (it is stale, whatever the seed's ±1 day schema rule said).
 *
 * @module
 */
import { z } from "zod";

/** Check names, as in the `check` label of `dq_records_total`. Index = check code. */
export const CHECKS = [
  "ok",
  "schema",
  "required",
  "range_value",
  "range_temperature",
  "freshness",
] as const;
/** One of {@link CHECKS}. */
export type Check = typeof CHECKS[number];
/** Code of a check in {@link CHECKS}. */
export const CHECK_CODE: Record<Check, number> = Object.fromEntries(
  CHECKS.map((c, i) => [c, i]),
) as Record<
  Check,
  number
>;

/** Limits the checks apply; defaults are the seed's. */
export interface CheckLimits {
  valueMin: number;
  valueMax: number;
  temperatureMin: number;
  temperatureMax: number;
  /** Oldest accepted `ts`, seconds before the clock. */
  freshnessMaxLagSec: number;
  /** Largest record accepted, in bytes (checked before decoding). */
  maxEventBytes: number;
}

/** The seed's limits, and 1 MiB records. */
export const DEFAULT_LIMITS: CheckLimits = {
  valueMin: -100,
  valueMax: 100,
  temperatureMin: -20,
  temperatureMax: 80,
  freshnessMaxLagSec: 300,
  maxEventBytes: 1 << 20,
};

/** Largest future skew of `ts` accepted, seconds (the seed's ±1 day rule). */
export const MAX_FUTURE_SEC = 86_400;

const REQUIRED = ["sensor_id", "ts", "value"] as const;

/** The event schema (zod): strict, finite numbers, `status` defaulting to OK. */
export const EventSchema = z.strictObject({
  sensor_id: z.string().min(1),
  ts: z.number(),
  value: z.number(),
  temperature: z.number().optional(),
  status: z.enum(["OK", "WARN", "FAIL"]).default("OK"),
});

/** A valid event. */
export type Event = z.output<typeof EventSchema>;

/** The outcome of {@link checkRecord}. */
export type RecordCheck =
  | { ok: true; event: Event }
  | { ok: false; check: Exclude<Check, "ok">; reason: string };

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Keys of the top-level object of a JSON text, in order, duplicates included. The text must
 * already have parsed as a JSON object.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  scanKeys(text, keys);
  return keys;
}

/** How many keys {@link topLevelKeys} finds, counted without building them. */
export function countTopLevelKeys(text: string): number {
  return scanKeys(text);
}

/** Counts the top-level keys of a JSON object text; appends them to `keys` when given. */
function scanKeys(text: string, keys?: string[]): number {
  let count = 0, depth = 0, expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 /* \ */ ? 2 : 1;
      if (depth === 1 && expectKey) {
        count++;
        keys?.push(JSON.parse(text.slice(i, j + 1)));
      }
      expectKey = false;
      i = j;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      expectKey = depth === 1;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    } else if (c === 44 /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return count;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") {
    return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + "..." : v)}`;
  }
  return `${typeof v === "object" ? "an object" : typeof v === "number" ? String(v) : typeof v}`;
}

/**
 * Decodes and checks one record's value bytes, everything but the time checks
 * ({@link checkTime}). Never throws: every failure is a check and a reason.
 */
export function checkRecord(bytes: Uint8Array, limits: CheckLimits = DEFAULT_LIMITS): RecordCheck {
  if (bytes.length === 0) return { ok: false, check: "schema", reason: "empty record" };
  if (bytes.length > limits.maxEventBytes) {
    return {
      ok: false,
      check: "schema",
      reason: `record of ${bytes.length} bytes exceeds the limit of ${limits.maxEventBytes} bytes`,
    };
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, check: "schema", reason: "not UTF-8 text" };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, check: "schema", reason: `not JSON: ${(e as Error).message}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, check: "schema", reason: `not a JSON object but ${describe(parsed)}` };
  }
  // JSON.parse keeps the last of duplicate keys: fewer keys parsed than written means duplicates.
  if (countTopLevelKeys(text) !== Object.keys(parsed).length) {
    const seen = new Set<string>();
    for (const key of topLevelKeys(text)) {
      if (seen.has(key)) {
        return { ok: false, check: "schema", reason: `duplicate key ${JSON.stringify(key)}` };
      }
      seen.add(key);
    }
  }
  const record = parsed as Record<string, unknown>;
  for (const field of REQUIRED) {
    if (!Object.hasOwn(record, field) || record[field] === null) {
      return { ok: false, check: "required", reason: `missing field ${field}` };
    }
  }
  const result = EventSchema.safeParse(record);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join(".") : undefined;
    if (issue.code === "unrecognized_keys") {
      return {
        ok: false,
        check: "schema",
        reason: `unknown field ${JSON.stringify(issue.keys[0])}`,
      };
    }
    const got = field !== undefined ? describe(record[String(issue.path[0])]) : "";
    return {
      ok: false,
      check: "schema",
      reason: `field ${field}: ${issue.message.replace(/^Invalid input: /, "")}${
        got ? ` (got ${got})` : ""
      }`,
    };
  }
  const event = result.data;
  if (event.value < limits.valueMin || event.value > limits.valueMax) {
    return {
      ok: false,
      check: "range_value",
      reason: `value ${event.value} outside [${limits.valueMin}, ${limits.valueMax}]`,
    };
  }
  if (
    event.temperature !== undefined &&
    (event.temperature < limits.temperatureMin || event.temperature > limits.temperatureMax)
  ) {
    return {
      ok: false,
      check: "range_temperature",
      reason:
        `temperature ${event.temperature} outside [${limits.temperatureMin}, ${limits.temperatureMax}]`,
    };
  }
  return { ok: true, event };
}

/** The time checks of an event whose other checks passed; `now` in Unix seconds. */
export function checkTime(
  ts: number,
  now: number,
  limits: CheckLimits = DEFAULT_LIMITS,
): { ok: true } | { ok: false; check: "schema" | "freshness"; reason: string } {
  if (ts > now + MAX_FUTURE_SEC) {
    return {
      ok: false,
      check: "schema",
      reason: `ts ${ts} is more than 1 day in the future (now ${now})`,
    };
  }
  if (ts < now - limits.freshnessMaxLagSec) {
    return {
      ok: false,
      check: "freshness",
      reason: `ts ${ts} is ${Math.round(now - ts)} s old, more than ${limits.freshnessMaxLagSec} s`,
    };
  }
  return { ok: true };
}

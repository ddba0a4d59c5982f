/**
 * Contracts drawn from data, pure:
 *
 * - {@link inferContract}: a draft contract from sample events, for `contract infer`: each field's
 *   type, whether it is always there, ranges from the sample's extremes widened, small sets of
 *   strings as allowed values, the time field and its unit, a likely entity key and the numeric
 *   fields as features. A draft to read and edit, not a verdict.
 * - {@link csvContract}: the contract of a CSV replayed without one: the first column is the
 *   time, every other numeric column a feature named by its header.
 *
 * @module
 */
import { isoSeconds } from "./compile.ts";
import { type Contract, ContractError, MAX_FEATURES, parseContract } from "./spec.ts";
import { columnCells, isNumericColumn, NUMERIC_SHARE } from "../csv.ts";

/** What was seen of one field over the sample. */
interface FieldStats {
  name: string;
  present: number;
  nulls: number;
  numbers: number[];
  integers: number;
  strings: Map<string, number>;
  /** String values, all of them (`strings` stops counting new ones past 1,000). */
  stringCount: number;
  isoStrings: number;
  booleans: number;
  other: number;
  longest: number;
  shortest: number;
}

function statsOf(records: readonly Record<string, unknown>[]): FieldStats[] {
  const byName = new Map<string, FieldStats>();
  for (const r of records) {
    for (const [name, v] of Object.entries(r)) {
      let s = byName.get(name);
      if (!s) {
        s = {
          name,
          present: 0,
          nulls: 0,
          numbers: [],
          integers: 0,
          strings: new Map(),
          stringCount: 0,
          isoStrings: 0,
          booleans: 0,
          other: 0,
          longest: 0,
          shortest: Infinity,
        };
        byName.set(name, s);
      }
      s.present++;
      if (v === null) s.nulls++;
      else if (typeof v === "number" && Number.isFinite(v)) {
        s.numbers.push(v);
        if (Number.isInteger(v)) s.integers++;
      } else if (typeof v === "string") {
        s.stringCount++;
        if (s.strings.size <= 1000 || s.strings.has(v)) {
          s.strings.set(v, (s.strings.get(v) ?? 0) + 1);
        }
        if (!Number.isNaN(isoSeconds(v))) s.isoStrings++;
        s.longest = Math.max(s.longest, v.length);
        s.shortest = Math.min(s.shortest, v.length);
      } else if (typeof v === "boolean") s.booleans++;
      else s.other++;
    }
  }
  return [...byName.values()];
}

const TIME_NAMES = /^(ts|time|timestamp|event_?time|datetime|date|.*_(at|time|ts))$/i;
const KEY_NAMES = /(^|_)(id|key|name|sensor|device|host|job|account|user|customer|entity)$/i;

/** Unit of numeric times: seconds for 1973–2286, milliseconds for the same years in ms. */
function numericTimeUnit(values: number[]): "seconds" | "milliseconds" | undefined {
  if (values.length === 0) return undefined;
  const lo = Math.min(...values), hi = Math.max(...values);
  if (lo >= 1e8 && hi < 1e10) return "seconds";
  if (lo >= 1e11 && hi < 1e13) return "milliseconds";
  return undefined;
}

/** [lo, hi] widened from the sample's extremes: half the span (or a tenth of the size) each way. */
export function widenRange(lo: number, hi: number, integer: boolean): [number, number] {
  const span = hi - lo;
  const pad = Math.max(span * 0.5, Math.max(Math.abs(lo), Math.abs(hi)) * 0.1, integer ? 1 : 1e-6);
  let a = lo - pad, b = hi + pad;
  if (lo >= 0 && a < 0) a = 0;
  if (integer) {
    a = Math.floor(a);
    b = Math.ceil(b);
  } else {
    const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.max(pad, 1e-12))));
    const f = 10 ** Math.min(digits, 12);
    a = Math.floor(a * f) / f;
    b = Math.ceil(b * f) / f;
  }
  return [a, b];
}

/**
 * [lo, hi] of positive values that vary by factors, widened on a log scale: by half the span of
 * their logs each way, the least then 0 (a quantity that varies by factors is never negative; a
 * value some factor above the sample's largest is the model's to judge, not a fault). Rounded out
 * to three significant digits.
 */
export function widenLogRange(lo: number, hi: number, integer: boolean): [number, number] {
  const top = hi * Math.sqrt(hi / lo);
  const unit = 10 ** (Math.floor(Math.log10(top)) - 2);
  const b = Math.ceil(top / unit) * unit;
  return [0, integer ? Math.ceil(b) : Number(b.toPrecision(12))];
}

/**
 * How far a sample's upper 1 % must lie above its median, against its lower 1 % below, for it to
 * read as skewed ({@link variesByFactors}); a log-normal's ratio is `e^(2.33 σ)`, 1.5 at σ 0.17.
 */
const SKEW = 1.5;

/**
 * Whether positive values `sorted` (ascending; 100 at least) vary by factors: skewed to the right
 * as they are (their 99th percentile {@link SKEW} times as far above the median as the 1st below
 * it, or more) and about symmetric on a log scale (within SKEW either way). Latencies, amounts and
 * sizes are; Gaussian readings are not, nor are exponential or gamma-like ones (waiting times),
 * whose log is skewed towards 0.
 */
export function variesByFactors(sorted: readonly number[]): boolean {
  if (sorted.length < 100 || !(sorted[0] > 0)) return false;
  const low = quantile(sorted, 0.01), mid = quantile(sorted, 0.5), high = quantile(sorted, 0.99);
  if (!(mid > low && high > mid)) return false;
  const linear = (high - mid) / (mid - low), log = Math.log(high / mid) / Math.log(mid / low);
  return linear >= SKEW && log >= 1 / SKEW && log <= SKEW;
}

/** Options of {@link inferContract}. */
export interface InferOptions {
  /** The draft's name. Default: `my-events`. */
  name?: string;
  /** Most distinct strings that become allowed values. Default: 12. */
  maxEnum?: number;
}

/** Share of the sample below which a field, a type or a value is taken for a fault. */
const RARE = 0.01;

/** The `q` quantile of sorted `xs`. */
const quantile = (xs: readonly number[], q: number) =>
  xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** The type most of a field's values have, and how many values have another. */
function majorityType(s: FieldStats): { type: string; others: number } {
  const valued = s.present - s.nulls;
  const strings = s.stringCount;
  const counts: [string, number][] = [
    ["number", s.numbers.length],
    ["string", strings],
    ["boolean", s.booleans],
  ];
  counts.sort((x, y) => y[1] - x[1]);
  return { type: counts[0][1] > 0 ? counts[0][0] : "string", others: valued - counts[0][1] };
}

/** The factor between a field's smallest and largest values from which a log scale is suggested. */
const LOG_SPAN = 10;

/** Rare fields named one by one in the notes; the rest are counted. */
const RARE_NOTES = 10;

/**
 * A draft contract (the document a contract file holds) from sample events, and notes on what
 * was guessed. A sample may hold bad events: a field seen in under 1 % of them is left out, a
 * field's type is the one most of its values have, its range spans the values inside Tukey's far
 * fences (quartiles ∓ 3 × IQR) widened by half, and strings under 1 % of a field's values are not
 * allowed values. A positive field that varies by factors ({@link variesByFactors}) has its
 * fences and its widening on a log scale ({@link widenLogRange}) and is judged on it (`scale:
 * log`, `scale.ts`), with a note saying so; another positive field whose values span a factor of
 * 10 or more gets a note suggesting it. Such a field, and a count (an integer field whose sample
 * reaches 0), has no upper range, so a value many times the sample's is judged rather than
 * dead-lettered; its feature keeps the widened range as the model's limits. Throws a RangeError
 * when the sample holds no event or no time field.
 */
export function inferContract(
  records: readonly Record<string, unknown>[],
  options: InferOptions = {},
): { document: Record<string, unknown>; notes: string[] } {
  if (records.length === 0) {
    throw new RangeError("the sample holds no event (a JSON object per line)");
  }
  const n = records.length;
  const maxEnum = options.maxEnum ?? 12;
  const notes: string[] = [`drafted from ${n} sample events`];
  let rare = 0;
  const leftOut = new Set<string>();
  const stats = statsOf(records).filter((s) => {
    if (s.present >= Math.max(1, RARE * n)) return true;
    leftOut.add(s.name);
    // Events keyed by ids (a map of readings by device) can bring thousands of such fields.
    if (rare++ < RARE_NOTES) {
      notes.push(
        `${s.name}: in ${s.present} of ${n} events only, left out`,
      );
    }
    return false;
  });
  if (rare > RARE_NOTES) {
    notes.push(`and ${rare - RARE_NOTES} more fields, each in under 1 % of the events, left out`);
  }
  // Field names that vary by event (ids as keys) cannot be declared: when the events holding a
  // left-out field are not themselves rare, the draft allows unknown fields rather than reject
  // them.
  const carriers = records.filter((r) => Object.keys(r).some((k) => leftOut.has(k))).length;
  const unknownFields = carriers >= Math.max(1, RARE * n) ? "allow" : "reject";
  if (unknownFields === "allow") {
    notes.push(
      `unknown_fields: allow, as ${carriers} of ${n} events hold a field left out ` +
        "(with reject they would fail schema)",
    );
  }
  const fields: Record<string, Record<string, unknown>> = {};
  const kinds = new Map<string, string>();
  // The features judged on a log scale ({@link variesByFactors}).
  const logScale = new Set<string>();
  // The model's limits of the counts and of the fields that vary by factors, which have no upper
  // range.
  const limits = new Map<string, [number, number]>();
  const typeOf = new Map(stats.map((s) => [s.name, majorityType(s)]));
  // The time field: by name first, then by values (most of them a time).
  const timeLike = stats.filter((s) => {
    const valued = s.present - s.nulls;
    return (s.isoStrings >= 0.99 * valued && valued > 0) ||
      (s.numbers.length >= 0.99 * valued && numericTimeUnit(s.numbers) !== undefined);
  });
  const time = timeLike.find((s) => TIME_NAMES.test(s.name)) ?? timeLike[0];
  if (!time) {
    throw new RangeError(
      "no field of the sample looks like a time (ISO 8601 text, or Unix seconds or milliseconds)",
    );
  }
  for (const s of stats) {
    const valued = s.present - s.nulls;
    const { type, others } = typeOf.get(s.name)!;
    const f: Record<string, unknown> = {};
    if (s === time) {
      f.type = "timestamp";
      f.unit = s.isoStrings >= s.numbers.length ? "iso8601" : numericTimeUnit(s.numbers);
    } else if (type === "number") {
      const integer = s.integers === s.numbers.length;
      f.type = integer ? "integer" : "number";
      const sorted = [...s.numbers].sort((x, y) => x - y);
      // Values that vary by factors have their fences and range on a log scale: on their own
      // scale the far fences cut their upper tail, and normal values failed the range check (a
      // log-normal size of σ 0.5: 56 in 115,200 events).
      const factors = variesByFactors(sorted);
      const scaled = factors ? sorted.map(Math.log) : sorted;
      // The extremes of the values inside Tukey's far fences (a sample's faults are outside).
      const q1 = quantile(scaled, 0.25), q3 = quantile(scaled, 0.75), iqr = q3 - q1;
      const inside = iqr > 0
        ? sorted.filter((_, i) => scaled[i] >= q1 - 3 * iqr && scaled[i] <= q3 + 3 * iqr)
        : sorted;
      const lo = inside[0], hi = inside[inside.length - 1];
      [f.min, f.max] = factors ? widenLogRange(lo, hi, integer) : widenRange(lo, hi, integer);
      // Values that vary by factors are judged on a log scale; values that only span factors
      // may vary by them: the draft says how to judge them so.
      if (factors) {
        logScale.add(s.name);
        notes.push(
          `${s.name}: varies by factors (from ${lo} to ${hi}; skewed, about symmetric on a log ` +
            `scale), judged on a log scale: { field: ${s.name}, scale: log }; no upper range, ` +
            `so a value many times the sample's is judged, not dead-lettered; the model's ` +
            `limits are [0, ${f.max}] (drop \`scale: log\` to judge it as it is)`,
        );
      } else if (lo > 0 && hi >= LOG_SPAN * lo) {
        notes.push(
          `${s.name}: from ${lo} to ${hi}, a factor of ${Math.round(hi / lo)}; if it varies by ` +
            `factors (an amount, a latency, a duration, a size), judge it on a log scale: ` +
            `{ field: ${s.name}, scale: log }`,
        );
      }
      // A quantity that varies by factors, or a count (integers from 0): its sample cannot tell
      // how many times its largest it cannot be, and a latency twelve times its usual or a burst
      // of errors is what its watcher wants alerted, not dead-lettered. The field has no upper
      // range; its feature keeps the widened one as the model's limits.
      const count = !factors && integer && sorted[0] === 0 && (f.max as number) > 0;
      if (factors || count) {
        limits.set(s.name, [0, f.max as number]);
        if (count) {
          notes.push(
            `${s.name}: a count (integers from 0): no upper range, so a burst beyond the ` +
              `sample's is judged, not dead-lettered; the model's limits are [0, ${f.max}]`,
          );
        }
        delete f.max;
      } else {
        const beyond = sorted.filter((x) => x < (f.min as number) || x > (f.max as number)).length;
        if (beyond > 0) {
          notes.push(
            `${s.name}: ${beyond} values beyond [${f.min}, ${f.max}] (they will fail ` +
              `range_${s.name})`,
          );
        }
      }
    } else if (type === "boolean") f.type = "boolean";
    else {
      f.type = "string";
      const common = [...s.strings].filter(([, c]) => c >= RARE * valued);
      const rare = [...s.strings].filter(([, c]) => c < RARE * valued);
      if (
        common.length > 0 && common.length <= maxEnum && s.strings.size <= 1000 &&
        valued >= 2 * common.length && rare.length <= RARE * valued * 5
      ) {
        f.enum = common.map(([v]) => v).sort();
        if (rare.length > 0) {
          notes.push(
            `${s.name}: ${
              rare.map(([v]) => JSON.stringify(v)).slice(0, 5).join(", ")
            } rare, not allowed values; add any that are valid`,
          );
        }
      } else {
        if (s.shortest > 0 && s.shortest !== Infinity) f.min_length = 1;
        f.max_length = Math.max(64, 2 * s.longest);
      }
    }
    if (others > 0 && s !== time) {
      notes.push(
        `${s.name}: ${others} of ${valued} values are not ${type} (they will fail type_${s.name})`,
      );
    }
    f.required = s.present - s.nulls >= (1 - RARE) * n;
    if (f.required && s.present - s.nulls < n) {
      notes.push(`${s.name}: missing in ${n - s.present + s.nulls} events, taken as required`);
    }
    if (s.nulls >= RARE * s.present) f.nullable = true;
    if (f.nullable) f.required = s.present >= (1 - RARE) * n;
    fields[s.name] = f;
    kinds.set(s.name, String(f.type));
  }
  const keyCandidates = stats.filter((s) =>
    s !== time && kinds.get(s.name) === "string" && fields[s.name].required &&
    s.strings.size >= 2 && s.strings.size <= Math.min(1000, n / 2)
  );
  const key = keyCandidates.find((s) => KEY_NAMES.test(s.name)) ?? keyCandidates[0];
  if (key) {
    delete fields[key.name].enum;
    fields[key.name].min_length = 1;
    fields[key.name].max_length ??= Math.max(64, 2 * key.longest);
    notes.push(
      `key: ${key.name} (${key.strings.size} distinct values); check it names whose events belong together`,
    );
  } else {notes.push(
      "key: none found (every event is one entity); set `key:` to the field that names the entity",
    );}
  const features = stats.filter((s) =>
    s !== time && (kinds.get(s.name) === "number" || kinds.get(s.name) === "integer") &&
    (limits.has(s.name) || (fields[s.name].min as number) < (fields[s.name].max as number))
  ).map((s) => s.name);
  notes.push(
    features.length > 0
      ? `features: ${features.join(", ")} (every numeric field); keep those worth watching`
      : "features: none (no numeric field); the model needs at least one",
  );
  notes.push(
    `time: ${time.name} (${
      fields[time.name].unit
    }); ranges: the sample's extremes (outliers left out) widened by half their span ` +
      "(of their logs, from 0, for fields that vary by factors); a value beyond its field's " +
      "range is dead-lettered (range_<field>), not alerted: widen a range to what cannot happen",
  );
  const document: Record<string, unknown> = {
    name: options.name ?? "my-events",
    version: 1,
    description: `Drafted by contract infer from ${n} sample events`,
    unknown_fields: unknownFields,
    ...(key ? { key: key.name } : {}),
    time: { field: time.name, freshness_lag_sec: 300, max_future_sec: 86_400 },
    fields,
    features: features.map((name) => {
      const open = limits.get(name);
      if (!open) return name;
      return {
        field: name,
        ...(logScale.has(name) ? { scale: "log" } : {}),
        min: open[0],
        max: open[1],
      };
    }),
  };
  return { document, notes };
}

/** Why a CSV has a time column alone: none other, or (a common slip) another delimiter. */
function noOther(time: string): string {
  const sep = [";", "\t", "|"].find((c) => time.includes(c));
  return sep === undefined
    ? "there is none"
    : `there is none: its cells are separated by ${JSON.stringify(sep)}, and a CSV's by commas`;
}

/** Ranges a CSV replayed without a contract gets (the built-in contract's settings). */
export interface CsvRanges {
  valueMin: number;
  valueMax: number;
  temperatureMin: number;
  temperatureMax: number;
  freshnessMaxLagSec: number;
}

/**
 * The contract of a CSV replayed without one: the first column is the time (Unix seconds,
 * milliseconds or ISO 8601, read from the `sample` rows), every numeric column after it a
 * required feature named by its header, with the range of `VALUE_MIN`/`VALUE_MAX` (a column
 * named `temperature`: `TEMPERATURE_MIN`/`TEMPERATURE_MAX`); other columns optional text.
 * Check names are the seed's (`schema`, `required`, `range_<column>`, `freshness`).
 */
export function csvContract(
  columns: readonly string[],
  sample: readonly (readonly string[])[],
  ranges: CsvRanges,
): Contract {
  const times = sample.map((cells) => Number(cells[0])).filter(Number.isFinite);
  const unit = times.length === sample.length && times.length > 0
    ? (numericTimeUnit(times) === "milliseconds" ? "milliseconds" : "seconds")
    : "iso8601";
  const fields: Record<string, Record<string, unknown>> = {
    [columns[0]]: { type: "timestamp", unit },
  };
  const features: string[] = [];
  columns.forEach((name, i) => {
    if (i === 0) return;
    // Without rows nothing says a column is not numeric (a header-only file replays to nothing).
    if (sample.length > 0 && !isNumericColumn(sample, i)) {
      fields[name] = { type: "string", required: false };
      return;
    }
    const t = name === "temperature";
    fields[name] = {
      type: "number",
      min: t ? ranges.temperatureMin : ranges.valueMin,
      max: t ? ranges.temperatureMax : ranges.valueMax,
    };
    features.push(name);
  });
  if (features.length === 0) {
    const why = columns.slice(1).map((name, k) => {
      const { filled, other, example } = columnCells(sample, k + 1);
      return filled === 0
        ? `${name}: empty`
        : `${name}: ${other} of ${filled} cells are not numbers, e.g. ${JSON.stringify(example)}`;
    });
    throw new ContractError([
      `the CSV's columns: no column after the time column "${columns[0]}" is numeric in the ` +
      `first ${sample.length} rows (${why.join("; ") || noOther(columns[0])}); replay judges ` +
      `numeric columns, numeric when ${100 * NUMERIC_SHARE} % of a column's cells are numbers`,
    ]);
  }
  if (features.length > MAX_FEATURES) {
    throw new ContractError([
      `the CSV's columns: ${features.length} numeric columns, and a model judges at most ` +
      `${MAX_FEATURES}: draft a contract with the ones worth watching (contract infer FILE) ` +
      `and replay with --contract`,
    ]);
  }
  return parseContract({
    name: "csv",
    version: 1,
    check_names: "schema",
    time: { field: columns[0], freshness_lag_sec: ranges.freshnessMaxLagSec },
    fields,
    features,
  }, "the CSV's columns");
}

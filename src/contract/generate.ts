/**
 * Labelled events for any contract, pure and seeded: what `generate` sends with a contract file,
 * and the example samples. Every entity (the contract's key) has its own level per feature
 * (within the feature's limits) and noise of 1 % of that span, both on the scale the model sees
 * the feature (`scale.ts`: a `log` feature's noise is a factor); the rest of each event is drawn
 * to pass the contract (allowed values, patterns from `examples`, ranges).
 *
 * Injections, one at most per event, with the label that `generate` puts in the `injected`
 * header: `spike` (a feature 8–12 noise units off its entity's level, on the side it alerts on
 * when it is one-sided: an anomaly), and the
 * data-quality faults `missing_field`, `out_of_range`, `bad_type`, `bad_enum`, `unknown_field`,
 * `stale` (each fails its check). The time field is set when the event is sent
 * ({@link stampTime}).
 *
 * @module
 */
import { compilePattern, type Pattern } from "./pattern.ts";
import { createRandom } from "../random.ts";
import { fromModelScale, toModelScale } from "./scale.ts";
import type { Contract, FeatureSpec, FieldSpec } from "./spec.ts";

/** Probabilities of the injections (the rest is `none`). */
export interface ContractRates {
  spike: number;
  missing_field: number;
  out_of_range: number;
  bad_type: number;
  bad_enum: number;
  unknown_field: number;
  stale: number;
}

/** Default rates: 2 % spikes, 0.5 % of each fault the contract can have. */
export const CONTRACT_RATES: ContractRates = {
  spike: 0.02,
  missing_field: 0.005,
  out_of_range: 0.005,
  bad_type: 0.005,
  bad_enum: 0.005,
  unknown_field: 0.005,
  stale: 0.005,
};

/** Options of {@link contractEvents}. */
export interface ContractEventOptions {
  /** Seed of the whole stream. Default: 1. */
  seed?: number;
  /** Entities, taking turns. Default: 5. */
  entities?: number;
  /** Injection probabilities. Default: {@link CONTRACT_RATES}. */
  rates?: Partial<ContractRates>;
}

/** An event, its Kafka key (the entity) and what was injected. */
export interface ContractEvent {
  event: Record<string, unknown>;
  key: string;
  injected: string;
}

const STALE_SEC = 3 * 24 * 3600;

/** Compiled patterns by source (compiling one takes far longer than a match). */
const PATTERNS = new Map<string, Pattern>();
const patternOf = (source: string) => {
  let p = PATTERNS.get(source);
  if (!p) PATTERNS.set(source, p = compilePattern(source));
  return p;
};

/** A value of string field `f` for index `k` that passes its length and pattern rules. */
export function stringValue(f: FieldSpec, k: number): string {
  if (f.enum) return String(f.enum[k % f.enum.length]);
  const candidates: string[] = [];
  for (const example of f.examples ?? []) {
    const text = String(example);
    const runs = [...text.matchAll(/\d+/g)];
    if (runs.length > 0) {
      const last = runs[runs.length - 1];
      const digits = String(k).padStart(last[0].length, "0");
      candidates.push(
        text.slice(0, last.index) + digits + text.slice(last.index! + last[0].length),
      );
    }
    candidates.push(`${text}-${k}`, text);
  }
  candidates.push(`${f.name}-${k}`, String(k), String(k).padStart(8, "0"));
  const pattern = f.pattern ? patternOf(f.pattern) : undefined;
  const fits = (s: string) =>
    s.length >= (f.minLength ?? 0) && s.length <= (f.maxLength ?? Infinity) &&
    (!pattern || pattern.test(s));
  const found = candidates.find(fits);
  if (found === undefined) {
    throw new RangeError(
      `generate: no value of fields.${f.name} passes its rules; give the field examples`,
    );
  }
  return found;
}

const round = (x: number, integer: boolean) => integer ? Math.round(x) : Math.round(x * 1e4) / 1e4;

/** The time of `now` (Unix seconds) as field `f` writes it. */
export function timeValue(f: FieldSpec, now: number): string | number {
  if (f.unit === "iso8601") return new Date(Math.round(now * 1000)).toISOString();
  if (f.unit === "milliseconds") return Math.round(now * 1000);
  return Math.round(now * 1000) / 1000;
}

/** Sets the contract's time field of `event` to `now` (three days earlier for `stale`). */
export function stampTime(contract: Contract): (
  event: Record<string, unknown>,
  now: number,
  injected: string,
) => void {
  const f = contract.fields.find((x) => x.name === contract.time.field)!;
  return (event, now, injected) => {
    event[f.name] = timeValue(f, injected === "stale" ? now - STALE_SEC : now);
  };
}

/**
 * The endless, deterministic stream of labelled events of `contract`, the time field at
 * `startTs + i / 20` s (see {@link stampTime} to set it at send time).
 */
export function* contractEvents(
  contract: Contract,
  options: ContractEventOptions = {},
  startTs = 1767347851,
): Generator<ContractEvent> {
  const entities = options.entities ?? 5;
  if (!Number.isInteger(entities) || entities < 1) {
    throw new RangeError(`entities must be a positive integer, got ${entities}`);
  }
  const rates = { ...CONTRACT_RATES, ...options.rates };
  const keyField = contract.fields.find((f) => f.name === contract.key);
  const keys = Array.from(
    { length: entities },
    (_, k) =>
      keyField
        ? (keyField.type === "integer" ? String(k + 1) : stringValue(keyField, k + 1))
        : contract.name,
  );
  const setup = createRandom(options.seed ?? 1, 0);
  const levels = keys.map(() =>
    contract.features.map((f) => {
      const [lo, hi] = modelLimits(f);
      return lo + (hi - lo) * setup.uniform(0.2, 0.4);
    })
  );
  const rng = createRandom(options.seed ?? 1, 1);
  const stamp = stampTime(contract);
  const faults: [keyof ContractRates, number][] = (Object.entries(rates) as [
    keyof ContractRates,
    number,
  ][]).filter(([name]) => applicable(contract, name));
  for (let i = 0;; i++) {
    const e = i % entities;
    const event: Record<string, unknown> = {};
    for (const f of contract.fields) {
      if (f.name === contract.time.field) continue;
      if (f.name === contract.key) {
        event[f.name] = f.type === "integer" ? e + 1 : keys[e];
        continue;
      }
      if (!f.required && rng.next() < 0.1) continue;
      if (f.nullable && rng.next() < 0.05) {
        event[f.name] = null;
        continue;
      }
      const j = contract.features.findIndex((x) => x.field === f.name);
      if (j >= 0) {
        const spec = contract.features[j], [lo, hi] = modelLimits(spec);
        const v = fromModelScale(
          spec.scale ?? "linear",
          levels[e][j] + 0.01 * (hi - lo) * rng.normal(),
        );
        event[f.name] = round(v, f.type === "integer");
      } else event[f.name] = otherValue(f, rng.next(), Math.floor(rng.next() * 1e6));
    }
    stamp(event, startTs + i / 20, "none");
    let injected = "none";
    const u = rng.next();
    let acc = 0;
    for (const [name, r] of faults) {
      acc += r;
      if (u < acc) {
        injected = name;
        break;
      }
    }
    inject(contract, event, injected, rng.next(), levels[e], startTs + i / 20);
    yield { event, key: keys[e], injected };
  }
}

/** A feature's limits on the scale the model sees it. */
function modelLimits(f: FeatureSpec): [number, number] {
  const scale = f.scale ?? "linear";
  return [toModelScale(scale, f.min), toModelScale(scale, f.max)];
}

/** A value for a field that is neither key, time nor feature. */
function otherValue(f: FieldSpec, u: number, k: number): unknown {
  switch (f.type) {
    case "boolean":
      return u < 0.5;
    case "timestamp":
      return timeValue(f, 1767347851 + k);
    case "string":
      return stringValue(f, k);
    default: {
      if (f.enum) return f.enum[k % f.enum.length];
      const lo = f.min ?? 0, hi = f.max ?? lo + 1000;
      return round(lo + (hi - lo) * u, f.type === "integer");
    }
  }
}

/** Whether `contract` has what injection `name` needs. */
function applicable(contract: Contract, name: keyof ContractRates): boolean {
  switch (name) {
    case "spike":
      return contract.features.length > 0;
    case "missing_field":
      return contract.fields.some((f) => f.required && f.name !== contract.time.field);
    case "out_of_range":
      return contract.fields.some((f) => f.max !== undefined);
    case "bad_enum":
      return contract.fields.some((f) => f.enum && f.type === "string");
    case "unknown_field":
      return contract.unknownFields === "reject";
    default:
      return true;
  }
}

/** Applies injection `injected` to `event`. */
function inject(
  contract: Contract,
  event: Record<string, unknown>,
  injected: string,
  u: number,
  levels: number[],
  ts: number,
): void {
  switch (injected) {
    case "spike": {
      const j = Math.floor(u * contract.features.length);
      const spec = contract.features[j];
      const f = contract.fields.find((x) => x.name === spec.field)!;
      const [min, max] = modelLimits(spec), noise = 0.01 * (max - min);
      // A one-sided feature's anomalies lie on the side it alerts on.
      const either = u * 1000 % 1 < 0.5 ? -1 : 1;
      const sign = spec.alertOn === undefined ? either : spec.alertOn === "high" ? 1 : -1;
      const off = fromModelScale(
        spec.scale ?? "linear",
        levels[j] + sign * noise * (8 + 4 * (u * 100 % 1)),
      );
      const lo = f.min ?? spec.min, hi = f.max ?? spec.max;
      event[spec.field] = round(Math.min(hi, Math.max(lo, off)), f.type === "integer");
      return;
    }
    case "missing_field": {
      const f = contract.fields.find((x) => x.required && x.name !== contract.time.field)!;
      delete event[f.name];
      return;
    }
    case "out_of_range": {
      const f = contract.fields.find((x) => x.max !== undefined)!;
      event[f.name] = f.max! + Math.max(1, Math.abs(f.max!));
      return;
    }
    case "bad_type": {
      const f =
        contract.fields.find((x) => x.name !== contract.time.field && x.type !== "string") ??
          contract.fields.find((x) => x.name === contract.time.field)!;
      event[f.name] = "not-a-" + f.type;
      return;
    }
    case "bad_enum": {
      const f = contract.fields.find((x) => x.enum && x.type === "string")!;
      event[f.name] = "NOT_ALLOWED";
      return;
    }
    case "unknown_field":
      event.unexpected_field = 1;
      return;
    case "stale":
      stampTime(contract)(event, ts, "stale");
      return;
  }
}

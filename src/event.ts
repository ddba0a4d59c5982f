/**
 * The seed's event and its data-quality checks: the built-in contract
 * ({@link seedContract}, `contract/spec.ts`) compiled, with the seed's names.
 *
 * An event (topic `events`):
 * `{"sensor_id": "sensor-0", "ts": 1767347851.123, "value": 1.2345, "temperature": 24.5, "status": "OK"}`
 *
 * Checks, in order; the first that fails names the record's `check` and `reason`:
 *
 * | check | rejects when |
 * |---|---|
 * | `schema` | empty, over the size limit, a record of a compressed batch that could not be read, not UTF-8, not JSON, not an object, a duplicate or unknown key, a wrong type, a non-finite number, `sensor_id` empty or over 256 characters, `status` not OK/WARN/FAIL, `ts` more than 1 day in the future |
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
import {
  type Checker,
  checkTime as checkContractTime,
  compileChecker,
  createCheckOutput,
} from "./contract/compile.ts";
import { checkNamesOf, type Contract, SEED_CONTRACT, seedContract } from "./contract/spec.ts";

export { countTopLevelKeys, topLevelKeys } from "./contract/keys.ts";

/** Check names of the built-in contract, as in the `check` label of `dq_records_total`. */
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
) as Record<Check, number>;

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

/** The built-in contract with `limits`' ranges. */
export function builtinContract(limits: CheckLimits = DEFAULT_LIMITS): Contract {
  return seedContract(limits);
}

if (checkNamesOf(SEED_CONTRACT).join() !== CHECKS.join()) {
  throw new Error(`the built-in contract's checks changed: ${checkNamesOf(SEED_CONTRACT).join()}`);
}

/** A valid event. */
export interface Event {
  sensor_id: string;
  ts: number;
  value: number;
  temperature?: number;
  status: "OK" | "WARN" | "FAIL";
}

/** The outcome of {@link checkRecord}. */
export type RecordCheck =
  | { ok: true; event: Event }
  | { ok: false; check: Exclude<Check, "ok">; reason: string };

const checkers = new WeakMap<CheckLimits, Checker>();
const scratch = new Float64Array(2);
const out = createCheckOutput();

/**
 * Decodes and checks one record's value bytes against the built-in contract, everything but
 * the time checks ({@link checkTime}). Never throws: every failure is a check and a reason.
 * The contract is compiled once per limits object.
 */
export function checkRecord(bytes: Uint8Array, limits: CheckLimits = DEFAULT_LIMITS): RecordCheck {
  let checker = checkers.get(limits);
  if (!checker) {
    checker = compileChecker(builtinContract(limits), { maxEventBytes: limits.maxEventBytes });
    checkers.set(limits, checker);
  }
  const code = checker.check(bytes, scratch, 0, out);
  if (code !== 0) {
    return { ok: false, check: CHECKS[code] as Exclude<Check, "ok">, reason: out.reason };
  }
  return { ok: true, event: out.record as unknown as Event };
}

/** The time checks of an event whose other checks passed; `now` in Unix seconds. */
export function checkTime(
  ts: number,
  now: number,
  limits: CheckLimits = DEFAULT_LIMITS,
): { ok: true } | { ok: false; check: "schema" | "freshness"; reason: string } {
  const t = checkContractTime(ts, now, {
    freshnessLagSec: limits.freshnessMaxLagSec,
    maxFutureSec: MAX_FUTURE_SEC,
  });
  if (t.ok) return t;
  return { ok: false, check: t.which === "future" ? "schema" : "freshness", reason: t.reason };
}

/**
 * Records: a value beyond everything its entity showed in the weeks before today. The forecast
 * follows the entity (it must: a sensor moved to a new level stays there), so a reading that
 * slides over hours to where it has never been (a machine cooling to a third of its usual
 * temperature) is judged against a forecast that slid with it, and no single event stands out
 * from its forecast. Its value, though, lies far beyond the entity's own extremes.
 *
 * So each entity and feature keeps the {@link RECORD_KEEP} largest and least of its values: of
 * the current day, and of the days before it in two generations of {@link RECORD_GENERATION_DAYS}
 * days and {@link RECORD_EVENTS} events each at least (so the history spans two to four weeks,
 * weekly patterns included, or longer for an entity read less often than every 20 minutes). A
 * value is judged against the history, never against its own day's values, so a slide cannot make
 * itself normal as it goes; and only when it is also the most extreme value of its day so far on
 * its side and rarer than the day's last judged record on that side by {@link RECORD_ESCALATION}
 * sd, so a reading that has moved and stays raises one alert, not one per event or per new
 * extreme.
 *
 * Each side's tail beyond its {@link RECORD_KEEP}-th value `u` is read as exponential (peaks over
 * a threshold) with its scale estimated from the mean excess `m` of the {@link RECORD_TOP} values
 * beyond `u` out of the history's `n`. With the scale an estimate, the chance of a value `y`
 * beyond `u` is the predictive (Lomax) tail `k/n · (1 + y / (k·m))^−k`, `k` = {@link RECORD_TOP}:
 * a value must pass the extremes by several times their own spread to be rare (judged at its full
 * target, Gaussian sensors with a daily cycle alerted on records alone at 0.66 × a 5e-6 target and
 * 1.01 × a 1e-4 one, measured with five values beyond `u`; ten alert less).
 * The judgement is the two-sided Gaussian equivalent of that chance, signed by its side; 0 inside
 * the extremes, when the extremes tie (a saturated or coarse top, whose tail cannot be read),
 * before the history holds a closed generation (so two weeks and {@link RECORD_EVENTS} events at
 * least), and on a side the values move to: one whose newer generation's mean lies beyond the
 * older's by more than {@link RECORD_TREND_SHARE} of the older's range (a growing quantity, a
 * counter).
 *
 * Days are days of the event time the caller passes (its zone's); without event time, blocks of
 * {@link RECORD_DAY_EVENTS} events stand for days.
 *
 * State: {@link RECORD_SLOTS} numbers in the caller's `Float64Array`; pure functions.
 *
 * @module
 */
import { deviationForLogTail } from "../tails.ts";
import { DAY_SEC } from "./period.ts";

/**
 * Values beyond the threshold `u` whose mean excess is the tail's scale: ten, so the estimate's sd
 * is under a third of the scale. With five, which of a few readings were the most extreme moved a
 * record's judgement by half an sd: NAB with a tenth of its rows dropped (`bench nab_baselines`,
 * six seeds) scored 53.09 with the product's own alerts, 55.16 with ten (the rows as they are:
 * 62.98 and 63.17); from 8 to 20 the figures are the same within 0.7.
 */
export const RECORD_TOP = 10;
/** Values kept per side and block: the {@link RECORD_TOP} beyond `u`, and `u`. */
export const RECORD_KEEP = RECORD_TOP + 1;
/**
 * The share of the target false-alert rate a record is judged at: its chance is weighed 1 / this
 * as rare as the other judgements'. Each judgement alerts at about the target on readings with
 * nothing to find, and the record alone at the full target doubled the alerts of Gaussian sensors
 * with a daily cycle (0.95 → 1.57 × the target at the default rate); at a tenth it adds under 0.1 ×.
 */
export const RECORD_SHARE = 0.1;
/**
 * How much rarer (in sd of its Gaussian equivalent) a record must be than the day's last judged one
 * on its side to be judged again: a reading that stepped far beyond its history and stays there
 * sets a new record of the day now and then (about ln m times in m readings), each as far beyond
 * the history as the step, and would alert each time; a slide to ever more extreme values still
 * escalates.
 */
export const RECORD_ESCALATION = 1;
/** Events a generation of the history holds at least (so the history before a record is judged). */
export const RECORD_EVENTS = 1000;
/** Days a generation of the history spans before the next one starts. */
export const RECORD_GENERATION_DAYS = 14;
/** Events that stand for a day without event time. */
export const RECORD_DAY_EVENTS = 1000;
/**
 * How far (as a share of the older generation's range, its least to its largest value) the newer
 * generation's mean may lie from the older's towards a side before that side is taken to be where
 * the values move: a growing quantity or a counter passes its history every day by its nature,
 * and its records were false alerts (disk usage growing 1 % a day: about one a day per entity).
 * A stationary reading stays far inside it: a wander of a few hours (AR(1) 0.98 at 5 minutes)
 * had generations' means 0.03 of the range apart at the median and never beyond 0.2 in 400 draws;
 * one of a day (0.995), beyond 0.2 one time in 20.
 */
export const RECORD_TREND_SHARE = 0.2;

/**
 * Per block: its events, their sum, then its largest values (descending) and least (ascending).
 */
const BLOCK = 2 + 2 * RECORD_KEEP;
/**
 * Slots: the day's index (UTC day of the event time, or NaN), the newer generation's first day,
 * the largest deviation judged today above and below.
 */
const DAY_INDEX = 0, GENERATION_START = 1, JUDGED_HIGH = 2, JUDGED_LOW = 3;
const TODAY = 4, FIRST = TODAY + BLOCK, SECOND = FIRST + BLOCK;
/**
 * Numbers kept per feature: the day's index, the newer generation's start, the day's largest
 * deviations judged on each side, then three blocks (the day, the newer and the older generation).
 */
export const RECORD_SLOTS = 4 + 3 * BLOCK;

const LN_HALF = Math.log(0.5);
/** ln of the two-sided chance's factor: 2 (either side) over the record's share of the target. */
const LN_SHARE = Math.log(2 / RECORD_SHARE);

/** Writes an empty history at `s[at …]`. */
export function startRecords(s: Float64Array, at: number): void {
  s[at + DAY_INDEX] = NaN;
  s[at + GENERATION_START] = NaN;
  s[at + JUDGED_HIGH] = s[at + JUDGED_LOW] = 0;
  for (const b of [TODAY, FIRST, SECOND]) clearBlock(s, at, b);
}

/** Empties block `block` at `s[at …]`: no events, a sum of 0, no extremes. */
function clearBlock(s: Float64Array, at: number, block: number): void {
  s[at + block] = s[at + block + 1] = 0;
  s.fill(NaN, at + block + 2, at + block + BLOCK);
}

/** Where a block's side starts: `high`, its largest values, else its least. */
const sideOf = (at: number, block: number, high: boolean) =>
  at + block + 2 + (high ? 0 : RECORD_KEEP);

/** {@link tailOf}'s answer: `u`, the mean excess over it, the most extreme value. */
const TAIL = new Float64Array(3);

/**
 * Writes into {@link TAIL} the history's {@link RECORD_KEEP}-th most extreme value on one side
 * (`u`), the mean excess over it of the {@link RECORD_TOP} beyond it, and its most extreme value;
 * NaN while fewer are kept.
 */
function tailOf(s: Float64Array, at: number, high: boolean): void {
  const a = sideOf(at, FIRST, high), b = sideOf(at, SECOND, high), sign = high ? 1 : -1;
  let i = 0, j = 0, sum = 0, u = NaN;
  TAIL.fill(NaN);
  for (let taken = 0; taken < RECORD_KEEP; taken++) {
    const x = i < RECORD_KEEP ? s[a + i] : NaN, y = j < RECORD_KEEP ? s[b + j] : NaN;
    // NaN marks the end of a block's values.
    if (Number.isNaN(x) && Number.isNaN(y)) return;
    const takeX = Number.isNaN(y) || (!Number.isNaN(x) && sign * x >= sign * y);
    u = takeX ? x : y;
    if (takeX) i++;
    else j++;
    if (taken === 0) TAIL[2] = u;
    if (taken < RECORD_TOP) sum += sign * u;
  }
  TAIL[0] = u;
  TAIL[1] = sum / RECORD_TOP - sign * u;
}

/**
 * The most extreme value of the entity's history on one side (`high`: its largest, else its
 * least): the record a judged value passed. NaN before any.
 */
export function recordEdge(s: Float64Array, at: number, high: boolean): number {
  tailOf(s, at, high);
  return TAIL[2];
}

/**
 * Judges then learns value `v` at event time `ts` (seconds; NaN: unknown) at `s[at …]`. Returns
 * the signed Gaussian equivalent of its chance beyond the entity's history (see the module doc):
 * positive above its largest values, negative below its least; 0 inside them, when `v` is not its
 * day's most extreme so far on its side, when that side's extremes tie, on a side the values move
 * to ({@link RECORD_TREND_SHARE}), or before the history holds a closed generation. A new day
 * first moves the day's values into the history's newer generation, which, once it spans
 * {@link RECORD_GENERATION_DAYS} days and holds {@link RECORD_EVENTS} events, replaces the older.
 */
export function judgeRecord(s: Float64Array, at: number, v: number, ts: number): number {
  if (Number.isNaN(v)) return 0;
  startDay(s, at, dayOf(s, at, ts));
  let z = 0;
  const n = s[at + FIRST] + s[at + SECOND];
  // Judged once the older generation holds values (it then holds RECORD_EVENTS at least).
  for (let side = s[at + SECOND] > 0 && s[at + FIRST] > 0 ? 0 : 2; side < 2; side++) {
    const high = side === 0, sign = high ? 1 : -1;
    // Inside either generation's RECORD_KEEP-th most extreme value, inside the history's: most
    // values.
    const last = RECORD_KEEP - 1;
    const newer = s[sideOf(at, FIRST, high) + last], older = s[sideOf(at, SECOND, high) + last];
    if (sign * v <= sign * newer || sign * v <= sign * older) continue;
    // A side the values moved towards from the older generation to the newer (the newer's mean
    // beyond the older's by a share of the older's range) sets records by its nature (a growing
    // quantity, a counter): not judged.
    const oldest = sideOf(at, SECOND, true), range = s[oldest] - s[oldest + RECORD_KEEP];
    const shift = s[at + FIRST + 1] / s[at + FIRST] - s[at + SECOND + 1] / s[at + SECOND];
    if (sign * shift > RECORD_TREND_SHARE * range) continue;
    tailOf(s, at, high);
    const u = TAIL[0], excess = TAIL[1];
    const beyond = sign * (v - u);
    if (!(beyond > 0)) continue;
    // Beyond the day's most extreme value so far, on a side whose extremes do not tie.
    const most = s[sideOf(at, TODAY, high)];
    if (!(excess > 0) || (s[at + TODAY] > 0 && !(sign * v > sign * most))) break;
    const logTail = Math.log(RECORD_TOP / n) -
      RECORD_TOP * Math.log1p(beyond / (RECORD_TOP * excess)) + LN_SHARE;
    const a = logTail < LN_HALF ? deviationForLogTail(logTail) : 0;
    // Once today has judged a record on this side, only one rarer by RECORD_ESCALATION sd counts.
    const judged = at + (high ? JUDGED_HIGH : JUDGED_LOW);
    if (a >= s[judged] + (s[judged] > 0 ? RECORD_ESCALATION : 0) && a > 0) {
      s[judged] = a;
      z = sign * a;
    }
    break;
  }
  s[at + TODAY]++;
  s[at + TODAY + 1] += v;
  insert(s, sideOf(at, TODAY, true), v, 1);
  insert(s, sideOf(at, TODAY, false), v, -1);
  return z;
}

/** The day of event time `ts` (its UTC day number), or of the events counted without one. */
function dayOf(s: Float64Array, at: number, ts: number): number {
  if (Number.isFinite(ts)) return Math.floor(ts / DAY_SEC);
  // Without event time: a day is RECORD_DAY_EVENTS events.
  const day = s[at + DAY_INDEX];
  return s[at + TODAY] >= RECORD_DAY_EVENTS || Number.isNaN(day) ? (day || 0) + 1 : day;
}

/**
 * Inserts `v` into a side of {@link RECORD_KEEP} values at `s[from …]`, kept in order (`sign` 1:
 * descending, −1: ascending).
 */
function insert(s: Float64Array, from: number, v: number, sign: number): void {
  let k = RECORD_KEEP - 1;
  if (!Number.isNaN(s[from + k]) && sign * v <= sign * s[from + k]) return;
  while (k > 0 && (Number.isNaN(s[from + k - 1]) || sign * s[from + k - 1] < sign * v)) {
    s[from + k] = s[from + k - 1];
    k--;
  }
  s[from + k] = v;
}

/** Moves block `from`'s values into block `to` (its events added, its extremes merged). */
function mergeBlock(s: Float64Array, at: number, from: number, to: number): void {
  s[at + to] += s[at + from];
  s[at + to + 1] += s[at + from + 1];
  for (let side = 0; side < 2; side++) {
    const high = side === 0;
    const src = sideOf(at, from, high), dst = sideOf(at, to, high), sign = high ? 1 : -1;
    for (let k = 0; k < RECORD_KEEP && !Number.isNaN(s[src + k]); k++) {
      insert(s, dst, s[src + k], sign);
    }
  }
  clearBlock(s, at, from);
}

/** Starts day `day` when it is later than the current one (see {@link judgeRecord}). */
function startDay(s: Float64Array, at: number, day: number): void {
  const current = s[at + DAY_INDEX];
  // A late event (an earlier day) counts in the current one: days only move forward.
  if (day <= current) return;
  if (s[at + TODAY] > 0) {
    const started = s[at + GENERATION_START];
    if (
      Number.isNaN(started) ||
      (day - started >= RECORD_GENERATION_DAYS && s[at + FIRST] >= RECORD_EVENTS)
    ) {
      // The newer generation is full (or there is none yet): it becomes the older one. It holds
      // RECORD_EVENTS events at least, so an hourly reading's history can be judged too.
      if (s[at + FIRST] > 0) {
        clearBlock(s, at, SECOND);
        mergeBlock(s, at, FIRST, SECOND);
      }
      s[at + GENERATION_START] = Number.isNaN(current) ? day : current;
    }
    mergeBlock(s, at, TODAY, FIRST);
  }
  s[at + DAY_INDEX] = day;
  s[at + JUDGED_HIGH] = s[at + JUDGED_LOW] = 0;
}

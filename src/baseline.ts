/**
 * Per-entity baselines: for each entity (the event's key, `sensor_id` for the seed's event) and
 * each model feature, a forecast of its next value and the noise around it, learned from its own
 * values. {@link Baselines.judgeLearn} judges an event before learning it and writes, per feature,
 * the deviation that decided, which judgement it is (`basis`), the entity's typical value and the
 * **calibrated deviation** the alert decision compares with `z*`.
 *
 * The forecast is the entity's level (an exponentially weighted mean, weight `alpha`; the plain
 * mean of its first values until their weight falls to `alpha`) plus a slow trend (Holt) plus
 * the hour's offset (`season`: a daily or weekly profile, `baseline/profile.ts`). The noise
 * is an exponentially weighted variance of the forecast errors, winsorised (`baseline/noise.ts`).
 * Each event is judged on the largest calibrated deviation of these judgements of the feature:
 *
 * - `level`: the error in the noise's sd, `z = (x − forecast) / sd`;
 * - `change` (per feature, declared): the change since the previous value (`baseline/change.ts`);
 * - `recent` (per feature, declared): the mean of the last few errors (`baseline/recent.ts`);
 * - `drift` (every feature): the mean of the last few hundred errors (`baseline/drift.ts`);
 * - `flat` (every continuous reading): a run of repeated values (`baseline/repeats.ts`);
 * - `day` (unless `season: "none"`): the mean of the day an event closes against the same
 *   weekday's (`baseline/period.ts`); when that decides, `actual` is the day's mean;
 * - `record` (unless `records: false`): the value beyond the entity's largest or least values of
 *   the weeks before its day (`baseline/record.ts`); when that decides, `typical` is the record.
 *
 * A feature declared one-sided (`alertOn`: `high` or `low`) takes no judgement whose deviation
 * lies on its other side; a flat line has no side.
 *
 * **Calibration.** The noise a deviation is measured in is an estimate, so under the null a
 * deviation follows Student's t rather than a Gaussian (`nullDegrees` of freedom for `alpha`, 80
 * at the default 0.02): every calibrated deviation is the Gaussian equivalent of its t tail
 * (`tails.ts`), and flatness the Gaussian equivalent of its run's chance, so each is judged
 * against the same Gaussian `z*` at the rate it really occurs. With `extremes` other than
 * `gaussian`, an extreme deviation whose size the entity has shown before is judged at the rate
 * it shows it (`baseline/extremes.ts`): for every entity with `learn`, for an entity whose values
 * repeat {@link COARSE_REPEATS} of the time or more with `coarse` and `shape` (the default). With
 * `shape`, besides, the level deviations of every other entity are judged by the shape of its own
 * deviations (`baseline/shape.ts`); a calibrated deviation is never raised by it, only lowered.
 * The alert decision uses the calibrated deviation; the raw one is what an alert shows.
 *
 * State is a few numbers per entity and feature ({@link slotsOf}: level, trend, variance, events
 * seen, the repeats', the drift's, the hourly offsets, the extremes' counts, the change's, the
 * recent level's, the shape's, the day means'), bounded by `maxEntities`: the entity seen least
 * recently is evicted first (counted). Updated on the main thread in offset order, so it is the
 * same for any number of workers; exported with its model for checkpoints.
 *
 * @module
 */
import { nullDegrees, studentScale, youngDegrees } from "./tails.ts";
import {
  learnPool,
  learnShape,
  POOL_SLOTS,
  SHAPE_SLOTS,
  startPool,
  startShape,
  youngShapeDeviation,
} from "./baseline/shape.ts";
import { addToDay, DAY_SLOTS, DAY_SPAN_MAX, startDays } from "./baseline/period.ts";
import {
  HOUR_SPREAD_SLOTS,
  hourNoise,
  hourWidening,
  learnHourSpread,
  startHourSpread,
} from "./baseline/spread.ts";
import { clipOf, heldBack, varianceFloor, winsorisedVariance } from "./baseline/noise.ts";
import { oddStart } from "./baseline/start.ts";
import {
  countDeviation,
  countLike,
  countMean,
  dispersedVariance,
  isCount,
  learnDispersion,
  logCountChance,
} from "./baseline/counts.ts";
import {
  betweenHours,
  firstVisitStep,
  hourOffset,
  HOURS,
  learnProfileChoice,
  offsetError,
  profileChoice,
  type Season,
  SEASONS,
  seasonWeight,
} from "./baseline/profile.ts";
import { calibrateExtreme, COARSE_REPEATS, EXTREME_SLOTS } from "./baseline/extremes.ts";
import { CHANGE_SLOTS, judgeChange } from "./baseline/change.ts";
import { judgeRecent, RECENT_SLOTS } from "./baseline/recent.ts";
import {
  beyondRange,
  type Candidate,
  CANDIDATE_SD,
  candidateConfirmed,
  confirmCandidate,
  type Excursion,
  EXCURSION_AWAY,
  excursionExpired,
  excursionOver,
  incidentStarts,
  recursDaily,
  restoreExcursion,
  startCandidate,
  startExcursion,
} from "./baseline/excursion.ts";
import { DRIFT_DEGREES, judgeDrift, quietDrift } from "./baseline/drift.ts";
import { judgeRecord, RECORD_SLOTS, recordEdge, startRecords } from "./baseline/record.ts";
import { learnRepeats } from "./baseline/repeats.ts";

export { deviationForRate, erfc } from "./tails.ts";
export { type Season, SEASONS } from "./baseline/profile.ts";
export { COARSE_REPEATS, EXTREME_MEMORY } from "./baseline/extremes.ts";
export { DRIFT_DEGREES, DRIFT_EVENTS, DRIFT_MEMORY } from "./baseline/drift.ts";
export { RECENT_WEIGHT } from "./baseline/recent.ts";
export { flatness } from "./baseline/repeats.ts";

/** Options of {@link createBaselines}. */
export interface BaselineOptions {
  /** Weight of the newest value in the running mean and variance. Default: 0.02 (~50 events). */
  alpha?: number;
  /** Events an entity needs before its deviations count. Default: 30. */
  warmUp?: number;
  /** Entities kept at most; the least recently seen is evicted. Default: 100,000. */
  maxEntities?: number;
  /**
   * A profile by hour of day (`daily`), by hour of the week (`weekly`) or none in the forecast.
   * Default: `daily`.
   */
  season?: Season;
  /**
   * Per feature: also judge the change since the entity's previous value, in the sd of its own
   * changes (their extremes calibrated as the level's, see `extremes`). Default: none.
   */
  change?: readonly boolean[];
  /**
   * Per feature: also judge the entity's recent level (the running mean of its last few forecast
   * errors, in that mean's own sd), so a lasting shift of a few noise units is caught. Default:
   * none.
   */
  recent?: readonly boolean[];
  /**
   * Per feature: which side of the entity's typical value may alert — `high` (values above it:
   * latencies, error counts), `low` (below it: throughput, stock) or `both`. A deviation on the
   * other side decides nothing (a flat line still alerts), so normal events alert at about half
   * the target rate. Default: `both` for every feature.
   */
  alertOn?: readonly AlertSide[];
  /**
   * `gaussian`: every deviation is judged in the entity's own noise as if it were Gaussian;
   * `learn`: extreme deviations (≥ 7 sd) are weighed by how often that entity has shown them, so
   * a spike size that keeps recurring stops alerting (see the module doc); `coarse`: `learn` for
   * an entity whose values repeat {@link COARSE_REPEATS} of the time or more, `gaussian` for the
   * others; `shape`: `coarse`, and the others' level deviations judged by the skew and tail
   * weight of their own (see the module doc), for skewed or heavy-tailed noise. Default: `shape`.
   */
  extremes?: Extremes;
  /**
   * Also judge each value against the entity's own largest and least values of the two to four
   * weeks before its day (`record`, `baseline/record.ts`), so a reading that slides to where it
   * has never been is caught though the forecast slides with it. Default: true.
   */
  records?: boolean;
}

/** Values of {@link BaselineOptions.alertOn}. */
export const ALERT_SIDES = ["both", "high", "low"] as const;
/** One of {@link ALERT_SIDES}. */
export type AlertSide = typeof ALERT_SIDES[number];

/** The sign of the deviations that may alert on `side`: +1 (high), −1 (low) or 0 (both). */
export function sideSign(side: AlertSide): 1 | -1 | 0 {
  return side === "high" ? 1 : side === "low" ? -1 : 0;
}

/** Values of {@link BaselineOptions.extremes}. */
export const EXTREMES_MODES = ["coarse", "gaussian", "learn", "shape"] as const;
/** One of {@link EXTREMES_MODES}. */
export type Extremes = typeof EXTREMES_MODES[number];

/**
 * Seconds from the start of the `period` (seconds) that finite `ts` falls in, in [0, period): the
 * exact remainder `ts % period` for `0 ≤ ts < 2⁵³`, the same as `((ts % period) + period) % period`
 * for Unix times since 2001 to the last bit, and that form itself wherever the quotient's rounding
 * leaves the range (a time far beyond 2⁵³). Without floating-point remainders in the common case:
 * three of them an event cost about 2 % of the main thread's CPU.
 */
export function secondsInto(ts: number, period: number): number {
  const into = ts - Math.floor(ts / period) * period;
  return into >= 0 && into < period ? into : ((ts % period) + period) % period;
}

/** Events between two refreshes of an entity's recency, with many entities kept. */
const REFRESH = 256;

/**
 * Numbers per entity and feature before the hourly offsets: level, trend, variance, events seen;
 * last value, run, `p` (share of repeats), its updates, `p` when the run began; the drift's mean,
 * mean square and the judged event after its last error beyond the clip (`baseline/noise.ts`;
 * 0: none); the excess held back ({@link HELD}); the previous event's time, the mean gap and the
 * gaps seen ({@link PREV_TS}); the first value ({@link FIRST}); whether a value was no count
 * ({@link NOT_COUNT}); a count's dispersion ({@link DISPERSION}); the least and largest value seen
 * outside excursions ({@link RANGE}); how the hourly profile is read ({@link CHOICE}); the slow
 * share of repeats ({@link SLOW_REPEATS}).
 */
const HEAD = 25;
/** Slot of the excess of an extreme error held back (0: none), in {@link HEAD}. */
const HELD = 12;
/** Slots of the previous event's time, the running mean of the gaps between events, their count. */
const PREV_TS = 13, GAP = 14, GAPS = 15;
/** Slot of the entity's first value, until its third says whether it was a glitch (`start.ts`). */
const FIRST = 16;
/** Slot set to 1 once a value is not a whole number ≥ 0 (0: every value a count, `counts.ts`). */
const NOT_COUNT = 17;
/** Slots of a count's dispersion (`learnDispersion` in `counts.ts`). */
const DISPERSION = 18;
/** Slots of the least and the largest value seen outside excursions (`excursion.ts`). */
const RANGE = 20;
/**
 * Slots of how the hourly profile is read (`profile.ts`): the choice (`profileChoice`), then the
 * events' mean time through their hours (`betweenHours`' center).
 */
const CHOICE = 22;
/** Slot of the share of repeats over the entity's last {@link FLAT_MEMORY} events (repeats.ts). */
const SLOW_REPEATS = 24;

/**
 * Numbers kept per entity and feature with `season`, with the change's (`change`), with the
 * extremes' counts of each (`counts`: extremes other than `gaussian`), with the recent level's
 * (`recent`), with the shape's of its deviations (`shape`: extremes `shape`), with the records'
 * (`records`, `record.ts`) and with the day means' (`days`: every season but `none`,
 * `period.ts`).
 */
export function slotsOf(
  season: Season,
  change = false,
  counts = false,
  recent = false,
  shape = false,
  records = true,
  days = season !== "none",
): number {
  const tail = counts ? EXTREME_SLOTS : 0;
  return HEAD + HOURS[season] + tail + (change ? CHANGE_SLOTS + tail : 0) +
    (recent ? RECENT_SLOTS : 0) + (shape ? SHAPE_SLOTS : 0) + (records ? RECORD_SLOTS : 0) +
    (days ? HOUR_SPREAD_SLOTS + DAY_SLOTS : 0);
}

/**
 * Weight of the trend's update (about 1,000 events), whatever `alpha`. Tied to `alpha` (0.05 of
 * it), a faster level also made a faster trend, which with the daily profile drifted against the
 * offsets over days (Gaussian sensors at `alpha` 0.05: 2.9 × the target rate at 1e-4, 7.7 × at
 * 4.6 sd; with this weight 0.9 × and 0.8 ×). At the default `alpha` (0.02) it is the same.
 */
const TREND_WEIGHT = 0.001;

/**
 * Events an hour up to which the trend learns with {@link TREND_WEIGHT}; an entity read more often
 * (its events an hour from the gaps between its events' times, {@link eventsPerHour}) learns with
 * `TREND_WEIGHT × 12 / its events an hour`, the same weight per hour as a reading every 5
 * minutes. With the daily profile the trend feeds on the level's moves at each hour's turn, which
 * the offsets carry to the next day; at
 * 0.001 an event that loop grew for sensors read every 5–30 seconds (every minute with the weekly
 * profile): Gaussian readings every 20 s alerted at 1,670 × the default target over 46 days, the
 * forecast off by hundreds of sd by the end (now 1.2 ×).
 */
const TREND_HOUR_EVENTS = 12;

/**
 * Defaults of {@link BaselineOptions} (`alertOn` aside: absent, every feature alerts on both
 * sides, and a model's key names it only when a feature is one-sided).
 */
export const BASELINE_DEFAULTS: Required<Omit<BaselineOptions, "alertOn">> = {
  alpha: 0.02,
  warmUp: 30,
  maxEntities: 100_000,
  season: "daily",
  change: [],
  recent: [],
  extremes: "shape",
  records: true,
};

/** Baselines as plain data (for checkpoints): keys, and per key the {@link slotsOf} of each feature. */
export interface BaselineState {
  features: number;
  keys: string[];
  /** Per key, per feature: the {@link slotsOf} numbers. */
  values: number[];
  evicted: number;
  /**
   * The excursions under way (`baseline/excursion.ts`): entity, feature and counts of each; the
   * state saved before each is in {@link BaselineState.excursionValues}, in the same order.
   * Absent: none.
   */
  excursions?: {
    key: string;
    feature: number;
    age: number;
    fits: number;
    away: number;
    /** Event time of its first reading (null: unknown). */
    since: number | null;
    /** An incident that recurs: learned, never put back. Absent: false. */
    recurs?: boolean;
    /**
     * A candidate incident, not an excursion yet: the side it deviated to (1 above, −1 below),
     * and its saved state is the one from before it. Absent: an excursion.
     */
    candidate?: number;
  }[];
  /** The saved states of {@link BaselineState.excursions}, each its feature's slots in turn. */
  excursionValues?: number[];
  /**
   * Per entity and feature, the event time its last incident started (`baseline/excursion.ts`),
   * so one at the same time of day on a later day is known to recur. Absent: none.
   */
  incidents?: { key: string; feature: number; since: number }[];
  /**
   * With `extremes: "shape"`: per feature, the shape of its entities' deviations pooled (`POOL_SLOTS`
   * numbers each, `baseline/shape.ts`). Absent: none learned yet.
   */
  shapePool?: number[];
}

/**
 * What an event's deviation measures, by its index in {@link BaselineJudgement.basis}: its
 * distance from the forecast (`level`), from the value before it (`change`), the mean of its
 * entity's last few errors (`recent`) or of its last few hundred (`drift`), a run of repeats
 * (`flat`), the mean of the day it closes against the same weekday's (`day`), or its value beyond
 * the entity's extremes of the weeks before its day (`record`).
 */
export const BASES = ["level", "change", "recent", "drift", "flat", "day", "record"] as const;
/** One of {@link BASES}. */
export type Basis = typeof BASES[number];

/** Where {@link Baselines.judgeLearn} writes its judgement, one number per feature. */
export interface BaselineJudgement {
  /**
   * Deviation from the entity's forecast in its noise's sd (the larger of the level's and the
   * flatness's; the change's, the recent level's or the drift's when that decides; `basis` says
   * which); NaN while the entity warms up or the feature is absent.
   */
  z: Float64Array;
  /** Which judgement `z` is, as an index in {@link BASES}. */
  basis?: Uint8Array;
  /** The entity's typical value: the forecast before this event (NaN before its first). */
  typical: Float64Array;
  /**
   * The value judged when it is not the event's own: the day's mean when `day` decides (and
   * `typical` is then that weekday's typical mean); NaN otherwise.
   */
  actual?: Float64Array;
  /** The run of values equal to the previous one (0 for a change). */
  run?: Float64Array;
  /**
   * The calibrated deviation (≥ 0, see the module doc): what the alert decision compares with the
   * target's; NaN when `z` is.
   */
  calibrated?: Float64Array;
}

/** A judgement with every field, for `features` features (a scratch to pass to `judgeLearn`). */
export function createJudgement(features: number): Required<BaselineJudgement> {
  return {
    z: new Float64Array(features),
    basis: new Uint8Array(features),
    typical: new Float64Array(features),
    actual: new Float64Array(features),
    run: new Float64Array(features),
    calibrated: new Float64Array(features),
  };
}

/** The baselines of one model. */
export interface Baselines {
  /** Entities kept. */
  readonly size: number;
  /** Entities evicted so far. */
  readonly evicted: number;
  /**
   * Judges then learns `x` (one value per feature, NaN = absent) of entity `key` at event time
   * `ts` (Unix seconds; it places the event in the hourly profile, which is not used without it),
   * writing the judgement to `out`.
   */
  judgeLearn(
    key: string,
    x: ArrayLike<number>,
    ts: number | undefined,
    out: BaselineJudgement,
  ): void;
  /** The state, for a checkpoint. */
  state(): BaselineState;
}

function checkOptions(o: Required<Omit<BaselineOptions, "alertOn">>): void {
  if (!(o.alpha > 0 && o.alpha < 1)) {
    throw new RangeError(`baseline alpha must be in (0, 1), got ${o.alpha}`);
  }
  if (!Number.isInteger(o.warmUp) || o.warmUp < 1) {
    throw new RangeError(`baseline warmUp must be a positive integer, got ${o.warmUp}`);
  }
  if (!Number.isInteger(o.maxEntities) || o.maxEntities < 1) {
    throw new RangeError(`baseline maxEntities must be a positive integer, got ${o.maxEntities}`);
  }
  if (!(EXTREMES_MODES as readonly string[]).includes(o.extremes)) {
    throw new RangeError(
      `baseline extremes must be one of ${EXTREMES_MODES.join(", ")}, got ${o.extremes}`,
    );
  }
  if (!(SEASONS as readonly string[]).includes(o.season)) {
    throw new RangeError(`baseline season must be one of ${SEASONS.join(", ")}, got ${o.season}`);
  }
}

/** Baselines over `features` features, resumed from `from` when given. */
export function createBaselines(
  features: number,
  options: BaselineOptions = {},
  from?: BaselineState,
): Baselines {
  const o: Required<Omit<BaselineOptions, "alertOn">> = { ...BASELINE_DEFAULTS, ...options };
  checkOptions(o);
  // Per feature: the side that may alert, +1 (high), −1 (low) or 0 (both).
  const sides = Array.from({ length: features }, (_, f) => {
    const side = options.alertOn?.[f] ?? "both";
    if (!(ALERT_SIDES as readonly string[]).includes(side)) {
      throw new RangeError(
        `baseline alertOn[${f}] must be one of ${ALERT_SIDES.join(", ")}, got ${side}`,
      );
    }
    return sideSign(side);
  });
  const hours = HOURS[o.season];
  const change = Array.from({ length: features }, (_, f) => o.change[f] === true);
  const recent = Array.from({ length: features }, (_, f) => o.recent[f] === true);
  const counts = o.extremes !== "gaussian", tail = counts ? EXTREME_SLOTS : 0;
  const countsAlways = o.extremes === "learn";
  // The hours of the day learn a clipped error after their first visit (offsetError); an hour of
  // the week learns 0.35 a visit however many readings it holds, which already bounds what one
  // visit teaches it.
  const clipOffsets = o.season === "daily";
  const shape = o.extremes === "shape";
  const scale = studentScale(nullDegrees(o.alpha));
  // A young entity's noise is an estimate from its few events: its deviations are judged on the
  // t tail of as many degrees of freedom as those hold (`youngDegrees`; tables built on first use).
  const matureAt = (2 - o.alpha) / o.alpha;
  const scaleOf = (n: number) => n >= matureAt ? scale : studentScale(youngDegrees(o.alpha, n));
  const driftScale = studentScale(DRIFT_DEGREES);
  // Where each feature's numbers start; the stride is an entity's whole record.
  const offsets: number[] = [];
  // Where each feature's recent level's slots start (after its change's), its shape's, its
  // records' (`record.ts`) and its day means' (the day's mean against the same weekday's,
  // `period.ts`).
  const recentAt: number[] = [], shapeAt: number[] = [], recordAt: number[] = [];
  const dayAt: number[] = [], spreadAt: number[] = [];
  const days = o.season !== "none", records = o.records;
  let stride = 0;
  for (let f = 0; f < features; f++) {
    offsets.push(stride);
    recentAt.push(stride + slotsOf(o.season, change[f], counts, false, false, false, false));
    shapeAt.push(stride + slotsOf(o.season, change[f], counts, recent[f], false, false, false));
    recordAt.push(stride + slotsOf(o.season, change[f], counts, recent[f], shape, false, false));
    spreadAt.push(stride + slotsOf(o.season, change[f], counts, recent[f], shape, records, false));
    dayAt.push(spreadAt[f] + (days ? HOUR_SPREAD_SLOTS : 0));
    stride += slotsOf(o.season, change[f], counts, recent[f], shape, records, days);
  }
  // Each record's last number is the tick it was last seen at. Until the map first fills up
  // the order of its entries does not matter, and a visit only writes that tick; at the first
  // eviction the entries are put in recency order once, and from then on insertion order is
  // recency: a visit moves the entity to the end (see REFRESH).
  const entities = new Map<string, Float64Array>();
  // Per feature, with `shape`: the shape of its entities' deviations pooled (each entity's from its
  // mature noise on), which judges the young ones (`youngShapeDeviation`).
  const pool = new Float64Array(shape ? features * POOL_SLOTS : 0);
  for (let f = 0; f < pool.length / POOL_SLOTS; f++) startPool(pool, f * POOL_SLOTS);
  if (from?.shapePool?.length === pool.length) pool.set(from.shapePool);
  // Per entity under an excursion, per feature: its state from before it (`excursion.ts`).
  const excursions = new Map<string, (Excursion | undefined)[]>();
  // Per entity, per feature: the event time its last incident started (NaN: none).
  const incidents = new Map<string, Float64Array>();
  // Per entity, per feature: a candidate incident from its previous reading (`excursion.ts`).
  const candidates = new Map<string, (Candidate | undefined)[]>();
  // Per feature: the slots an excursion's end leaves as they are (the events' count, the last
  // value and its run, the timing, the first value, the counts' flag, the day means), relative to
  // the feature's start.
  const lengths = offsets.map((at, f) => (f + 1 < features ? offsets[f + 1] : stride) - at);
  const kept = offsets.map((at, f) => {
    const day = days ? dayAt[f] - at : lengths[f];
    return [3, 4, 5, PREV_TS, GAP, GAPS, FIRST, NOT_COUNT].concat(
      Array.from({ length: lengths[f] - day }, (_, k) => day + k),
    );
  });
  // The hourly profile's offset of the feature whose slots start at `s[at]`, read as its choice
  // says, at a time `u` of the way through `hour`.
  const profileOffset = (s: Float64Array, at: number, hour: number, u: number) => {
    const step = hourOffset(s, at + HEAD, hour, hours);
    return profileChoice(s, at + CHOICE)
      ? betweenHours(s, at + HEAD, hour, u, s[at + CHOICE + 1], hours, step)
      : step;
  };
  let evicted = from?.evicted ?? 0;
  let tick = 0;
  let ordered = false;
  const byRecency = () =>
    [...entities].sort((a, b) => a[1][stride] - b[1][stride]).map(([key]) => key);
  // Entity `key`'s entry of feature `f` in `map` (its excursions or candidates), taken out; the
  // entity leaves the map with its last entry.
  const takeEntry = <T>(map: Map<string, (T | undefined)[]>, key: string, f: number) => {
    const list = map.get(key), entry = list?.[f];
    if (!list || entry === undefined) return undefined;
    list[f] = undefined;
    if (list.every((e) => e === undefined)) map.delete(key);
    return entry;
  };
  if (from) {
    if (from.features !== features) {
      throw new RangeError(`baseline state has ${from.features} features, expected ${features}`);
    }
    if (from.values.length !== from.keys.length * stride) {
      throw new RangeError(
        `baseline state has ${from.values.length} numbers for ${from.keys.length} entities, ` +
          `expected ${stride} each (season ${o.season}, extremes ${o.extremes}` +
          `${change.some(Boolean) ? ", change" : ""}${recent.some(Boolean) ? ", recent" : ""})`,
      );
    }
    from.keys.forEach((k, i) => {
      const s = new Float64Array(stride + 1);
      // A checkpoint's JSON writes NaN (an hour not seen yet) as null.
      for (let k = 0; k < stride; k++) s[k] = from.values[i * stride + k] ?? NaN;
      // The state lists the keys least recent first: seen before every new visit, in order.
      s[stride] = i - from.keys.length;
      entities.set(k, s);
    });
    let read = 0;
    for (const e of from.excursions ?? []) {
      if (!(e.feature >= 0 && e.feature < features)) break;
      const length = lengths[e.feature], saved = new Float64Array(length);
      // A checkpoint's JSON writes NaN as null.
      for (let k = 0; k < length; k++) saved[k] = from.excursionValues?.[read + k] ?? NaN;
      read += length;
      if (!entities.has(e.key)) continue;
      const since = e.since ?? NaN, recurs = e.recurs === true;
      const excursion = { saved, age: e.age, fits: e.fits, away: e.away, since, recurs };
      if (e.candidate === undefined) {
        const list = excursions.get(e.key) ?? new Array(features);
        list[e.feature] = excursion;
        excursions.set(e.key, list);
      } else {
        const list = candidates.get(e.key) ?? new Array(features);
        list[e.feature] = { saved: excursion, side: Math.sign(e.candidate) };
        candidates.set(e.key, list);
      }
    }
    for (const e of from.incidents ?? []) {
      if (!(e.feature >= 0 && e.feature < features) || !entities.has(e.key)) continue;
      const times = incidents.get(e.key) ?? new Float64Array(features).fill(NaN);
      times[e.feature] = e.since;
      incidents.set(e.key, times);
    }
  }
  return {
    get size() {
      return entities.size;
    },
    get evicted() {
      return evicted;
    },
    judgeLearn(key, x, ts, out) {
      const { z, typical, run: runs, calibrated, basis, actual } = out;
      const hour = hours > 0 && Number.isFinite(ts)
        ? Math.floor(secondsInto(ts!, 3600 * hours) / 3600)
        : -1;
      // How far through its hour the event is (0 at its start), for the profile read between hours.
      const u = hour < 0 ? 0.5 : secondsInto(ts!, 3600) / 3600;
      tick++;
      let s = entities.get(key);
      if (!s) {
        s = freshSlots(
          stride,
          offsets,
          hours,
          shape ? shapeAt : [],
          records ? recordAt : [],
          days ? spreadAt : [],
          days ? dayAt : [],
        );
        if (entities.size >= o.maxEntities) {
          if (!ordered) {
            const keys = byRecency();
            for (const k of keys) {
              const r = entities.get(k)!;
              entities.delete(k);
              entities.set(k, r);
            }
            ordered = true;
          }
          const oldest = entities.keys().next().value!;
          entities.delete(oldest);
          excursions.delete(oldest);
          incidents.delete(oldest);
          candidates.delete(oldest);
          evicted++;
        }
        entities.set(key, s);
        s[stride] = tick;
      } else if (!ordered) {
        s[stride] = tick;
      } else if (tick - s[stride] > (entities.size < REFRESH ? 1 : REFRESH)) {
        // Recency is kept by re-inserting (unless the entity was the last one placed): exact
        // while fewer entities than REFRESH are kept, else at most once every REFRESH events
        // per entity.
        entities.delete(key);
        entities.set(key, s);
        s[stride] = tick;
      }
      for (let f = 0; f < features; f++) {
        const at = offsets[f];
        // A glitch among the first two values is replaced by the third's agreeing neighbour.
        const restarted = s[at + 3] === 2 && !Number.isNaN(x[f]) &&
          restartWithout(s, at, x[f], hours);
        if (restarted && records) {
          // The records forget the glitch too: they hold the value kept.
          startRecords(s, recordAt[f]);
          judgeRecord(s, recordAt[f], s[at + 4], ts ?? NaN);
        }
        // An excursion far beyond the noise that has ended is forgotten (`excursion.ts`).
        const under = excursions.size === 0 ? undefined : excursions.get(key)?.[f];
        let excursion = under;
        // A reading that fits the state from before an excursion still under way (on its way
        // back): its deviation from that state's forecast (NaN: none), and that forecast.
        let back = NaN, backFrom = NaN;
        if (excursion && !Number.isNaN(x[f])) {
          const saved = excursion.saved, before = saved[3] > 1 ? saved[0] + saved[1] : saved[0];
          const forecast = before + (hour < 0 ? 0 : profileOffset(saved, 0, hour, u));
          if (excursionOver(excursion, x[f], forecast, saved[2])) {
            if (excursion.away >= EXCURSION_AWAY && !excursion.recurs) {
              restoreExcursion(s, at, excursion, kept[f]);
            }
            excursion = undefined;
          } else if (excursionExpired(excursion, ts ?? NaN)) excursion = undefined;
          else if (excursion.fits > 0) {
            back = (x[f] - forecast) / Math.sqrt(saved[2] + Number.MIN_VALUE);
            backFrom = forecast;
          }
          if (!excursion) takeEntry(excursions, key, f);
        }
        const v = x[f], level = s[at], trend = s[at + 1], variance = s[at + 2], n = s[at + 3];
        // The least variance, in the values' own units: the same deviations in any unit.
        const floor = varianceFloor(s[at + RANGE + 1] - s[at + RANGE], level);
        // Repeats: the run of values equal to the previous one.
        const repeat = n > 0 && v === s[at + 4];
        const run = repeat ? s[at + 5] + 1 : 0;
        if (runs) runs[f] = Number.isNaN(v) ? NaN : run;
        // Which judgement z[f] is (an index in BASES): the level's unless another decides.
        let by = 0;
        if (basis) basis[f] = 0;
        // The forecast follows the entity's level and its trend (Holt), so a slow cycle (a day's
        // temperature) is not taken for a deviation, plus the hour's offset when it has one.
        // The hour's offset, read as a step or between hours as the entity's choice says.
        const step = hour < 0 ? 0 : hourOffset(s, at + HEAD, hour, hours);
        const between = hour < 0
          ? 0
          : betweenHours(s, at + HEAD, hour, u, s[at + CHOICE + 1], hours, step);
        const offset = profileChoice(s, at + CHOICE) ? between : step;
        const base = n > 1 ? level + trend : level;
        const forecast = base + offset;
        typical[f] = n > 0 ? forecast : NaN;
        if (actual) actual[f] = NaN;
        const warm = n >= o.warmUp && !Number.isNaN(v);
        // An hour routinely harder to forecast than the entity's day judges in a wider noise.
        const hourOfDay = hour % 24, timed = days && hour >= 0;
        const widen = timed ? hourWidening(s, spreadAt[f], hourOfDay, u) : 1;
        // The noise deviations are measured in: the entity's, widened for a hard hour.
        const sd = Math.sqrt((variance + floor) * widen);
        z[f] = warm ? (v - forecast) / sd : NaN;
        if (calibrated) calibrated[f] = NaN;
        if (Number.isNaN(v)) continue;
        const a = Math.abs(z[f]);
        // A reading whose bursts are routine: its learned extremes judge them, and must learn
        // them.
        const routineBursts = counts && (countsAlways || s[at + 6] >= COARSE_REPEATS);
        // Far beyond every value seen, not at an hour's first visit (a day's shape is learned,
        // not undone), of a reading whose bursts are not routine: an excursion starts. So does an
        // incident far beyond the noise, once the profile's hours have all been visited.
        // Not at the event an excursion ended at: one that expired has become the new normal,
        // whose values join the range now.
        const may = warm && !under && (hour < 0 || !Number.isNaN(s[at + HEAD + hour])) &&
          !routineBursts;
        const far = may && beyondRange(s[at + RANGE], s[at + RANGE + 1], v, variance);
        // The change since the previous reading, in the noise z[f] is measured in.
        const jump = (v - s[at + 4]) / sd;
        // A candidate incident from the previous reading, which this one confirms or drops.
        // (Kept for one reading only.)
        const candidate = candidates.size === 0 ? undefined : takeEntry(candidates, key, f);
        const confirmed = may && !far && candidate !== undefined &&
          candidateConfirmed(candidate, z[f]);
        const hoursOf = hour < 0 ? 0 : hours;
        if (far || confirmed || (may && incidentStarts(z[f], jump, widen, s, at + HEAD, hoursOf))) {
          const list = excursions.get(key) ?? new Array(features);
          // An incident (not far beyond every value seen) at the time of day of the entity's one
          // before, a day or a few later, is a shape coming back: learned, not undone. A
          // confirmed candidate started at the reading before.
          let recurs = false;
          const since = confirmed ? candidate.saved.since : ts ?? NaN;
          if (!far) {
            const times = incidents.get(key) ?? new Float64Array(features).fill(NaN);
            recurs = recursDaily(times[f], since);
            times[f] = since;
            incidents.set(key, times);
          }
          list[f] = excursion = confirmed
            ? confirmCandidate(candidate, recurs)
            : startExcursion(s, at, lengths[f], ts ?? NaN, recurs);
          excursions.set(key, list);
        } else if (may && incidentStarts(z[f], jump, widen, s, at + HEAD, hoursOf, CANDIDATE_SD)) {
          const list = candidates.get(key) ?? new Array(features);
          list[f] = startCandidate(s, at, lengths[f], z[f], ts ?? NaN);
          candidates.set(key, list);
        }
        if (!excursion && n > 0) {
          s[at + RANGE] = Math.min(s[at + RANGE], v);
          s[at + RANGE + 1] = Math.max(s[at + RANGE + 1], v);
        }
        // The drift learns from the entity's warm-up on; it decides nothing until its spread has
        // seen DRIFT_MEMORY × DRIFT_EVENTS events.
        // Its t tail's Gaussian equivalent is below it, so it is only read where it could decide.
        const driftZ = warm ? judgeDrift(s, at + 9, n - o.warmUp, z[f]) : NaN;
        // Judged on the t tail's Gaussian equivalent: the noise is itself an estimate.
        // With `coarse`, the counts are kept for every entity but judge only one whose values
        // repeat a quarter of the time or more: its noise is no Gaussian's.
        const counted = countsAlways || s[at + 6] >= COARSE_REPEATS;
        // Whole numbers ≥ 0 whose noise is of their mean's order are counts, judged on a count's
        // tail (skewed near 0); other values on the t tail. Once a value is no count, nothing
        // more is asked.
        if (s[at + NOT_COUNT] === 0 && !isCount(v)) s[at + NOT_COUNT] = 1;
        const whole = s[at + NOT_COUNT] === 0;
        const mean = whole ? countMean(forecast, variance) : forecast;
        const count = whole && countLike(mean, variance);
        const spread = count
          ? Math.max(variance, dispersedVariance(s, at + DISPERSION, mean))
          : variance;
        const levelScale = warm ? scaleOf(n) : scale;
        let cal = !warm ? NaN : count ? countDeviation(v, mean, spread) : levelScale(a);
        // Learned after it is judged: a burst does not excuse itself.
        if (whole) learnDispersion(s, at + DISPERSION, v - mean, mean, n + 1);
        if (warm && shape) {
          // The entity's own skew and tail weight can only lower the deviation's equivalent; a
          // coarse entity's (mostly one value, and bursts) is no Tukey's h, and its extremes'
          // recurrence judges it instead.
          // A young entity is judged like its feature's entities (the pool, fed once an entity's
          // noise is mature, from its (2 − α)/α-th event), less so as it learns its own shape.
          const age = n - o.warmUp;
          if (!counted) {
            cal = youngShapeDeviation(s, shapeAt[f], pool, f * POOL_SLOTS, z[f], age, cal);
            if (n >= matureAt) learnPool(pool, f * POOL_SLOTS, z[f]);
          }
          learnShape(s, shapeAt[f], z[f], age);
        }
        if (warm && counts) {
          // Extremes are counted and judged in the entity's own noise, before an hour's widening:
          // the widening may lower a deviation's calibrated value, never lift it above what the
          // deviation's recurrence allows (a routine 9-sd burst, widened to 5 sd, fell under the
          // extremes' first edge and alerted).
          const own = a * Math.sqrt(widen),
            equivalent = widen > 1 && !count ? levelScale(own) : cal;
          const c = calibrateExtreme(
            s,
            at + HEAD + hours,
            n - o.warmUp,
            own,
            equivalent,
            v - forecast,
          );
          if (counted) cal = Math.min(cal, c);
        }
        // A one-sided feature: a judgement on the other side decides nothing.
        const side = sides[f];
        const offSide = warm && side * z[f] < 0;
        if (offSide) cal = 0;
        if (change[f] && n > 0) {
          const c = judgeChange(
            s,
            at + HEAD + hours + tail,
            // After a restart the change's noise starts again from this change.
            restarted ? 1 : n,
            v,
            s[at + 4],
            o,
            counts,
            counted,
            // Its noise, like the level's, weighs its first changes about equally (weight 1/n):
            // a young entity's is judged on a young t tail.
            levelScale,
            floor,
          );
          if (c && c.calibrated > cal && side * c.z >= 0) {
            z[f] = c.z;
            by = 1;
            typical[f] = c.from;
            cal = c.calibrated;
          }
        }
        if (recent[f] && n > 0) {
          const r = judgeRecent(s, recentAt[f], n, v - forecast, variance, o, floor);
          // Its Gaussian equivalent is below |r|: read only where it could decide.
          const rc = Math.abs(r) > cal ? scale(r) : NaN;
          if (rc > cal && side * r >= 0) {
            z[f] = r;
            by = 2;
            cal = rc;
          }
        }
        const drift = driftZ > cal ? driftScale(driftZ) : NaN;
        if (drift > cal && side * s[at + 9] >= 0) {
          z[f] = Math.sign(s[at + 9]) * drift;
          by = 3;
          cal = drift;
        }
        // The way back from an excursion is not another anomaly: a reading that fits the state
        // from before it is judged against that state (`excursion.ts`), not against the
        // forecast the excursion dragged, nor as a change from its last reading
        // (what it closes, its day, is judged as ever).
        if (!Number.isNaN(back) && cal > Math.abs(back)) {
          cal = Math.abs(back);
          z[f] = back;
          by = 0;
          typical[f] = backFrom;
        }
        // The day this event closes, if it does: its mean against the same weekday's.
        const day = days ? addToDay(s, dayAt[f], v, ts!, daySpan(s, at, ts!)) : undefined;
        if (day && day.calibrated > cal && side * day.z >= 0) {
          z[f] = day.z;
          by = 5;
          typical[f] = day.typical;
          if (actual) actual[f] = day.mean;
          cal = day.calibrated;
        }
        // The value against the entity's own extremes of the weeks before its day (`record.ts`).
        const record = records ? judgeRecord(s, recordAt[f], v, ts ?? NaN) : 0;
        if (warm && Math.abs(record) > cal && side * record >= 0) {
          z[f] = record;
          by = 6;
          typical[f] = recordEdge(s, recordAt[f], record > 0);
          if (actual) actual[f] = NaN;
          cal = Math.abs(record);
        }
        // A count's run is judged on the chance of its very value, when that is larger.
        const chance = count && run >= 2
          ? (c: number) => Math.exp(logCountChance(c, mean, spread))
          : undefined;
        const flat = learnRepeats(s, at, n, v, run, o.alpha, o.warmUp, chance, at + SLOW_REPEATS);
        if (warm && (flat > Math.abs(z[f]) || (offSide && by === 0 && flat > cal))) {
          if (by === 5 || by === 6) {
            // A stuck value explains itself: the event's own value against its forecast.
            typical[f] = forecast;
            if (actual) actual[f] = NaN;
          }
          z[f] = flat;
          by = 4;
        }
        if (basis) basis[f] = by;
        if (warm && flat > cal) cal = flat;
        if (calibrated) calibrated[f] = cal;
        // The reading rate scales the trend's weight, with a season only.
        const rate = days ? eventsPerHour(s, at, ts) : 0;
        // The noise the hour's visit began in (or now, when narrower): an anomaly's first
        // readings widen the noise and must not excuse the rest.
        let visitNoise = variance;
        if (timed && warm) {
          const e = v - forecast;
          const noise = visitNoise = hourNoise(s, spreadAt[f], ts!, variance);
          learnHourSpread(s, spreadAt[f], hourOfDay, e * e / (noise + floor), rate);
        }
        // The value as the level and the hour's offset learn it: an extreme one is held back
        // beyond the clip until the next event says whether it was alone (see heldBack).
        let learned = v;
        if (n === 0) {
          s[at] = s[at + FIRST] = v;
          s[at + RANGE] = s[at + RANGE + 1] = v;
        } else {
          // The noise is winsorised: once warm, a value far out widens it as one 6 sd away
          // would, so anomalies do not hide the next ones; the level follows every value, so a
          // lasting shift becomes the new normal.
          const d = v - forecast;
          // Before the entity is warm, a young clip (looser) from its third value on.
          const clip = clipOf(n, o.warmUp, variance);
          learned = forecast + heldBack(s, at + HELD, d, variance, warm, clip, floor);
          // A new entity's level and noise start as the plain mean and variance of its first
          // values (weight 1/n until that falls to alpha), so its noise is not underestimated
          // when it is first judged.
          const weight = Math.max(o.alpha, 1 / (n + 1));
          const next = base + weight * (learned - forecast);
          // The trend learns once the level is a running mean (not the plain mean of its first
          // values, whose moves are no trend), at the same weight per hour for any reading rate.
          const trendWeight = rate > TREND_HOUR_EVENTS
            ? TREND_WEIGHT * TREND_HOUR_EVENTS / rate
            : TREND_WEIGHT;
          s[at + 1] = weight === o.alpha ? trend + trendWeight * (next - level - trend) : 0;
          s[at] = next;
          s[at + 2] = winsorisedVariance(variance, d, weight, clip, floor);
        }
        if (hour >= 0) {
          // The hour's offset from the level it left, learned with the season's weight; its
          // first visit starts from the previous hour's offset (see hourOffset).
          // The offsets are hours' means: they learn from the step's error whatever reads them.
          const h = at + HEAD + hour, e = learned - s[at] - step;
          learnProfileChoice(
            s,
            at + CHOICE,
            n,
            u,
            v - base - step,
            v - base - between,
            variance + floor,
          );
          const first = Number.isNaN(s[h]);
          // A count's first visit is learned as any other: its errors are skewed (a 1 among 0s is
          // far out, a 0 is not), so the first-visit jump ratcheted new hours' offsets up while
          // the level sank (a count of mean 0.2 was forecast at −0.65 at its second midnight).
          // After the first visit a warm reading's error is clipped (offsetError), so a stretch
          // of anomalies late in an hour is not its shape the next day; a reading whose bursts
          // are routine learns them whole.
          const moved = first && !count
            ? firstVisitStep(e, variance)
            : seasonWeight(o.season, rate) *
              (clipOffsets && warm && !routineBursts ? offsetError(e, visitNoise + floor) : e);
          s[h] = step + moved;
          // A first visit that moved its offset is a step the level then catches up with: not a
          // drift (sensors read every few seconds meet most hours after the drift is judged).
          if (first && moved !== 0 && warm) quietDrift(s, at + 9, n - o.warmUp);
        }
        s[at + 3] = n + 1;
      }
    },
    state() {
      const keys = ordered ? [...entities.keys()] : byRecency();
      const values: number[] = [];
      for (const k of keys) values.push(...entities.get(k)!.subarray(0, stride));
      const under: NonNullable<BaselineState["excursions"]> = [], saved: number[] = [];
      // An excursion's entry; a candidate's is its saved state's, with its side.
      const write = (key: string, feature: number, e: Excursion, side?: number) => {
        const since = Number.isNaN(e.since) ? null : e.since;
        const entry = { key, feature, age: e.age, fits: e.fits, away: e.away, since };
        under.push(
          side !== undefined
            ? { ...entry, candidate: side }
            : e.recurs
            ? { ...entry, recurs: true }
            : entry,
        );
        saved.push(...e.saved);
      };
      for (const [key, list] of excursions) list.forEach((e, f) => e && write(key, f, e));
      for (const [key, list] of candidates) {
        list.forEach((c, f) => c && write(key, f, c.saved, c.side));
      }
      const state: BaselineState = { features, keys, values, evicted };
      if (pool.length > 0 && pool.some((v, k) => k % POOL_SLOTS === SHAPE_SLOTS && v > 0)) {
        state.shapePool = Array.from(pool);
      }
      const started: NonNullable<BaselineState["incidents"]> = [];
      for (const [key, times] of incidents) {
        times.forEach((since, feature) => {
          if (Number.isFinite(since)) started.push({ key, feature, since });
        });
      }
      if (started.length > 0) state.incidents = started;
      return under.length > 0 ? { ...state, excursions: under, excursionValues: saved } : state;
    },
  };
}

/**
 * The seconds a value at `ts` stands for in its day's mean (`baseline/period.ts`): the time since
 * the entity's previous event, at most {@link DAY_SPAN_MAX} or twice its usual gap when that is
 * longer (a gap beyond it is time the entity was not read); when its previous event's time is not
 * known, its usual gap, or 1 second at its first event with a time. Read before
 * {@link eventsPerHour} learns `ts`.
 */
function daySpan(s: Float64Array, at: number, ts: number): number {
  const prev = s[at + PREV_TS], gap = s[at + GAP];
  if (Number.isNaN(prev)) return gap > 0 ? gap : 1;
  return Math.min(Math.max(0, ts - prev), Math.max(DAY_SPAN_MAX, 2 * gap));
}

/**
 * The entity's events an hour, from the running mean of the gaps between its events' times
 * (weight 1/k over its first k gaps, then 1/256), learned here from `ts` (`s[at + PREV_TS]` NaN
 * before the first); 0 when no time is known.
 * Known from its second event on: the count of a day needs a day, and the trend learned at the
 * full weight meanwhile (a sensor read every second kept a spurious slope of 2e-5 an event for
 * days, its level drifting 2 sd a day away from the offsets of the hours it had seen).
 */
function eventsPerHour(s: Float64Array, at: number, ts: number | undefined): number {
  if (ts === undefined || !Number.isFinite(ts)) return 0;
  const prev = s[at + PREV_TS], gaps = s[at + GAPS];
  s[at + PREV_TS] = ts;
  if (Number.isNaN(prev)) return 0;
  s[at + GAPS] = gaps + 1;
  s[at + GAP] += Math.max(1 / (gaps + 1), 1 / 256) * (Math.max(0, ts - prev) - s[at + GAP]);
  return s[at + GAP] > 0 ? 3600 / s[at + GAP] : Infinity;
}

/**
 * At an entity's third value `v`, replaces a glitch among its first two (`oddStart`) by the value
 * that agrees with `v`: the level starts again at that value with no noise and no trend, the
 * previous value is that value, and the hours' offsets (learned from the glitch) are unknown again.
 * Returns whether it did.
 */
function restartWithout(s: Float64Array, at: number, v: number, hours: number): boolean {
  const odd = oddStart(s[at + FIRST], s[at + 4], v);
  if (odd < 0) return false;
  const kept = odd === 0 ? s[at + 4] : s[at + FIRST];
  s[at] = kept;
  s[at + 1] = 0;
  s[at + 2] = 0;
  s[at + 4] = kept;
  s[at + HELD] = 0;
  s[at + RANGE] = s[at + RANGE + 1] = kept;
  s.fill(NaN, at + HEAD, at + HEAD + hours);
  return true;
}

/**
 * The slots of a new entity: zeros, its hourly offsets unknown (NaN), the shapes at `shapes`
 * Gaussian, the day means at `days` without a day yet.
 */
function freshSlots(
  stride: number,
  offsets: readonly number[],
  hours: number,
  shapes: readonly number[],
  records: readonly number[],
  spreads: readonly number[],
  days: readonly number[],
): Float64Array {
  const s = new Float64Array(stride + 1);
  for (const at of offsets) {
    s.fill(NaN, at + HEAD, at + HEAD + hours);
    s[at + PREV_TS] = NaN;
  }
  for (const at of shapes) startShape(s, at);
  for (const at of records) startRecords(s, at);
  for (const at of spreads) startHourSpread(s, at);
  for (const at of days) startDays(s, at);
  return s;
}

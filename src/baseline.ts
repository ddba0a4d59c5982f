/**
 * Per-entity baselines: for each entity (the event's key, `sensor_id` for the seed's event) and
 * each model feature, an exponentially weighted mean and variance of its own recent values (the
 * plain mean and variance of its first values until their weight falls to `alpha`). An
 * event is judged against its entity's own level and noise: the deviation
 * `z = (x − mean) / sd`, taken before the event is learned.
 *
 * **Flat lines.** A value equal to the entity's previous one is a repeat. Each entity learns how
 * often its values repeat (`p`, a running share with a uniform prior). An entity whose values
 * rarely repeat (`p` below 5 %: a continuous reading) and that has varied for `warmUp` events is
 * judged on a run of `r` repeats too: its chance is `p^r` (`p` as it was when the run began), its
 * flatness the deviation whose two-sided Gaussian tail is that chance, and the event's deviation
 * the larger of the two, at runs of 2, 4, 8, 16 … repeats (a stuck sensor alerts once, then again
 * each time its run doubles). So a sensor stuck inside its normal range is caught after a few
 * equal values, and a run being judged teaches nothing of repeats. Values that often repeat (counts,
 * coarse readings) are not judged for it: a run of them says little.
 *
 * **Time of day and week.** With `season: "daily"` (the default) each entity and feature also
 * keeps a profile of 24 hourly offsets from its level (UTC hours of the event time, learned with
 * weight 0.05): the forecast is level + trend + the hour's offset (Holt–Winters), so a normal
 * daily cycle is neither flagged nor widens the noise that deviations are measured in. An hour not
 * yet seen is forecast with the previous hour's offset (see `hourOffset`), and its first value
 * moves that offset by its error shrunk by the noise (`firstVisitStep`). `season: "weekly"` keeps
 * 168 offsets, one per hour of the week (weekdays apart from weekends, for 7 × the profile's
 * state), each learned with weight 0.35.
 *
 * **Change since the previous event** (per feature, `change`): the difference from the entity's
 * previous value, in the sd of its own differences (an exponentially weighted variance, winsorised
 * as the noise is; its extremes calibrated as the level's). An event is judged on whichever of the
 * level's and the change's calibrated deviations is larger; when the change's is, the alert shows
 * the change's deviation and the value it was measured from as the typical one: the previous
 * value, or, right after an extreme change, the one before it (so the return from a spike is not
 * a second jump).
 *
 * **Recent level** (per feature, `recent`): the running mean of the entity's last few forecast
 * errors (weight {@link RECENT_WEIGHT}, about 5 events; each error winsorised as the noise is),
 * in that mean's own sd, taken from a running median of its square (moving 1 % an event, so a
 * shift lasting tens of events, or anomalies a few percent of the events, barely move it), and
 * never narrower than the sd it would have with independent errors. A shift of a few noise units
 * that lasts is caught within a few events even when no single event stands out. Judged once the
 * entity has seen 5 warm-ups of events, on the larger of it and the level's deviation.
 *
 * **Drift** (every feature): the long-run mean of the entity's forecast errors in its noise (each
 * deviation clipped at 6 sd, weight 1/{@link DRIFT_EVENTS}), in that mean's own spread (the
 * running mean of its square over {@link DRIFT_MEMORY} times as many events). Judged once the
 * entity has that many events behind its warm-up, on the tail of a t of {@link DRIFT_DEGREES}
 * degrees of freedom (its spread is itself an estimate from a few tens of its correlation times).
 * The level follows every value, so its errors average out within tens of events, whatever the
 * noise; errors that keep their sign for hundreds of events (a reading creeping away faster than
 * the level follows: a leak, a filling disk) stand out against the mean's usual wandering. For
 * {@link DRIFT_EVENTS} events after a deviation beyond 6 sd it is not judged: after a step,
 * flagged on its own, the level's catching up is such a bias too.
 *
 * **The day's mean** (every feature, unless `season: "none"`): each entity's values are averaged
 * per UTC day, and the event that opens a new day also judges the day before, against the same
 * weekday's typical mean (`period.ts`); when that decides, `actual` is the day's mean.
 *
 * **Calibration of extremes** (`extremes`). A deviation is measured in the entity's own noise,
 * which assumes its errors are about Gaussian. Some streams spike far out now and then as a matter
 * of course (a load balancer's bursts, counts of rare events idle at 0). With `learn` each entity
 * and feature also counts its own extreme deviations (|z| ≥ 7, in 16 bins up to
 * 200 sd, counts fading over about {@link EXTREME_MEMORY} of its events). The **calibrated
 * deviation** of an event is the deviation whose two-sided Gaussian tail is the chance of a
 * deviation at least as large for that entity: the Gaussian tail itself, or, when the entity has
 * shown deviations in the event's bin or beyond more than once before, their rate (with 100 events
 * of Gaussian prior). A first spike, or a second, is judged as before; a size that has recurred is
 * not rare for that entity, and is not alerted again until it fades from memory. Deviations under
 * 7 sd are never changed. It cannot tell routine spikes from anomalies that are frequent and
 * alike (the seed generator's, 3 % of events): it learns both as normal. With `coarse` (the
 * default) the counts are kept for every entity but judge only an entity whose values repeat the
 * previous one {@link COARSE_REPEATS} of the time or more (coarse or intermittent readings, whose
 * noise estimate means little: between two bursts of a series idle at 0 it shrinks towards 0);
 * an entity with finely varying readings is judged on the Gaussian tail, as with `gaussian`.
 * With `shape`, as with `coarse`, and besides every entity's level deviations are judged by the
 * shape of its own deviations (`shape.ts`: running quantiles on each side, read as Tukey's h
 * distribution), so skewed or heavy-tailed noise alerts near the target rate; a calibrated
 * deviation is never raised by it, only lowered.
 * The alert decision uses the calibrated deviation; the raw one is what an alert shows.
 *
 * **Null tails.** The noise a deviation is measured in is an estimate, so under the null a
 * deviation follows Student's t rather than a Gaussian (`nullDegrees` of freedom for `alpha`, 80
 * at the default 0.02): every calibrated deviation (level, change, recent level) is the Gaussian
 * equivalent of its t tail (`tails.ts`), and flatness is the Gaussian equivalent of its run's
 * chance, so each is judged against the same Gaussian `z*` at the rate it really occurs.
 *
 * State is a few numbers per entity and feature (level, trend, variance, events seen, previous
 * value, run, repeat share and the share when the run began, the hourly offsets, the extremes'
 * counts), bounded by `maxEntities`: the entity seen least recently is evicted first (counted).
 * Updated on the main thread in offset order, so it is the same for any number of workers;
 * exported with its model for checkpoints.
 *
 * @module
 */
import { deviationForRate, erfc, nullDegrees, studentScale } from "./tails.ts";
import { learnShape, SHAPE_SLOTS, shapeDeviation, startShape } from "./shape.ts";
import { addToDay, DAY_SLOTS, startDays } from "./period.ts";

export { deviationForRate, erfc } from "./tails.ts";

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
   * `gaussian`: every deviation is judged in the entity's own noise as if it were Gaussian;
   * `learn`: extreme deviations (≥ 7 sd) are weighed by how often that entity has shown them, so
   * a spike size that keeps recurring stops alerting (see the module doc); `coarse`: `learn` for
   * an entity whose values repeat {@link COARSE_REPEATS} of the time or more, `gaussian` for the
   * others; `shape`: `coarse`, and each entity's level deviations judged by the skew and tail
   * weight of its own (see the module doc), for skewed or heavy-tailed noise. Default: `coarse`.
   */
  extremes?: Extremes;
}

/** Values of {@link BaselineOptions.extremes}. */
export const EXTREMES_MODES = ["coarse", "gaussian", "learn", "shape"] as const;
/** One of {@link EXTREMES_MODES}. */
export type Extremes = typeof EXTREMES_MODES[number];

/** Values of {@link BaselineOptions.season}. */
export const SEASONS = ["daily", "weekly", "none"] as const;
/** One of {@link SEASONS}. */
export type Season = typeof SEASONS[number];

/** Hourly offsets kept per season. */
const HOURS: Record<Season, number> = { daily: 24, weekly: 168, none: 0 };
/**
 * Weight of an hour's update: 0.05 for an hour of the day; an hour of the week is visited 7 times
 * less often, so it learns 7 times faster (the same weight per day of history).
 */
const SEASON_WEIGHT: Record<Season, number> = { daily: 0.05, weekly: 0.35, none: 0 };

/** Lower edges of the bins of extreme deviations (sd); the last one is open. */
const EXTREMES = [7, 8, 10, 13, 16, 20, 25, 32, 40, 50, 64, 80, 100, 130, 160, 200];
/** Events of an entity over which its extremes' counts fade (by e). */
export const EXTREME_MEMORY = 1000;
const FADE = 1 - 1 / EXTREME_MEMORY;
/** Events of Gaussian prior in the calibration of extremes. */
const EXTREME_PRIOR = 100;

/** Events between two refreshes of an entity's recency, with many entities kept. */
const REFRESH = 256;

/**
 * Numbers per entity and feature before the hourly offsets: level, trend, variance, events seen;
 * last value, run, `p` (share of repeats), its updates, `p` when the run began; the drift's mean,
 * mean square and the judged event after its last error beyond {@link CLIP} sd (0: none).
 */
const HEAD = 12;

/** Events over which the drift (the long-run mean of the forecast errors in sd) averages. */
export const DRIFT_EVENTS = 256;
/** The drift's spread is learned over this many times {@link DRIFT_EVENTS} events. */
export const DRIFT_MEMORY = 10;
/**
 * Degrees of freedom of the t tail the drift is judged on. Its spread is learned from about 20
 * of its own correlation times (5,120 events of weight, the mean's square correlated over about
 * 256), so its deviation is t-like, not Gaussian: on its Gaussian tail, Gaussian readings every 5
 * minutes alerted at 1.9 × a 1e-4 target (the drift 0.9 × of it) and 1.3 × the default's. With 40
 * the drift adds 0.15 × at 1e-4 and nothing measurable at the default (30: 0.05 ×).
 */
export const DRIFT_DEGREES = 40;
/** After the offsets: the extremes' counts, and the judged events at their last update. */
const TAIL = EXTREMES.length + 2;

/**
 * Numbers kept per entity and feature with `season`, with the change's (`change`), with the
 * extremes' counts of each (`counts`: extremes other than `gaussian`), with the recent level's
 * (`recent`), with the shape's of its deviations (`shape`: extremes `shape`) and with the day
 * means' (`days`: every season but `none`, `period.ts`).
 */
export function slotsOf(
  season: Season,
  change = false,
  counts = false,
  recent = false,
  shape = false,
  days = season !== "none",
): number {
  const tail = counts ? TAIL : 0;
  return HEAD + HOURS[season] + tail + (change ? 3 + tail : 0) + (recent ? 2 : 0) +
    (shape ? SHAPE_SLOTS : 0) + (days ? DAY_SLOTS : 0);
}

/** Weight of the newest forecast error in the recent level's running mean (about 5 events). */
export const RECENT_WEIGHT = 0.2;
/** Step of the recent level's running median (a factor per event). */
const RECENT_STEP = 0.01;
/** Median of a χ² variable of one degree of freedom: the squared mean's median over its sd². */
const CHI2_MEDIAN = 0.4549;
/** Events of an entity, in warm-ups, before its recent level is judged (the median settles). */
const RECENT_WARM_UPS = 5;

/** Share of repeats under which an entity's runs of repeats are judged. */
const FLAT_MAX_P = 0.05;

/**
 * Share of repeats from which an entity's readings are coarse or intermittent (`coarse`
 * extremes: its extremes are judged by their own recurrence). Gaussian noise read to a
 * resolution `r` repeats about `r / (3.5 σ)` of the time: a quarter means steps of about 0.9 σ,
 * too coarse for a noise estimate to mean much; a series idle at one value most of the time
 * (counts of rare events) repeats far more.
 */
export const COARSE_REPEATS = 0.25;

/**
 * Weight of the trend's update (about 1,000 events), whatever `alpha`. Tied to `alpha` (0.05 of
 * it), a faster level also made a faster trend, which with the daily profile drifted against the
 * offsets over days (Gaussian sensors at `alpha` 0.05: 2.9 × the target rate at 1e-4, 7.7 × at
 * 4.6 sd; with this weight 0.9 × and 0.8 ×). At the default `alpha` (0.02) it is the same.
 */
const TREND_WEIGHT = 0.001;

/** Deviations beyond this many sd are learned as this many (robust level and noise). */
const CLIP = 6;

/** Defaults of {@link BaselineOptions}. */
export const BASELINE_DEFAULTS: Required<BaselineOptions> = {
  alpha: 0.02,
  warmUp: 30,
  maxEntities: 100_000,
  season: "daily",
  change: [],
  recent: [],
  extremes: "coarse",
};

/** Baselines as plain data (for checkpoints): keys, and per key the {@link slotsOf} of each feature. */
export interface BaselineState {
  features: number;
  keys: string[];
  /** Per key, per feature: the {@link slotsOf} numbers. */
  values: number[];
  evicted: number;
}

/**
 * What an event's deviation measures, by its index in {@link BaselineJudgement.basis}: its
 * distance from the forecast (`level`), from the value before it (`change`), the mean of its
 * entity's last few errors (`recent`) or of its last few hundred (`drift`), a run of repeats
 * (`flat`), or the mean of the day it closes against the same weekday's (`day`).
 */
export const BASES = ["level", "change", "recent", "drift", "flat", "day"] as const;
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

function checkOptions(o: Required<BaselineOptions>): void {
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
  const o: Required<BaselineOptions> = { ...BASELINE_DEFAULTS, ...options };
  checkOptions(o);
  const hours = HOURS[o.season];
  const change = Array.from({ length: features }, (_, f) => o.change[f] === true);
  const recent = Array.from({ length: features }, (_, f) => o.recent[f] === true);
  const counts = o.extremes !== "gaussian", tail = counts ? TAIL : 0;
  const countsAlways = o.extremes === "learn";
  const shape = o.extremes === "shape";
  const scale = studentScale(nullDegrees(o.alpha));
  const driftScale = studentScale(DRIFT_DEGREES);
  // Where each feature's numbers start; the stride is an entity's whole record.
  const offsets: number[] = [];
  // Where each feature's recent level's slots start (after its change's), its shape's,
  // and its day means' (the day's mean against the same weekday's, `period.ts`).
  const recentAt: number[] = [], shapeAt: number[] = [], dayAt: number[] = [];
  const days = o.season !== "none";
  let stride = 0;
  for (let f = 0; f < features; f++) {
    offsets.push(stride);
    recentAt.push(stride + slotsOf(o.season, change[f], counts, false, false, false));
    shapeAt.push(stride + slotsOf(o.season, change[f], counts, recent[f], false, false));
    dayAt.push(stride + slotsOf(o.season, change[f], counts, recent[f], shape, false));
    stride += slotsOf(o.season, change[f], counts, recent[f], shape, days);
  }
  // Each record's last number is the tick it was last seen at. Until the map first fills up
  // the order of its entries does not matter, and a visit only writes that tick; at the first
  // eviction the entries are put in recency order once, and from then on insertion order is
  // recency: a visit moves the entity to the end (see REFRESH).
  const entities = new Map<string, Float64Array>();
  let evicted = from?.evicted ?? 0;
  let tick = 0;
  let ordered = false;
  const byRecency = () =>
    [...entities].sort((a, b) => a[1][stride] - b[1][stride]).map(([key]) => key);
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
        ? Math.floor((((ts! % (3600 * hours)) + 3600 * hours) % (3600 * hours)) / 3600)
        : -1;
      tick++;
      let s = entities.get(key);
      if (!s) {
        s = freshSlots(stride, offsets, hours, shape ? shapeAt : [], days ? dayAt : []);
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
          entities.delete(entities.keys().next().value!);
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
        const v = x[f], level = s[at], trend = s[at + 1], variance = s[at + 2], n = s[at + 3];
        // Repeats: the run of values equal to the previous one.
        const repeat = n > 0 && v === s[at + 4];
        const run = repeat ? s[at + 5] + 1 : 0;
        if (runs) runs[f] = Number.isNaN(v) ? NaN : run;
        // Which judgement z[f] is (an index in BASES): the level's unless another decides.
        let by = 0;
        if (basis) basis[f] = 0;
        // The forecast follows the entity's level and its trend (Holt), so a slow cycle (a day's
        // temperature) is not taken for a deviation, plus the hour's offset when it has one.
        const offset = hour < 0 ? 0 : hourOffset(s, at + HEAD, hour, hours);
        const base = n > 1 ? level + trend : level;
        const forecast = base + offset;
        typical[f] = n > 0 ? forecast : NaN;
        if (actual) actual[f] = NaN;
        const warm = n >= o.warmUp && !Number.isNaN(v);
        z[f] = warm ? (v - forecast) / Math.sqrt(variance + 1e-12) : NaN;
        if (calibrated) calibrated[f] = NaN;
        if (Number.isNaN(v)) continue;
        const a = Math.abs(z[f]);
        // The drift learns from the entity's warm-up on; it decides nothing until its spread has
        // seen DRIFT_MEMORY × DRIFT_EVENTS events.
        const drift = warm ? driftScale(judgeDrift(s, at + 9, n - o.warmUp, z[f])) : NaN;
        // Judged on the t tail's Gaussian equivalent: the noise is itself an estimate.
        // With `coarse`, the counts are kept for every entity but judge only one whose values
        // repeat a quarter of the time or more: its noise is no Gaussian's.
        const counted = countsAlways || s[at + 6] >= COARSE_REPEATS;
        let cal = !warm ? NaN : scale(a);
        if (warm && shape) {
          // The entity's own skew and tail weight can only lower the deviation's equivalent.
          cal = Math.min(cal, shapeDeviation(s, shapeAt[f], z[f]));
          learnShape(s, shapeAt[f], z[f]);
        }
        if (warm && counts) {
          const c = calibrateExtreme(s, at + HEAD + hours, n - o.warmUp, a, cal, v - forecast);
          if (counted) cal = c;
        }
        if (change[f] && n > 0) {
          const c = judgeChange(
            s,
            at + HEAD + hours + tail,
            n,
            v,
            s[at + 4],
            o,
            counts,
            counted,
            scale,
          );
          if (c && c.calibrated > cal) {
            z[f] = c.z;
            by = 1;
            typical[f] = c.from;
            cal = c.calibrated;
          }
        }
        if (recent[f] && n > 0) {
          const r = judgeRecent(s, recentAt[f], n, v - forecast, variance, o);
          const rc = scale(r);
          if (rc > cal) {
            z[f] = r;
            by = 2;
            cal = rc;
          }
        }
        if (drift > cal) {
          z[f] = Math.sign(s[at + 9]) * drift;
          by = 3;
          cal = drift;
        }
        // The day this event closes, if it does: its mean against the same weekday's.
        const day = days ? addToDay(s, dayAt[f], v, ts!) : undefined;
        if (day && day.calibrated > cal) {
          z[f] = day.z;
          by = 5;
          typical[f] = day.typical;
          if (actual) actual[f] = day.mean;
          cal = day.calibrated;
        }
        const flat = learnRepeats(s, at, n, v, run, o.alpha, o.warmUp);
        if (warm && flat > Math.abs(z[f])) {
          if (by === 5) {
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
        if (n === 0) s[at] = v;
        else {
          // The noise is winsorised: once warm, a value far out widens it as one 6 sd away
          // would, so anomalies do not hide the next ones; the level follows every value, so a
          // lasting shift becomes the new normal.
          const d = v - forecast;
          // A new entity's level and noise start as the plain mean and variance of its first
          // values (weight 1/n until that falls to alpha), so its noise is not underestimated
          // when it is first judged.
          const weight = Math.max(o.alpha, 1 / (n + 1));
          const next = base + weight * d;
          s[at + 1] = n > 1 ? trend + TREND_WEIGHT * (next - level - trend) : 0;
          s[at] = next;
          s[at + 2] = winsorisedVariance(variance, d, n >= o.warmUp, weight);
        }
        if (hour >= 0) {
          // The hour's offset from the level it left, learned with the season's weight; its
          // first visit starts from the previous hour's offset (see hourOffset).
          const h = at + HEAD + hour, e = v - s[at] - offset;
          s[h] = offset +
            (Number.isNaN(s[h]) ? firstVisitStep(e, variance) : SEASON_WEIGHT[o.season] * e);
        }
        s[at + 3] = n + 1;
      }
    },
    state() {
      const keys = ordered ? [...entities.keys()] : byRecency();
      const values: number[] = [];
      for (const k of keys) values.push(...entities.get(k)!.subarray(0, stride));
      return { features, keys, values, evicted };
    },
  };
}

/**
 * The offset of `hour` in the offsets at `s[at …]`; before the hour's first visit, with a weekly
 * profile the same hour of the day before, else the previous hour's (0 when none is known): a
 * day's shape is smooth and mostly repeats.
 */
function hourOffset(s: Float64Array, at: number, hour: number, hours: number): number {
  const own = s[at + hour];
  if (!Number.isNaN(own)) return own;
  if (hours > 24) {
    const dayBefore = s[at + (hour + hours - 24) % hours];
    if (!Number.isNaN(dayBefore)) return dayBefore;
  }
  const previous = s[at + (hour + hours - 1) % hours];
  return Number.isNaN(previous) ? 0 : previous;
}

/**
 * How far an hour's first visit moves its offset from the previous hour's, after the error `e` of
 * one value against a noise of `variance`: `e` shrunk by `variance / e²` (positive-part
 * James–Stein), so an error within the noise moves it not at all and one far beyond nearly all
 * the way (a steep daily shape is followed at once).
 */
function firstVisitStep(e: number, variance: number): number {
  const e2 = e * e;
  return e2 > variance ? e - variance / e : 0;
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
  days: readonly number[],
): Float64Array {
  const s = new Float64Array(stride + 1);
  for (const at of offsets) s.fill(NaN, at + HEAD, at + HEAD + hours);
  for (const at of shapes) startShape(s, at);
  for (const at of days) startDays(s, at);
  return s;
}

/**
 * Judges then learns the change of value `v` of an entity with `n` events, whose previous value
 * is `previous` and whose change slots start at `s[at]`: the changes' variance, the value the
 * last change was measured from, whether that change was extreme (beyond {@link CLIP} sd), then
 * with `counts` the extremes' counts (which judge it when `counted`). A change is measured from the
 * previous value, or, right after an extreme change, from the value that one was measured from:
 * the return from a spike is not a second jump, and a lasting step is judged twice before it is
 * the new reference.
 * Returns its deviation, calibrated deviation and reference once the entity is warm.
 */
function judgeChange(
  s: Float64Array,
  at: number,
  n: number,
  v: number,
  previous: number,
  o: Required<BaselineOptions>,
  counts: boolean,
  counted: boolean,
  scale: (z: number) => number,
): { z: number; calibrated: number; from: number } | undefined {
  const variance = s[at], sd = Math.sqrt(variance + 1e-12);
  const afterExtreme = n > 1 && s[at + 2] === 1;
  const from = afterExtreme ? s[at + 1] : previous;
  const d = v - from, warm = n >= o.warmUp;
  let judged: { z: number; calibrated: number; from: number } | undefined;
  if (warm) {
    const z = d / sd, a = Math.abs(z);
    const equivalent = scale(a);
    const learned = counts
      ? calibrateExtreme(s, at + 3, n - o.warmUp, a, equivalent, d)
      : equivalent;
    judged = { z, calibrated: counted ? learned : equivalent, from };
  }
  s[at + 1] = from;
  s[at + 2] = !afterExtreme && warm && Math.abs(d) > CLIP * sd ? 1 : 0;
  s[at] = n === 1 ? d * d : winsorisedVariance(variance, d, warm, o.alpha);
  return judged;
}

/**
 * Judges then learns forecast error `d` of an entity with `n` events and noise `variance` into
 * its recent level's slots: `s[at]`, the errors' running mean, and `s[at + 1]`, the running
 * median of that mean's square. Returns the mean's deviation once the entity has seen
 * {@link RECENT_WARM_UPS} warm-ups of events, else NaN (which never decides).
 */
function judgeRecent(
  s: Float64Array,
  at: number,
  n: number,
  d: number,
  variance: number,
  o: Required<BaselineOptions>,
): number {
  const sd = Math.sqrt(variance + 1e-12);
  const error = n >= o.warmUp ? Math.max(-CLIP * sd, Math.min(CLIP * sd, d)) : d;
  const mean = s[at] + RECENT_WEIGHT * (error - s[at]);
  // The mean's variance were the errors independent: where the median starts, and the least
  // the mean's variance is taken to be (errors that alternate do not make it narrower).
  const independent = (variance + 1e-12) * RECENT_WEIGHT / (2 - RECENT_WEIGHT);
  const median = n <= o.warmUp ? CHI2_MEDIAN * independent : s[at + 1];
  const spread = Math.max(median / CHI2_MEDIAN, independent);
  const judged = n >= RECENT_WARM_UPS * o.warmUp ? mean / Math.sqrt(spread) : NaN;
  s[at] = mean;
  s[at + 1] = median * (mean * mean > median ? 1 + RECENT_STEP : 1 / (1 + RECENT_STEP));
  return judged;
}

/**
 * Judges then learns deviation `z` of an entity's `judged`-th judged event into its drift slots:
 * `s[at]`, the running mean of its deviations (clipped at {@link CLIP} sd), `s[at + 1]`, the
 * running mean of that mean's square, and `s[at + 2]`, one after the last event whose deviation
 * was beyond CLIP sd. Returns the mean's deviation in its own spread, once `judged` has reached
 * {@link DRIFT_MEMORY} × {@link DRIFT_EVENTS} and no deviation beyond CLIP sd came in the last
 * {@link DRIFT_EVENTS} events, else NaN (which never decides).
 */
function judgeDrift(s: Float64Array, at: number, judged: number, z: number): number {
  const mean = s[at] + (Math.max(-CLIP, Math.min(CLIP, z)) - s[at]) / DRIFT_EVENTS;
  const square = s[at + 1];
  if (Math.abs(z) >= CLIP) s[at + 2] = judged + 1;
  // After an error beyond CLIP sd (a step, flagged on its own) the level's catching up is a run
  // of same-signed errors too: not judged for DRIFT_EVENTS events.
  const quiet = s[at + 2] === 0 || judged + 1 - s[at + 2] > DRIFT_EVENTS;
  const judgement = judged >= DRIFT_MEMORY * DRIFT_EVENTS && square > 0 && quiet
    ? Math.abs(mean) / Math.sqrt(square)
    : NaN;
  s[at] = mean;
  s[at + 1] = square +
    Math.max(1 / (DRIFT_MEMORY * DRIFT_EVENTS), 1 / (judged + 1)) * (mean * mean - square);
  return judgement;
}

/**
 * The exponentially weighted variance after error `d`; once `warm`, an error beyond {@link CLIP}
 * sd counts as one of CLIP sd, so a far-out value does not widen the noise the next are judged in.
 */
function winsorisedVariance(variance: number, d: number, warm: boolean, alpha: number): number {
  const sd = Math.sqrt(variance + 1e-12);
  const clipped = warm ? Math.max(-CLIP * sd, Math.min(CLIP * sd, d)) : d;
  return (1 - alpha) * (variance + alpha * clipped * clipped);
}

/** The bin of extreme deviation `a` (−1 under the first edge). */
function extremeBin(a: number): number {
  let b = -1;
  while (b + 1 < EXTREMES.length && a >= EXTREMES[b + 1]) b++;
  return b;
}

/**
 * The calibrated deviation of absolute deviation `a`, whose Gaussian equivalent under the null is
 * `equivalent` (see the module doc), the `judged`-th judged event of its entity, whose extremes'
 * counts are `s[at …]` (then the judged count at their last update, then the mean square of the
 * entity's errors); then counts it when it is extreme. `d` is the event's error: it is learned
 * into that mean square, and an extreme's bin is the smaller of `a` and `|d|` in its root. Under
 * the first edge, `equivalent`.
 */
export function calibrateExtreme(
  s: Float64Array,
  at: number,
  judged: number,
  a: number,
  equivalent: number,
  d: number,
): number {
  // The size of an extreme is measured in the sd of all the entity's errors over the extremes'
  // memory, bursts included: the noise between bursts of an idle series shrinks towards 0, so
  // in it every burst would be as many sd as the largest bin.
  const slowAt = at + EXTREMES.length + 1, slow = s[slowAt];
  if (Number.isFinite(d)) {
    s[slowAt] = slow + Math.max(1 / EXTREME_MEMORY, 1 / (judged + 1)) * (d * d - slow);
  }
  if (a < EXTREMES[0]) return equivalent;
  const size = slow > 0 && Number.isFinite(d) ? Math.abs(d) / Math.sqrt(slow) : a;
  const b = Math.max(0, extremeBin(Math.min(a, size)));
  const last = at + EXTREMES.length;
  const fade = Math.pow(FADE, judged - s[last]);
  let count = 0;
  for (let k = b; k < EXTREMES.length; k++) count += s[at + k];
  count *= fade;
  // Judged events so far, fading as the counts do; a recurrence is one beyond the first.
  const seen = (1 - Math.pow(FADE, judged)) / (1 - FADE);
  const gaussian = erfc(equivalent / Math.SQRT2);
  const rate = (Math.max(0, count - 1) + EXTREME_PRIOR * gaussian) / (seen + EXTREME_PRIOR);
  for (let k = 0; k < EXTREMES.length; k++) s[at + k] *= fade;
  s[at + b]++;
  s[last] = judged;
  return rate > gaussian ? Math.min(equivalent, deviationForRate(Math.min(rate, 0.5))) : equivalent;
}

/**
 * Learns one event's repeat (or change) into feature slots `s[at …]` and returns the flatness of
 * the run it ends or continues (0 when it is not judged).
 */
function learnRepeats(
  s: Float64Array,
  at: number,
  n: number,
  v: number,
  run: number,
  alpha: number,
  warmUp: number,
): number {
  if (run === 1) s[at + 8] = s[at + 7] >= warmUp ? s[at + 6] : 1;
  const p0 = s[at + 8];
  const judged = run >= 2 && p0 < FLAT_MAX_P;
  if (n === 0) s[at + 6] = 0.5;
  else if (!judged) {
    s[at + 7]++;
    s[at + 6] += Math.max(alpha, 1 / (s[at + 7] + 2)) * ((run > 0 ? 1 : 0) - s[at + 6]);
  }
  s[at + 4] = v;
  s[at + 5] = run;
  // Judged at runs of 2, 4, 8, 16 … repeats: a stuck sensor alerts once, then as it stays stuck.
  return judged && (run & (run - 1)) === 0 ? flatness(run, p0) : 0;
}

/** Flatness of a run of `run` repeats of chance `p` each: the deviation of `p^run`'s tail. */
export function flatness(run: number, p: number): number {
  const chance = Math.pow(Math.max(p, 1e-12), run);
  return chance >= 0.5 ? 0 : deviationForRate(Math.max(chance, 1e-300));
}

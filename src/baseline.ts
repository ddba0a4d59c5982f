/**
 * Per-entity baselines: for each entity (the event's key, `sensor_id` for the seed's event) and
 * each model feature, an exponentially weighted mean and variance of its own recent values. An
 * event is judged against its entity's own level and noise: the deviation
 * `z = (x − mean) / sd`, taken before the event is learned.
 *
 * **Flat lines.** A value equal to the entity's previous one is a repeat. Each entity learns how
 * often its values repeat (`p`, a running share with a uniform prior). An entity whose values
 * rarely repeat (`p` below 1 %: a continuous reading) and that has varied for `warmUp` events is
 * judged on a run of `r` repeats too: its chance is `p^r` (`p` as it was when the run began), its
 * flatness the deviation whose two-sided Gaussian tail is that chance, and the event's deviation
 * the larger of the two, at runs of 2, 4, 8, 16 … repeats (a stuck sensor alerts once, then again
 * each time its run doubles). So a sensor stuck inside its normal range is caught after a few
 * equal values, and a run being judged teaches nothing of repeats. Values that often repeat (counts,
 * coarse readings) are not judged for it: a run of them says little.
 *
 * **Time of day.** With `season: "daily"` (the default) each entity and feature also keeps a
 * profile of 24 hourly offsets from its level (UTC hours of the event time, learned with weight
 * 0.05, the first visit of an hour taking its value at once): the forecast is level + trend + the
 * hour's offset (Holt–Winters), so a normal daily cycle is neither flagged nor widens the noise
 * that deviations are measured in.
 *
 * State is a few numbers per entity and feature (level, trend, variance, events seen, previous
 * value, run, repeat share and the share when the run began, the 24 hourly offsets), bounded by
 * `maxEntities`: the entity seen least recently is evicted first (counted). Updated on the main
 * thread in offset order, so it is the same for any number of workers; exported with its model
 * for checkpoints.
 *
 * @module
 */

/** Options of {@link createBaselines}. */
export interface BaselineOptions {
  /** Weight of the newest value in the running mean and variance. Default: 0.02 (~50 events). */
  alpha?: number;
  /** Events an entity needs before its deviations count. Default: 30. */
  warmUp?: number;
  /** Entities kept at most; the least recently seen is evicted. Default: 100,000. */
  maxEntities?: number;
  /** A profile by hour of day in the forecast (`daily`) or none. Default: `daily`. */
  season?: "daily" | "none";
}

/** Values of {@link BaselineOptions.season}. */
export const SEASONS = ["daily", "none"] as const;

/** Hours in the daily profile, and the weight of an hour's update. */
const HOURS = 24;
const SEASON_WEIGHT = 0.05;

/** Events between two refreshes of an entity's recency, with many entities kept. */
const REFRESH = 256;

/**
 * Numbers per entity and feature: level, trend, variance, events seen; last value, run, `p` (share
 * of repeats), its updates, `p` when the run began.
 */
const SLOTS = 9 + HOURS;

/** Share of repeats under which an entity's runs of repeats are judged. */
const FLAT_MAX_P = 0.01;

/** Weight of the trend's update, relative to the level's. */
const TREND = 0.05;

/** Deviations beyond this many sd are learned as this many (robust level and noise). */
const CLIP = 6;

/** Defaults of {@link BaselineOptions}. */
export const BASELINE_DEFAULTS = {
  alpha: 0.02,
  warmUp: 30,
  maxEntities: 100_000,
  season: "daily",
} as const;

/** Baselines as plain data (for checkpoints): keys, and per key `33·features` numbers. */
export interface BaselineState {
  features: number;
  keys: string[];
  /** Per key, per feature: the 33 numbers of {@link SLOTS}' order. */
  values: number[];
  evicted: number;
}

/** The baselines of one model. */
export interface Baselines {
  /** Entities kept. */
  readonly size: number;
  /** Entities evicted so far. */
  readonly evicted: number;
  /**
   * Judges then learns `x` (one value per feature, NaN = absent) of entity `key`: writes each
   * feature's deviation to `z` (NaN while the entity warms up or the feature is absent; the
   * larger of the level's and the flatness's), its typical value (the forecast before this
   * event) to `typical`, and, when given, its run of repeated values to `run`. `ts` (Unix
   * seconds) places the event in the daily profile; without it the profile is not used.
   */
  judgeLearn(
    key: string,
    x: ArrayLike<number>,
    z: Float64Array,
    typical: Float64Array,
    run?: Float64Array,
    ts?: number,
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
  const o = { ...BASELINE_DEFAULTS, ...options };
  checkOptions(o);
  const stride = SLOTS * features;
  // Insertion order is recency: an entity seen is moved to the end.
  const entities = new Map<string, Float64Array>();
  let evicted = from?.evicted ?? 0;
  let tick = 0;
  if (from) {
    if (from.features !== features) {
      throw new RangeError(`baseline state has ${from.features} features, expected ${features}`);
    }
    from.keys.forEach((k, i) => {
      const s = new Float64Array(stride + 1);
      // A checkpoint's JSON writes NaN (an hour not seen yet) as null.
      for (let k = 0; k < stride; k++) s[k] = from.values[i * stride + k] ?? NaN;
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
    judgeLearn(key, x, z, typical, runs, ts) {
      const hour = o.season === "daily" && Number.isFinite(ts)
        ? Math.floor((((ts! % 86_400) + 86_400) % 86_400) / 3600)
        : -1;
      tick++;
      let s = entities.get(key);
      if (!s) {
        s = freshSlots(stride, features);
        if (entities.size >= o.maxEntities) {
          entities.delete(entities.keys().next().value!);
          evicted++;
        }
        entities.set(key, s);
        s[stride] = tick;
      } else if (tick - s[stride] >= Math.min(REFRESH, entities.size)) {
        // Recency is kept by re-inserting: exact while fewer entities than REFRESH are kept,
        // else at most once every REFRESH events per entity.
        entities.delete(key);
        entities.set(key, s);
        s[stride] = tick;
      }
      for (let f = 0; f < features; f++) {
        const at = SLOTS * f;
        const v = x[f], level = s[at], trend = s[at + 1], variance = s[at + 2], n = s[at + 3];
        // Repeats: the run of values equal to the previous one.
        const repeat = n > 0 && v === s[at + 4];
        const run = repeat ? s[at + 5] + 1 : 0;
        if (runs) runs[f] = Number.isNaN(v) ? NaN : run;
        // The forecast follows the entity's level and its trend (Holt), so a slow cycle (a day's
        // temperature) is not taken for a deviation, plus the hour's offset when it has one.
        const offset = hour >= 0 && !Number.isNaN(s[at + 9 + hour]) ? s[at + 9 + hour] : 0;
        const base = n > 1 ? level + trend : level;
        const forecast = base + offset;
        typical[f] = n > 0 ? forecast : NaN;
        z[f] = n >= o.warmUp && !Number.isNaN(v)
          ? (v - forecast) / Math.sqrt(variance + 1e-12)
          : NaN;
        if (Number.isNaN(v)) continue;
        const flat = learnRepeats(s, at, n, v, run, o.alpha, o.warmUp);
        if (n >= o.warmUp && flat > Math.abs(z[f])) z[f] = flat;
        if (n === 0) s[at] = v;
        else {
          // The noise is winsorised: once warm, a value far out widens it as one 6 sd away
          // would, so anomalies do not hide the next ones; the level follows every value, so a
          // lasting shift becomes the new normal.
          const d = v - forecast, sd = Math.sqrt(variance + 1e-12);
          const clipped = n >= o.warmUp ? Math.max(-CLIP * sd, Math.min(CLIP * sd, d)) : d;
          const next = base + o.alpha * d;
          s[at + 1] = n > 1 ? trend + o.alpha * TREND * (next - level - trend) : 0;
          s[at] = next;
          s[at + 2] = (1 - o.alpha) * (variance + o.alpha * clipped * clipped);
        }
        if (hour >= 0) {
          // The hour's offset from the level it left: its first visit takes it at once.
          const h = at + 9 + hour, seen = !Number.isNaN(s[h]);
          s[h] = seen ? s[h] + SEASON_WEIGHT * (v - s[at] - s[h]) : v - s[at];
        }
        s[at + 3] = n + 1;
      }
    },
    state() {
      const keys = [...entities.keys()];
      const values: number[] = [];
      for (const k of keys) values.push(...entities.get(k)!.subarray(0, stride));
      return { features, keys, values, evicted };
    },
  };
}

/** The slots of a new entity: zeros, its hourly offsets unknown (NaN). */
function freshSlots(stride: number, features: number): Float64Array {
  const s = new Float64Array(stride + 1);
  for (let f = 0; f < features; f++) s.fill(NaN, SLOTS * f + 9, SLOTS * f + 9 + HOURS);
  return s;
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

/** The deviation, in standard deviations, at which a two-sided Gaussian tail is `rate`. */
export function deviationForRate(rate: number): number {
  if (!(rate > 0 && rate < 1)) throw new RangeError(`rate must be in (0, 1), got ${rate}`);
  // Bisection on the tail 2·Q(z) = erfc(z/√2), decreasing in z.
  let lo = 0, hi = 40;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (erfc(mid / Math.SQRT2) > rate) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The complementary error function (Numerical Recipes' erfcc, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(
    -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                  t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                                  t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? r : 2 - r;
}

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
 * State is a few numbers per entity and feature (level, trend, variance, events seen, previous
 * value, run, repeat share and the share when the run began), bounded by
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
}

/** Events between two refreshes of an entity's recency, with many entities kept. */
const REFRESH = 256;

/**
 * Numbers per entity and feature: level, trend, variance, events seen; last value, run, `p` (share
 * of repeats), its updates, `p` when the run began.
 */
const SLOTS = 9;

/** Share of repeats under which an entity's runs of repeats are judged. */
const FLAT_MAX_P = 0.01;

/** Weight of the trend's update, relative to the level's. */
const TREND = 0.05;

/** Deviations beyond this many sd are learned as this many (robust level and noise). */
const CLIP = 6;

/** Defaults of {@link BaselineOptions}. */
export const BASELINE_DEFAULTS = { alpha: 0.02, warmUp: 30, maxEntities: 100_000 } as const;

/** Baselines as plain data (for checkpoints): keys, and per key `9·features` numbers. */
export interface BaselineState {
  features: number;
  keys: string[];
  /** Per key, per feature: the 9 numbers of {@link SLOTS}' order. */
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
   * event) to `typical`, and, when given, its run of repeated values to `run`.
   */
  judgeLearn(
    key: string,
    x: ArrayLike<number>,
    z: Float64Array,
    typical: Float64Array,
    run?: Float64Array,
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
      s.set(from.values.slice(i * stride, (i + 1) * stride));
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
    judgeLearn(key, x, z, typical, runs) {
      tick++;
      let s = entities.get(key);
      if (!s) {
        s = new Float64Array(stride + 1);
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
        // temperature) is not taken for a deviation.
        const forecast = n > 1 ? level + trend : level;
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
          const next = forecast + o.alpha * d;
          s[at + 1] = n > 1 ? trend + o.alpha * TREND * (next - level - trend) : 0;
          s[at] = next;
          s[at + 2] = (1 - o.alpha) * (variance + o.alpha * clipped * clipped);
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

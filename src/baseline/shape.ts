/**
 * The shape of an entity's deviations: how far its errors really reach on each side, so that a
 * deviation can be judged at the rate it occurs for that entity when its noise is skewed or
 * heavy-tailed (latencies, CPU, counts), not only when it is Gaussian.
 *
 * A deviation `z` is measured in the entity's noise sd. If the noise is Gaussian, `|z|` is already
 * its own Gaussian equivalent; if it is skewed (log-normal) or heavy-tailed (Student's t, Laplace),
 * large `|z|` are far more common, and an alert threshold set for a Gaussian tail fires hundreds
 * of times more often than its target (measured by `deno task bench calibration`). This module
 * keeps seven running quantiles of the entity's `z` — the median, and on each side the
 * {@link SHAPE_INNER}, {@link SHAPE_OUTER} and {@link SHAPE_FAR} quantiles — and reads each side as
 * Tukey's *h* distribution, `z = m ± A·N·exp(h·N²/2)` with `N` standard normal: the inner and outer
 * quantiles of a side give its scale `A` and tail weight `h ≥ 0` (never lighter than Gaussian; less
 * the estimate's own noise, {@link SHAPE_TAIL_NOISE}), raised towards the far quantile's where the
 * bulk is clearly heavy-tailed ({@link tailWeight}), and a deviation's
 * **Gaussian equivalent** is the `N` it maps to (Lambert's W). For Gaussian noise `h ≈ 0`, `A ≈ 1`
 * and the equivalent is `|z|`.
 *
 * The quantiles follow the entity by stochastic approximation, each step scaled by the Gaussian
 * density at its level so that each forgets over about {@link SHAPE_MEMORY} events. Quantiles of
 * the bulk, not the extremes, are what is learned, so a few anomalies barely move them, but
 * anomalies that are a few percent of an entity's events do make its tail heavier (they are then
 * what that entity does).
 *
 * An entity's shape takes thousands of its events to learn, though its first steps are larger
 * ({@link SHAPE_START}); until then (Gaussian at first) a heavy-tailed entity alerts at tens to
 * hundreds of times its target. So each feature also pools the deviations of its entities whose
 * noise estimate is mature ({@link learnPool}): many entities give in hundreds of events each what
 * one gives in thousands. A young entity is judged like them, less so as it learns its own shape
 * ({@link youngShapeDeviation}).
 *
 * State: {@link SHAPE_SLOTS} numbers per entity and feature, in a `Float64Array`, and
 * {@link POOL_SLOTS} per feature for the pool; pure functions.
 *
 * @module
 */
import { deviationForRate } from "../tails.ts";

/** Numbers kept per entity and feature: the median, then the inner, outer and far quantiles of
 * the lower side, then of the upper side. */
export const SHAPE_SLOTS = 7;
/** The inner quantile of each side (and its mirror, 1 − it). */
export const SHAPE_INNER = 0.9;
/** The outer quantile of each side (and its mirror). */
export const SHAPE_OUTER = 0.995;
/**
 * The far quantile of each side (and its mirror): where the tail beyond the bulk is read
 * ({@link tailWeight}). Student-t (5) and Laplace noise have about the same outer over inner
 * quantile; beyond the outer one t (5)'s tail is much the heavier, and read from the bulk alone it
 * alerted at 6.3 × the default target (`deno task bench calibration`).
 */
export const SHAPE_FAR = 0.999;
/**
 * The bulk's tail weight (its `h` less {@link SHAPE_TAIL_NOISE}) above which the far quantile is
 * believed ({@link tailWeight}): about 8 sd of the estimate's noise under Gaussian noise (the sd is
 * 0.0106). A far tail heavier than a near-Gaussian bulk predicts is rare outliers on ordinary noise,
 * which are what an alert is for: 5-sd spikes on 0.16 % of a sensor's readings put its 0.999
 * quantile near 5 sd, and read as its noise's tail they were no longer caught (`bench multi`:
 * spikes reaching 5 sd caught, seeds 1–7, raised up to 2 ×: 270 → 259 of 312 with any bulk, 267
 * above 0.03, 270 above 0.05).
 */
export const HEAVY_BULK = 0.05;
/**
 * How far the far tail may raise a side's tail weight: to this many times the bulk's. With their
 * exact quantiles Student's t of 3 to 5 degrees of freedom need 1.3–1.45 × (t (5): 0.093 from the
 * bulk less its margin, 0.135 from the far pair); no more is allowed, as the far quantile rests on a
 * few events of each memory, and a daily turn a profile does not fit (an error of 4–5 sd once a
 * day) sits about there too: at 2 ×, NAB's `art_daily_jumpsup`, whose shape turns at 9:00 each
 * day, judged its jump of 11.6 sd at 4.35 and missed it at a 1e-5 target.
 */
export const FAR_RAISE = 1.5;
/** Events over which the quantiles forget (each step scaled by the Gaussian density there). */
export const SHAPE_MEMORY = 3000;
/**
 * The faster start: an entity's quantiles learn with {@link startGain} `= SHAPE_MEMORY / (age +
 * SHAPE_START)` times the steps at its `age`-th deviation (3 × at first, 1 × from its 2,000th),
 * and the margin for the estimate's noise ({@link SHAPE_TAIL_NOISE}) is widened by the same
 * factor. With the steps fixed from the first, a quantile learned from a Gaussian start still
 * leaned toward it after two memories: lone Laplace entities (each its own model, as a NAB file
 * is) alerted at 23.6 × a 1e-4 target over their events 1,000–3,000 and at 6.1 × over their next
 * 3,000 (Gaussian noise: 0.9 ×).
 */
export const SHAPE_START = SHAPE_MEMORY / 3;

/**
 * Tail weight read as Gaussian: the `h` a side's quantiles give, less this, floored at 0. Under
 * Gaussian noise the estimate of `h` from {@link SHAPE_MEMORY} events has an sd of 0.0106
 * (measured over 200 entities of 30,000 events; 99 % of estimates under 0.0244): this is three
 * of those, so Gaussian noise is judged as Gaussian. It also tempers the extrapolation of a tail
 * from its 0.995 quantile to the rates alerts are set at (1e-4 to 5e-6), which overstates how
 * often Laplace, log-normal and exponential noise reach that far (`deno task bench calibration`).
 */
export const SHAPE_TAIL_NOISE = 0.03;

/** Standard normal deviates of the inner, outer and far quantiles. */
const N1 = deviationForRate(2 * (1 - SHAPE_INNER));
const N2 = deviationForRate(2 * (1 - SHAPE_OUTER));
const N3 = deviationForRate(2 * (1 - SHAPE_FAR));
/** `ln(N2 / N1)` and `N2² − N1²`: a Gaussian side's log spread of its quantiles, and `h`'s divisor. */
const LOG_SPREAD = Math.log(N2 / N1), SQUARES = N2 * N2 - N1 * N1;
/** The same of the outer and far quantiles. */
const FAR_LOG_SPREAD = Math.log(N3 / N2), FAR_SQUARES = N3 * N3 - N2 * N2;
const density = (n: number) => Math.exp(-n * n / 2) / Math.sqrt(2 * Math.PI);
/** Step sizes: a quantile moves `step·p` up or `step·(1 − p)` down per event. */
const STEP_MEDIAN = 1 / (SHAPE_MEMORY * density(0));
const STEP_INNER = 1 / (SHAPE_MEMORY * density(N1));
const STEP_OUTER = 1 / (SHAPE_MEMORY * density(N2));
const STEP_FAR = 1 / (SHAPE_MEMORY * density(N3));

/**
 * The factor of a shape's steps and of its margin at its `age`-th learned deviation: 3 at the
 * first, falling to 1 at the 2,000th ({@link SHAPE_START}); 1 for `age` unknown (`Infinity`).
 */
export function startGain(age: number): number {
  return Math.max(1, SHAPE_MEMORY / (Math.max(0, age) + SHAPE_START));
}

/** Writes a Gaussian shape (median 0, the quantiles of N(0, 1)) at `s[at …]`. */
export function startShape(s: Float64Array, at: number): void {
  s[at] = 0;
  s[at + 1] = -N1;
  s[at + 2] = -N2;
  s[at + 3] = -N3;
  s[at + 4] = N1;
  s[at + 5] = N2;
  s[at + 6] = N3;
}

/**
 * The tail weight `h ≥ 0` of a side whose inner, outer and far quantiles lie `inner`, `outer` and
 * `far` from the median, learned from `age` deviations: the bulk's, from the inner and outer
 * quantiles less {@link SHAPE_TAIL_NOISE} (times {@link startGain}); where that is above
 * {@link HEAVY_BULK} and the far quantile lies beyond the outer, raised to the far tail's own (from
 * the outer and far quantiles), at most to {@link FAR_RAISE} times the bulk's. Never lowered by the
 * far tail: a lighter one (Laplace's, the exponential's) keeps the bulk's, and such noise alerts
 * somewhat under its target (0.5–0.6 ×), as before.
 */
export function tailWeight(inner: number, outer: number, far: number, age = Infinity): number {
  const bulk = Math.max(
    0,
    2 * (Math.log(outer / inner) - LOG_SPREAD) / SQUARES - SHAPE_TAIL_NOISE * startGain(age),
  );
  if (!(bulk > HEAVY_BULK && far > outer)) return bulk;
  const beyond = 2 * (Math.log(far / outer) - FAR_LOG_SPREAD) / FAR_SQUARES;
  return Math.min(FAR_RAISE * bulk, Math.max(bulk, beyond));
}

/**
 * The Gaussian equivalent of deviation `z` under the shape at `s[at …]`, learned from `age`
 * deviations (its margin for the estimate's noise is {@link startGain} times
 * {@link SHAPE_TAIL_NOISE}; `Infinity`, the default: 1 ×): the standard normal deviate at the same
 * tail on `z`'s side of the median. `|z|` when the side's quantiles are not ordered (not learned
 * yet). With `atMost`, the lesser of it and the equivalent: Lambert's W, most of the cost, is then
 * skipped where the equivalent is clearly no less (the same number as `Math.min` would give).
 */
export function shapeDeviation(
  s: Float64Array,
  at: number,
  z: number,
  age = Infinity,
  atMost = Infinity,
): number {
  const m = s[at], up = z >= m;
  const inner = up ? s[at + 4] - m : m - s[at + 1];
  const outer = up ? s[at + 5] - m : m - s[at + 2];
  if (!(inner > 0 && outer > inner)) return Math.min(atMost, Math.abs(z));
  const h = tailWeight(inner, outer, up ? s[at + 6] - m : m - s[at + 3], age);
  const scale = inner / (N1 * Math.exp(h * N1 * N1 / 2));
  const r = Math.abs(z - m) / scale;
  if (h < 1e-9) return Math.min(atMost, r);
  // r = N·exp(h·N²/2) increases with N: an r beyond atMost's image (with a margin far above W's
  // error; W's argument far from underflow) maps to an equivalent above atMost.
  if (atMost > 1e-100 && r > atMost * Math.exp(h * atMost * atMost / 2) * BOUND_MARGIN) {
    return atMost;
  }
  // r = N·exp(h·N²/2)  ⇔  h·N² = W(h·r²).
  return Math.min(atMost, Math.sqrt(lambertW(h * r * r) / h));
}

/**
 * How far beyond `atMost`'s image an `r` must lie to skip W: 10⁻⁹, so the equivalent is above
 * `atMost` by at least 7·10⁻¹³ relatively (where `exp` does not overflow), against W's 2·10⁻¹⁵.
 */
const BOUND_MARGIN = 1 + 1e-9;

/**
 * Learns deviation `z`, the shape's `age`-th, into the shape at `s[at …]` (one step of each
 * quantile, {@link startGain} times the memory's; `Infinity`, the default: 1 ×).
 */
export function learnShape(s: Float64Array, at: number, z: number, age = Infinity): void {
  const g = startGain(age);
  s[at] += g * STEP_MEDIAN * (z > s[at] ? 0.5 : -0.5);
  s[at + 1] += g * STEP_INNER * (z < s[at + 1] ? -SHAPE_INNER : 1 - SHAPE_INNER);
  s[at + 2] += g * STEP_OUTER * (z < s[at + 2] ? -SHAPE_OUTER : 1 - SHAPE_OUTER);
  s[at + 3] += g * STEP_FAR * (z < s[at + 3] ? -SHAPE_FAR : 1 - SHAPE_FAR);
  s[at + 4] += g * STEP_INNER * (z > s[at + 4] ? SHAPE_INNER : -(1 - SHAPE_INNER));
  s[at + 5] += g * STEP_OUTER * (z > s[at + 5] ? SHAPE_OUTER : -(1 - SHAPE_OUTER));
  s[at + 6] += g * STEP_FAR * (z > s[at + 6] ? SHAPE_FAR : -(1 - SHAPE_FAR));
}

/**
 * Numbers of a feature's pooled shape ({@link startPool}): the seven quantiles of the deviations of
 * its entities, then how many deviations it has learned.
 */
export const POOL_SLOTS = SHAPE_SLOTS + 1;
/** Deviations a pooled shape learns before it judges young entities. */
export const POOL_READY = 1000;
/**
 * Deviations beyond this many sd are not learned by a pooled shape: it reads the bulk's tail
 * (its outer quantiles lie at 2.6 sd for Gaussian noise, 3.1–4.3 for Student-t (5), Laplace and
 * exponential noise), and anomalies of 5 sd or more that are a few percent of the entities' events
 * would otherwise become every newcomer's tail (the example payments' 2 % of spikes, 8–12 noise
 * units: 38 of 56 caught instead of 43).
 */
export const POOL_LIMIT = 5;

/** Writes a pooled shape that has learned nothing (Gaussian) at `p[at …]`. */
export function startPool(p: Float64Array, at: number): void {
  startShape(p, at);
  p[at + SHAPE_SLOTS] = 0;
}

/**
 * Learns deviation `z` of an entity into the pooled shape at `p[at …]`, unless it lies beyond
 * {@link POOL_LIMIT}; the caller passes those of entities whose noise estimate is mature (their
 * deviations on the t tail of a mature noise).
 */
export function learnPool(p: Float64Array, at: number, z: number): void {
  if (!(Math.abs(z) <= POOL_LIMIT)) return;
  learnShape(p, at, z);
  p[at + SHAPE_SLOTS]++;
}

/**
 * The Gaussian equivalent of deviation `z` of an entity `age` events into learning its shape (at
 * `s[at …]`), with its feature's pooled shape at `p[pat …]`: while the entity is young (`age` under
 * {@link SHAPE_MEMORY}) and the pool is ready ({@link POOL_READY}), its own equivalent is lowered
 * toward the pool's by `1 − age / SHAPE_MEMORY`, so a new entity is judged like the other entities
 * of its feature until it has shown its own shape. Never above its own equivalent. With `atMost`,
 * the lesser of it and the equivalent (a mature entity's computed only as far as that needs,
 * {@link shapeDeviation}).
 */
export function youngShapeDeviation(
  s: Float64Array,
  at: number,
  p: Float64Array,
  pat: number,
  z: number,
  age: number,
  atMost = Infinity,
): number {
  if (!(age < SHAPE_MEMORY) || p[pat + SHAPE_SLOTS] < POOL_READY) {
    return shapeDeviation(s, at, z, age, atMost);
  }
  // Blended in full: rounding can put the blend a few units in the last place beyond either.
  const own = shapeDeviation(s, at, z, age), pooled = shapeDeviation(p, pat, z);
  return Math.min(
    atMost,
    pooled < own ? own - (1 - Math.max(0, age) / SHAPE_MEMORY) * (own - pooled) : own,
  );
}

/**
 * Lambert's W (principal branch) of `x ≥ 0`: Winitzki's approximation, then two steps of Halley's
 * method, within 2e-15 of W relatively from 1e-10 to 1e15 (against Newton's method run to
 * convergence). It runs on every event of an entity with a heavy-tailed side, so it takes no loop.
 */
export function lambertW(x: number): number {
  const l = Math.log1p(x);
  let w = l * (1 - Math.log1p(l) / (2 + l));
  for (let step = 0; step < 2; step++) {
    const e = Math.exp(w), f = w * e - x;
    w -= f / (e * (w + 1) - (w + 2) * f / (2 * w + 2));
  }
  return w;
}

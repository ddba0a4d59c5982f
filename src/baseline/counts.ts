/**
 * Counts: an entity whose values are all whole numbers ≥ 0 (errors a minute, queue length,
 * retries) and whose noise is at least {@link COUNT_DISPERSION} of its mean is judged on a count's
 * tail, not a Gaussian's. A count near 0 is skewed: for a Poisson count of mean 1, a 6 is 5 noise sd
 * out and happens 6 times in 10,000, where a Gaussian tail says 6 in 10 million; judged as
 * Gaussian, such entities alerted at 92 times the target rate (600 times at mean 0.2).
 *
 * The count's law has the entity's forecast as its mean `μ` ({@link countMean}: not under a small
 * noise's variance) and as its variance `v` the larger of the noise's and `μ + μ²/r`, with `1/r`
 * the count's dispersion learned slowly ({@link learnDispersion}): a negative binomial when
 * `v > μ` (overdispersed: bursts), a Poisson when `v ≤ μ`. A value's
 * deviation is the Gaussian deviation of the same two-sided tail: `2·min(P(X ≥ x), P(X ≤ x))`.
 * Whole numbers whose noise is far under their mean (integer degrees, say) are measurements, not
 * counts, and stay Gaussian; so are whole numbers whose noise is far over their mean
 * ({@link COUNT_MAX_DISPERSION}).
 *
 * Measured by `deno task bench calibration` (`calibration_count_*`: Poisson counts with a daily
 * cycle of ±50 %, 100 sensors, 30,000 minutes), alerts over a target of 1e-4 / 5e-6 (the default
 * then), before → after: mean 0.2 73 / 690 → 0.20 / 0.49, mean 1 20.5 / 116 → 0.36 / 0.42, mean 5
 * 5.7 / 19.2 → 0.33 / 0.84; negative binomials with the same cycle (`calibration_negbin_*`), judged
 * on the noise's variance alone, then on the dispersion too: mean 2 and variance 6 2.01 / 8.61 →
 * 0.57 / 0.91, mean 20 and variance 60 2.72 / 5.11 → 0.60 / 0.77.
 *
 * Pure functions.
 *
 * @module
 */
import {
  deviationForLogTail,
  logBetaRegularized,
  logGamma,
  logGammaRegularized,
} from "../tails.ts";

/**
 * The least variance over mean at which a whole-number entity is judged as a count. A sparse
 * count's noise estimate dips after a run of zeros (0.5 left counts of mean 0.2 at 20 × the
 * target); integer degrees with a noise of 0.6 around 20 are at 0.018.
 */
export const COUNT_DISPERSION = 0.1;
/**
 * The most variance over mean at which a whole-number entity is judged as a count. Beyond it the
 * variance is mostly not the count's own sampling noise (a large count's forecast error), and a
 * count's skew would be a guess: NAB's taxi passenger counts (variance about 67 times the mean)
 * lost two of their five windows to it.
 */
export const COUNT_MAX_DISPERSION = 10;
/** The least mean a count is judged against (a forecast of 0 or below means "rarely any"). */
export const COUNT_MIN_MEAN = 1e-3;

/**
 * Weight of an event in the running sums that estimate a count's dispersion (about 500 events).
 * The variance of the noise follows each event's error over about 50 events and, for a skewed
 * count, is under its mean most of the time (a negative binomial of mean 2 and variance 6, with a
 * daily cycle of ±50 %, alerted at 8.6 × the default target judged on it alone).
 */
export const DISPERSION_WEIGHT = 0.002;

/**
 * Learns a count's error `e` from its judged mean `mu` into the two running sums at `s[at]`,
 * `s[at + 1]` (of `e² − μ` and of `μ²`; their ratio is the negative binomial's `1/r`), from the
 * entity's `n`-th event with weight `max(DISPERSION_WEIGHT, 1/n)`. An error is clipped at 8 sd of
 * the count's law as learned, so a burst barely moves it.
 */
export function learnDispersion(
  s: Float64Array,
  at: number,
  e: number,
  mu: number,
  n: number,
): void {
  const m = Math.max(mu, COUNT_MIN_MEAN);
  const bound = 8 * Math.sqrt(dispersedVariance(s, at, m)) + 1;
  const c = Math.min(Math.abs(e), bound);
  const w = Math.max(DISPERSION_WEIGHT, 1 / Math.max(n, 1));
  s[at] += w * (c * c - m - s[at]);
  s[at + 1] += w * (m * m - s[at + 1]);
}

/**
 * The variance of a count of mean `mu` with the dispersion learned at `s[at]` (see
 * {@link learnDispersion}): `μ + μ²/r`, `μ` (a Poisson's) while none is learned.
 */
export function dispersedVariance(s: Float64Array, at: number, mu: number): number {
  const inverseR = s[at + 1] > 0 ? Math.max(0, s[at] / s[at + 1]) : 0;
  return mu + inverseR * mu * mu;
}

/** Whether `v` can be a count (a whole number ≥ 0, exactly representable). */
export function isCount(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/**
 * The mean a count with forecast `forecast` and noise `variance` is judged against: the forecast,
 * but not under the variance while that is under 1. A sparse count's forecast, with hourly
 * offsets learned from a few ones among zeros, collapses toward 0 after a run of zeros (0.003 for
 * a count of mean 0.1), where any 1 looked rare; its noise keeps the count's scale longer.
 */
export function countMean(forecast: number, variance: number): number {
  return Math.max(forecast, Math.min(variance, 1));
}

/** Whether an entity of only whole numbers, forecast `mean` with noise `variance`, is a count. */
export function countLike(mean: number, variance: number): boolean {
  const mu = Math.max(mean, COUNT_MIN_MEAN);
  return variance >= COUNT_DISPERSION * mu && variance <= COUNT_MAX_DISPERSION * mu;
}

/**
 * `ln` of the two-sided tail of count `x` under a count of `mean` and `variance` (see the module
 * doc): `ln min(1, 2·min(P(X ≥ x), P(X ≤ x)))`.
 */
export function logCountTail(x: number, mean: number, variance: number): number {
  const mu = Math.max(mean, COUNT_MIN_MEAN);
  let upper: number, lower: number;
  if (variance > mu) {
    // Negative binomial: r successes of chance p, X the failures before them; mean r(1 − p)/p.
    const p = mu / variance, r = mu * mu / (variance - mu);
    lower = logBetaRegularized(r, x + 1, p);
    upper = x === 0 ? 0 : logBetaRegularized(x, r, 1 - p);
  } else {
    lower = logGammaRegularized(x + 1, mu).upper;
    upper = x === 0 ? 0 : logGammaRegularized(x, mu).lower;
  }
  return Math.min(0, Math.LN2 + Math.min(upper, lower));
}

/**
 * `ln P(X = x)` under a count of `mean` and `variance` (the law of {@link logCountTail}). A run of
 * repeats of `x` is judged on this chance when it is above the entity's share of repeats: a count
 * near its mode repeats more often than its average value does.
 */
export function logCountChance(x: number, mean: number, variance: number): number {
  const mu = Math.max(mean, COUNT_MIN_MEAN), logFactorial = logGamma(x + 1);
  if (variance <= mu) return x * Math.log(mu) - mu - logFactorial;
  const p = mu / variance, r = mu * mu / (variance - mu);
  return logGamma(x + r) - logGamma(r) - logFactorial + r * Math.log(p) + x * Math.log1p(-p);
}

/** The Gaussian-equivalent deviation of count `x` (see {@link logCountTail}). */
export function countDeviation(x: number, mean: number, variance: number): number {
  return deviationForLogTail(logCountTail(x, mean, variance));
}

/**
 * Extremes calibrated by their own recurrence. A deviation is measured in the entity's own noise,
 * which assumes its errors are about Gaussian; some streams spike far out now and then as a
 * matter of course (a load balancer's bursts, counts of rare events idle at 0). So each entity
 * and judged quantity also counts its own extreme deviations (|z| ≥ 7, in the 16 bins of
 * {@link EXTREMES} up to 200 sd, the counts fading over about {@link EXTREME_MEMORY} of its
 * events). The calibrated deviation of an extreme is the deviation whose two-sided Gaussian tail
 * is the chance of one at least as large for that entity: the Gaussian tail itself, or, when the
 * entity has shown deviations in its bin or beyond more than once before, their rate (with
 * {@link EXTREME_PRIOR} events of Gaussian prior). A first spike, or a second, is judged as on
 * the Gaussian tail; a size that has recurred is not rare for that entity, and is not alerted
 * again until it fades from memory. Deviations under 7 sd are never changed. It cannot tell
 * routine spikes from anomalies that are frequent and alike (the seed generator's, 3 % of
 * events): it learns both as normal. An extreme's size is measured in the sd of all the entity's
 * errors over the same memory, bursts included, so the noise between the bursts of an idle
 * series, which shrinks towards 0, does not make every burst the largest bin.
 *
 * State: {@link EXTREME_SLOTS} numbers in the caller's `Float64Array`; pure functions.
 *
 * @module
 */
import { deviationForRate, erfc } from "../tails.ts";

/** Lower edges of the bins of extreme deviations (sd); the last one is open. */
export const EXTREMES = [7, 8, 10, 13, 16, 20, 25, 32, 40, 50, 64, 80, 100, 130, 160, 200];
/** Events of an entity over which its extremes' counts fade (by e). */
export const EXTREME_MEMORY = 1000;
const FADE = 1 - 1 / EXTREME_MEMORY;
/** Events of Gaussian prior in the calibration of extremes. */
export const EXTREME_PRIOR = 100;
/** Numbers kept per judged quantity: the counts, the judged events at their last update, and the
 * mean square of the entity's errors. */
export const EXTREME_SLOTS = EXTREMES.length + 2;

/**
 * Share of repeats from which an entity's readings are coarse or intermittent (`coarse`
 * extremes: its extremes are judged by their own recurrence). Gaussian noise read to a
 * resolution `r` repeats about `r / (3.5 σ)` of the time: a quarter means steps of about 0.9 σ,
 * too coarse for a noise estimate to mean much; a series idle at one value most of the time
 * (counts of rare events) repeats far more.
 */
export const COARSE_REPEATS = 0.25;

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

/**
 * The recent level: the running mean of an entity's last few forecast errors (weight
 * {@link RECENT_WEIGHT}, about 5 events; each error winsorised at {@link CLIP} sd), in that mean's
 * own sd, taken from a running median of its square (moving 1 % an event, so a shift lasting tens
 * of events, or anomalies a few percent of the events, barely move it), and never narrower than
 * the sd it would have with independent errors. A shift of a few noise units that lasts is caught
 * within a few events even when no single event stands out.
 *
 * The mean is judged in the noise from before the run of errors it belongs to: while errors stay
 * beyond {@link RECENT_RUN} sd on one side, the noise the run started in. The run's own errors
 * widen the entity's noise as they come (a 5-sd shift's first four events left the noise that
 * judged its fifth 1.5–2.2 × the sensor's), so the recent level hid the very shift it is for.
 *
 * State: {@link RECENT_SLOTS} numbers in the caller's `Float64Array`; pure functions.
 *
 * @module
 */
import { CLIP } from "./noise.ts";

/** Weight of the newest forecast error in the recent level's running mean (about 5 events). */
export const RECENT_WEIGHT = 0.2;
/** Step of the recent level's running median (a factor per event). */
export const RECENT_STEP = 0.01;
/** Median of a χ² variable of one degree of freedom: the squared mean's median over its sd². */
export const CHI2_MEDIAN = 0.4549;
/** Events of an entity, in warm-ups, before its recent level is judged (the median settles). */
export const RECENT_WARM_UPS = 5;
/**
 * Errors beyond this many sd of the noise, one after another on one side, are a run: the recent
 * level is judged in the noise from before it. Beyond 2 sd twice in a row on one side is about one
 * event in 2,000 of Gaussian noise.
 */
export const RECENT_RUN = 2;
/**
 * Numbers kept per feature with a recent level: the errors' running mean, the running median of
 * its square, the noise's variance before the current run, the previous error in sd.
 */
export const RECENT_SLOTS = 4;

/**
 * Judges then learns forecast error `d` of an entity with `n` events and noise `variance` into
 * its recent level's slots: `s[at]`, the errors' running mean, `s[at + 1]`, the running median of
 * that mean's square, `s[at + 2]`, the noise's variance before the current run of errors
 * ({@link RECENT_RUN}), and `s[at + 3]`, the previous error in sd. Returns the mean's deviation
 * once the entity has seen {@link RECENT_WARM_UPS} warm-ups of events, else NaN (which never
 * decides). `floor`: `varianceFloor` (`noise.ts`) of the entity's values.
 */
export function judgeRecent(
  s: Float64Array,
  at: number,
  n: number,
  d: number,
  variance: number,
  o: { readonly warmUp: number; readonly alpha: number },
  floor: number,
): number {
  // The noise the current run of errors started in, when narrower than the noise now.
  const sd = Math.sqrt(variance + floor), z = d / sd, previous = s[at + 3];
  const run = Math.abs(z) >= RECENT_RUN && Math.abs(previous) >= RECENT_RUN &&
    Math.sign(z) === Math.sign(previous);
  if (!run) s[at + 2] = variance;
  s[at + 3] = z;
  const judgedIn = Math.min(variance, s[at + 2]);
  const error = n >= o.warmUp ? Math.max(-CLIP * sd, Math.min(CLIP * sd, d)) : d;
  const mean = s[at] + RECENT_WEIGHT * (error - s[at]);
  // The mean's variance were the errors independent: where the median starts, and the least
  // the mean's variance is taken to be (errors that alternate do not make it narrower).
  const independent = (judgedIn + floor) * RECENT_WEIGHT / (2 - RECENT_WEIGHT);
  const median = n <= o.warmUp ? CHI2_MEDIAN * independent : s[at + 1];
  const spread = Math.max(median / CHI2_MEDIAN, independent);
  const judged = n >= RECENT_WARM_UPS * o.warmUp ? mean / Math.sqrt(spread) : NaN;
  s[at] = mean;
  s[at + 1] = median * (mean * mean > median ? 1 + RECENT_STEP : 1 / (1 + RECENT_STEP));
  return judged;
}

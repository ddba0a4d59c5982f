/**
 * Drift: the long-run mean of an entity's forecast errors in its noise (each deviation clipped at
 * {@link CLIP} sd, weight 1/{@link DRIFT_EVENTS}), in that mean's own spread (the running mean of
 * its square over {@link DRIFT_MEMORY} times as many events), judged on the tail of a t of
 * {@link DRIFT_DEGREES} degrees of freedom. The level follows every value, so its errors average
 * out within tens of events, whatever the noise; errors that keep their sign for hundreds of
 * events (a reading creeping away faster than the level follows: a leak, a filling disk) stand out
 * against the mean's usual wandering. For {@link DRIFT_EVENTS} events after a deviation beyond
 * {@link CLIP} sd it is not judged: after a step, flagged on its own, the level's catching up is
 * such a bias too.
 *
 * State: three numbers in the caller's `Float64Array`; pure functions.
 *
 * @module
 */
import { CLIP } from "./noise.ts";

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

/**
 * Judges then learns deviation `z` of an entity's `judged`-th judged event into its drift slots:
 * `s[at]`, the running mean of its deviations (clipped at {@link CLIP} sd), `s[at + 1]`, the
 * running mean of that mean's square, and `s[at + 2]`, one after the last event whose deviation
 * was beyond CLIP sd. Returns the mean's deviation in its own spread, once `judged` has reached
 * {@link DRIFT_MEMORY} × {@link DRIFT_EVENTS} and no deviation beyond CLIP sd came in the last
 * {@link DRIFT_EVENTS} events, else NaN (which never decides).
 */
export function judgeDrift(s: Float64Array, at: number, judged: number, z: number): number {
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
 * Marks the entity's `judged`-th judged event as a step in its drift slots at `s[at …]`: its
 * drift is not judged for the next {@link DRIFT_EVENTS} events, as after a deviation beyond
 * {@link CLIP} sd.
 */
export function quietDrift(s: Float64Array, at: number, judged: number): void {
  s[at + 2] = judged + 1;
}

/**
 * The change since an entity's previous value, in the sd of its own changes (an exponentially
 * weighted variance, winsorised as the noise is; its extremes calibrated as the level's). For
 * {@link CHANGE_RETURN_EVENTS} events after an extreme change (beyond {@link CLIP} sd), a change
 * is measured from the nearer of the previous value and the value from before the extreme one, so
 * the return from a spike, or from a few in a row, is not another jump; each extreme change
 * starts that span again. A lasting step is judged once: its next values are nearer the previous.
 * Each judged change is weighed at {@link CHANGE_SHARE} of the target: it judges the same readings
 * the level does, and at the full target it added half the target to Gaussian sensors' alerts.
 *
 * State: {@link CHANGE_SLOTS} numbers in the caller's `Float64Array`, then the extremes' when they
 * are counted; pure functions.
 *
 * @module
 */
import { calibrateExtreme } from "./extremes.ts";
import { CLIP, clipOf, winsorisedMeanSquare } from "./noise.ts";
import { shareScale } from "../tails.ts";

/**
 * Numbers kept per feature with a change, before its extremes' counts: the changes' variance, the
 * value from before the last extreme change, and the events since it (0: none in the span).
 */
export const CHANGE_SLOTS = 3;
/**
 * Events after an extreme change during which a change is measured from the nearer of the
 * previous value and the value from before it. Measured from the previous value only, the next
 * normal reading after two anomalies in a row was a jump from the second: the seed stream's
 * sensors with `change` alerted that way 101 times in 2 × 50,000 events (its precision 0.9662,
 * now 0.9984; 3, 5 and 10 events all remove them).
 */
export const CHANGE_RETURN_EVENTS = 5;
/**
 * The share of the target false-alert rate a change is judged at: its chance is weighed 1 / this
 * as rare. Gaussian sensors with a daily cycle, read every minute, alerted at 1.54 × the default
 * target with the change at its full target and at 1.11 × with this share (the level alone:
 * 0.99 ×).
 */
export const CHANGE_SHARE = 0.25;

/**
 * Judges then learns the change of value `v` of an entity with `n` events, whose previous value
 * is `previous` and whose change slots start at `s[at]`: the changes' variance, the value from
 * before the last extreme change, the events since it (see {@link CHANGE_RETURN_EVENTS}), then
 * with `counts` the extremes' counts (which judge it when `counted`). Returns its deviation,
 * calibrated deviation (at {@link CHANGE_SHARE} of the target) and the value it was measured from
 * once the entity is warm. `floor`: `varianceFloor` (`noise.ts`) of the entity's values.
 */
export function judgeChange(
  s: Float64Array,
  at: number,
  n: number,
  v: number,
  previous: number,
  o: { readonly warmUp: number; readonly alpha: number },
  counts: boolean,
  counted: boolean,
  scale: (z: number) => number,
  floor: number,
): { z: number; calibrated: number; from: number } | undefined {
  const variance = s[at], sd = Math.sqrt(variance + floor);
  const since = s[at + 2], before = s[at + 1];
  const afterExtreme = n > 1 && since > 0 && since <= CHANGE_RETURN_EVENTS;
  const from = afterExtreme && Math.abs(v - before) < Math.abs(v - previous) ? before : previous;
  const d = v - from, warm = n >= o.warmUp;
  let judged: { z: number; calibrated: number; from: number } | undefined;
  if (warm) {
    const z = d / sd, a = Math.abs(z);
    const equivalent = scale(a);
    const learned = counts
      ? calibrateExtreme(s, at + 3, n - o.warmUp, a, equivalent, d)
      : equivalent;
    judged = { z, calibrated: atShare(counted ? learned : equivalent), from };
  }
  if (warm && Math.abs(d) > CLIP * sd) {
    // An extreme change: the value it was measured from stays the one to come back to.
    if (!afterExtreme) s[at + 1] = from;
    s[at + 2] = 1;
  } else s[at + 2] = afterExtreme ? since + 1 : 0;
  // Learned at weight 1/n until that falls to α, as the level's noise is: the plain mean of the
  // first changes' squares (not one change's square fading for 50 events).
  s[at] = n === 1 ? d * d : winsorisedMeanSquare(
    variance,
    d,
    Math.max(o.alpha, 1 / n),
    clipOf(n, o.warmUp, variance),
    floor,
  );
  return judged;
}

/** A Gaussian equivalent weighed at {@link CHANGE_SHARE} of the target. */
const atShare = shareScale(CHANGE_SHARE);

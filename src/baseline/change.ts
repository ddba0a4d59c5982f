/**
 * The change since an entity's previous value, in the sd of its own changes (an exponentially
 * weighted variance, winsorised as the noise is; its extremes calibrated as the level's). Right
 * after an extreme change (beyond {@link CLIP} sd) the next change is measured from the value that
 * one was measured from, so the return from a spike is not a second jump.
 *
 * State: {@link CHANGE_SLOTS} numbers in the caller's `Float64Array`, then the extremes' when they
 * are counted; pure functions.
 *
 * @module
 */
import { calibrateExtreme } from "./extremes.ts";
import { CLIP, clipOf, winsorisedVariance } from "./noise.ts";

/** Numbers kept per feature with a change, before its extremes' counts. */
export const CHANGE_SLOTS = 3;

/**
 * Judges then learns the change of value `v` of an entity with `n` events, whose previous value
 * is `previous` and whose change slots start at `s[at]`: the changes' variance, the value the
 * last change was measured from, whether that change was extreme (beyond {@link CLIP} sd), then
 * with `counts` the extremes' counts (which judge it when `counted`). A change is measured from the
 * previous value, or, right after an extreme change, from the value that one was measured from:
 * the return from a spike is not a second jump, and a lasting step is judged twice before it is
 * the new reference.
 * Returns its deviation, calibrated deviation and reference once the entity is warm. `floor`:
 * `varianceFloor` (`noise.ts`) of the entity's values.
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
  s[at] = n === 1
    ? d * d
    : winsorisedVariance(variance, d, o.alpha, clipOf(n, o.warmUp, variance), floor);
  return judged;
}

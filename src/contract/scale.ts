/**
 * A feature's scale: how its values are given to the model (the forest and the entity baselines).
 *
 * - `linear` (the default): the value as it is.
 * - `log`: `ln(1 + value)`, for quantities that are never negative and vary by factors rather
 *   than by amounts: payment amounts, latencies, durations, sizes. Their spread grows with their
 *   level and their upper tail is long (log-normal), so judged as they are, a normal large value
 *   is many sd out and such a feature alerts hundreds of times over the target rate (measured by
 *   `deno task bench calibration`: `calibration_multiplicative_*`). On the log scale their noise is
 *   close to Gaussian and a deviation reads as a factor.
 *
 * What a user sees stays in the field's own units: an alert's `actual` and `typical` are mapped
 * back with {@link fromModelScale}; the deviation (sd) is measured on the model's scale.
 *
 * Pure functions.
 *
 * @module
 */

/** The scales a feature may declare (`features[].scale`). */
export const SCALES = ["linear", "log"] as const;
/** One of {@link SCALES}. */
export type Scale = typeof SCALES[number];

/** Value `v` of a feature on `scale`, as the model sees it (NaN stays NaN). */
export function toModelScale(scale: Scale, v: number): number {
  return scale === "log" ? Math.log1p(v) : v;
}

/** A model-scale value `m` of a feature on `scale`, back in the field's own units. */
export function fromModelScale(scale: Scale, m: number): number {
  return scale === "log" ? Math.expm1(m) : m;
}

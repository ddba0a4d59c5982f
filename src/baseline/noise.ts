/**
 * The noise deviations are measured in: an exponentially weighted variance of an entity's errors,
 * winsorised so that a value far out widens it only as one {@link CLIP} sd away would (an anomaly
 * does not hide the next ones). Shared by the level, the change, the recent level and the drift.
 *
 * Pure functions over numbers.
 *
 * @module
 */

/** Deviations beyond this many sd are learned as this many (robust level and noise). */
export const CLIP = 6;

/**
 * The exponentially weighted variance after error `d`; once `warm`, an error beyond {@link CLIP}
 * sd counts as one of CLIP sd, so a far-out value does not widen the noise the next are judged in.
 */
export function winsorisedVariance(
  variance: number,
  d: number,
  warm: boolean,
  alpha: number,
): number {
  const sd = Math.sqrt(variance + 1e-12);
  const clipped = warm ? Math.max(-CLIP * sd, Math.min(CLIP * sd, d)) : d;
  return (1 - alpha) * (variance + alpha * clipped * clipped);
}

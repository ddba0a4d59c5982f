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

/**
 * The error the level and the hour's offset learn from, for error `d` against a noise of
 * `variance`, with `s[at]` the excess held back at the entity's previous event (0: none). Once
 * `warm`, an error beyond {@link CLIP} sd is learned as CLIP sd and its excess held back; the
 * next error on the same side, at {@link CONFIRM} sd or more, shows a lasting change, and the
 * held-back excess is learned with it; otherwise it is dropped: a value far out, alone, moves the
 * forecast as one CLIP sd out would, so the values after it are not judged against a forecast it
 * dragged away (a single glitch of 100 sd was followed by a false alert on the next value).
 */
export function heldBack(
  s: Float64Array,
  at: number,
  d: number,
  variance: number,
  warm: boolean,
): number {
  const sd = Math.sqrt(variance + 1e-12);
  const held = s[at];
  s[at] = 0;
  if (!warm) return d;
  if (held !== 0 && Math.sign(d) === Math.sign(held) && Math.abs(d) >= CONFIRM * sd) {
    return d + held;
  }
  if (Math.abs(d) <= CLIP * sd) return d;
  const clipped = Math.sign(d) * CLIP * sd;
  s[at] = d - clipped;
  return clipped;
}

/** Deviations on the same side, after one held back, that show a lasting change. */
export const CONFIRM = 3;

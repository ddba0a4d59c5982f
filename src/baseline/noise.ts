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
 * The least sd a noise is taken to have, as a share of the span of its entity's values (the
 * least to the largest seen): so that values that have all been equal still give deviations a
 * finite scale, in the values' own units. A floor in absolute units (it was 1e-6) swamped the
 * noise of small quantities: NAB's files scaled by 1e-6 scored 42.22 instead of 58.67.
 */
export const FLOOR_OF_SPAN = 1e-9;
/**
 * The least sd as a share of the entity's level: about five times a double's precision, under
 * which differences are rounding, not readings.
 */
export const FLOOR_OF_LEVEL = 1e-15;

/**
 * The variance added to a noise of an entity whose values span `span` around `level` before it
 * divides a deviation or sets a clip: {@link FLOOR_OF_SPAN} of the span or {@link FLOOR_OF_LEVEL}
 * of the level, whichever is more, squared; never 0. The same deviations for the same values in
 * any unit.
 */
export function varianceFloor(span: number, level: number): number {
  const sd = Math.max(FLOOR_OF_SPAN * span, FLOOR_OF_LEVEL * Math.abs(level));
  return sd * sd + Number.MIN_VALUE;
}

/**
 * Before an entity is warm, from its third value on ({@link YOUNG_FROM}), deviations beyond this
 * many sd of its young noise estimate are learned as this many, as {@link CLIP} does once it is
 * warm: one glitch among its first values no longer leaves a noise too wide to see anything in
 * for hundreds of events (a reading of 100 among readings of 20 ± 0.1 at the fifth event hid a
 * 10-sd spike until the 458th). Looser than CLIP: the estimate is from a few values.
 */
export const YOUNG_CLIP = 8;
/** Values an entity needs before its young noise estimate clips ({@link YOUNG_CLIP}). */
export const YOUNG_FROM = 2;

/**
 * The clip of an entity's `n`-th deviation (counted from 0) in a noise of `variance`: {@link CLIP}
 * once it is warm, {@link YOUNG_CLIP} from {@link YOUNG_FROM} values while its noise estimate is
 * not 0 (values all equal so far give no scale), none (`Infinity`) before.
 */
export function clipOf(n: number, warmUp: number, variance: number): number {
  if (n >= warmUp) return CLIP;
  return n >= YOUNG_FROM && variance > 0 ? YOUNG_CLIP : Infinity;
}

/** The square of `d` clipped at `clip` sd of a noise of `variance` (plus `floor`). */
function clippedSquare(d: number, variance: number, clip: number, floor: number): number {
  const limit = clip * Math.sqrt(variance + floor);
  const clipped = Math.max(-limit, Math.min(limit, d));
  return clipped * clipped;
}

/**
 * The exponentially weighted variance after error `d`, an error beyond `clip` sd counting as one
 * of `clip` sd ({@link clipOf}: {@link CLIP} once warm), so a far-out value does not widen the
 * noise the next are judged in. `floor`: {@link varianceFloor}.
 */
export function winsorisedVariance(
  variance: number,
  d: number,
  alpha: number,
  clip: number,
  floor: number,
): number {
  const square = clippedSquare(d, variance, clip, floor);
  return (1 - alpha) * (variance + alpha * square);
}

/**
 * The exponentially weighted mean square of a quantity whose mean is 0 (an entity's change since
 * its previous value) after `d`, winsorised as {@link winsorisedVariance} is. Its squares are
 * about 0, not about a running mean, so each is learned whole at its weight: at weight `1/n` the
 * plain mean of the first `n` squares, at weight `w` their weighted mean. (The variance's update,
 * which keeps `1 − w` of each new square, left it at 0.90 of the plain mean at the 30th change and
 * at `1 − α` of the changes' mean square once mature.)
 */
export function winsorisedMeanSquare(
  meanSquare: number,
  d: number,
  weight: number,
  clip: number,
  floor: number,
): number {
  return meanSquare + weight * (clippedSquare(d, meanSquare, clip, floor) - meanSquare);
}

/**
 * The error the level and the hour's offset learn from, for error `d` against a noise of
 * `variance`, with `s[at]` the excess held back at the entity's previous event (0: none). Once
 * `warm`, an error beyond {@link CLIP} sd is learned as CLIP sd and its excess held back; the
 * next error on the same side, at {@link CONFIRM} sd or more, shows a lasting change, and the
 * held-back excess is learned with it; otherwise it is dropped: a value far out, alone, moves the
 * forecast as one CLIP sd out would, so the values after it are not judged against a forecast it
 * dragged away (a single glitch of 100 sd was followed by a false alert on the next value).
 * `clip` (sd) is CLIP once warm ({@link clipOf}); `Infinity` learns `d` whole. Before the
 * entity is `warm` the confirming error must also be half the size the held-back one had.
 * `floor`: {@link varianceFloor}.
 */
export function heldBack(
  s: Float64Array,
  at: number,
  d: number,
  variance: number,
  warm: boolean,
  clip: number,
  floor: number,
): number {
  const sd = Math.sqrt(variance + floor);
  const held = s[at];
  s[at] = 0;
  if (clip === Infinity) return d;
  // A young noise estimate (from a few values) can be tiny: there the next error must also be
  // half the held-back one's size, so an ordinary value does not confirm a glitch.
  const confirm = warm ? CONFIRM * sd : Math.max(CONFIRM * sd, (Math.abs(held) + clip * sd) / 2);
  if (held !== 0 && Math.sign(d) === Math.sign(held) && Math.abs(d) >= confirm) {
    return d + held;
  }
  if (Math.abs(d) <= clip * sd) return d;
  const clipped = Math.sign(d) * clip * sd;
  s[at] = d - clipped;
  return clipped;
}

/** Deviations on the same side, after one held back, that show a lasting change. */
export const CONFIRM = 3;

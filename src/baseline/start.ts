/**
 * An entity's start: its first three values, one of which may be a glitch (a sensor's first
 * reading after power-on is often 0 or its range's end). The level and noise start as the plain
 * mean and variance of an entity's first values, so a glitch among the first two left a noise too
 * wide to judge anything in for hundreds of events: with readings of 20 ± 0.1 and a first reading
 * of 100, a 10-sd spike went unseen until the 450th event. From the third value on the young clip
 * (`YOUNG_CLIP` in `noise.ts`) holds a glitch back; for the first two, the third value decides:
 * when two of the three agree and the third is {@link ODD_RATIO} times as far from them as they
 * are from each other, the odd first or second value is taken to be the one that agrees.
 *
 * Pure functions over numbers.
 *
 * @module
 */

/**
 * How many times farther from the other two than they are from each other a first or second
 * value must be to be replaced. Among three Gaussian values about 3 % of triples have one this
 * far out by chance; replacing a normal value by its neighbour costs the start one value's worth of
 * spread, against a glitch's hundreds of events.
 */
export const ODD_RATIO = 20;

/**
 * Which of an entity's first three values `v0`, `v1`, `v2` is a glitch among the other two: 0 or
 * 1 when that value is at least {@link ODD_RATIO} times as far from both others as they are from
 * each other, and they are not equal; -1 otherwise (the third value, if odd, is the young clip's).
 */
export function oddStart(v0: number, v1: number, v2: number): -1 | 0 | 1 {
  const d01 = Math.abs(v0 - v1), d02 = Math.abs(v0 - v2), d12 = Math.abs(v1 - v2);
  // Two equal values give no scale to call the third far by (readings idle at 0 between bursts).
  if (d12 > 0 && Math.min(d01, d02) > ODD_RATIO * d12) return 0;
  if (d02 > 0 && Math.min(d01, d12) > ODD_RATIO * d02) return 1;
  return -1;
}

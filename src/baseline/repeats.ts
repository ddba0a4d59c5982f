/**
 * Flat lines: the share `p` of an entity's events that repeat its previous value (a running mean
 * with a uniform prior). For an entity with `p` under {@link FLAT_MAX_P} that has varied for its
 * warm-up, a run of `r` repeats has chance `p^r` (`p` as it was when the run began); its flatness
 * is the Gaussian deviation of that chance, judged at runs of 2, 4, 8, 16 … (one alert, then one
 * each time the run doubles), and a run being judged teaches nothing of repeats. Values that often
 * repeat (counts, coarse readings) are not judged: a run of them says little.
 *
 * State: five numbers in the caller's `Float64Array`; pure functions.
 *
 * @module
 */
import { deviationForRate } from "../tails.ts";

/** Share of repeats under which an entity's runs of repeats are judged. */
export const FLAT_MAX_P = 0.05;

/**
 * Learns one event's repeat (or change) into feature slots `s[at …]` and returns the flatness of
 * the run it ends or continues (0 when it is not judged). `chance`, when given, is the chance
 * that this very value repeats (a count's, see `logCountChance`); a run is judged on the larger
 * of it and the entity's share of repeats.
 */
export function learnRepeats(
  s: Float64Array,
  at: number,
  n: number,
  v: number,
  run: number,
  alpha: number,
  warmUp: number,
  chance?: (v: number) => number,
): number {
  if (run === 1) s[at + 8] = s[at + 7] >= warmUp ? s[at + 6] : 1;
  const p0 = s[at + 8];
  const judged = run >= 2 && p0 < FLAT_MAX_P;
  if (n === 0) s[at + 6] = 0.5;
  else if (!judged) {
    s[at + 7]++;
    s[at + 6] += Math.max(alpha, 1 / (s[at + 7] + 2)) * ((run > 0 ? 1 : 0) - s[at + 6]);
  }
  s[at + 4] = v;
  s[at + 5] = run;
  // Judged at runs of 2, 4, 8, 16 … repeats: a stuck sensor alerts once, then as it stays stuck.
  if (!judged || (run & (run - 1)) !== 0) return 0;
  return flatness(run, chance ? Math.max(p0, chance(v)) : p0);
}

/** Flatness of a run of `run` repeats of chance `p` each: the deviation of `p^run`'s tail. */
export function flatness(run: number, p: number): number {
  const chance = Math.pow(Math.max(p, 1e-12), run);
  return chance >= 0.5 ? 0 : deviationForRate(Math.max(chance, 1e-300));
}

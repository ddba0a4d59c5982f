/**
 * Flat lines: the share `p` of an entity's events that repeat its previous value, the larger of a
 * recent share (a running mean with a uniform prior, at the level's weight) and a slow one over
 * {@link FLAT_MEMORY} events, in which the repeats of the entity's warm-up count as events but not
 * as repeats (a sensor whose first readings were one value, a default before its first measurement,
 * has not shown that repeats are its routine: counted, its 19 repeats of 20 readings kept its runs
 * from being judged until its 380th reading), and the repeats of a judged run weigh as in a memory
 * of at least {@link FLAT_RUN_MEMORY} events (one stuck spell does not make repeats a young
 * entity's routine). For an entity with `p` under {@link FLAT_MAX_P} that has varied for its
 * warm-up, a run of `r` repeats has chance `p^r` (`p` as it was when the run began); its flatness
 * is the Gaussian deviation of that chance, judged at runs of 2, 4, 8, 16 … (one alert, then one
 * each time the run doubles). A run being judged teaches the recent share nothing (a stuck sensor
 * does not make itself normal), the slow one all its repeats (a run that recurs on a schedule, a
 * machine reading exactly 0 each night, stops being judged after its first nights). Values that
 * often repeat (counts, coarse readings) are not judged: a run of them says little.
 *
 * State: six numbers in the caller's `Float64Array`; pure functions.
 *
 * @module
 */
import { deviationForRate } from "../tails.ts";

/** Share of repeats under which an entity's runs of repeats are judged. */
export const FLAT_MAX_P = 0.05;
/**
 * Events over which the slow share of repeats forgets (by e). It learns every repeat, those of
 * judged runs too, so a run that recurs (a machine off each night, reading exactly 0) is judged on
 * the share its earlier runs left, and is not judged once that reaches {@link FLAT_MAX_P}.
 */
export const FLAT_MEMORY = 3_000;

/**
 * The least memory, in events, a judged run's repeats are learned into the slow share with: an
 * entity younger than that learns each at `1/FLAT_RUN_MEMORY` (its other events at `1/(n + 2)`),
 * and from its {@link FLAT_MEMORY}th event on every event at `1/FLAT_MEMORY`. At `1/(n + 2)` a
 * young sensor's one stuck spell of 20 readings at its 85th made repeats 23 % of its life and kept
 * its next flat lines from being judged until about its 400th reading. At 1,000 a sensor stuck for
 * 20 of every 80 readings from its start is judged on its first 4 spells (its first one before; 11
 * at 3,000).
 */
export const FLAT_RUN_MEMORY = 1_000;

/**
 * Learns one event's repeat (or change) into feature slots `s[at …]`, and into the slow share of
 * repeats at `s[slow]`, and returns the flatness of the run it ends or continues (0 when it is
 * not judged). `chance`, when given, is the chance that this very value repeats (a count's, see
 * `logCountChance`); a run is judged on the larger of it and the entity's share of repeats when
 * the run began, the larger of the recent one and the slow one.
 */
export function learnRepeats(
  s: Float64Array,
  at: number,
  n: number,
  v: number,
  run: number,
  alpha: number,
  warmUp: number,
  chance: ((v: number) => number) | undefined,
  slow: number,
): number {
  if (run === 1) s[at + 8] = s[at + 7] >= warmUp ? Math.max(s[at + 6], s[slow]) : 1;
  const p0 = s[at + 8];
  const judged = run >= 2 && p0 < FLAT_MAX_P;
  if (n === 0) s[at + 6] = s[slow] = 0.5;
  else {
    const repeat = run > 0 ? 1 : 0;
    if (!judged) {
      s[at + 7]++;
      s[at + 6] += Math.max(alpha, 1 / (s[at + 7] + 2)) * (repeat - s[at + 6]);
    }
    // A warm-up's repeats are not counted in the slow share (its events are).
    const counted = n >= warmUp ? repeat : 0;
    // A judged run's repeats weigh as in a memory of FLAT_RUN_MEMORY events or more however young
    // the entity: one stuck spell does not make repeats its routine; spells that recur still do.
    const young = Math.max(1 / FLAT_MEMORY, 1 / (n + 2));
    const weight = judged && repeat ? Math.min(young, 1 / FLAT_RUN_MEMORY) : young;
    s[slow] += weight * (counted - s[slow]);
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

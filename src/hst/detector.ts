/**
 * A single-threaded detector over the whole forest: the reference the sharded pipeline equals.
 *
 * @module
 */
import { buildForest, type Forest } from "./model.ts";
import { scoreLearnBatch } from "./score.ts";
import { type ForestOptions, isWarm, massToScore } from "./trees.ts";

/**
 * A whole forest with River's `score_one`-then-`learn_one` interface, for one thread.
 * `scoreLearn(x)` returns the score of `x` (before learning it).
 */
export interface Detector {
  readonly forest: Forest;
  /** Events learned so far. */
  readonly seen: number;
  /** Scores then learns one event (features in forest order; NaN = missing). */
  scoreLearn(x: ArrayLike<number>): number;
  /** Scores then learns `n` events (row-major); writes the scores to `out`. */
  scoreLearnMany(features: Float64Array, n: number, out: Float64Array): void;
}

/** A {@link Detector} over the whole forest. */
export function createDetector(options: ForestOptions): Detector {
  const forest = buildForest(options);
  const one = new Float64Array(forest.nFeatures);
  const mass = new Float64Array(1);
  let seen = 0;
  const detector: Detector = {
    forest,
    get seen() {
      return seen;
    },
    scoreLearn(x) {
      for (let f = 0; f < one.length; f++) one[f] = x[f];
      scoreLearnBatch(forest, one, 1, mass);
      return massToScore(mass[0], isWarm(seen++, forest.windowSize), forest);
    },
    scoreLearnMany(features, n, out) {
      scoreLearnBatch(forest, features, n, out);
      for (let i = 0; i < n; i++) {
        out[i] = massToScore(out[i], isWarm(seen++, forest.windowSize), forest);
      }
    },
  };
  return detector;
}

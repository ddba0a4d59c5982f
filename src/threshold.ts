/**
 * The threshold that turns scores into anomalies, updated with every scored event, in order.
 *
 * - `quantile` — the seed's: anomaly when the score is at or above the running `p` quantile
 *   (P², default p = 0.995) of the earlier scores (River's `QuantileFilter` comparison). It can
 *   flag at most about `1 − p` of the events, so it misses most anomalies of a stream with more.
 * - `adaptive` — anomaly when the event's normalised mass (`1 − score`: how much of the reference
 *   window lay on its path) is below `1 / massRatio` of the running median mass, i.e. its region
 *   held less than a tenth (default) of what a typical event's did. The median moves with the
 *   stream and is barely moved by a few percent of anomalies, so the flagged share follows the
 *   data instead of being fixed. Measured figures: README, Detection.
 *
 * Scores of the first window (warm-up, score 0) neither flag nor update the threshold.
 *
 * @module
 */
import { createQuantile, type QuantileState } from "./quantile.ts";
import { THRESHOLD_DEFAULTS } from "./defaults.ts";

/** Threshold modes. */
export const THRESHOLD_MODES = ["quantile", "adaptive"] as const;
/** One of {@link THRESHOLD_MODES}. */
export type ThresholdMode = typeof THRESHOLD_MODES[number];

/** Options of {@link createThreshold}. */
export interface ThresholdOptions {
  /** Default: `"adaptive"`. */
  mode?: ThresholdMode;
  /** Quantile of `quantile` mode. Default: 0.995. */
  quantileP?: number;
  /** `adaptive` mode: flag when mass < median mass / massRatio. Default: 10. */
  massRatio?: number;
}

/** A stateful threshold. */
export interface Threshold {
  readonly mode: ThresholdMode;
  /** Current threshold on the score scale (NaN until the first warm score). */
  readonly value: number;
  /**
   * Decides whether `score` is an anomaly against the threshold of the earlier scores, then
   * updates the threshold with it. Scores with `warm = false` return false and are ignored.
   */
  observe(score: number, warm: boolean): boolean;
  /** The running quantile's state (for checkpoints). */
  state(): QuantileState;
}

/**
 * A threshold for `options`, resumed from `from` when given (a {@link Threshold.state} of the
 * same mode and parameters). Throws on an unknown mode or an out-of-range parameter.
 */
export function createThreshold(options: ThresholdOptions = {}, from?: QuantileState): Threshold {
  const mode = options.mode ?? THRESHOLD_DEFAULTS.mode;
  if (mode === "quantile") {
    const quantile = createQuantile(options.quantileP ?? THRESHOLD_DEFAULTS.quantileP, from);
    return {
      mode,
      get value() {
        return quantile.get();
      },
      observe(score, warm) {
        if (!warm) return false;
        const anomaly = quantile.n > 0 && score >= quantile.get();
        quantile.update(score);
        return anomaly;
      },
      state: () => quantile.state(),
    };
  }
  if (mode === "adaptive") {
    const ratio = options.massRatio ?? THRESHOLD_DEFAULTS.massRatio;
    if (!(ratio > 1) || !Number.isFinite(ratio)) {
      throw new RangeError(`massRatio must be a finite number > 1, got ${ratio}`);
    }
    const median = createQuantile(0.5, from);
    const value = () => 1 - median.get() / ratio;
    return {
      mode,
      get value() {
        return value();
      },
      observe(score, warm) {
        if (!warm) return false;
        const anomaly = median.n > 0 && score > value();
        median.update(1 - score);
        return anomaly;
      },
      state: () => median.state(),
    };
  }
  throw new RangeError(`mode must be one of ${THRESHOLD_MODES.join(", ")}, got ${mode}`);
}

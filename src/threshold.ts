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
 *   data instead of being fixed. Measured figures: README, Detection, and docs/benchmarks.md.
 *
 * - `context` — calibrated (the default): anomaly when the event's calibrated deviation from its
 *   own entity's recent level (`baseline.ts`: in its own noise; with `BASELINE_EXTREMES=learn`,
 *   extremes weighed by how often that entity shows them; the Gaussian equivalent of its tail, as
 *   the noise is an estimate) is at least the deviation whose two-sided Gaussian tail is
 *   `targetFalseAlertRate` (default 6e-5: 4.01). The event's calibrated deviation is its largest
 *   feature's for as many features as it has ({@link eventDeviation}): each of `k` features is
 *   judged at `1/k` of the target, so the target is a share of events, whatever their features
 *   (one feature alerts at about 4.2 sd of its entity's estimated noise, each of two at about 4.4).
 *   So an entity is judged against its own level and noise, not against the other entities
 *   sharing its partition's forest, and the rate of false alerts is set in the same terms on every
 *   stream. The forest's score (and its adaptive threshold, still learned) is carried along as the
 *   raw score; it alone judges the first events of an entity, before its baseline is warm.
 *
 * Every mode also gives a calibrated **alert score** in [0, 1): `dev / (dev + z*)` of the
 * event's calibrated deviation `dev` (in sd) against the target's `z*`, so 0.5 means "at the
 * target false-alert rate" on any stream.
 *
 * Scores of the first window (warm-up, score 0) neither flag nor update the threshold.
 *
 * @module
 */
import { createQuantile, type QuantileState } from "./quantile.ts";
import { THRESHOLD_DEFAULTS } from "./defaults.ts";
import { deviationForRate } from "./baseline.ts";
import { shareScale } from "./tails.ts";

/** Threshold modes. */
export const THRESHOLD_MODES = ["quantile", "adaptive", "context"] as const;
/** One of {@link THRESHOLD_MODES}. */
export type ThresholdMode = typeof THRESHOLD_MODES[number];

/** Options of {@link createThreshold}. */
export interface ThresholdOptions {
  /** Default: `"context"`. */
  mode?: ThresholdMode;
  /** Quantile of `quantile` mode. Default: 0.995. */
  quantileP?: number;
  /** `adaptive` mode: flag when mass < median mass / massRatio. Default: 10. */
  massRatio?: number;
  /** `context` mode: share of normal events allowed to alert. Default: 6e-5. */
  targetFalseAlertRate?: number;
}

/** What {@link Threshold.judge} decided. */
export interface Judgement {
  anomaly: boolean;
  /** Calibrated alert score in [0, 1) (see the module doc). */
  alertScore: number;
  /**
   * Which feature decided an anomaly: the index (from `from`) of the largest calibrated
   * deviation in `context` mode; −1 when the forest decided (`quantile`, `adaptive`, or an
   * entity without a baseline yet) or when the event is no anomaly.
   */
  driver: number;
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
  /**
   * {@link observe} with the event's per-feature deviations from its entity's level (NaN when
   * unknown): the decision of the mode and the calibrated alert score.
   */
  judge(
    score: number,
    warm: boolean,
    deviation: ArrayLike<number>,
    from?: number,
    count?: number,
  ): Judgement;
  /** The running quantile's state (for checkpoints). */
  state(): QuantileState;
}

/** How much rarer than the forest's threshold an entity's first events must be to alert. */
const COLD_FACTOR = 10;

/** What {@link scanDeviations} found among an event's calibrated deviations. */
export interface DeviationScan {
  /** The index (from `from`) of the largest absolute deviation; −1 when none is above 0. */
  at: number;
  /** That deviation's absolute value (0 when none is above 0). */
  largest: number;
  /** How many are known (not NaN): the features judged for the event. */
  known: number;
}

/**
 * Reads `deviation[from .. from+count)` once into `into`: the largest absolute deviation, where it
 * is, and how many are known (NaN counts as unknown, and as 0 for the largest).
 */
export function scanDeviations(
  deviation: ArrayLike<number>,
  from: number,
  count: number,
  into: DeviationScan,
): DeviationScan {
  let at = -1, largest = 0, known = 0;
  for (let f = from; f < from + count; f++) {
    const a = Math.abs(deviation[f]);
    if (Number.isNaN(a)) continue;
    known++;
    if (a > largest) (largest = a, at = f - from);
  }
  into.at = at;
  into.largest = largest;
  into.known = known;
  return into;
}

/**
 * The calibrated deviation of an event whose largest feature's is `deviation`, of `features`
 * features judged: the deviation whose two-sided Gaussian tail is `features` times that
 * feature's (Bonferroni), so that the target false-alert rate is a share of events however many
 * features each has. Each of k independent normal features reaches a feature's `z*` about as
 * often as one does, so judged one by one an event of 20 features alerted at about 18 times the
 * target (`deno task bench calibration`, `calibration_features_*`). With one feature, `deviation`.
 */
export function eventDeviation(deviation: number, features: number): number {
  return features > 1 ? shareScale(1 / features)(deviation) : deviation;
}

/**
 * The alert score of an event whose calibrated deviation is `deviation`: in [0, 1),
 * 0.5 exactly at `zStar` (where it alerts), rising with the deviation.
 */
export function alertScoreOf(deviation: number, zStar: number): number {
  return deviation / (deviation + zStar);
}

/** Adds {@link Threshold.judge} to a threshold of the forest's score (`context`: deviations). */
function withJudge(
  t: Omit<Threshold, "judge">,
  mode: ThresholdMode,
  zStar: number,
  calibratedMode: boolean,
): Threshold {
  // Reused by every judgement (one event at a time).
  const scan: DeviationScan = { at: -1, largest: 0, known: 0 };
  return {
    mode,
    get value() {
      return t.value;
    },
    state: () => t.state(),
    observe: (score, warm) => t.observe(score, warm),
    judge(score, warm, deviation, from = 0, count = deviation.length - from) {
      const before = t.value;
      const flagged = t.observe(score, warm);
      const { at, largest, known } = scanDeviations(deviation, from, count, scan);
      const dev = eventDeviation(largest, known);
      const calibrated = alertScoreOf(dev, zStar);
      if (!calibratedMode) return { anomaly: flagged, alertScore: calibrated, driver: -1 };
      // An entity without a baseline yet (its first events) is judged by the forest alone, and
      // only when far out: its region held under a tenth of what the forest's threshold asks
      // (a new sensor is not flagged for its own level, an extreme first event is).
      if (known === 0) {
        const far = flagged && score > 1 - (1 - before) / COLD_FACTOR;
        return { anomaly: far, alertScore: far ? 0.5 : 0, driver: -1 };
      }
      // No alert before the forest has a threshold (its warm-up): an alert carries it.
      const anomaly = warm && !Number.isNaN(before) && dev >= zStar;
      return { anomaly, alertScore: calibrated, driver: anomaly ? at : -1 };
    },
  };
}

/**
 * A threshold for `options`, resumed from `from` when given (a {@link Threshold.state} of the
 * same mode and parameters). Throws on an unknown mode or an out-of-range parameter.
 */
export function createThreshold(options: ThresholdOptions = {}, from?: QuantileState): Threshold {
  const mode = options.mode ?? THRESHOLD_DEFAULTS.mode;
  const rate = options.targetFalseAlertRate ?? THRESHOLD_DEFAULTS.targetFalseAlertRate;
  if (!(rate > 0 && rate < 1)) {
    throw new RangeError(`targetFalseAlertRate must be in (0, 1), got ${rate}`);
  }
  const zStar = deviationForRate(rate);
  if (!(THRESHOLD_MODES as readonly string[]).includes(mode)) {
    throw new RangeError(`mode must be one of ${THRESHOLD_MODES.join(", ")}, got ${mode}`);
  }
  const base = forestThreshold(mode === "context" ? "adaptive" : mode, options, from);
  return withJudge(base, mode, zStar, mode === "context");
}

/** The threshold on the forest's score alone (`quantile` or `adaptive`). */
function forestThreshold(
  mode: "quantile" | "adaptive",
  options: ThresholdOptions,
  from?: QuantileState,
): Omit<Threshold, "judge"> {
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
  throw new RangeError(`mode must be quantile or adaptive, got ${mode}`);
}

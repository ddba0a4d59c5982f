/**
 * The model's defaults, in one place: the seed's (and River's) Half-Space Trees parameters and
 * the threshold's. The settings table (`config.ts`), the forest (`hst/`), the threshold and the
 * model key all read them from here.
 *
 * @module
 */

/** Half-Space Trees: 25 trees of height 15, windows of 250 events, seed 42. */
export const FOREST_DEFAULTS = { nTrees: 25, height: 15, windowSize: 250, seed: 42 } as const;

/**
 * Threshold: `context` mode (the forest's adaptive threshold gated by the entity's own
 * deviation); the seed's quantile p = 0.995; adaptive mass ratio 10; a target false-alert rate of
 * 5e-6 for the calibrated alert score (about 4.9 sd of an entity's estimated noise at the
 * baselines' default weight; see `tails.ts`).
 */
export const THRESHOLD_DEFAULTS: {
  mode: "quantile" | "adaptive" | "context";
  quantileP: number;
  massRatio: number;
  targetFalseAlertRate: number;
} = {
  mode: "context",
  quantileP: 0.995,
  massRatio: 10,
  targetFalseAlertRate: 5e-6,
};

/** Partitions of the topics the product creates: events 4, alerts 1, dead letters 1. */
export const PARTITION_DEFAULTS = { events: 4, alerts: 1, dlq: 1 } as const;

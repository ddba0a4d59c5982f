/**
 * What `process` and `replay` build from the configuration: the checks' limits and the
 * pipeline's options. Shared, so a replay runs exactly the processor's core.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { type CheckLimits, DEFAULT_LIMITS } from "./event.ts";
import type { PipelineOptions } from "./pipeline.ts";

/** Check limits from the configuration. */
export function limitsOf(config: Config): CheckLimits {
  return {
    ...DEFAULT_LIMITS,
    maxEventBytes: config.maxEventBytes,
    valueMin: config.valueMin,
    valueMax: config.valueMax,
    temperatureMin: config.temperatureMin,
    temperatureMax: config.temperatureMax,
    freshnessMaxLagSec: config.freshnessMaxLagSec,
  };
}

/** Pipeline options from the configuration. */
export function pipelineOptionsOf(config: Config) {
  return {
    workers: config.workers,
    limits: limitsOf(config),
    forest: {
      nTrees: config.hstNTrees,
      height: config.hstHeight,
      windowSize: config.hstWindowSize,
      seed: config.hstSeed,
    },
    threshold: {
      mode: config.thresholdMode,
      quantileP: config.quantileP,
      massRatio: config.thresholdMassRatio,
      targetFalseAlertRate: config.targetFalseAlertRate,
    },
    baseline: { alpha: config.baselineAlpha, maxEntities: config.maxEntities },
  } satisfies PipelineOptions;
}

/**
 * What `process` and `replay` build from the configuration: the checks' limits and the
 * pipeline's options. Shared, so a replay runs exactly the processor's core.
 *
 * @module
 */
import { type Config, ConfigError, type LoadedConfig, SETTINGS } from "./config.ts";
import { type CheckLimits, DEFAULT_LIMITS } from "./event.ts";
import type { PipelineOptions } from "./pipeline.ts";
import { loadContract } from "./contract/load.ts";
import type { Contract } from "./contract/spec.ts";

/** Settings that shape the built-in contract only (a contract file declares its own ranges). */
const BUILTIN_ONLY = [
  SETTINGS.valueMin,
  SETTINGS.valueMax,
  SETTINGS.temperatureMin,
  SETTINGS.temperatureMax,
];

/**
 * The contract of `CONTRACT_FILE`, or undefined for the built-in one. `FRESHNESS_MAX_LAG_SEC`,
 * when given, overrides the file's freshness lag. Throws a `ContractError` for a bad file and a
 * {@link ConfigError} for a built-in-only setting given with a file.
 */
export async function contractOfConfig(
  loaded: Pick<LoadedConfig, "config" | "given">,
): Promise<Contract | undefined> {
  const { config, given } = loaded;
  if (config.contractFile === "") return undefined;
  for (const spec of BUILTIN_ONLY) {
    if (given.has(spec.env)) {
      throw new ConfigError(
        spec.env,
        `invalid setting ${spec.env} (--${spec.flag}): it sets the built-in contract's range; ` +
          `with CONTRACT_FILE=${config.contractFile} give fields.<name>.min / max in the contract`,
      );
    }
  }
  const contract = await loadContract(config.contractFile);
  if (given.has(SETTINGS.freshnessMaxLagSec.env)) {
    return { ...contract, time: { ...contract.time, freshnessLagSec: config.freshnessMaxLagSec } };
  }
  return contract;
}

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

/** Pipeline options from the configuration (and the contract of `CONTRACT_FILE`, if any). */
export function pipelineOptionsOf(config: Config, contract?: Contract) {
  return {
    ...(contract ? { contract } : {}),
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
    baseline: {
      alpha: config.baselineAlpha,
      maxEntities: config.maxEntities,
      season: config.baselineSeason,
      extremes: config.baselineExtremes,
    },
    timeZone: config.timeZone,
  } satisfies PipelineOptions;
}

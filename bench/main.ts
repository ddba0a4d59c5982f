/**
 * `deno task bench [detector] …`: the benchmarks, printing `name=value` lines. Comparisons
 * (River, raw kafkajs) are measured in the same run and printed as ratios.
 *
 * @module
 */
import { benchDetector } from "./detector.ts";
import { benchGenerator, benchPipeline } from "./pipeline.ts";
import { benchSoak } from "./soak.ts";
import { benchBacklog } from "./backlog.ts";
import { benchNab } from "./nab.ts";
import { benchNabBaselines } from "./nab_baselines.ts";
import { benchMulti } from "./multi.ts";
import { benchCalibration } from "./calibration.ts";
import { benchCreep } from "./creep.ts";
import { benchEntities } from "./entities.ts";
import { benchServers } from "./servers.ts";

const SECTIONS: Record<string, () => Promise<void>> = {
  detector: benchDetector,
  pipeline: benchPipeline,
  generator: benchGenerator,
  nab: benchNab,
  multi: benchMulti,
  calibration: benchCalibration,
  creep: benchCreep,
  entities: benchEntities,
  servers: benchServers,
};
/**
 * Only when named: the long runs (`deno task bench soak`, `deno task bench backlog`) and the
 * in-process NAB of the baselines for method work (`deno task bench nab_baselines`).
 */
const ON_REQUEST: Record<string, () => Promise<void>> = {
  soak: benchSoak,
  backlog: benchBacklog,
  nab_baselines: benchNabBaselines,
};

const chosen = Deno.args.length > 0 ? Deno.args : Object.keys(SECTIONS);
for (const name of chosen) {
  const run = SECTIONS[name] ?? ON_REQUEST[name];
  if (!run) {
    const known = [...Object.keys(SECTIONS), ...Object.keys(ON_REQUEST)].join(", ");
    console.error(`unknown bench "${name}": expected one of ${known}`);
    Deno.exit(2);
  }
  console.log(`# bench ${name}`);
  await run();
}

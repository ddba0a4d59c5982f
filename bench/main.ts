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
import { benchMulti } from "./multi.ts";
import { benchCalibration } from "./calibration.ts";

const SECTIONS: Record<string, () => Promise<void>> = {
  detector: benchDetector,
  pipeline: benchPipeline,
  generator: benchGenerator,
  nab: benchNab,
  multi: benchMulti,
  calibration: benchCalibration,
};
/** Long runs, only when named: `deno task bench soak`, `deno task bench backlog`. */
const ON_REQUEST: Record<string, () => Promise<void>> = { soak: benchSoak, backlog: benchBacklog };

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

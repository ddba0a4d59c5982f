/**
 * `deno task bench [detector] …`: the benchmarks, printing `name=value` lines. Comparisons
 * (River, raw kafkajs) are measured in the same run and printed as ratios.
 *
 * @module
 */
import { benchDetector } from "./detector.ts";
import { benchGenerator, benchPipeline } from "./pipeline.ts";

const SECTIONS: Record<string, () => Promise<void>> = {
  detector: benchDetector,
  pipeline: benchPipeline,
  generator: benchGenerator,
};

const chosen = Deno.args.length > 0 ? Deno.args : Object.keys(SECTIONS);
for (const name of chosen) {
  const run = SECTIONS[name];
  if (!run) {
    console.error(`unknown bench "${name}": expected one of ${Object.keys(SECTIONS).join(", ")}`);
    Deno.exit(2);
  }
  console.log(`# bench ${name}`);
  await run();
}

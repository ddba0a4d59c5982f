/**
 * Creep benchmark (`deno task bench creep`): readings that creep slowly away from their level (a
 * leak, a filling disk, a heating motor), which the level follows so that no single event stands
 * out, through the baselines with their defaults. 40 sensors of Gaussian noise, a reading every 5
 * minutes; after 6,000 flat readings each creeps by `slope` noise sd per reading for 1,000 more.
 *
 * Lines, per slope (0.005, 0.01, 0.02, 0.05 sd per reading): `creep_caught_<slope>=` (the share of
 * sensors flagged during their creep), `creep_delay_p50_<slope>=` (median readings from the start
 * of the creep to the first alert), `creep_by_drift_<slope>=` (the share of those first alerts
 * decided by the drift); and `creep_false_alerts=` (alerts before any creep, over all sensors and
 * slopes).
 *
 * @module
 */
import { BASES, createBaselines, createJudgement, deviationForRate } from "../src/baseline.ts";
import { THRESHOLD_DEFAULTS } from "../src/defaults.ts";
import { createRandom } from "../src/random.ts";
import { report } from "./report.ts";

/** Runs the creep benchmark; prints `name=value` lines. */
export function benchCreep(): Promise<void> {
  const sensors = 40, flat = 6_000, creeping = 1_000;
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  let falseAlerts = 0;
  for (const slope of [0.005, 0.01, 0.02, 0.05]) {
    const rng = createRandom(13, 1);
    const b = createBaselines(1);
    const out = createJudgement(1);
    const first = new Float64Array(sensors).fill(-1);
    let byDrift = 0;
    for (let i = 0; i < flat + creeping; i++) {
      const creep = i >= flat ? slope * (i - flat) : 0;
      for (let e = 0; e < sensors; e++) {
        b.judgeLearn(`s${e}`, [100 + e + creep + rng.normal()], i * 300, out);
        if (!(out.calibrated[0] >= zStar)) continue;
        if (i < flat) falseAlerts++;
        else if (first[e] < 0) {
          first[e] = i - flat;
          if (BASES[out.basis[0]] === "drift") byDrift++;
        }
      }
    }
    const delays = [...first].filter((d) => d >= 0).sort((a, b) => a - b);
    report(`creep_caught_${slope}`, (delays.length / sensors).toFixed(3));
    report(
      `creep_delay_p50_${slope}`,
      delays.length > 0 ? delays[Math.floor(delays.length / 2)] : "none",
    );
    report(`creep_by_drift_${slope}`, (byDrift / Math.max(1, delays.length)).toFixed(3));
  }
  report("creep_false_alerts", falseAlerts);
  return Promise.resolve();
}

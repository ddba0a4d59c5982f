/**
 * Calibration benchmark (`deno task bench calibration`): how often normal events alert, against
 * the target false-alert rate. 200 sensors of Gaussian noise around their own levels with a daily
 * cycle of 3 noise sd, one reading a minute for 50,000 minutes, through the baselines with their
 * defaults; judged after each sensor's first day.
 *
 * Lines: `calibration_judged=`, and per target rate (1e-3, 1e-4, 1e-5 and the default)
 * `calibration_ratio_<rate>=` (alerts per judged event / the target: 1 is calibrated) and the same
 * with the Gaussian tail alone (`calibration_gaussian_ratio_<rate>=`, what the deviations would
 * give if their noise were known exactly) and with the recent level judged too, as the built-in
 * sensor contract does (`calibration_recent_ratio_<rate>=`: an event alerts when either does).
 *
 * @module
 */
import { type BaselineOptions, createBaselines, deviationForRate } from "../src/baseline.ts";
import { THRESHOLD_DEFAULTS } from "../src/defaults.ts";
import { createRandom } from "../src/random.ts";
import { report } from "./report.ts";

/** Alerts of the Gaussian sensors through baselines with `options`, per rate of `zStar`. */
function countAlerts(options: BaselineOptions, zStar: readonly number[]) {
  const sensors = 200, minutes = 50_000;
  const calibrated = new Float64Array(zStar.length), raw = new Float64Array(zStar.length);
  const rng = createRandom(9, 1);
  const b = createBaselines(1, options);
  const out = {
    z: new Float64Array(1),
    typical: new Float64Array(1),
    calibrated: new Float64Array(1),
  };
  const keys = Array.from({ length: sensors }, (_, e) => `sensor-${e}`);
  let judged = 0;
  for (let i = 0; i < minutes; i++) {
    const day = 3 * Math.sin((2 * Math.PI * i) / 1440);
    for (let e = 0; e < sensors; e++) {
      b.judgeLearn(keys[e], [100 + e + day + rng.normal()], i * 60, out);
      if (i < 1440 || Number.isNaN(out.calibrated[0])) continue;
      judged++;
      const a = Math.abs(out.z[0]);
      for (let k = 0; k < zStar.length; k++) {
        if (out.calibrated[0] >= zStar[k]) calibrated[k]++;
        if (a >= zStar[k]) raw[k]++;
      }
    }
  }
  return { judged, calibrated, raw };
}

/** Runs the calibration benchmark; prints `name=value` lines. */
export function benchCalibration(): Promise<void> {
  const rates = [1e-3, 1e-4, 1e-5, THRESHOLD_DEFAULTS.targetFalseAlertRate];
  const zStar = rates.map(deviationForRate);
  const level = countAlerts({}, zStar);
  // The built-in sensor contract's judgements: the level and the recent level.
  const recent = countAlerts({ recent: [true] }, zStar);
  report("calibration_judged", level.judged);
  rates.forEach((rate, k) => {
    const name = rate === THRESHOLD_DEFAULTS.targetFalseAlertRate ? "default" : String(rate);
    report(`calibration_ratio_${name}`, (level.calibrated[k] / level.judged / rate).toFixed(3));
    report(`calibration_gaussian_ratio_${name}`, (level.raw[k] / level.judged / rate).toFixed(3));
    report(
      `calibration_recent_ratio_${name}`,
      (recent.calibrated[k] / recent.judged / rate).toFixed(3),
    );
  });
  return Promise.resolve();
}

/**
 * Calibration benchmark (`deno task bench calibration`): how often normal events alert, against
 * the target false-alert rate. 200 sensors of Gaussian noise around their own levels with a daily
 * cycle of 3 noise sd, one reading a minute for 50,000 minutes, through the baselines with their
 * defaults; judged after each sensor's first day.
 *
 * Lines: `calibration_judged=`, and per target rate (1e-3, 1e-4, 1e-5 and the default)
 * `calibration_ratio_<rate>=` (alerts per judged event / the target: 1 is calibrated) and the same
 * with the Gaussian tail alone (`calibration_gaussian_ratio_<rate>=`, what the deviations would
 * give if their noise were known exactly), with the recent level judged too
 * (`calibration_recent_ratio_<rate>=`: an event alerts when either does), with the change since
 * the previous event judged too (`calibration_change_ratio_<rate>=`), with both, as the built-in
 * sensor contract does (`calibration_builtin_ratio_<rate>=`), and alerting on the high side only
 * (`calibration_high_ratio_<rate>=`: about half the target).
 *
 * Then events of 1, 2, 5 and 20 independent Gaussian features (50 sensors, 12,000 minutes, the
 * daily cycle, judged after the first day), per event as the threshold judges them, their largest
 * deviation for as many features (`calibration_features_<k>_ratio_<rate>=`), and as each feature
 * alone would (`calibration_features_<k>_each_ratio_<rate>=`: about k times the target), at 1e-4
 * and the default rate.
 *
 * Then Gaussian readings every 5 minutes with no cycle (100 sensors, 30,000 readings, judged after
 * 10,000: `calibration_5min_ratio_<rate>=`, at 1e-4 and the default), every 20 seconds with the
 * daily cycle (50 sensors, 200,000 readings or 46 days, judged after the first day:
 * `calibration_20s_ratio_<rate>=`), every 5 minutes growing by 2 or 20 noise sd a day (a disk
 * filling, a counter; 100 sensors, 60 days, judged after their first 3:
 * `calibration_growth_<sd a day>_ratio_<rate>=`), and noise that is not
 * Gaussian (100 sensors, 30,000 minutes, judged after each sensor's first
 * 5,000 events, when the default `shape` extremes have learned it): Student's t with 5 degrees
 * of freedom, Laplace, log-normal (σ 0.3 of the log) and exponential, with the defaults
 * (`calibration_<noise>_ratio_<rate>=`) and with `extremes: "coarse"`, the default before, which
 * judges such noise as Gaussian (`calibration_<noise>_coarse_ratio_<rate>=`), at 1e-4 and the
 * default rate.
 *
 * Then quantities that vary by factors around each sensor's own level (20 to 500, 100 sensors,
 * 30,000 minutes, a daily cycle of ±50 %, judged after 5,000): log-normal (σ 0.5 of the log) and
 * gamma (shape 2) factors, as they are (`calibration_multiplicative_<spread>_ratio_<rate>=`), as
 * they are with `extremes: "coarse"` (`calibration_multiplicative_<spread>_coarse_ratio_<rate>=`),
 * on a feature's log scale (`calibration_multiplicative_<spread>_log_ratio_<rate>=`), and on it
 * with `extremes: "coarse"` (`calibration_multiplicative_<spread>_log_coarse_ratio_<rate>=`) or
 * alerting on the high side only (`calibration_multiplicative_<spread>_log_high_ratio_<rate>=`);
 * and what each costs: the share of spikes 10 and 20 times the usual value caught at the default
 * rate, one per sensor
 * (`calibration_multiplicative_<spread>_[coarse_|log_|log_coarse_]caught_<k>x=`).
 *
 * Then newcomers among sensors that have learned their shape (40 read every minute for 4,000
 * minutes, then 1,000 newcomers arriving 20 at a time with 300 readings each, every noise family
 * as above, newcomers and sensors alike): the newcomers' alerts over the target
 * (`calibration_newcomers_<noise>_ratio_<rate>=`, at 1e-4 and the default); and what judging them
 * like the sensors before them costs: the share of 8-sd spikes of Gaussian newcomers caught at the
 * default rate among Gaussian sensors and among Student-t (5) ones
 * (`calibration_newcomers_gaussian_among_<noise>_caught_8sd=`). And the same newcomers with no
 * older sensors at all (`calibration_young_<noise>_ratio_<rate>=`): each group learns from those
 * before it and from itself. And lone entities, each the only one of its model (200 of each noise,
 * 6,000 minutes, judged from their 1,000th reading: `calibration_lone_<noise>_ratio_<rate>=`).
 *
 * Then counts (100 sensors, 30,000 minutes, judged after their first day): Poisson counts of
 * mean 0.2, 1 and 5 with a daily cycle of ±50 % (`calibration_count_<mean>_ratio_<rate>=`, at 1e-4
 * and the default rate), and overdispersed counts with the same cycle, negative binomials of mean
 * 2 and variance 6 and of mean 20 and variance 60 (`calibration_negbin_<mean>_ratio_<rate>=`);
 * and what that calibration costs: the share of bursts of 20–60 caught at the default rate among
 * such counts of mean 3 and variance 9 or mean 20 and variance 60, one burst per sensor
 * (`calibration_negbin_<mean>_burst_<size>_caught=`).
 *
 * @module
 */
import {
  type BaselineOptions,
  createBaselines,
  createJudgement,
  deviationForRate,
} from "../src/baseline.ts";
import { type Scale, toModelScale } from "../src/contract/scale.ts";
import { THRESHOLD_DEFAULTS } from "../src/defaults.ts";
import { type DeviationScan, eventDeviation, scanDeviations } from "../src/threshold.ts";
import { createRandom, type Random } from "../src/random.ts";
import { report } from "./report.ts";

/** Features per event of the `calibration_features_*` lines. */
const FEATURE_COUNTS = [1, 2, 5, 20];

/** Noises of the sensors, each of its own scale. */
const NOISES: Record<string, (rng: Random) => number> = {
  gaussian: (rng) => rng.normal(),
  t5: (rng) => {
    let c = 0;
    for (let k = 0; k < 5; k++) c += rng.normal() ** 2;
    return rng.normal() / Math.sqrt(c / 5);
  },
  laplace: (rng) => (rng.next() < 0.5 ? 1 : -1) * Math.log(1 - rng.next()),
  lognormal: (rng) => 10 * Math.exp(0.3 * rng.normal()),
  exponential: (rng) => -Math.log(1 - rng.next()),
};

/** Factors of a quantity that varies by factors (mean about 1). */
const FACTORS: Record<string, (rng: Random) => number> = {
  lognormal: (rng) => Math.exp(0.5 * rng.normal()),
  gamma: (rng) => gamma(rng, 2) / 2,
};

/**
 * Alerts of sensors with `noise` through baselines with `options`, per rate of `zStar`: each
 * sensor gives `readings` readings `step` seconds apart with a daily cycle of `cycle` noise units,
 * judged after its first `skip`.
 */
function countAlerts(
  options: BaselineOptions,
  zStar: readonly number[],
  {
    noise = "gaussian",
    sensors = 200,
    readings = 50_000,
    skip = 1440,
    step = 60,
    cycle = 3,
    count = 0,
    shape = Infinity,
    scale = "linear" as Scale,
    spread = "",
    growth = 0,
  } = {},
) {
  const calibrated = new Float64Array(zStar.length), raw = new Float64Array(zStar.length);
  const rng = createRandom(9, 1), draw = NOISES[noise];
  const b = createBaselines(1, options);
  const out = createJudgement(1);
  const keys = Array.from({ length: sensors }, (_, e) => `sensor-${e}`);
  const levels = keys.map((_, e) => 20 * 25 ** (e / Math.max(1, sensors - 1)));
  let judged = 0;
  for (let i = 0; i < readings; i++) {
    const phase = Math.sin((2 * Math.PI * i * step) / 86_400), day = cycle * phase;
    for (let e = 0; e < sensors; e++) {
      // With `count`: a Poisson count of that mean, ±50 % over the day; with a finite `shape`
      // its mean is scaled by a gamma of that shape and mean 1 (a negative binomial).
      const mean = count * (1 + 0.5 * phase) * (shape < Infinity ? gamma(rng, shape) / shape : 1);
      // With `spread`: a quantity that varies by factors around the sensor's own level (20 to
      // 500) with a daily cycle of ±50 %, given to the baselines on `scale`.
      const value = count > 0
        ? poisson(rng, mean)
        : spread
        ? levels[e] * (1 + 0.5 * phase) * FACTORS[spread](rng)
        : 100 + e + day + draw(rng) + growth * i * step / 86_400;
      b.judgeLearn(keys[e], [toModelScale(scale, value)], i * step, out);
      if (i < skip || Number.isNaN(out.calibrated[0])) continue;
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

/** A Poisson count of `mean` (by inversion). */
export function poisson(rng: Random, mean: number): number {
  let k = 0, p = Math.exp(-mean), sum = p;
  const u = rng.next();
  while (u > sum && p > 0) sum += p *= mean / ++k;
  return k;
}

/** A gamma of `shape` ≥ 1 and scale 1 (Marsaglia and Tsang). */
function gamma(rng: Random, shape: number): number {
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal(), v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(rng.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** `default` for the default target rate, else the rate as written. */
const rateName = (rate: number) =>
  rate === THRESHOLD_DEFAULTS.targetFalseAlertRate ? "default" : String(rate);

/** Runs the calibration benchmark; prints `name=value` lines. */
export function benchCalibration(): Promise<void> {
  const rates = [1e-3, 1e-4, 1e-5, THRESHOLD_DEFAULTS.targetFalseAlertRate];
  const zStar = rates.map(deviationForRate);
  const level = countAlerts({}, zStar);
  // The level with the recent level; with the change since the previous event (judged at its
  // share of the target); with both, as the built-in sensor contract judges its features.
  const recent = countAlerts({ recent: [true] }, zStar);
  const change = countAlerts({ change: [true] }, zStar);
  const builtin = countAlerts({ recent: [true], change: [true] }, zStar);
  // A feature that alerts on its high side only.
  const high = countAlerts({ alertOn: ["high"] }, zStar);
  report("calibration_judged", level.judged);
  rates.forEach((rate, k) => {
    const name = rateName(rate);
    report(`calibration_ratio_${name}`, (level.calibrated[k] / level.judged / rate).toFixed(3));
    report(`calibration_gaussian_ratio_${name}`, (level.raw[k] / level.judged / rate).toFixed(3));
    // The same per run, with the judgements each adds.
    for (const [run, counts] of Object.entries({ recent, change, builtin, high })) {
      report(
        `calibration_${run}_ratio_${name}`,
        (counts.calibrated[k] / counts.judged / rate).toFixed(3),
      );
    }
  });
  const tails = [1e-4, THRESHOLD_DEFAULTS.targetFalseAlertRate];
  const tailZ = tails.map(deviationForRate);
  // Events of several features: the target is a share of events, whatever their features.
  for (const features of FEATURE_COUNTS) {
    const { judged, event, each } = featureAlerts(features, tailZ);
    tails.forEach((rate, k) => {
      const name = `calibration_features_${features}`;
      report(`${name}_ratio_${rateName(rate)}`, (event[k] / judged / rate).toFixed(3));
      report(`${name}_each_ratio_${rateName(rate)}`, (each[k] / judged / rate).toFixed(3));
    });
  }
  // Gaussian readings every 5 minutes (NAB's spacing), no cycle, after their first 10,000; and
  // every 20 seconds with the daily cycle for 46 days, after their first day: fast sensors, whose
  // forecast once grew unstable over weeks.
  const spacings = {
    "5min": { sensors: 100, readings: 30_000, skip: 10_000, step: 300, cycle: 0 },
    "20s": { sensors: 50, readings: 200_000, skip: 4_320, step: 20 },
  };
  for (const [spacing, size] of Object.entries(spacings)) {
    const { calibrated, judged } = countAlerts({}, tailZ, size);
    tails.forEach((rate, k) => {
      const ratio = (calibrated[k] / judged / rate).toFixed(3);
      report(`calibration_${spacing}_ratio_${rateName(rate)}`, ratio);
    });
  }
  // Quantities that grow (disk usage, a counter): 2 and 20 noise sd a day, read every 5 minutes
  // for 60 days, judged after their first 3 (while the trend is learned the daily profile takes
  // part of the growth for a cycle).
  for (const growth of [2, 20]) {
    const size = { sensors: 100, readings: 17_280, skip: 864, step: 300, cycle: 0, growth };
    const { calibrated, judged } = countAlerts({}, tailZ, size);
    tails.forEach((rate, k) => {
      const ratio = (calibrated[k] / judged / rate).toFixed(3);
      report(`calibration_growth_${growth}_ratio_${rateName(rate)}`, ratio);
    });
  }
  for (const noise of ["t5", "laplace", "lognormal", "exponential"]) {
    const size = { noise, sensors: 100, readings: 30_000, skip: 5_000 };
    const shaped = countAlerts({}, tailZ, size);
    const coarse = countAlerts({ extremes: "coarse" }, tailZ, size);
    tails.forEach((rate, k) => {
      const name = rateName(rate);
      const ratio = (c: Float64Array, judged: number) => (c[k] / judged / rate).toFixed(3);
      report(`calibration_${noise}_ratio_${name}`, ratio(shaped.calibrated, shaped.judged));
      report(`calibration_${noise}_coarse_ratio_${name}`, ratio(coarse.calibrated, coarse.judged));
    });
  }
  for (const spread of Object.keys(FACTORS)) {
    const size = { spread, sensors: 100, readings: 30_000, skip: 5_000 };
    const linear = countAlerts({}, tailZ, size);
    const linearCoarse = countAlerts({ extremes: "coarse" }, tailZ, size);
    const log = countAlerts({}, tailZ, { ...size, scale: "log" });
    const logCoarse = countAlerts({ extremes: "coarse" }, tailZ, { ...size, scale: "log" });
    const logHigh = countAlerts({ alertOn: ["high"] }, tailZ, { ...size, scale: "log" });
    tails.forEach((rate, k) => {
      const name = rateName(rate);
      const ratio = (c: Float64Array, judged: number) => (c[k] / judged / rate).toFixed(3);
      report(
        `calibration_multiplicative_${spread}_ratio_${name}`,
        ratio(linear.calibrated, linear.judged),
      );
      report(
        `calibration_multiplicative_${spread}_coarse_ratio_${name}`,
        ratio(linearCoarse.calibrated, linearCoarse.judged),
      );
      report(
        `calibration_multiplicative_${spread}_log_ratio_${name}`,
        ratio(log.calibrated, log.judged),
      );
      report(
        `calibration_multiplicative_${spread}_log_coarse_ratio_${name}`,
        ratio(logCoarse.calibrated, logCoarse.judged),
      );
      report(
        `calibration_multiplicative_${spread}_log_high_ratio_${name}`,
        ratio(logHigh.calibrated, logHigh.judged),
      );
    });
  }
  for (const mean of [0.2, 1, 5]) {
    const size = { sensors: 100, readings: 30_000, count: mean };
    const { calibrated, judged } = countAlerts({}, tailZ, size);
    tails.forEach((rate, k) => {
      const ratio = (calibrated[k] / judged / rate).toFixed(3);
      report(`calibration_count_${mean}_ratio_${rateName(rate)}`, ratio);
    });
  }
  // Variance mean + mean² / shape: 6 for mean 2 (shape 1), 60 for mean 20 (shape 10).
  for (const [mean, shape] of [[2, 1], [20, 10]]) {
    const size = { sensors: 100, readings: 30_000, count: mean, shape };
    const { calibrated, judged } = countAlerts({}, tailZ, size);
    tails.forEach((rate, k) => {
      const ratio = (calibrated[k] / judged / rate).toFixed(3);
      report(`calibration_negbin_${mean}_ratio_${rateName(rate)}`, ratio);
    });
  }
  // What calibration costs: spikes of a quantity that varies by factors caught at the default rate.
  const settings: [string, BaselineOptions, Scale][] = [
    ["", {}, "linear"],
    ["coarse_", { extremes: "coarse" }, "linear"],
    ["log_", {}, "log"],
    ["log_coarse_", { extremes: "coarse" }, "log"],
  ];
  for (const spread of Object.keys(FACTORS)) {
    for (const [label, options, scale] of settings) {
      for (const factor of [10, 20]) {
        const caught = factorsCaught(spread, options, scale, factor, tailZ[tailZ.length - 1]);
        report(`calibration_multiplicative_${spread}_${label}caught_${factor}x`, caught.toFixed(2));
      }
    }
  }
  // Newcomers among sensors that have learned their shape, each group's noise one family.
  for (const noise of Object.keys(NOISES)) {
    const { calibrated, judged } = newcomers(noise, noise, tailZ, 0);
    tails.forEach((rate, k) => {
      const ratio = (calibrated[k] / judged / rate).toFixed(3);
      report(`calibration_newcomers_${noise}_ratio_${rateName(rate)}`, ratio);
    });
  }
  // Young sensors with no older peers: the same newcomers alone.
  for (const noise of Object.keys(NOISES)) {
    const { calibrated, judged } = newcomers(noise, noise, tailZ, 0, 0);
    tails.forEach((rate, k) => {
      const ratio = (calibrated[k] / judged / rate).toFixed(3);
      report(`calibration_young_${noise}_ratio_${rateName(rate)}`, ratio);
    });
  }
  // Lone entities, each its own model (as a NAB file is): no peers to be judged like.
  for (const noise of Object.keys(NOISES)) {
    const { calibrated, judged } = loneAlerts(noise, tailZ);
    tails.forEach((rate, k) => {
      const ratio = (calibrated[k] / judged / rate).toFixed(3);
      report(`calibration_lone_${noise}_ratio_${rateName(rate)}`, ratio);
    });
  }
  // What judging newcomers like the sensors before them costs: 8-sd spikes of Gaussian newcomers
  // caught at the default rate, among Gaussian sensors and among Student-t (5) ones.
  for (const among of ["gaussian", "t5"]) {
    const { caught } = newcomers("gaussian", among, tailZ, 8);
    report(`calibration_newcomers_gaussian_among_${among}_caught_8sd`, caught.toFixed(2));
  }
  // What calibration costs: bursts of overdispersed counts caught at the default rate.
  for (const [mean, shape] of [[3, 1.5], [20, 10]]) {
    for (const burst of [20, 30, 40, 60]) {
      const caught = burstsCaught(mean, shape, burst, tailZ[tailZ.length - 1]);
      report(`calibration_negbin_${mean}_burst_${burst}_caught`, caught.toFixed(2));
    }
  }
  return Promise.resolve();
}

/**
 * Newcomers among sensors that have learned their shape, through the default baselines: `mature`
 * sensors of `matureNoise` read every minute for 4,000 minutes (their shape learned), then, while
 * they go on, 1,000 newcomers of `noise` arriving 20 at a time, each read every minute for 300
 * minutes (no daily cycle). Counts the newcomers' alerts per rate of `zStar` (their judged events
 * but the last), and with `spike` > 0 the share of their last readings, `spike` noise sd above
 * their level on every other newcomer, that alert at the last rate.
 */
function newcomers(
  noise: string,
  matureNoise: string,
  zStar: readonly number[],
  spike: number,
  mature = 40,
) {
  const rng = createRandom(11, 1), draw = NOISES[noise], drawMature = NOISES[matureNoise];
  const b = createBaselines(1, {}), out = createJudgement(1);
  const calibrated = new Float64Array(zStar.length);
  const group = 20, entities = 1000, readings = 300;
  let minute = 0, judged = 0, spikes = 0, caught = 0;
  const matureMinute = () => {
    for (let e = 0; e < mature; e++) {
      b.judgeLearn(`mature-${e}`, [100 + e + drawMature(rng)], minute * 60, out);
    }
  };
  for (; mature > 0 && minute < 4_000; minute++) matureMinute();
  for (let g = 0; g < entities; g += group) {
    for (let i = 0; i < readings; i++, minute++) {
      matureMinute();
      for (let e = g; e < g + group; e++) {
        const last = i === readings - 1, spiked = spike > 0 && last && e % 2 === 0;
        const v = 200 + (e % 100) + (spiked ? spike : draw(rng));
        b.judgeLearn(`newcomer-${e}`, [v], minute * 60, out);
        if (Number.isNaN(out.calibrated[0])) continue;
        if (spiked) {
          spikes++;
          if (out.calibrated[0] >= zStar[zStar.length - 1]) caught++;
        } else if (!last) {
          judged++;
          for (let k = 0; k < zStar.length; k++) if (out.calibrated[0] >= zStar[k]) calibrated[k]++;
        }
      }
    }
  }
  return { judged, calibrated, caught: caught / Math.max(1, spikes) };
}

/**
 * Lone entities of `noise`, each the only entity of its own baselines (as each NAB file is, or a
 * stream of one source): 200 read every minute for 6,000 minutes (no daily cycle), judged from
 * their 1,000th reading on, while their shape is still being learned. Counts their alerts per rate
 * of `zStar`.
 */
function loneAlerts(noise: string, zStar: readonly number[]) {
  const draw = NOISES[noise], calibrated = new Float64Array(zStar.length);
  let judged = 0;
  for (let e = 0; e < 200; e++) {
    const rng = createRandom(12, e), b = createBaselines(1, {}), out = createJudgement(1);
    for (let i = 0; i < 6_000; i++) {
      b.judgeLearn("lone", [100 + draw(rng)], i * 60, out);
      if (i < 1_000 || Number.isNaN(out.calibrated[0])) continue;
      judged++;
      for (let k = 0; k < zStar.length; k++) if (out.calibrated[0] >= zStar[k]) calibrated[k]++;
    }
  }
  return { judged, calibrated };
}

/**
 * Events of `features` independent Gaussian features (each a daily cycle of 3 noise sd around its
 * own level): 50 sensors read every minute for 12,000 minutes, judged after their first day, as
 * the context threshold judges an event (its largest calibrated deviation, for as many features,
 * {@link eventDeviation}) and as each feature alone would (`each`: any feature at `z*`). Counts
 * the events that alert per rate of `zStar`.
 */
function featureAlerts(features: number, zStar: readonly number[]) {
  const rng = createRandom(14, features), b = createBaselines(features, {});
  const out = createJudgement(features), x = new Float64Array(features);
  const event = new Float64Array(zStar.length), each = new Float64Array(zStar.length);
  const scan: DeviationScan = { at: -1, largest: 0, known: 0 };
  let judged = 0;
  for (let i = 0; i < 12_000; i++) {
    const day = 3 * Math.sin((2 * Math.PI * i * 60) / 86_400);
    for (let e = 0; e < 50; e++) {
      for (let f = 0; f < features; f++) x[f] = 100 + e + 7 * f + day + rng.normal();
      b.judgeLearn(`sensor-${e}`, x, i * 60, out);
      if (i < 1_440) continue;
      const { largest, known } = scanDeviations(out.calibrated, 0, features, scan);
      if (known === 0) continue;
      judged++;
      const d = eventDeviation(largest, known);
      for (let k = 0; k < zStar.length; k++) {
        if (d >= zStar[k]) event[k]++;
        if (largest >= zStar[k]) each[k]++;
      }
    }
  }
  return { judged, event, each };
}

/**
 * Share of spikes `factor` times the usual value caught at `zStar` among quantities that vary by
 * `spread` factors (as in {@link countAlerts}), through baselines with `options` on `scale`: 100
 * sensors of 5,000 minutes (levels 20 to 500, a daily cycle of ±50 %), one spike each at a random
 * minute from the 4,000th (after the 3,000 events the `shape` extremes learn over).
 */
function factorsCaught(
  spread: string,
  options: BaselineOptions,
  scale: Scale,
  factor: number,
  zStar: number,
): number {
  const rng = createRandom(22, factor);
  const b = createBaselines(1, options);
  const out = createJudgement(1);
  let caught = 0;
  for (let e = 0; e < 100; e++) {
    const at = 4_000 + Math.floor(rng.next() * 1_000), level = 20 * 25 ** (e / 99);
    for (let i = 0; i <= at; i++) {
      const usual = level * (1 + 0.5 * Math.sin((2 * Math.PI * i) / 1_440));
      const value = usual * (i === at ? factor : FACTORS[spread](rng));
      b.judgeLearn(`sensor-${e}`, [toModelScale(scale, value)], i * 60, out);
    }
    if (out.calibrated[0] >= zStar) caught++;
  }
  return caught / 100;
}

/**
 * Share of bursts of `burst` caught at `zStar` among negative binomial counts of `mean` (gamma
 * `shape`, a daily cycle of ±50 %): 100 sensors of 5,000 minutes, one burst each at a random
 * minute from the 2,000th.
 */
function burstsCaught(mean: number, shape: number, burst: number, zStar: number): number {
  const rng = createRandom(21, burst);
  const b = createBaselines(1, {});
  const out = createJudgement(1);
  let caught = 0;
  for (let e = 0; e < 100; e++) {
    const at = 2_000 + Math.floor(rng.next() * 2_900);
    for (let i = 0; i <= at; i++) {
      const m = mean * (1 + 0.5 * Math.sin((2 * Math.PI * i) / 1_440));
      const value = i === at ? burst : poisson(rng, m * gamma(rng, shape) / shape);
      b.judgeLearn(`sensor-${e}`, [value], i * 60, out);
    }
    if (out.calibrated[0] >= zStar) caught++;
  }
  return caught / 100;
}

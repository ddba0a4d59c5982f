/**
 * NAB over the entity baselines alone, in process (`deno task bench nab_baselines`, on request):
 * for work on the detection method, where `bench nab` (a `replay` per file) takes minutes and this
 * takes about a second.
 *
 * A value-only CSV's alert score is its baselines' calibrated deviation `c` as `c / (c + z*)`, and
 * its alert is `c ≥ z*` (`threshold.ts`), so at default settings this prints the same figures as
 * `bench nab` (checked: 47.93 / 35.65 / 54.20 and 47.36 at the sixth session's code). It leaves
 * out what `replay` adds around the baselines (the checks, the forest's cold start, warm-up of
 * the threshold): a change there is measured with `bench nab`.
 *
 * `NAB_BASELINE_OPTIONS` (JSON of `BaselineOptions`, e.g. `{"recent":[true]}`) and
 * `TARGET_FALSE_ALERT_RATE` set what is measured.
 *
 * Lines: `nab_baselines_standard=`, `nab_baselines_low_fp=`, `nab_baselines_low_fn=` (best single
 * threshold), `nab_baselines_alerts_standard=` (alerts at the target rate), and per file
 * `nab_baselines_raw_<file>=` (its raw standard score minus the null's, with its alerts),
 * `nab_baselines_caught_<file>=` (per window the weight its first alert earned, `miss` without
 * one) and `nab_baselines_false_<file>=` (alerts outside every window).
 *
 * @module
 */
import {
  type BaselineOptions,
  createBaselines,
  createJudgement,
  deviationForRate,
} from "../src/baseline.ts";
import { isoSeconds } from "../src/contract/compile.ts";
import { THRESHOLD_DEFAULTS } from "../src/defaults.ts";
import { alertScoreOf } from "../src/threshold.ts";
import { csvRows, nabCorpus } from "./nab.ts";
import {
  bestThreshold,
  corpusScore,
  type NabFile,
  prepareFile,
  PROFILE_SUFFIX,
  PROFILES,
  scoreFile,
} from "./nab_score.ts";
import { report } from "./report.ts";

/** Per row of one value-only series: the alert score and the alert, from its baselines. */
export function baselineScores(
  ts: readonly string[],
  values: readonly number[],
  options: BaselineOptions,
  zStar: number,
): { scores: Float64Array; alerts: Uint8Array } {
  const baselines = createBaselines(1, options);
  const out = createJudgement(1);
  const scores = new Float64Array(values.length), alerts = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    // Read as `replay` reads them: a time without an offset is UTC.
    baselines.judgeLearn("series", [values[i]], isoSeconds(ts[i].trim()), out);
    const c = out.calibrated[0];
    if (!Number.isFinite(c)) continue;
    scores[i] = alertScoreOf(c, zStar);
    alerts[i] = c >= zStar ? 1 : 0;
  }
  return { scores, alerts };
}

/** Runs the in-process NAB benchmark of the baselines; prints `name=value` lines. */
export async function benchNabBaselines(): Promise<void> {
  const { dir, windows, names } = await nabCorpus();
  const options: BaselineOptions = JSON.parse(Deno.env.get("NAB_BASELINE_OPTIONS") ?? "{}");
  const rate = Number(
    Deno.env.get("TARGET_FALSE_ALERT_RATE") ?? THRESHOLD_DEFAULTS.targetFalseAlertRate,
  );
  const zStar = deviationForRate(rate);
  const files: NabFile[] = [], scores: Float64Array[] = [], alerts: Uint8Array[] = [];
  for (const name of names) {
    const { ts, values } = await csvRows(`${dir}/data/${name}`);
    const f = prepareFile(name, ts, windows[name]);
    const r = baselineScores(ts, values, options, zStar);
    files.push(f);
    scores.push(r.scores);
    alerts.push(r.alerts);
    const s = scoreFile(f, r.alerts, PROFILES.standard);
    const file = name.split("/")[1].replace(/\.csv$/, "");
    report(`nab_baselines_raw_${file}`, (s.raw - s.nullScore).toFixed(2));
    report(
      `nab_baselines_caught_${file}`,
      s.first.map((i) => i < 0 ? "miss" : f.weight[i].toFixed(2)).join(",") || "-",
    );
    report(`nab_baselines_false_${file}`, s.falseAlerts);
  }
  for (const [key, p] of Object.entries(PROFILES)) {
    const suffix = PROFILE_SUFFIX[key as keyof typeof PROFILES];
    report(`nab_baselines_${suffix}`, bestThreshold(files, scores, p).score.toFixed(2));
  }
  report("nab_baselines_alerts_standard", corpusScore(files, alerts, PROFILES.standard).toFixed(2));
}

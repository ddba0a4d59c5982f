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
 * Then the same files thinned, as a check of how much the figures rest on the files' exact rows:
 * each row dropped with chance {@link THIN_SHARE} (so the series are read unevenly, with gaps, as a
 * sensor that loses readings is), {@link THIN_SEEDS} seeds; `nab_baselines_thinned_standard=` and
 * `nab_baselines_thinned_alerts_standard=` are their means, `nab_baselines_thinned_min_*` the
 * least of the seeds.
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
import { createRandom } from "../src/random.ts";

/** Share of the rows dropped at random in the thinned runs. */
export const THIN_SHARE = 0.1;
/** Seeds of the thinned runs. */
export const THIN_SEEDS = 6;

/** `ts` and `values` without the rows a seeded draw drops, each with chance `share`. */
export function thinRows(
  ts: readonly string[],
  values: readonly number[],
  share: number,
  seed: number,
): { ts: string[]; values: number[] } {
  const rng = createRandom(seed);
  const out = { ts: [] as string[], values: [] as number[] };
  for (let i = 0; i < ts.length; i++) {
    if (rng.next() < share) continue;
    out.ts.push(ts[i]);
    out.values.push(values[i]);
  }
  return out;
}

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
  const rows = await Promise.all(names.map((name) => csvRows(`${dir}/data/${name}`)));
  // The corpus's files, scores and alerts, each file's rows as `pick` leaves them.
  const runCorpus = (pick: (r: { ts: string[]; values: number[] }) => typeof r) => {
    const files: NabFile[] = [], scores: Float64Array[] = [], alerts: Uint8Array[] = [];
    names.forEach((name, k) => {
      const { ts, values } = pick(rows[k]);
      files.push(prepareFile(name, ts, windows[name]));
      const r = baselineScores(ts, values, options, zStar);
      scores.push(r.scores);
      alerts.push(r.alerts);
    });
    return { files, scores, alerts };
  };
  const { files, scores, alerts } = runCorpus((r) => r);
  names.forEach((name, k) => {
    const f = files[k], s = scoreFile(f, alerts[k], PROFILES.standard);
    const file = name.split("/")[1].replace(/\.csv$/, "");
    report(`nab_baselines_raw_${file}`, (s.raw - s.nullScore).toFixed(2));
    report(
      `nab_baselines_caught_${file}`,
      s.first.map((i) => i < 0 ? "miss" : f.weight[i].toFixed(2)).join(",") || "-",
    );
    report(`nab_baselines_false_${file}`, s.falseAlerts);
  });
  for (const [key, p] of Object.entries(PROFILES)) {
    const suffix = PROFILE_SUFFIX[key as keyof typeof PROFILES];
    report(`nab_baselines_${suffix}`, bestThreshold(files, scores, p).score.toFixed(2));
  }
  report("nab_baselines_alerts_standard", corpusScore(files, alerts, PROFILES.standard).toFixed(2));
  const best: number[] = [], own: number[] = [];
  for (let seed = 1; seed <= THIN_SEEDS; seed++) {
    const thin = runCorpus((r) => thinRows(r.ts, r.values, THIN_SHARE, seed));
    best.push(bestThreshold(thin.files, thin.scores, PROFILES.standard).score);
    own.push(corpusScore(thin.files, thin.alerts, PROFILES.standard));
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  report("nab_baselines_thinned_standard", mean(best).toFixed(2));
  report("nab_baselines_thinned_alerts_standard", mean(own).toFixed(2));
  report("nab_baselines_thinned_min_standard", Math.min(...best).toFixed(2));
  report("nab_baselines_thinned_min_alerts_standard", Math.min(...own).toFixed(2));
}

/**
 * Detector benchmark: Half-Space Trees speed (single thread, seed defaults, 2 features), River's
 * speed and ROC AUC on the same labelled streams (5 seeds), precision and recall of both
 * threshold modes, forest memory.
 *
 * River runs from a virtualenv under `.local/venv-river` (created on first use from PyPI).
 * `BENCH_EVENTS` (default 200000) and `BENCH_SEEDS` (default 5) size the run: River scores about
 * 600 events/s at these parameters, so the full comparison takes ~15 min on 2 cores.
 *
 * @module
 */
import {
  buildForest,
  createDetector,
  forestBytes,
  isWarm,
  scoreLearnBatch,
} from "../src/hst/mod.ts";
import { labelledFeatures, sensorEvents } from "../src/sensors.ts";
import { createPipeline } from "../src/pipeline.ts";
import { createThreshold, THRESHOLD_MODES } from "../src/threshold.ts";
import { confusion, rocAuc } from "../src/evaluation.ts";
import { ensureRiver } from "./river.ts";
import { report } from "./report.ts";

const LIMITS = [[-100, 100], [-20, 80]] as const;
const PARAMS = { nTrees: 25, height: 15, windowSize: 250 };

/** Runs the detector benchmark; prints `name=value` lines. */
export async function benchDetector(): Promise<void> {
  const n = Number(Deno.env.get("BENCH_EVENTS") ?? 200_000);
  const seeds = Array.from({ length: Number(Deno.env.get("BENCH_SEEDS") ?? 5) }, (_, i) => i + 1);
  const python = await ensureRiver();

  // Trees (shared by every model on them) and one model's masses, as allocated; the masses a
  // model touches after the stream below (resident pages) are far fewer.
  const forest = buildForest({ ...PARAMS, limits: LIMITS });
  const bytes = forestBytes(forest);
  report("hst_forest_bytes", bytes.trees + bytes.masses);
  report("hst_forest_mb", ((bytes.trees + bytes.masses) / 2 ** 20).toFixed(1));
  report("hst_trees_mb", (bytes.trees / 2 ** 20).toFixed(1));
  report("hst_model_masses_mb", (bytes.masses / 2 ** 20).toFixed(1));

  // Speed: same input as River's seed-1 run, best of 3, in the pipeline's batches and one by one.
  const speed = labelledFeatures(n, { seed: 1 });
  const out = new Float64Array(n);
  for (const batch of [1024, 1]) {
    let best = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      const f = buildForest({ ...PARAMS, limits: LIMITS, seed: 1 });
      const t0 = performance.now();
      for (let s = 0; s < n; s += batch) {
        const m = Math.min(batch, n - s);
        scoreLearnBatch(f, speed.features.subarray(2 * s, 2 * (s + m)), m, out.subarray(s, s + m));
      }
      best = Math.min(best, performance.now() - t0);
    }
    report(
      batch === 1 ? "hst_events_per_sec_one_by_one" : "hst_events_per_sec",
      Math.round((n / best) * 1000),
    );
    if (batch !== 1) (globalThis as { hstRate?: number }).hstRate = (n / best) * 1000;
  }

  // Quality: ours and River's on the same streams, River's runs two at a time (2 cores).
  const dir = await Deno.makeTempDir({ prefix: "anomaly-flow-bench-" });
  const ours: number[] = [], theirs: number[] = [];
  const pr: Record<string, { p: number[]; r: number[] }> = {};
  let riverRate = NaN;
  const runs = seeds.map((seed) => async () => {
    const data = labelledFeatures(n, { seed });
    const featuresPath = `${dir}/features-${seed}.f64`;
    const scoresPath = `${dir}/scores-${seed}.f64`;
    await Deno.writeFile(featuresPath, new Uint8Array(data.features.buffer));
    const child = await new Deno.Command(python, {
      args: [
        new URL("./river_hst.py", import.meta.url).pathname,
        featuresPath,
        String(n),
        scoresPath,
        String(PARAMS.nTrees),
        String(PARAMS.height),
        String(PARAMS.windowSize),
        String(seed),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!child.success) throw new Error(`river_hst.py failed for seed ${seed}`);
    const rate = Number(new TextDecoder().decode(child.stdout).match(/=(\d+)/)?.[1]);
    if (seed === 1) riverRate = rate;
    const river = new Float64Array((await Deno.readFile(scoresPath)).buffer);
    const det = createDetector({ ...PARAMS, limits: LIMITS, seed });
    const scores = new Float64Array(n);
    det.scoreLearnMany(data.features, n, scores);
    const warm = PARAMS.windowSize;
    ours.push(rocAuc(scores.subarray(warm), data.labels.subarray(warm)));
    theirs.push(rocAuc(river.subarray(warm), data.labels.subarray(warm)));
    for (const mode of FOREST_MODES) {
      const threshold = createThreshold({ mode });
      const flags = new Uint8Array(n);
      for (let i = 0; i < n; i++) flags[i] = threshold.observe(scores[i], isWarm(i, warm)) ? 1 : 0;
      const c = confusion(flags.subarray(warm), data.labels.subarray(warm));
      (pr[mode] ??= { p: [], r: [] }).p.push(c.precision);
      pr[mode].r.push(c.recall);
    }
  });
  const queue = [...runs];
  await Promise.all([0, 1].map(async () => {
    while (queue.length) await queue.shift()!();
  }));
  await Deno.remove(dir, { recursive: true });

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const hstRate = (globalThis as { hstRate?: number }).hstRate!;
  report("river_hst_events_per_sec", riverRate);
  report("hst_speedup_vs_river", (hstRate / riverRate).toFixed(0));
  report("bench_events", n);
  report("bench_seeds", seeds.length);
  report("hst_auc", mean(ours).toFixed(5));
  report("river_auc", mean(theirs).toFixed(5));
  report("auc_difference", (mean(ours) - mean(theirs)).toFixed(5));
  for (const mode of FOREST_MODES) {
    report(`${mode}_precision`, mean(pr[mode].p).toFixed(4));
    report(`${mode}_recall`, mean(pr[mode].r).toFixed(4));
    report(`${mode}_precision_min`, Math.min(...pr[mode].p).toFixed(4));
    report(`${mode}_recall_min`, Math.min(...pr[mode].r).toFixed(4));
  }
  // Every mode through the pipeline, with the events' sensors as entities (context mode needs
  // them): the seed's generator stream, after the first 1,000 events.
  const mode = createThreshold().mode;
  report("threshold_mode_default", mode);
  for (const m of THRESHOLD_MODES) {
    const c = await pipelineQuality(m, seeds, Math.min(n, 50_000));
    report(`pipeline_${m}_precision`, c.precision.toFixed(4));
    report(`pipeline_${m}_recall`, c.recall.toFixed(4));
    if (m === mode) {
      report("precision", c.precision.toFixed(4));
      report("recall", c.recall.toFixed(4));
    }
  }
}

/** The forest-only modes, judged on raw features above. */
const FOREST_MODES = ["quantile", "adaptive"] as const;

/** Precision and recall of `mode` through the pipeline on the seed's generator stream. */
async function pipelineQuality(mode: typeof THRESHOLD_MODES[number], seeds: number[], n: number) {
  const enc = new TextEncoder();
  let tp = 0, fp = 0, fn = 0;
  for (const seed of seeds) {
    const now = 1_767_000_000;
    const events: { value: Uint8Array; truth: boolean }[] = [];
    for (const { event, injected } of sensorEvents({ seed })) {
      if (events.length === n) break;
      if (["missing_value", "out_of_range", "stale"].includes(injected)) continue;
      events.push({
        value: enc.encode(JSON.stringify({ ...event, ts: now })),
        truth: injected !== "none",
      });
    }
    const p = await createPipeline({ workers: 1, now: () => now, threshold: { mode } });
    try {
      for (let i = 0; i < events.length; i += 1000) {
        const r = await p.process(events.slice(i, i + 1000).map((e) => e.value));
        for (let k = 0; k < r.n; k++) {
          if (i + k < 1000) continue;
          const truth = events[i + k].truth, flagged = r.anomaly[k] === 1;
          if (flagged && truth) tp++;
          else if (flagged) fp++;
          else if (truth) fn++;
        }
      }
    } finally {
      await p.close();
    }
  }
  return { precision: tp / Math.max(1, tp + fp), recall: tp / Math.max(1, tp + fn) };
}

/**
 * Multi-entity benchmark (`deno task bench multi`): `multiEntityEvents` (12 sensors, one far
 * above the others, a daily cycle, spikes, level shifts and flat lines of 5 noise units) through
 * the pipeline, for every threshold mode. An injection counts as caught when one of its labelled
 * events is flagged; a flagged event outside every injection is a false alert.
 *
 * Lines: `multi_<mode>_precision=`, `multi_<mode>_recall=`, per kind `multi_<mode>_recall_<kind>=`,
 * the same for `no_change` (the default mode without the built-in contract's judgement of each
 * feature's change since the previous event) and `level_only` (without it and without the recent
 * level: the level alone), and `multi_precision=` / `multi_recall=` for the default mode.
 * `MULTI_BASELINE_OPTIONS` (JSON of `BaselineOptions`, e.g. `{"extremes":"shape"}`) sets the
 * baselines' options of every run, `TARGET_FALSE_ALERT_RATE` its target rate.
 *
 * `multi_<mode>_recall_reaching_5sd=` (and `multi_recall_reaching_5sd=` for the default mode) count
 * only the injections the issue's goal speaks of, "deviations of at least 5 times the sensor's own
 * noise": spikes and shifts with a labelled event at least 5 noise sd from the sensor's noiseless
 * value (a 5-sd injection lands on the noise, so about 4 spikes in 10 fall short of it), and every
 * flat line (stuck inside the normal range, no deviation in size).
 *
 * Why the default mode falls short of the oracle below is measured too: the noise a sensor's
 * `temperature` is judged in, over its true noise sd (mean over normal events judged by their
 * level, from each sensor's 200th reading), within 100 readings of the end of that sensor's last
 * injection (`multi_noise_ratio_after_injection=`) and beyond them (`multi_noise_ratio_quiet=`).
 * An injection's own errors widen the noise, and the next injection is judged in it.
 *
 * `multi_ceiling_precision=`, `multi_ceiling_recall=` and per kind `multi_ceiling_recall_<kind>=`
 * measure the same way an oracle that knows each sensor's noiseless values and noise sd exactly
 * (`expected`, `noise` of each event): it flags an event whose `value` or `temperature` is
 * `z*` (the Gaussian deviation of half the target rate, as the product's threshold judges an
 * event of two features) or more of that noise from its expected value, or which repeats the
 * sensor's previous two readings (noise of at least 0.2 read to 0.001 repeats about once in a
 * thousand readings, so three in a row about once in a million). No detector that calibrates its
 * alerts to the target can beat its recall by much: what it misses is what the target rate's
 * threshold leaves inside the noise.
 *
 * The lines above are for the generator's seed 3 (`BENCH_MULTI_SEED` sets another), the stream
 * these figures were developed on and, of seeds 1–7, the one on which the default mode scores
 * highest. So the default mode is run on seeds 1–7 too: `multi_seeds_precision_mean=` / `_least=`,
 * `multi_seeds_recall_mean=` / `_least=`, `multi_seeds_recall_reaching_5sd_mean=` / `_least=` and
 * the oracle's `multi_seeds_ceiling_recall_mean=` say what holds beyond that one stream.
 *
 * How often the injections come decides much of what is missed: at the generator's default chance
 * (0.004 per sensor and event) an injection starts about every 250 readings of a sensor and 6 % of
 * the events are injected, so many injections are judged in the noise an earlier one widened. The
 * default mode is run on seeds 1–7 at each chance of {@link DENSITIES} over
 * `BENCH_MULTI_DENSITY_EVENTS` (240,000) events: `multi_chance_<c>_injected_share=` (the share of
 * events injected), `multi_chance_<c>_precision_mean=` / `_least=` and
 * `multi_chance_<c>_recall_reaching_5sd_mean=` / `_least=`.
 *
 * @module
 */
import { type BaselineOptions, deviationForRate } from "../src/baseline.ts";
import { contractOf, createPipeline, type PipelineOptions } from "../src/pipeline.ts";
import { type EntityEvent, multiEntityEvents } from "../src/sensors.ts";
import { THRESHOLD_DEFAULTS } from "../src/defaults.ts";
import { createThreshold, THRESHOLD_MODES } from "../src/threshold.ts";
import { report } from "./report.ts";

/** Generator seeds of the `multi_seeds_*` lines (the main lines' seed is one of them). */
const SEEDS = [1, 2, 3, 4, 5, 6, 7];

/**
 * Chances per sensor and event that an injection starts, of the `multi_chance_*` lines: an
 * injection about every 1,000, 500 and 250 readings of a sensor (the last is the generator's
 * default, the main lines' stream).
 */
const DENSITIES = [0.001, 0.002, 0.004];

/** A labelled stream cut into its injections. */
interface Stream {
  events: EntityEvent[];
  /** Per event: the injection (index in `kinds`) of a labelled event, else −1. */
  segment: Int32Array;
  /** Per injection: its kind. */
  kinds: string[];
  /** Per injection: whether it reaches 5 noise sd at a labelled event (a flat line always does). */
  reaches: boolean[];
}

/**
 * The first `n` events of `multiEntityEvents` of `seed` (injections starting with `chance` per
 * sensor and event, the generator's default when not given), cut into injections.
 */
function streamOf(seed: number, n: number, chance?: number): Stream {
  const events: EntityEvent[] = [];
  for (const e of multiEntityEvents({ seed, chance })) {
    if (events.length === n) break;
    events.push(e);
  }
  // Injections as segments: consecutive events of one sensor with the same kind.
  const segment = new Int32Array(n).fill(-1);
  const kinds: string[] = [];
  const reaches: boolean[] = [];
  const open = new Map<string, number>();
  events.forEach((e, i) => {
    const s = e.event.sensor_id;
    if (e.injected === "none") return open.delete(s);
    if (!open.has(s)) {
      open.set(s, kinds.length);
      kinds.push(e.injected);
      reaches.push(e.injected === "flat");
    }
    if (!e.labelled) return;
    const j = segment[i] = open.get(s)!;
    const x = [e.event.value!, e.event.temperature!];
    if (x.some((v, f) => Math.abs(v - e.expected[f]) >= 5 * e.noise[f])) reaches[j] = true;
  });
  return { events, segment, kinds, reaches };
}

/** Flags inside (`tp`) and outside (`fp`) injections, and which injections were `caught`. */
interface Flags {
  caught: Uint8Array;
  tp: number;
  fp: number;
}

/**
 * The noise `temperature` is judged in, over the sensor's own noise sd, on normal events judged by
 * their level from each sensor's {@link NOISE_FROM}-th reading on: summed `within` and `beyond`
 * {@link NOISE_AFTER} readings of the end of the sensor's last injection.
 */
interface NoiseRatios {
  within: { sum: number; n: number };
  beyond: { sum: number; n: number };
}

/** Readings of a sensor before its noise ratio counts ({@link NoiseRatios}). */
const NOISE_FROM = 200;
/** Readings after an injection's end that count as just after it ({@link NoiseRatios}). */
const NOISE_AFTER = 100;

/**
 * Runs `stream` through a one-worker pipeline of `options` (event time as its clock); sums the
 * noise ratios into `noise` when given.
 */
async function flagsOf(
  stream: Stream,
  options: PipelineOptions,
  noise?: NoiseRatios,
): Promise<Flags> {
  const { events, segment, kinds } = stream;
  const enc = new TextEncoder();
  const p = await createPipeline({ workers: 1, clock: "event", ...options });
  const caught = new Uint8Array(kinds.length);
  // Per sensor: readings seen, readings since its last injection ended (Infinity: none yet).
  const seen = new Map<string, number>(), since = new Map<string, number>();
  const features = p.features.length, temperature = p.features.indexOf("temperature");
  let tp = 0, fp = 0;
  try {
    for (let i = 0; i < events.length; i += 1000) {
      const r = await p.process(
        events.slice(i, i + 1000).map((e) => enc.encode(JSON.stringify(e.event))),
      );
      for (let k = 0; noise && temperature >= 0 && k < r.n; k++) {
        const e = events[i + k], id = e.event.sensor_id;
        const age = (seen.get(id) ?? 0) + 1, after = (since.get(id) ?? Infinity) + 1;
        seen.set(id, age);
        since.set(id, e.injected === "none" ? after : 0);
        const at = k * features + temperature, z = r.deviation[at];
        if (e.injected !== "none" || age < NOISE_FROM || r.basis?.[at] !== 0) continue;
        if (!(Math.abs(z) > 1e-9)) continue;
        const ratio = Math.abs((e.event.temperature! - r.typical[at]) / z) / e.noise[1];
        const to = after <= NOISE_AFTER ? noise.within : noise.beyond;
        to.sum += ratio;
        to.n++;
      }
      for (let k = 0; k < r.n; k++) {
        if (!r.anomaly[k]) continue;
        const seg = segment[i + k];
        const inside = seg >= 0 || events[i + k].injected !== "none";
        if (inside) tp++;
        else fp++;
        if (seg >= 0) caught[seg] = 1;
      }
    }
  } finally {
    await p.close();
  }
  return { caught, tp, fp };
}

/** Runs the multi-entity benchmark; prints `name=value` lines. */
export async function benchMulti(): Promise<void> {
  const n = Number(Deno.env.get("BENCH_MULTI_EVENTS") ?? 60_000);
  const stream = streamOf(Number(Deno.env.get("BENCH_MULTI_SEED") ?? 3), n);
  const { kinds, reaches } = stream;
  report("multi_events", n);
  report("multi_injections", kinds.length);
  const defaultMode = createThreshold().mode;
  const baseline: BaselineOptions = JSON.parse(Deno.env.get("MULTI_BASELINE_OPTIONS") ?? "{}");
  const rate = Deno.env.get("TARGET_FALSE_ALERT_RATE");
  const target = rate === undefined ? {} : { targetFalseAlertRate: Number(rate) };
  const targetRate = Number(rate ?? THRESHOLD_DEFAULTS.targetFalseAlertRate);
  reportCaught("ceiling", kinds, reaches, ceilingFlags(stream, targetRate));
  const builtin = contractOf({});
  const runs: [string, PipelineOptions][] = [
    ...THRESHOLD_MODES.map((
      mode,
    ): [string, PipelineOptions] => [mode, { threshold: { mode, ...target } }]),
    // The default mode without the built-in contract's change since the previous event, and
    // without it and the recent level (the level alone).
    ["no_change", {
      threshold: target,
      contract: { ...builtin, features: builtin.features.map((f) => ({ ...f, change: false })) },
    }],
    ["level_only", {
      threshold: target,
      contract: {
        ...builtin,
        features: builtin.features.map((f) => ({ ...f, change: false, recent: false })),
      },
    }],
  ];
  for (const [label, options] of runs) {
    const noise = label === defaultMode
      ? { within: { sum: 0, n: 0 }, beyond: { sum: 0, n: 0 } }
      : undefined;
    const flags = await flagsOf(stream, { baseline, ...options }, noise);
    const { precision, recall, reaching } = reportCaught(label, kinds, reaches, flags);
    if (label === defaultMode && noise) {
      report("multi_precision", precision.toFixed(4));
      report("multi_recall", recall.toFixed(4));
      report("multi_recall_reaching_5sd", reaching.toFixed(4));
      report("multi_noise_ratio_after_injection", (noise.within.sum / noise.within.n).toFixed(3));
      report("multi_noise_ratio_quiet", (noise.beyond.sum / noise.beyond.n).toFixed(3));
    }
  }
  // The default mode over several of the generator's seeds: one seed's figures move by several
  // points with where its injections happen to fall.
  const seeds: ReturnType<typeof rates>[] = [], oracle: ReturnType<typeof rates>[] = [];
  for (const seed of SEEDS) {
    const other = streamOf(seed, n);
    const flags = await flagsOf(other, { baseline, threshold: target });
    seeds.push(rates(other.kinds, other.reaches, flags));
    oracle.push(rates(other.kinds, other.reaches, ceilingFlags(other, targetRate)));
  }
  report("multi_seeds", SEEDS.length);
  reportSpread("multi_seeds", seeds, ["precision", "recall", "reaching"]);
  const ceilingRecall = oracle.reduce((a, r) => a + r.recall, 0) / oracle.length;
  report("multi_seeds_ceiling_recall_mean", ceilingRecall.toFixed(4));
  // The default mode over the same seeds as injections come more or less often.
  const long = Number(Deno.env.get("BENCH_MULTI_DENSITY_EVENTS") ?? 240_000);
  report("multi_chance_events", long);
  for (const chance of DENSITIES) {
    const byChance: ReturnType<typeof rates>[] = [];
    let injected = 0;
    for (const seed of SEEDS) {
      const other = streamOf(seed, long, chance);
      const flags = await flagsOf(other, { baseline, threshold: target });
      byChance.push(rates(other.kinds, other.reaches, flags));
      injected += other.events.filter((e) => e.injected !== "none").length / long;
    }
    const name = `multi_chance_${chance}`;
    report(`${name}_injected_share`, (injected / SEEDS.length).toFixed(4));
    reportSpread(name, byChance, ["precision", "reaching"]);
  }
}

/**
 * Reports `<prefix>_<figure>_mean=` and `<prefix>_<figure>_least=` of each of `keys` over `runs`
 * (`reaching` as `recall_reaching_5sd`).
 */
function reportSpread(
  prefix: string,
  runs: readonly ReturnType<typeof rates>[],
  keys: readonly ("precision" | "recall" | "reaching")[],
): void {
  for (const key of keys) {
    const name = key === "reaching" ? "recall_reaching_5sd" : key;
    const xs = runs.map((r) => r[key]);
    report(`${prefix}_${name}_mean`, (xs.reduce((a, x) => a + x, 0) / xs.length).toFixed(4));
    report(`${prefix}_${name}_least`, Math.min(...xs).toFixed(4));
  }
}

/**
 * Precision, recall, and recall over the injections that `reaches` 5 sd, of `flags` on a stream
 * of injections of `kinds`.
 */
function rates(
  kinds: readonly string[],
  reaches: readonly boolean[],
  { caught, tp, fp }: Flags,
): { precision: number; recall: number; reaching: number } {
  const big = kinds.map((_, j) => j).filter((j) => reaches[j]);
  return {
    precision: tp / Math.max(1, tp + fp),
    recall: caught.reduce((a, c) => a + c, 0) / Math.max(1, kinds.length),
    reaching: big.filter((j) => caught[j]).length / Math.max(1, big.length),
  };
}

/** The flags of an oracle (see the module doc) at target `rate` on `stream`. */
function ceilingFlags(stream: Stream, rate: number): Flags {
  const { events, segment, kinds } = stream;
  // Two features: each at half the target, as the product's threshold splits it.
  const zStar = deviationForRate(rate / 2);
  const caught = new Uint8Array(kinds.length);
  const last = new Map<string, [number, number]>();
  let tp = 0, fp = 0;
  events.forEach((e, i) => {
    const { sensor_id: id, value, temperature } = e.event;
    const x = [value!, temperature!];
    const deviates = x.some((v, f) => Math.abs(v - e.expected[f]) >= zStar * e.noise[f]);
    const [before, run] = last.get(id) ?? [NaN, 0];
    const repeats = temperature === before ? run + 1 : 0;
    last.set(id, [temperature!, repeats]);
    if (!deviates && repeats < 2) return;
    if (segment[i] >= 0 || e.injected !== "none") tp++;
    else fp++;
    if (segment[i] >= 0) caught[segment[i]] = 1;
  });
  return { caught, tp, fp };
}

/**
 * Reports `multi_<label>_precision=`, `multi_<label>_recall=`, the recall per kind and over the
 * injections that `reaches` 5 noise sd, of `flags` on a stream of injections of `kinds`; returns
 * the first two and the last.
 */
function reportCaught(
  label: string,
  kinds: readonly string[],
  reaches: readonly boolean[],
  flags: Flags,
): { precision: number; recall: number; reaching: number } {
  const { precision, recall, reaching } = rates(kinds, reaches, flags);
  report(`multi_${label}_precision`, precision.toFixed(4));
  report(`multi_${label}_recall`, recall.toFixed(4));
  report(`multi_${label}_recall_reaching_5sd`, reaching.toFixed(4));
  for (const kind of ["spike", "shift", "flat"]) {
    const ids = kinds.map((k, j) => k === kind ? j : -1).filter((j) => j >= 0);
    const got = ids.filter((j) => flags.caught[j]).length;
    report(`multi_${label}_recall_${kind}`, (got / Math.max(1, ids.length)).toFixed(4));
  }
  return { precision, recall, reaching };
}

/**
 * The core pipeline, shared by `process` (Kafka) and `replay` (a file): raw record values in,
 * one outcome per record out, in input order.
 *
 * ```text
 * values ─► W slices ─► worker[i] checks slice i (decode, schema, required, ranges)
 *        ◄─ status, ts, features per record
 * main: time checks in order (wall clock or event-time clock)
 * valid features (in order, shared buffer) ─► every worker scores them on its forest shard
 *        ◄─ per event: the shard's mass sum
 * main: sum the shards ─► score ─► threshold, in order ─► outcomes
 * ```
 *
 * Masses are integers, so the scores are the same for any number of workers and equal to a
 * single-threaded {@link createDetector} run on the same valid events.
 *
 * **Models.** The pipeline keeps one model (forest masses, threshold, events scored) per key;
 * `process` keys them by Kafka partition, so each partition's events are learned by their own
 * model, which can move with the partition to another instance of the consumer group (through
 * its checkpoint). The trees are built once per worker and shared by every model.
 *
 * @module
 */
import { builtinContract, type CheckLimits, DEFAULT_LIMITS } from "./event.ts";
import {
  type Checker,
  checkTime,
  compileChecker,
  MAX_EVENT_TIME,
  type TimeLimits,
} from "./contract/compile.ts";
import { type Contract, type Cycle, CYCLE_SECONDS } from "./contract/spec.ts";
import { fromModelScale, type Scale, toModelScale } from "./contract/scale.ts";
import { type ForestOptions, isWarm, type MassState, massToScore } from "./hst/mod.ts";
import type { QuantileState } from "./quantile.ts";
import { packRecords } from "./stage.ts";
import { createStagePool, type StagePool } from "./stage_pool.ts";
import { createThreshold, type Threshold, type ThresholdOptions } from "./threshold.ts";
import { FOREST_DEFAULTS, THRESHOLD_DEFAULTS } from "./defaults.ts";
import { checkZone, localClock, UTC } from "./zone.ts";
import {
  BASELINE_DEFAULTS,
  type BaselineJudgement,
  type BaselineOptions,
  type Baselines,
  type BaselineState,
  createBaselines,
  createJudgement,
  sideSign,
} from "./baseline.ts";

/** Options of {@link createPipeline}. */
export interface PipelineOptions {
  /** Forest parameters (limits default to the checks' valid ranges). */
  forest?: Omit<ForestOptions, "limits">;
  /**
   * The event contract: fields, checks, entity key, time, features. Default: the built-in
   * contract (the seed's event) with `limits`' ranges.
   */
  contract?: Contract;
  /**
   * Check limits: `maxEventBytes` for every contract; the ranges and freshness lag of the
   * built-in contract. Default: {@link DEFAULT_LIMITS}.
   */
  limits?: CheckLimits;
  /** Threshold. Default: adaptive. */
  threshold?: ThresholdOptions;
  /** Worker threads. Default: 1. */
  workers?: number;
  /**
   * Clock of the time checks: `wall` (now, for `process`) or `event` (the latest accepted `ts`,
   * for `replay`). Default: `wall`.
   */
  clock?: "wall" | "event";
  /** Wall clock in Unix seconds. Default: `Date.now() / 1000`. */
  now?: () => number;
  /** Open model 0 at the start (from `state` when given). Default: true. */
  initialModel?: boolean;
  /** State of model 0 to resume from (a {@link Pipeline.snapshot} of the same parameters). */
  state?: ModelState;
  /**
   * The features the model sees, of the contract's (a seed stream without temperature:
   * `["value"]`, so no split is drawn on an absent dimension). Default: all.
   */
  features?: readonly Feature[];
  /** Per-entity baselines (see `baseline.ts`). Default: {@link BASELINE_DEFAULTS}. */
  baseline?: BaselineOptions;
  /**
   * The IANA time zone whose hours, days and weeks the baselines' profiles and the forest's
   * cycles follow (`zone.ts`), unless the contract's `time.zone` names one. Default: `UTC`.
   */
  timeZone?: string;
}

/** A feature's name (a numeric field of the contract). */
export type Feature = string;

/**
 * Version of {@link ModelState}: 22 since each baseline's shape keeps a far quantile a side
 * (`baseline/shape.ts`); 21 kept a slow share of repeats (`baseline/repeats.ts`); 20 kept ten
 * values beyond their threshold, not five (`baseline/record.ts`), and a day's mean is weighed by
 * the time each value stands for (`baseline/period.ts`); 19 kept the shape of each entity's
 * deviations by default (`baseline/shape.ts`); 18 kept a baseline's hours' spreads keep the noise
 * their current visit began in (`baseline/spread.ts`); 17 kept the recent level's noise from before
 * a run of errors (`baseline/recent.ts`); 16 kept each hour's spread (`baseline/spread.ts`); 15
 * kept each generation's sum of values among the records; 14 kept the entity's extremes of the
 * weeks before its day (`baseline/record.ts`); 13 kept how its hourly profile is read
 * (`baseline/profile.ts`); 12 kept the least and largest value seen and the state from before an
 * excursion under way (`baseline/excursion.ts`); 11 kept a count's dispersion
 * (`baseline/counts.ts`); 10 kept the entity's first value (`baseline/start.ts`), 9 added the
 * held-back excess and the gaps between events, 8 the day means (the day's mean against the same
 * weekday's, `baseline/period.ts`), 7 the drift.
 */
export const MODEL_STATE_VERSION = 22;

/** The learned state of the model: forest masses, threshold, events scored, and what they fit. */
export interface ModelState {
  version: typeof MODEL_STATE_VERSION;
  /** The parameters the state belongs to; a state is only restored onto the same. */
  model: string;
  scored: number;
  masses: MassState;
  threshold: QuantileState;
  /** The entities' baselines. */
  baselines: BaselineState;
}

/**
 * A key naming the model parameters a {@link ModelState} fits. The target false-alert rate is not
 * one of them: no state depends on it (it only sets where calibrated deviations alert), so a user
 * who changes it keeps the entities' baselines (see {@link sameModel}).
 */
export function modelKey(
  forest: ForestOptions & {
    features?: readonly string[];
    cycles?: readonly string[];
    baseline?: BaselineOptions;
    entity?: string;
    scales?: readonly Scale[];
    zone?: string;
  },
  threshold: ThresholdOptions = {},
): string {
  return JSON.stringify({
    nTrees: forest.nTrees ?? FOREST_DEFAULTS.nTrees,
    height: forest.height ?? FOREST_DEFAULTS.height,
    windowSize: forest.windowSize ?? FOREST_DEFAULTS.windowSize,
    seed: forest.seed ?? FOREST_DEFAULTS.seed,
    limits: forest.limits,
    features: forest.features,
    ...(forest.cycles && forest.cycles.length > 0 ? { cycles: forest.cycles } : {}),
    baseline: forest.baseline,
    ...(forest.entity !== undefined ? { entity: forest.entity } : {}),
    ...(forest.scales ? { scales: forest.scales } : {}),
    ...(forest.zone ? { zone: forest.zone } : {}),
    mode: threshold.mode ?? THRESHOLD_DEFAULTS.mode,
    quantileP: threshold.quantileP ?? THRESHOLD_DEFAULTS.quantileP,
    massRatio: threshold.massRatio ?? THRESHOLD_DEFAULTS.massRatio,
  });
}

/**
 * Whether the model key `found` of a saved state names the model `key` does. Keys written before
 * the target false-alert rate left them (checkpoint format 21 until this version) name one as
 * `targetRate`: such a key is read without it, so a checkpoint taken at the earlier default rate
 * restores at the new one.
 */
export function sameModel(found: string, key: string): boolean {
  if (found === key) return true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(found);
  } catch {
    return false;
  }
  if (parsed === null || typeof parsed !== "object" || !("targetRate" in parsed)) return false;
  delete (parsed as { targetRate?: unknown }).targetRate;
  return JSON.stringify(parsed) === key;
}

/** A batch after the checks (stage 1), per record in input order. */
export interface CheckedBatch {
  n: number;
  /** Check code ({@link CHECK_CODE}); 0 = valid. */
  status: Uint8Array;
  /** Reason of each rejected record (undefined when valid). */
  reasons: (string | undefined)[];
  /** Entity key of each valid record (`sensor_id` for the seed's; "" when rejected). */
  keys: string[];
  /** Event time, Unix seconds (NaN when it could not be read). */
  ts: Float64Array;
  /** Features: the contract's, in its order, {@link Pipeline.features}`.length` per record. */
  features: Float64Array;
  /** Field each rejected record failed on ("" when none, undefined when valid). */
  fields?: (string | undefined)[];
  /** Rule each rejected record failed (`type`, `range`, `json` …; undefined when valid). */
  rules?: (string | undefined)[];
}

/** Outcomes of one batch, per record in input order. */
export interface BatchOutcome extends CheckedBatch {
  /** Score of each valid record (NaN for rejected ones). */
  score: Float64Array;
  /** Threshold each valid record was compared with (NaN before the first). */
  threshold: Float64Array;
  /** 1 when the record is an anomaly. */
  anomaly: Uint8Array;
  /**
   * Per record: the feature (contract order) whose calibrated deviation decided its alert; −1
   * when the forest decided it (`quantile` or `adaptive` mode, or an entity without a baseline
   * yet) and for records that are no anomaly.
   */
  driver?: Int16Array;
  /**
   * Calibrated alert score of each valid record, in [0, 1): 0.5 or more when its entity's
   * deviation reaches the target false-alert rate's (see `threshold.ts`), NaN for rejected ones.
   */
  alertScore: Float64Array;
  /** Per record and feature (contract order): deviation from its entity's level, in sd. */
  deviation: Float64Array;
  /**
   * Per record and feature: the calibrated deviation (`baseline.ts`), which the alert decision
   * and the alert score use; NaN when unknown.
   */
  calibrated?: Float64Array;
  /** Per record and feature: its entity's typical value (mean) before it; NaN when unknown. */
  typical: Float64Array;
  /** Per record and feature: how many times in a row its value repeated the previous one. */
  repeats?: Float64Array;
  /** Per record and feature: which judgement `deviation` is, as an index in `BASES`. */
  basis?: Uint8Array;
  /**
   * Per record and feature: the value judged when it is not the record's own (the day's mean
   * when `basis` is `day`); NaN otherwise.
   */
  actual?: Float64Array;
}

/**
 * A running pipeline. Batches are checked as soon as they are handed in; their scores, and model
 * operations, run one at a time, in call order.
 */
export interface Pipeline {
  readonly workers: number;
  /** The contract the events are checked against. */
  readonly contract: Contract;
  /** Its check names; index = the check code of {@link BatchOutcome.status}. */
  readonly checks: readonly string[];
  /** Its features, in the order of {@link BatchOutcome.features}. */
  readonly features: readonly string[];
  /** Valid events scored so far, all models. */
  readonly scored: number;
  /** Threshold (score scale) of the model of the latest batch. */
  readonly threshold: number;
  /** Keys of the open models. */
  readonly models: readonly number[];
  /** Set when a worker thread died: the pipeline cannot go on (restart the process). */
  readonly failed: Error | undefined;
  /** Valid events scored so far by model `key` (0 when it is not open). */
  scoredBy(key: number): number;
  /** Entities with a baseline in model `key`, and those evicted so far. */
  entitiesOf(key: number): { size: number; evicted: number };
  /** Opens model `key` from `state` (or empty), replacing an open one. */
  open(key: number, state?: ModelState): Promise<void>;
  /** Drops model `key` (another instance took its partition). */
  drop(key: number): Promise<void>;
  /** Processes one batch of record values (null = empty record) with model `key` (default 0). */
  process(values: readonly (Uint8Array | null | undefined)[], key?: number): Promise<BatchOutcome>;
  /** The state of model `key` after every batch passed to {@link process} before this call. */
  snapshot(key?: number): Promise<ModelState>;
  /** Stops the workers. */
  close(): Promise<void>;
}

/** The contract of a pipeline: the given one, or the built-in with the options' limits. */
export function contractOf(options: PipelineOptions): Contract {
  return options.contract ?? builtinContract(options.limits ?? DEFAULT_LIMITS);
}

/** The forest of a pipeline: its parameters, limits of its features from the contract. */
export function forestOf(
  options: PipelineOptions,
): ForestOptions & {
  features: readonly Feature[];
  cycles: readonly Cycle[];
  baseline: BaselineOptions;
  entity?: string;
  scales?: readonly Scale[];
  /** The time zone the hours follow, when not UTC (`zone.ts`). */
  zone?: string;
} {
  const contract = contractOf(options);
  const zone = checkZone(contract.time.zone ?? options.timeZone ?? UTC, "TIME_ZONE");
  const all = contract.features;
  const features = options.features ?? all.map((f) => f.field);
  for (const f of features) {
    if (!all.some((a) => a.field === f)) {
      throw new RangeError(
        `features: "${f}" is not a feature of contract ${contract.name} (${
          all.map((a) => a.field).join(", ")
        })`,
      );
    }
  }
  if (features.length === 0) {
    throw new RangeError(
      `contract ${contract.name} declares no features: the model has nothing to see`,
    );
  }
  const cycles = contract.time.cycles ?? [];
  const specs = features.map((f) => all.find((a) => a.field === f)!);
  const sides = specs.map((spec) => spec.alertOn ?? "both");
  // The model's scale of each feature (`contract/scale.ts`); its limits are on that scale too.
  const scales = specs.map((spec) => spec.scale ?? "linear");
  const limits = specs.map((spec, k): [number, number] => [
    toModelScale(scales[k], spec.min),
    toModelScale(scales[k], spec.max),
  ]);
  // A cycle's sine and cosine span the features' mean width, so the trees split on them as often
  // as on a feature (a split's feature is drawn in proportion to its range).
  const radius = cycleRadius(limits);
  return {
    ...options.forest,
    limits: [
      ...limits,
      ...cycles.flatMap(() => [[-radius, radius], [-radius, radius]] as [number, number][]),
    ],
    features,
    cycles,
    baseline: {
      ...BASELINE_DEFAULTS,
      ...options.baseline,
      // Which features' changes are judged: the contract declares it per feature.
      change: specs.map((spec) => spec.change === true),
      recent: specs.map((spec) => spec.recent === true),
      // Named only when a feature is one-sided, so other models keep their keys.
      ...(sides.some((s) => s !== "both") ? { alertOn: sides } : {}),
    },
    // The entity key decides what a baseline belongs to (the built-in's is implied).
    ...(contract.builtin ? {} : { entity: contract.key ?? "" }),
    ...(scales.some((s) => s !== "linear") ? { scales } : {}),
    // Named only when not UTC, so other models keep their keys.
    ...(zone !== UTC ? { zone } : {}),
  };
}

/** Half the mean width of `limits`: the amplitude of a time cycle's sine and cosine features. */
export function cycleRadius(limits: readonly (readonly [number, number])[]): number {
  return limits.reduce((a, [lo, hi]) => a + (hi - lo), 0) / (2 * limits.length);
}

/** The main-thread part of a model: threshold, events scored, entity baselines. */
interface MainModel {
  threshold: Threshold;
  scored: number;
  baselines: Baselines;
}

/** What the stages of one pipeline share. */
interface PipelineCore {
  pool: StagePool;
  /** The contract compiled on the main thread: check codes and time limits. */
  checker: Checker;
  /** Features per record in a checked batch (the contract's). */
  stride: number;
  params: { nTrees: number; height: number; windowSize: number };
  clock: "wall" | "event";
  now: () => number;
  /** The event-time clock (`clock: "event"`): the latest accepted `ts`. */
  eventClock: number;
  /**
   * Event clock before a jump beyond the future skew, until a row is accepted against the clock
   * the jump set (NaN: none).
   */
  clockBeforeJump: number;
  /** Limits of the time checks. */
  time: TimeLimits;
  /** Columns of the contract's features the model sees, in order. */
  columns: number[];
  /** Per model column: the scale the model sees it on (`contract/scale.ts`). */
  scales: Scale[];
  /** Seconds of each time cycle the forest also sees (two features each, after the columns). */
  cycles: number[];
  /** Amplitude of the cycles' sine and cosine ({@link cycleRadius}). */
  cycleRadius: number;
  /**
   * Per model column, the side that may alert (+1 high, −1 low, 0 both); absent when every
   * feature alerts on both sides.
   */
  sides?: Int8Array;
  /** Event time → the same wall-clock reading in the model's time zone; absent: UTC. */
  local?: (ts: number) => number;
  /** Per-event scratch of the baselines. */
  scratch: { x: Float64Array; judgement: Required<BaselineJudgement> };
}

/** Stage 1, stateless: decode and check the records, one contiguous slice per worker. */
async function checkBatch(
  core: PipelineCore,
  values: readonly (Uint8Array | null | undefined)[],
): Promise<CheckedBatch> {
  const n = values.length, count = core.pool.size;
  const c: CheckedBatch = {
    n,
    status: new Uint8Array(n),
    reasons: new Array(n),
    keys: new Array<string>(n),
    ts: new Float64Array(n),
    features: new Float64Array(core.stride * n),
    fields: new Array(n),
    rules: new Array(n),
  };
  const per = Math.ceil(n / count);
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const start = Math.min(n, i * per), end = Math.min(n, start + per);
    if (start === end) return;
    const { bytes, offsets } = packRecords(values.slice(start, end));
    const request = { type: "check", id: core.pool.nextId(), bytes, offsets } as const;
    const r = (await core.pool.call(i, request, "checked", [bytes.buffer, offsets.buffer])).result;
    c.status.set(r.status, start);
    for (let k = 0; k < r.keys.length; k++) c.keys[start + k] = r.keys[k];
    c.ts.set(r.ts, start);
    c.features.set(r.features, core.stride * start);
    for (const [k, reason, field, rule] of r.reasons) {
      c.reasons[start + k] = reason;
      c.fields![start + k] = field;
      c.rules![start + k] = rule;
    }
  }));
  return c;
}

/** The time checks, in order (wall clock or event-time clock); returns the valid indices. */
function checkTimes(core: PipelineCore, c: CheckedBatch): number[] {
  const wall = core.now();
  const valid: number[] = [];
  for (let i = 0; i < c.n; i++) {
    if (c.status[i] !== 0) continue;
    // Event time: the clock is the latest accepted `ts`, and a row after a gap of any length
    // moves it on (a file's gap is not a future event); a time past the year 3000 is judged
    // against the clock as it is, so its reason can say which unit would make it now.
    const clock = core.clock === "wall"
      ? wall
      : c.ts[i] > MAX_EVENT_TIME
      ? (Number.isNaN(core.eventClock) ? wall : core.eventClock)
      : Number.isNaN(core.eventClock) || c.ts[i] > core.eventClock
      ? c.ts[i]
      : core.eventClock;
    let t = checkTime(c.ts[i], clock, core.time);
    if (!t.ok && t.which === "stale" && !Number.isNaN(core.clockBeforeJump)) {
      // Fresh against the clock before its latest jump: that jump was one wild time (a year
      // typed wrong), not a gap; the clock goes back so the rows after it are judged.
      const before = checkTime(c.ts[i], core.clockBeforeJump, core.time);
      if (before.ok) {
        core.eventClock = Math.max(core.clockBeforeJump, c.ts[i]);
        core.clockBeforeJump = NaN;
        t = before;
      }
    }
    if (!t.ok) {
      c.status[i] = core.checker.timeCodes[t.which];
      c.reasons[i] = t.reason;
      if (c.fields) c.fields[i] = core.time.field;
      if (c.rules) c.rules[i] = t.which === "stale" ? "freshness" : "future";
      c.keys[i] = "";
      continue;
    }
    if (core.clock === "event") {
      // A jump beyond the future skew is remembered until a row is accepted against the clock
      // it set, which makes it a gap.
      const jump = c.ts[i] - core.eventClock > core.time.maxFutureSec;
      core.clockBeforeJump = jump ? core.eventClock : NaN;
      if (!(c.ts[i] <= core.eventClock)) core.eventClock = c.ts[i];
    }
    valid.push(i);
  }
  return valid;
}

/** Per record and feature: what the baselines judged (see {@link BatchOutcome}). */
interface EntityColumns {
  deviation: Float64Array;
  calibrated: Float64Array;
  typical: Float64Array;
  repeats: Float64Array;
  basis: Uint8Array;
  actual: Float64Array;
}

/** Model column `f` of record `i`, on the scale the model sees it. */
function modelValue(core: PipelineCore, c: CheckedBatch, i: number, f: number): number {
  return toModelScale(core.scales[f], c.features[core.stride * i + core.columns[f]]);
}

/**
 * Judges then learns record `i` against its entity's baseline: its model columns, on the model's
 * scale, are `model[from …]` (the batch's buffer the forest scores), its time `ts` on the model's
 * clock (`PipelineCore.local`).
 */
function judgeEntity(
  core: PipelineCore,
  m0: MainModel,
  c: CheckedBatch,
  i: number,
  into: EntityColumns,
  model: Float64Array,
  from: number,
  ts: number,
): void {
  const d = core.columns.length, scales = core.scales;
  const { x, judgement: j } = core.scratch;
  for (let f = 0; f < d; f++) x[f] = model[from + f];
  m0.baselines.judgeLearn(c.keys[i], x, ts, j);
  for (let f = 0; f < d; f++) {
    const at = core.stride * i + core.columns[f];
    into.deviation[at] = j.z[f];
    into.calibrated[at] = j.calibrated[f];
    // What a user reads is in the field's own units.
    into.typical[at] = fromModelScale(scales[f], j.typical[f]);
    into.repeats[at] = j.run[f];
    into.basis[at] = j.basis[f];
    into.actual[at] = fromModelScale(scales[f], j.actual[f]);
  }
}

/** Stage 2, in batch order: time checks, then scores and threshold with model `key`. */
async function scoreBatch(
  core: PipelineCore,
  c: CheckedBatch,
  key: number,
  m0: MainModel,
): Promise<BatchOutcome> {
  const valid = checkTimes(core, c);
  const { n } = c, m = valid.length;
  const score = new Float64Array(n).fill(NaN);
  const thresholds = new Float64Array(n).fill(NaN);
  const anomaly = new Uint8Array(n);
  const driver = new Int16Array(n).fill(-1);
  const alertScore = new Float64Array(n).fill(NaN);
  const columns: EntityColumns = {
    deviation: new Float64Array(core.stride * n).fill(NaN),
    calibrated: new Float64Array(core.stride * n).fill(NaN),
    typical: new Float64Array(core.stride * n).fill(NaN),
    repeats: new Float64Array(core.stride * n).fill(NaN),
    basis: new Uint8Array(core.stride * n),
    actual: new Float64Array(core.stride * n).fill(NaN),
  };
  if (m > 0) {
    // Every shard sees every valid event, in order: the model's columns only, then the phase of
    // each time cycle as its sine and cosine.
    const d = core.columns.length + 2 * core.cycles.length;
    const shared = new Float64Array(new SharedArrayBuffer(8 * d * m));
    // Each record's time on the model's clock, read once for the cycles and the baselines.
    const times = core.local ? new Float64Array(m) : undefined;
    valid.forEach((i, k) => {
      let at = d * k;
      for (let f = 0; f < core.columns.length; f++) shared[at++] = modelValue(core, c, i, f);
      const ts = times ? (times[k] = core.local!(c.ts[i])) : c.ts[i];
      for (const period of core.cycles) {
        const phase = (2 * Math.PI * (ts % period)) / period;
        shared[at++] = core.cycleRadius * Math.sin(phase);
        shared[at++] = core.cycleRadius * Math.cos(phase);
      }
    });
    const replies = await core.pool.broadcast(
      (_, id) => ({ type: "score", id, model: key, features: shared, n: m }),
      "scored",
    );
    for (let k = 0; k < m; k++) {
      let mass = 0;
      for (const r of replies) mass += r.masses[k];
      const i = valid[k];
      const warm = isWarm(m0.scored++, core.params.windowSize);
      score[i] = massToScore(mass, warm, core.params);
      thresholds[i] = m0.threshold.value;
      judgeEntity(core, m0, c, i, columns, shared, d * k, times ? times[k] : c.ts[i]);
      const judged = m0.threshold.judge(
        score[i],
        warm,
        columns.calibrated,
        core.stride * i,
        core.stride,
      );
      // The forest's score has no side: an event it flags whose features are all one-sided and
      // each deviate from their entity's typical value on their quiet side is not alerted.
      const quiet = judged.anomaly && judged.driver < 0 && core.sides !== undefined &&
        quietSide(core.sides, columns.deviation, core.stride * i, core.columns);
      anomaly[i] = judged.anomaly && !quiet ? 1 : 0;
      driver[i] = judged.driver;
      alertScore[i] = judged.alertScore;
    }
  }
  return {
    ...c,
    score,
    threshold: thresholds,
    anomaly,
    driver,
    alertScore,
    ...columns,
  };
}

/**
 * Whether every model column is one-sided (`sides`) and the record's deviation at `at` (the
 * record's first column, the columns at `columns`) lies on that column's other side. A column
 * without a deviation yet (its entity warming up) has no side: false.
 */
function quietSide(
  sides: Int8Array,
  deviation: Float64Array,
  at: number,
  columns: readonly number[],
): boolean {
  for (let f = 0; f < sides.length; f++) {
    const z = deviation[at + columns[f]];
    if (sides[f] === 0 || !(sides[f] * z < 0)) return false;
  }
  return true;
}

/** The model state of `key`: the shards' masses merged, with the main thread's part. */
async function snapshotOf(
  pool: StagePool,
  key: number,
  model: string,
  own: MainModel,
): Promise<ModelState> {
  const parts = (await pool.broadcast((_, id) => ({ type: "export", id, model: key }), "exported"))
    .map((r) => r.state);
  const entries = new Int32Array(parts.reduce((a, p) => a + p.entries.length, 0));
  let at = 0;
  for (const p of parts) {
    entries.set(p.entries, at);
    at += p.entries.length;
  }
  const { counter, window, events } = parts[0];
  return {
    version: MODEL_STATE_VERSION,
    model,
    scored: own.scored,
    masses: { counter, window, entries, events },
    threshold: own.threshold.state(),
    baselines: own.baselines.state(),
  };
}

/** Runs `work` after everything queued before it, one at a time; stops once `failed()`. */
function serialQueue(failed: () => Error | undefined) {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(() => {
      const f = failed();
      if (f) throw f;
      return work();
    });
    queue = result.catch(() => {});
    return result;
  };
}

/** Throws unless `state` was taken with the parameters `model` names. */
function checkFits(state: ModelState, model: string): void {
  if (state.version !== MODEL_STATE_VERSION || !sameModel(state.model, model)) {
    throw new RangeError(
      `model state does not fit these parameters: ${state.model} (version ${state.version}) ` +
        `vs ${model} (version ${MODEL_STATE_VERSION})`,
    );
  }
}

/** The state the stages share, for `forest` and `options`. */
function coreOf(
  pool: StagePool,
  checker: Checker,
  forest: ReturnType<typeof forestOf>,
  options: PipelineOptions,
): PipelineCore {
  const { time } = checker.contract;
  return {
    pool,
    checker,
    stride: checker.features.length,
    time: {
      freshnessLagSec: time.freshnessLagSec,
      maxFutureSec: time.maxFutureSec,
      field: time.field,
      unit: checker.contract.fields.find((f) => f.name === time.field)?.unit,
    },
    params: {
      nTrees: forest.nTrees ?? FOREST_DEFAULTS.nTrees,
      height: forest.height ?? FOREST_DEFAULTS.height,
      windowSize: forest.windowSize ?? FOREST_DEFAULTS.windowSize,
    },
    clock: options.clock ?? "wall",
    now: options.now ?? (() => Date.now() / 1000),
    eventClock: NaN,
    clockBeforeJump: NaN,
    columns: forest.features.map((f) => checker.features.indexOf(f)),
    scales: forest.features.map((_, k) => forest.scales?.[k] ?? "linear"),
    cycles: forest.cycles.map((c) => CYCLE_SECONDS[c]),
    cycleRadius: cycleRadius(forest.limits.slice(0, forest.features.length)),
    ...(forest.baseline.alertOn
      ? { sides: Int8Array.from(forest.baseline.alertOn, sideSign) }
      : {}),
    ...(forest.zone ? { local: localClock(forest.zone) } : {}),
    scratch: {
      x: new Float64Array(forest.features.length),
      judgement: createJudgement(forest.features.length),
    },
  };
}

/** Starts `count` stage workers, each building its shard of the forest's trees. */
async function startShards(
  forest: ReturnType<typeof forestOf>,
  contract: Contract,
  maxEventBytes: number,
  count: number,
  onFatal: (e: Error) => void,
): Promise<StagePool> {
  const pool = createStagePool(new URL("../workers/stage.ts", import.meta.url), count, onFatal);
  await Promise.all(
    Array.from({ length: count }, (_, index) =>
      pool.call(
        index,
        { type: "init", forest, shard: { index, count }, contract, maxEventBytes },
        "ready",
      )),
  );
  return pool;
}

/** The main thread's part of a model, fresh or resumed from `state`. */
function mainModelOf(
  forest: ReturnType<typeof forestOf>,
  options: PipelineOptions,
  state?: ModelState,
): MainModel {
  return {
    threshold: createThreshold(options.threshold, state?.threshold),
    scored: state?.scored ?? 0,
    baselines: createBaselines(forest.features.length, forest.baseline, state?.baselines),
  };
}

/** Starts `workers` stage workers, each holding its shard of the forest. */
export async function createPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const forest = forestOf(options);
  const count = options.workers ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`workers must be a positive integer, got ${count}`);
  }
  const model = modelKey(forest, options.threshold);
  const fits = (state: ModelState) => checkFits(state, model);
  if (options.state) fits(options.state);
  let fatal: Error | undefined;
  const contract = contractOf(options);
  const checker = compileChecker(contract, { maxEventBytes: limits.maxEventBytes });
  const pool = await startShards(
    forest,
    contract,
    limits.maxEventBytes,
    count,
    (e) => fatal ??= e,
  );
  const core = coreOf(pool, checker, forest, options);
  const models = new Map<number, MainModel>();
  let scoredAll = 0;
  let latest: Threshold | undefined;
  const serially = serialQueue(() => fatal);
  const mainModel = (key: number) => {
    const m = models.get(key);
    if (!m) throw new RangeError(`model ${key} is not open`);
    return m;
  };

  async function openModel(key: number, state?: ModelState): Promise<void> {
    if (state) fits(state);
    await pool.broadcast(
      (_, id) => ({ type: "open", id, model: key, masses: state?.masses }),
      "done",
    );
    scoredAll += (state?.scored ?? 0) - (models.get(key)?.scored ?? 0);
    models.set(key, mainModelOf(forest, options, state));
  }
  if (options.initialModel ?? true) await openModel(0, options.state);

  return {
    workers: count,
    contract,
    checks: checker.checks,
    features: checker.features,
    get scored() {
      return scoredAll;
    },
    get threshold() {
      return latest?.value ?? NaN;
    },
    get models() {
      return [...models.keys()];
    },
    get failed() {
      return fatal;
    },
    scoredBy: (key) => models.get(key)?.scored ?? 0,
    entitiesOf: (key) => ({
      size: models.get(key)?.baselines.size ?? 0,
      evicted: models.get(key)?.baselines.evicted ?? 0,
    }),
    open: (key, state) => serially(() => openModel(key, state)),
    drop: (key) =>
      serially(async () => {
        await pool.broadcast((_, id) => ({ type: "drop", id, model: key }), "done");
        scoredAll -= models.get(key)?.scored ?? 0;
        if (latest === models.get(key)?.threshold) latest = undefined;
        models.delete(key);
      }),
    process: (values, key = 0) => {
      // Checks of the next batches overlap the scoring of this one; scores stay in batch order.
      const checked = fatal ? Promise.reject(fatal) : checkBatch(core, values);
      checked.catch(() => {});
      return serially(async () => {
        const m0 = mainModel(key);
        latest = m0.threshold;
        const before = m0.scored;
        const out = await scoreBatch(core, await checked, key, m0);
        scoredAll += m0.scored - before;
        return out;
      });
    },
    snapshot: (key = 0) => serially(() => snapshotOf(pool, key, model, mainModel(key))),
    close() {
      pool.terminate();
      return Promise.resolve();
    },
  };
}

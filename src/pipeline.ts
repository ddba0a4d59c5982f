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
import { CHECK_CODE, type CheckLimits, checkTime, DEFAULT_LIMITS } from "./event.ts";
import { type ForestOptions, isWarm, type MassState, massToScore } from "./hst/mod.ts";
import type { QuantileState } from "./quantile.ts";
import { FEATURES, packRecords, type StageReply, type StageRequest } from "./stage.ts";
import { createThreshold, type Threshold, type ThresholdOptions } from "./threshold.ts";
import { FOREST_DEFAULTS, THRESHOLD_DEFAULTS } from "./defaults.ts";

/** Options of {@link createPipeline}. */
export interface PipelineOptions {
  /** Forest parameters (limits default to the checks' valid ranges). */
  forest?: Omit<ForestOptions, "limits">;
  /** Check limits. Default: {@link DEFAULT_LIMITS}. */
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
}

/** The learned state of the model: forest masses, threshold, events scored, and what they fit. */
export interface ModelState {
  version: 2;
  /** The parameters the state belongs to; a state is only restored onto the same. */
  model: string;
  scored: number;
  masses: MassState;
  threshold: QuantileState;
}

/** A key naming the model parameters a {@link ModelState} fits. */
export function modelKey(forest: ForestOptions, threshold: ThresholdOptions = {}): string {
  return JSON.stringify({
    nTrees: forest.nTrees ?? FOREST_DEFAULTS.nTrees,
    height: forest.height ?? FOREST_DEFAULTS.height,
    windowSize: forest.windowSize ?? FOREST_DEFAULTS.windowSize,
    seed: forest.seed ?? FOREST_DEFAULTS.seed,
    limits: forest.limits,
    mode: threshold.mode ?? THRESHOLD_DEFAULTS.mode,
    quantileP: threshold.quantileP ?? THRESHOLD_DEFAULTS.quantileP,
    massRatio: threshold.massRatio ?? THRESHOLD_DEFAULTS.massRatio,
  });
}

/** Outcomes of one batch, per record in input order. */
export interface BatchOutcome {
  n: number;
  /** Check code ({@link CHECK_CODE}); 0 = valid. */
  status: Uint8Array;
  /** Reason of each rejected record (undefined when valid). */
  reasons: (string | undefined)[];
  /** Entity key of each valid record (`sensor_id`; "" when rejected). */
  keys: string[];
  /** Event `ts` (NaN when it could not be read). */
  ts: Float64Array;
  /** Features, {@link FEATURES} order, 2 per record. */
  features: Float64Array;
  /** Score of each valid record (NaN for rejected ones). */
  score: Float64Array;
  /** Threshold each valid record was compared with (NaN before the first). */
  threshold: Float64Array;
  /** 1 when the record is an anomaly. */
  anomaly: Uint8Array;
}

/**
 * A running pipeline. Batches are checked as soon as they are handed in; their scores, and model
 * operations, run one at a time, in call order.
 */
export interface Pipeline {
  readonly workers: number;
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

interface StageWorker {
  call(request: StageRequest, transfer?: Transferable[]): Promise<StageReply>;
  terminate(): void;
}

function startWorker(url: URL, onFatal: (e: Error) => void): StageWorker {
  const worker = new Worker(url, { type: "module" });
  const pending = new Map<number, (r: StageReply) => void>();
  let ready: ((r: StageReply) => void) | undefined;
  const fail = (e: Error) => {
    onFatal(e);
    for (const resolve of pending.values()) resolve({ type: "error", id: -1, message: e.message });
    pending.clear();
  };
  worker.onmessage = (e: MessageEvent<StageReply>) => {
    const msg = e.data;
    if (msg.type === "ready") return ready?.(msg);
    const resolve = pending.get(msg.id);
    pending.delete(msg.id);
    resolve?.(msg);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    fail(new Error(`stage worker failed: ${e.message}`));
  };
  return {
    call(request, transfer = []) {
      return new Promise((resolve) => {
        if (request.type === "init") ready = resolve;
        else pending.set(request.id, resolve);
        worker.postMessage(request, transfer);
      });
    },
    terminate: () => worker.terminate(),
  };
}

function expect<T extends StageReply["type"]>(
  r: StageReply,
  type: T,
): Extract<StageReply, { type: T }> {
  if (r.type === "error") throw new Error(`stage worker: ${r.message}`);
  if (r.type !== type) throw new Error(`stage worker: expected ${type}, got ${r.type}`);
  return r as Extract<StageReply, { type: T }>;
}

/** The forest of a pipeline: its parameters, limits from the checks' valid ranges. */
export function forestOf(options: PipelineOptions): ForestOptions {
  const limits = options.limits ?? DEFAULT_LIMITS;
  return {
    ...options.forest,
    limits: [[limits.valueMin, limits.valueMax], [limits.temperatureMin, limits.temperatureMax]],
  };
}

/** Starts `workers` stage workers, each holding its shard of the forest. */
export async function createPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const forest = forestOf(options);
  const params = {
    nTrees: forest.nTrees ?? FOREST_DEFAULTS.nTrees,
    height: forest.height ?? FOREST_DEFAULTS.height,
    windowSize: forest.windowSize ?? FOREST_DEFAULTS.windowSize,
  };
  const count = options.workers ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`workers must be a positive integer, got ${count}`);
  }
  const now = options.now ?? (() => Date.now() / 1000);
  const clockMode = options.clock ?? "wall";
  const model = modelKey(forest, options.threshold);
  const fits = (state: ModelState) => {
    if (state.version !== 2 || state.model !== model) {
      throw new RangeError(
        `model state does not fit these parameters: ${state.model} (version ${state.version}) ` +
          `vs ${model} (version 2)`,
      );
    }
  };
  if (options.state) fits(options.state);
  let fatal: Error | undefined;
  const url = new URL("../workers/stage.ts", import.meta.url);
  const workers = Array.from({ length: count }, () => startWorker(url, (e) => fatal ??= e));
  await Promise.all(
    workers.map(async (w, index) =>
      expect(
        await w.call({ type: "init", forest, shard: { index, count }, limits }),
        "ready",
      )
    ),
  );
  /** Main-thread part of each model: threshold and events scored. */
  const models = new Map<number, { threshold: Threshold; scored: number }>();
  let scoredAll = 0;
  let latest: Threshold | undefined;
  let nextId = 0;
  let eventClock = NaN;
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(() => {
      if (fatal) throw fatal;
      return work();
    });
    queue = result.catch(() => {});
    return result;
  };

  async function openModel(key: number, state?: ModelState): Promise<void> {
    if (state) fits(state);
    await Promise.all(workers.map(async (w) =>
      expect(
        await w.call({ type: "open", id: nextId++, model: key, masses: state?.masses }),
        "done",
      )
    ));
    const previous = models.get(key);
    scoredAll += (state?.scored ?? 0) - (previous?.scored ?? 0);
    models.set(key, {
      threshold: createThreshold(options.threshold, state?.threshold),
      scored: state?.scored ?? 0,
    });
  }
  if (options.initialModel ?? true) await openModel(0, options.state);

  /** Stage 1, stateless: decode and check the records (runs as soon as a batch is handed in). */
  async function check(values: readonly (Uint8Array | null | undefined)[]) {
    if (fatal) throw fatal;
    const n = values.length;
    const status = new Uint8Array(n);
    const reasons: (string | undefined)[] = new Array(n);
    const keys = new Array<string>(n);
    const ts = new Float64Array(n);
    const features = new Float64Array(FEATURES.length * n);
    // 1. Checks, one contiguous slice per worker.
    const per = Math.ceil(n / count);
    await Promise.all(workers.map(async (w, i) => {
      const start = Math.min(n, i * per), end = Math.min(n, start + per);
      if (start === end) return;
      const { bytes, offsets } = packRecords(values.slice(start, end));
      const id = nextId++;
      const r = expect(
        await w.call({ type: "check", id, bytes, offsets }, [bytes.buffer, offsets.buffer]),
        "checked",
      ).result;
      status.set(r.status, start);
      for (let k = 0; k < r.keys.length; k++) keys[start + k] = r.keys[k];
      ts.set(r.ts, start);
      features.set(r.features, FEATURES.length * start);
      for (const [k, reason] of r.reasons) reasons[start + k] = reason;
    }));
    return { n, status, reasons, keys, ts, features };
  }

  /** Stage 2, in batch order: time checks, scores and threshold with model `key`. */
  async function score(
    { n, status, reasons, keys, ts, features }: Awaited<ReturnType<typeof check>>,
    key: number,
  ): Promise<BatchOutcome> {
    const m0 = models.get(key);
    if (!m0) throw new RangeError(`model ${key} is not open`);
    const threshold = m0.threshold;
    latest = threshold;
    // 2. Time checks, in order.
    const wall = now();
    const valid: number[] = [];
    for (let i = 0; i < n; i++) {
      if (status[i] !== 0) continue;
      const clock = clockMode === "wall" ? wall : Number.isNaN(eventClock) ? ts[i] : eventClock;
      const t = checkTime(ts[i], clock, limits);
      if (!t.ok) {
        status[i] = CHECK_CODE[t.check];
        reasons[i] = t.reason;
        keys[i] = "";
        continue;
      }
      if (clockMode === "event" && !(ts[i] <= eventClock)) eventClock = ts[i];
      valid.push(i);
    }
    // 3. Scores: every shard sees every valid event, in order.
    const m = valid.length;
    const score = new Float64Array(n).fill(NaN);
    const thresholds = new Float64Array(n).fill(NaN);
    const anomaly = new Uint8Array(n);
    if (m > 0) {
      const shared = new Float64Array(new SharedArrayBuffer(8 * FEATURES.length * m));
      valid.forEach((i, k) => shared.set(features.subarray(2 * i, 2 * i + 2), 2 * k));
      const masses = await Promise.all(
        workers.map(async (w) =>
          expect(
            await w.call({ type: "score", id: nextId++, model: key, features: shared, n: m }),
            "scored",
          ).masses
        ),
      );
      for (let k = 0; k < m; k++) {
        let mass = 0;
        for (const shard of masses) mass += shard[k];
        const i = valid[k];
        const warm = isWarm(m0.scored++, params.windowSize);
        score[i] = massToScore(mass, warm, params);
        thresholds[i] = threshold.value;
        anomaly[i] = threshold.observe(score[i], warm) ? 1 : 0;
      }
      scoredAll += m;
    }
    return { n, status, reasons, keys, ts, features, score, threshold: thresholds, anomaly };
  }

  return {
    workers: count,
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
    open: (key, state) => serially(() => openModel(key, state)),
    drop: (key) =>
      serially(async () => {
        await Promise.all(workers.map(async (w) =>
          expect(await w.call({ type: "drop", id: nextId++, model: key }), "done")
        ));
        scoredAll -= models.get(key)?.scored ?? 0;
        if (latest === models.get(key)?.threshold) {
          latest = undefined;
        }
        models.delete(key);
      }),
    process: (values, key = 0) => {
      // Checks of the next batches overlap the scoring of this one; scores stay in batch order.
      const checked = check(values);
      checked.catch(() => {});
      return serially(async () => score(await checked, key));
    },
    snapshot: (key = 0) =>
      serially(async (): Promise<ModelState> => {
        if (!models.has(key)) throw new RangeError(`model ${key} is not open`);
        const parts = await Promise.all(
          workers.map(async (w) =>
            expect(await w.call({ type: "export", id: nextId++, model: key }), "exported").state
          ),
        );
        const total = parts.reduce((a, p) => a + p.entries.length, 0);
        const entries = new Int32Array(total);
        let at = 0;
        for (const p of parts) {
          entries.set(p.entries, at);
          at += p.entries.length;
        }
        const { counter, window, events } = parts[0];
        const own = models.get(key)!;
        return {
          version: 2,
          model,
          scored: own.scored,
          masses: { counter, window, entries, events },
          threshold: own.threshold.state(),
        };
      }),
    close() {
      for (const w of workers) w.terminate();
      return Promise.resolve();
    },
  };
}

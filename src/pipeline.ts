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
 * @module
 */
import { CHECK_CODE, type CheckLimits, checkTime, DEFAULT_LIMITS } from "./event.ts";
import { type ForestOptions, isWarm, type MassState, massToScore } from "./hst.ts";
import type { QuantileState } from "./quantile.ts";
import { FEATURES, packRecords, type StageReply, type StageRequest } from "./stage.ts";
import { createThreshold, type ThresholdOptions } from "./threshold.ts";

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
  /** Model state to resume from (a {@link Pipeline.snapshot} of the same model parameters). */
  state?: ModelState;
}

/** The learned state of the model: forest masses, threshold, events scored, and what they fit. */
export interface ModelState {
  version: 1;
  /** The parameters the state belongs to; a state is only restored onto the same. */
  model: string;
  scored: number;
  masses: MassState;
  threshold: QuantileState;
}

/** A key naming the model parameters a {@link ModelState} fits. */
export function modelKey(forest: ForestOptions, threshold: ThresholdOptions = {}): string {
  return JSON.stringify({
    nTrees: forest.nTrees ?? 25,
    height: forest.height ?? 15,
    windowSize: forest.windowSize ?? 250,
    seed: forest.seed ?? 42,
    limits: forest.limits,
    mode: threshold.mode ?? "adaptive",
    quantileP: threshold.quantileP ?? 0.995,
    massRatio: threshold.massRatio ?? 10,
  });
}

/** Outcomes of one batch, per record in input order. */
export interface BatchOutcome {
  n: number;
  /** Check code ({@link CHECK_CODE}); 0 = valid. */
  status: Uint8Array;
  /** Reason of each rejected record (undefined when valid). */
  reasons: (string | undefined)[];
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

/** A running pipeline. Batches are processed one at a time, in call order. */
export interface Pipeline {
  readonly workers: number;
  /** Valid events scored so far. */
  readonly scored: number;
  /** Current threshold (score scale). */
  readonly threshold: number;
  /** Set when a worker thread died: the pipeline cannot go on (restart the process). */
  readonly failed: Error | undefined;
  /** Processes one batch of record values (null = empty record). */
  process(values: readonly (Uint8Array | null | undefined)[]): Promise<BatchOutcome>;
  /** The model state after every batch passed to {@link process} before this call. */
  snapshot(): Promise<ModelState>;
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
    nTrees: forest.nTrees ?? 25,
    height: forest.height ?? 15,
    windowSize: forest.windowSize ?? 250,
  };
  const count = options.workers ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`workers must be a positive integer, got ${count}`);
  }
  const now = options.now ?? (() => Date.now() / 1000);
  const clockMode = options.clock ?? "wall";
  const model = modelKey(forest, options.threshold);
  const state = options.state;
  if (state && (state.version !== 1 || state.model !== model)) {
    throw new RangeError(`model state does not fit these parameters: ${state.model} vs ${model}`);
  }
  const threshold = createThreshold(options.threshold, state?.threshold);
  let fatal: Error | undefined;
  const url = new URL("../workers/stage.ts", import.meta.url);
  const workers = Array.from({ length: count }, () => startWorker(url, (e) => fatal ??= e));
  await Promise.all(
    workers.map(async (w, index) =>
      expect(
        await w.call({
          type: "init",
          forest,
          shard: { index, count },
          limits,
          masses: state?.masses,
        }),
        "ready",
      )
    ),
  );
  let scored = state?.scored ?? 0;
  let nextId = 0;
  let eventClock = NaN;
  let queue: Promise<unknown> = Promise.resolve();

  async function run(values: readonly (Uint8Array | null | undefined)[]): Promise<BatchOutcome> {
    if (fatal) throw fatal;
    const n = values.length;
    const status = new Uint8Array(n);
    const reasons: (string | undefined)[] = new Array(n);
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
      ts.set(r.ts, start);
      features.set(r.features, FEATURES.length * start);
      for (const [k, reason] of r.reasons) reasons[start + k] = reason;
    }));
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
          expect(await w.call({ type: "score", id: nextId++, features: shared, n: m }), "scored")
            .masses
        ),
      );
      for (let k = 0; k < m; k++) {
        let mass = 0;
        for (const shard of masses) mass += shard[k];
        const i = valid[k];
        const warm = isWarm(scored++, params.windowSize);
        score[i] = massToScore(mass, warm, params);
        thresholds[i] = threshold.value;
        anomaly[i] = threshold.observe(score[i], warm) ? 1 : 0;
      }
    }
    return { n, status, reasons, ts, features, score, threshold: thresholds, anomaly };
  }

  return {
    workers: count,
    get scored() {
      return scored;
    },
    get threshold() {
      return threshold.value;
    },
    get failed() {
      return fatal;
    },
    process(values) {
      const result = queue.then(() => run(values));
      queue = result.catch(() => {});
      return result;
    },
    snapshot() {
      const result = queue.then(async (): Promise<ModelState> => {
        if (fatal) throw fatal;
        const parts = await Promise.all(
          workers.map(async (w) =>
            expect(await w.call({ type: "export", id: nextId++ }), "exported").state
          ),
        );
        const total = parts.reduce((a, p) => a + p.entries.length, 0);
        const entries = new Int32Array(total);
        let at = 0;
        for (const p of parts) {
          entries.set(p.entries, at);
          at += p.entries.length;
        }
        return {
          version: 1,
          model,
          scored,
          masses: { counter: parts[0].counter, window: parts[0].window, entries },
          threshold: threshold.state(),
        };
      });
      queue = result.catch(() => {});
      return result;
    },
    close() {
      for (const w of workers) w.terminate();
      return Promise.resolve();
    },
  };
}

/**
 * Half-Space Trees (Tan, Ting & Liu, 2011) as River implements them (`river/anomaly/hst.py`),
 * in flat typed arrays and shardable.
 *
 * - **Trees**: complete binary trees of `height` (a walk visits `height + 1` nodes). Each branch
 *   splits on a feature drawn with weight equal to its current (already narrowed) range width, at
 *   a value uniform in the middle 70 % of that range (padding 0.15). Trees are built up front from
 *   the configured feature limits; tree `t` draws from its own stream of the forest's seed, so
 *   the forest does not depend on how it is sharded.
 * - **Masses**: every learned event adds 1 to the latest-window mass (`l_mass`) of each node on
 *   its path. After every `windowSize` learned events the latest window becomes the reference
 *   (`r_mass = l_mass; l_mass = 0` for every node). The pivot is lazy here (a per-node window
 *   number), so it costs O(1) instead of touching every node; the masses read are River's.
 * - **Score**: walking from the root (depth 0), add `r_mass · 2^depth` of each node and stop after
 *   the first node whose `r_mass < 0.1 · windowSize`; the score is
 *   `1 − Σ / (nTrees · windowSize · (2^(height+1) − 1))`, so higher is more anomalous. Before the
 *   first pivot the score is 0.
 * - **Missing feature** (NaN): the walk follows the child with the larger `l_mass`, the left one
 *   on ties (River's rule).
 * - **Sharding**: shard `i` of `W` holds the trees `[⌊i·n/W⌋, ⌊(i+1)·n/W⌋)` and returns, per
 *   event, the integer sum of its trees' masses. Masses are integers far below 2^53, so the sum of
 *   the shard sums is exact: scores are bit-identical for any `W` and equal to the whole forest's.
 *
 * Each event is scored, then learned, in one walk per tree (River's score-then-learn).
 *
 * @module
 */
import { createRandom } from "./random.ts";

/** Parameters of a forest; defaults are the seed's (and River's). */
export interface ForestOptions {
  /** Number of trees. Default: 25. */
  nTrees?: number;
  /** Height of each tree (edges from root to leaf). Default: 15. */
  height?: number;
  /** Events per window. Default: 250. */
  windowSize?: number;
  /** `[min, max]` of each feature, in feature order. */
  limits: readonly (readonly [number, number])[];
  /** Seed of the forest. Default: 42. */
  seed?: number;
}

/** Which part of the forest a {@link Forest} holds. Default: the whole forest. */
export interface Shard {
  /** 0-based shard number, `< count`. */
  index: number;
  /** Number of shards. */
  count: number;
}

/**
 * A forest, or one shard of it. Node `j` of a tree (heap order, children `2j+1`, `2j+2`) is
 * record `k = treeSlot · nodesPerTree + j` of {@link Forest.nodes}: 24 bytes holding the split
 * value (`f64[3k]`), split feature (`i32[6k+2]`), `l_mass` (`i32[6k+3]`), `r_mass`
 * (`i32[6k+4]`) and the window the masses belong to (`i32[6k+5]`).
 */
export interface Forest {
  readonly nTrees: number;
  readonly height: number;
  readonly windowSize: number;
  readonly nFeatures: number;
  /** First and one-past-last tree of the whole forest held here. */
  readonly firstTree: number;
  readonly endTree: number;
  readonly nodesPerTree: number;
  /** Node records (see above). */
  readonly nodes: ArrayBuffer;
  /** Events learned in the current window. */
  counter: number;
  /** Windows completed (pivots done). */
  window: number;
}

/** Bytes per node record. */
export const NODE_BYTES = 24;
const PADDING = 0.15;

function positiveInt(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in 1..${max}, got ${value}`);
  }
  return value;
}

/** The trees `[first, end)` of shard `index` of `count` in a forest of `nTrees`. */
export function shardTrees(nTrees: number, shard: Shard): [number, number] {
  if (!Number.isInteger(shard.count) || shard.count < 1) {
    throw new RangeError(`shard count must be a positive integer, got ${shard.count}`);
  }
  if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new RangeError(
      `shard index must be an integer in 0..${shard.count - 1}, got ${shard.index}`,
    );
  }
  return [
    Math.floor((shard.index * nTrees) / shard.count),
    Math.floor(((shard.index + 1) * nTrees) / shard.count),
  ];
}

/** Largest possible mass sum of the whole forest: `nTrees · windowSize · (2^(height+1) − 1)`. */
export function maxMass(nTrees: number, windowSize: number, height: number): number {
  return nTrees * windowSize * (2 ** (height + 1) - 1);
}

/**
 * Score of an event from the summed masses of all shards; `warm` is false during the first
 * window (then the score is 0, as in River).
 */
export function massToScore(mass: number, warm: boolean, forest: ForestParams): number {
  return warm ? 1 - mass / maxMass(forest.nTrees, forest.windowSize, forest.height) : 0;
}

/** The parameters a score depends on. */
export interface ForestParams {
  nTrees: number;
  height: number;
  windowSize: number;
}

/** True when event number `index` (0-based, in learning order) is scored after the first pivot. */
export function isWarm(index: number, windowSize: number): boolean {
  return index >= windowSize;
}

/** Validated parameters with defaults applied. */
export function forestParams(options: ForestOptions): Required<ForestOptions> {
  const nTrees = positiveInt("nTrees", options.nTrees ?? 25, 1000);
  const height = positiveInt("height", options.height ?? 15, 24);
  const windowSize = positiveInt("windowSize", options.windowSize ?? 250, 1 << 30);
  const seed = options.seed ?? 42;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in 0..4294967295, got ${seed}`);
  }
  if (options.limits.length < 1 || options.limits.length > 255) {
    throw new RangeError(`limits must name 1..255 features, got ${options.limits.length}`);
  }
  options.limits.forEach(([lo, hi], i) => {
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
      throw new RangeError(`limits[${i}] must be finite with min < max, got [${lo}, ${hi}]`);
    }
  });
  if (maxMass(nTrees, windowSize, height) >= 2 ** 53) {
    throw new RangeError(
      `nTrees·windowSize·2^(height+1) must stay below 2^53 for exact scores, got nTrees=${nTrees} ` +
        `windowSize=${windowSize} height=${height}`,
    );
  }
  return { nTrees, height, windowSize, seed, limits: options.limits };
}

/** Builds the whole forest, or shard `shard` of it. Every node starts with zero masses. */
export function buildForest(options: ForestOptions, shard: Shard = { index: 0, count: 1 }): Forest {
  const p = forestParams(options);
  const [firstTree, endTree] = shardTrees(p.nTrees, shard);
  const nodesPerTree = 2 ** (p.height + 1) - 1;
  const nodes = new ArrayBuffer((endTree - firstTree) * nodesPerTree * NODE_BYTES);
  const f64 = new Float64Array(nodes);
  const i32 = new Int32Array(nodes);
  const nFeatures = p.limits.length;
  const lo = new Float64Array(nFeatures);
  const hi = new Float64Array(nFeatures);
  const firstLeaf = 2 ** p.height - 1;
  for (let t = firstTree; t < endTree; t++) {
    const rng = createRandom(p.seed, t);
    const base = (t - firstTree) * nodesPerTree;
    p.limits.forEach(([a, b], f) => {
      lo[f] = a;
      hi[f] = b;
    });
    // Pre-order, as River's recursive make_padded_tree: narrow, build left, restore, build right.
    const grow = (j: number) => {
      const k = base + j;
      if (j >= firstLeaf) {
        i32[6 * k + 2] = -1;
        return;
      }
      let total = 0;
      for (let f = 0; f < nFeatures; f++) total += hi[f] - lo[f];
      let pick = rng.next() * total;
      let on = nFeatures - 1;
      for (let f = 0; f < nFeatures; f++) {
        pick -= hi[f] - lo[f];
        if (pick < 0) {
          on = f;
          break;
        }
      }
      const a = lo[on], b = hi[on];
      const at = rng.uniform(a + PADDING * (b - a), b - PADDING * (b - a));
      f64[3 * k] = at;
      i32[6 * k + 2] = on;
      hi[on] = at;
      grow(2 * j + 1);
      hi[on] = b;
      lo[on] = at;
      grow(2 * j + 2);
      lo[on] = a;
    };
    grow(0);
  }
  return {
    nTrees: p.nTrees,
    height: p.height,
    windowSize: p.windowSize,
    nFeatures,
    firstTree,
    endTree,
    nodesPerTree,
    nodes,
    counter: 0,
    window: 0,
  };
}

/**
 * Scores then learns `n` events whose features lie in `features` (row-major, `nFeatures` per
 * event, NaN for a missing value). Writes each event's mass sum over this shard's trees to
 * `out[i]`. The shard sums of all shards, added, give {@link massToScore}'s `mass`.
 */
export function scoreLearnBatch(
  forest: Forest,
  features: Float64Array,
  n: number,
  out: Float64Array,
): void {
  const f64 = new Float64Array(forest.nodes);
  const i32 = new Int32Array(forest.nodes);
  const d = forest.nFeatures;
  const height = forest.height;
  const per = forest.nodesPerTree;
  const trees = forest.endTree - forest.firstTree;
  const sizeLimit = 0.1 * forest.windowSize;
  const windowSize = forest.windowSize;
  out.fill(0, 0, n);
  // Tree-major: trees are independent, so walking all events through one tree before the next
  // gives the same masses and sums as event-major order, with few trees at a time in cache.
  // Two trees walk in lockstep (their loads do not depend on each other, so the CPU overlaps
  // them): about 25 % faster than one at a time.
  let counter = forest.counter;
  let w = forest.window;
  for (let t = 0; t < trees; t += 2) {
    const baseA = t * per;
    const pair = t + 1 < trees;
    const baseB = pair ? baseA + per : baseA;
    counter = forest.counter;
    w = forest.window;
    for (let e = 0; e < n; e++) {
      const x = e * d;
      let sumA = 0, sumB = 0, jA = 0, jB = 0;
      // Score phase of each tree: add r_mass·2^depth until (and including) the first node below
      // sizeLimit. Every visited node is also learned (l_mass + 1) on the way.
      let scoringA = true, scoringB = pair;
      for (let depth = 0;; depth++) {
        const kA = baseA + jA, mA = 6 * kA;
        toWindow(i32, mA, w);
        if (scoringA) {
          const r = i32[mA + 4];
          sumA += r * (1 << depth);
          scoringA = r >= sizeLimit;
        }
        i32[mA + 3]++;
        let kB = 0, mB = 0;
        if (pair) {
          kB = baseB + jB;
          mB = 6 * kB;
          toWindow(i32, mB, w);
          if (scoringB) {
            const r = i32[mB + 4];
            sumB += r * (1 << depth);
            scoringB = r >= sizeLimit;
          }
          i32[mB + 3]++;
        }
        if (depth === height) break;
        const vA = features[x + i32[mA + 2]], atA = f64[3 * kA];
        jA = vA < atA ? 2 * jA + 1 : vA >= atA ? 2 * jA + 2 : missingChild(i32, baseA, jA, w);
        if (pair) {
          const vB = features[x + i32[mB + 2]], atB = f64[3 * kB];
          jB = vB < atB ? 2 * jB + 1 : vB >= atB ? 2 * jB + 2 : missingChild(i32, baseB, jB, w);
        }
      }
      out[e] += sumA + sumB;
      if (++counter === windowSize) {
        counter = 0;
        w++;
      }
    }
  }
  if (trees === 0) {
    counter = (forest.counter + n) % windowSize;
    w = forest.window + Math.floor((forest.counter + n) / windowSize);
  }
  forest.counter = counter;
  forest.window = w;
}

/** Lazy pivot: brings the masses of the node record at `m` to window `w`. */
function toWindow(i32: Int32Array, m: number, w: number): void {
  const nodeWindow = i32[m + 5];
  if (nodeWindow !== w) {
    i32[m + 4] = nodeWindow === w - 1 ? i32[m + 3] : 0;
    i32[m + 3] = 0;
    i32[m + 5] = w;
  }
}

/** River's rule for a missing split feature: the child with the larger l_mass, left on ties. */
function missingChild(i32: Int32Array, base: number, j: number, w: number): number {
  const left = 2 * j + 1, right = 2 * j + 2;
  const lm = i32[6 * (base + left) + 5] === w ? i32[6 * (base + left) + 3] : 0;
  const rm = i32[6 * (base + right) + 5] === w ? i32[6 * (base + right) + 3] : 0;
  return rm > lm ? right : left;
}

/**
 * The learned state of a forest (or shard): per node with a non-zero mass, brought to the
 * current window, `[tree, node, l_mass, r_mass]` (tree = index in the whole forest), plus the
 * window position. The trees themselves are not part of it: they follow from the seed.
 */
export interface MassState {
  counter: number;
  window: number;
  entries: Int32Array<ArrayBuffer>;
}

/** Exports the masses of `forest` (see {@link MassState}). */
export function exportMasses(forest: Forest): MassState {
  const i32 = new Int32Array(forest.nodes);
  const out: number[] = [];
  const w = forest.window;
  const per = forest.nodesPerTree;
  const total = (forest.endTree - forest.firstTree) * per;
  for (let k = 0; k < total; k++) {
    const m = 6 * k;
    const nodeWindow = i32[m + 5];
    const l = nodeWindow === w ? i32[m + 3] : 0;
    const r = nodeWindow === w ? i32[m + 4] : nodeWindow === w - 1 ? i32[m + 3] : 0;
    if (l !== 0 || r !== 0) out.push(forest.firstTree + Math.floor(k / per), k % per, l, r);
  }
  return { counter: forest.counter, window: w, entries: Int32Array.from(out) };
}

/** Loads the masses of `state` into `forest` (its own trees' entries; others are skipped). */
export function importMasses(forest: Forest, state: MassState): void {
  const i32 = new Int32Array(forest.nodes);
  const per = forest.nodesPerTree;
  for (let k = 0, total = (forest.endTree - forest.firstTree) * per; k < total; k++) {
    i32[6 * k + 3] = 0;
    i32[6 * k + 4] = 0;
    i32[6 * k + 5] = state.window;
  }
  const e = state.entries;
  for (let i = 0; i < e.length; i += 4) {
    const tree = e[i];
    if (tree < forest.firstTree || tree >= forest.endTree || e[i + 1] < 0 || e[i + 1] >= per) {
      continue;
    }
    const m = 6 * ((tree - forest.firstTree) * per + e[i + 1]);
    i32[m + 3] = e[i + 2];
    i32[m + 4] = e[i + 3];
  }
  forest.counter = state.counter;
  forest.window = state.window;
}

/**
 * A whole forest with River's `score_one`-then-`learn_one` interface, for one thread.
 * `scoreLearn(x)` returns the score of `x` (before learning it).
 */
export interface Detector {
  readonly forest: Forest;
  /** Events learned so far. */
  readonly seen: number;
  /** Scores then learns one event (features in forest order; NaN = missing). */
  scoreLearn(x: ArrayLike<number>): number;
  /** Scores then learns `n` events (row-major); writes the scores to `out`. */
  scoreLearnMany(features: Float64Array, n: number, out: Float64Array): void;
}

/** A {@link Detector} over the whole forest. */
export function createDetector(options: ForestOptions): Detector {
  const forest = buildForest(options);
  const one = new Float64Array(forest.nFeatures);
  const mass = new Float64Array(1);
  let seen = 0;
  const detector: Detector = {
    forest,
    get seen() {
      return seen;
    },
    scoreLearn(x) {
      for (let f = 0; f < one.length; f++) one[f] = x[f];
      scoreLearnBatch(forest, one, 1, mass);
      return massToScore(mass[0], isWarm(seen++, forest.windowSize), forest);
    },
    scoreLearnMany(features, n, out) {
      scoreLearnBatch(forest, features, n, out);
      for (let i = 0; i < n; i++) {
        out[i] = massToScore(out[i], isWarm(seen++, forest.windowSize), forest);
      }
    },
  };
  return detector;
}

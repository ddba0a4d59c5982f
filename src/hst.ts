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
 *   (`r_mass = l_mass; l_mass = 0` for every node).
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
 * **Deferred learning.** A score reads only `r_mass`, and only of nodes whose parent has
 * `r_mass ≥ 0.1 · windowSize`. So while no event of the window lacks a feature, learning only
 * keeps the window's events (and where their score walks ended); at the pivot each tree counts
 * them top-down (from where the walks ended, and by partition, as in a quicksort, below nodes the
 * window made dense) and writes `r_mass` of exactly the nodes a score can reach next window, then copies
 * those nodes into a small table that scores walk (see {@link Forest.reachable}): a few dozen
 * entries per tree on the generator's stream, in cache, instead of 16 nodes per tree and event.
 * With two features (the product's), a walk does not even start at the root: a grid over the
 * box where the reference window's events lie says, per tree and cell, where the walks of the
 * cell's events meet their first split, or that they all end at the same place (see
 * {@link buildGrid}); most walks are then over before they start.
 * An event with a missing feature needs this window's `l_mass` of arbitrary nodes: the window
 * switches to eager learning (the kept events are learned, then every event walks to its leaf).
 * Both ways give River's scores exactly (tests against River's algorithm written plainly).
 *
 * The trees ({@link Trees}) are read-only and shared by every model built on them (one per Kafka
 * partition in `process`); a model ({@link Forest}) adds its masses: 4 bytes per node, of which
 * only the reachable ones are ever touched.
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
 * The trees of a forest, or of one shard of it. Node `j` of a tree (heap order, children
 * `2j+1`, `2j+2`) is entry `k = treeSlot · nodesPerTree + j` of the arrays.
 */
export interface Trees {
  readonly nTrees: number;
  readonly height: number;
  readonly windowSize: number;
  readonly nFeatures: number;
  /** First and one-past-last tree of the whole forest held here. */
  readonly firstTree: number;
  readonly endTree: number;
  readonly nodesPerTree: number;
  /** Split value per node (NaN at leaves). */
  readonly split: Float64Array<ArrayBuffer>;
  /** Split feature per node ({@link LEAF} at leaves). */
  readonly feature: Uint8Array<ArrayBuffer>;
}

/** Split feature of a leaf. */
export const LEAF = 255;

/** Bytes per node: the trees (split value and feature), then each model's `r_mass`. */
export const TREE_BYTES_PER_NODE = 9;
/** Bytes per node of a model's masses. */
export const MASS_BYTES_PER_NODE = 4;

/** A model: trees plus masses. Scored and learned by {@link scoreLearnBatch}. */
export interface Forest extends Trees {
  /** The shared trees. */
  readonly trees: Trees;
  /** Reference-window mass per node; valid where a score can reach it. */
  readonly rMass: Int32Array<ArrayBuffer>;
  /** Events learned in the current window. */
  counter: number;
  /** Windows completed (pivots done). */
  window: number;
  /** The current window's events (row-major), `counter` of them. */
  buffer: Float64Array<ArrayBuffer>;
  /** The window whose `l_mass` is kept eagerly (see the module doc), or -1. */
  eagerWindow: number;
  /** `l_mass` per node, valid where `stamp` equals the current window (allocated when needed). */
  lMass?: Int32Array<ArrayBuffer>;
  stamp?: Int32Array<ArrayBuffer>;
  /** Scratch for the pivot's partition. */
  order?: Int32Array<ArrayBuffer>;
  /** The reachable nodes, copied together after each pivot (see {@link buildReachable}). */
  reachable: ArrayBuffer;
  /** Entries of {@link reachable} in use. */
  reachableUsed: number;
  /**
   * Per tree and event of the window, the entry where the event's score walk ended (tree `t`,
   * event `i` at `t · windowSize + i`); the pivot counts from them. Absent for huge windows.
   */
  ends?: Int32Array<ArrayBuffer>;
  /** True while every event kept in this window has its {@link ends}. */
  endsValid: boolean;
  /** Scratch of the pivot, 3 ints per entry. */
  scratch?: Int32Array<ArrayBuffer>;
  /** Per entry of {@link reachable} (not twins): its node, and the node's depth. */
  entryNode: Int32Array<ArrayBuffer>;
  entryDepth: Uint8Array<ArrayBuffer>;
  /** Per entry where walks end (index below {@link reachableUsed}): the walk's mass sum. */
  endSum: Float64Array<ArrayBuffer>;
  /**
   * Two features only: the entry where a score walk starts, per tree and cell of a `GRID × GRID`
   * grid over the box where the reference window's events lie (see {@link buildGrid}). Cell
   * `GRID²` of each tree is the outside of the box: the root.
   */
  gridStart?: Int32Array<ArrayBuffer>;
  /** The grid's box: per feature its low end and cells per unit; `box[0]` is NaN when absent. */
  box: Float64Array<ArrayBuffer>;
  /** Scratch: each scored event's cell. */
  cells?: Int32Array<ArrayBuffer>;
}

/** Cells per feature of the grid where score walks start (two-feature forests). */
const GRID = 16;

/**
 * Entries of {@link Forest.reachable} have `nFeatures + 1` float64 slots: per feature the value
 * at or above which the walk goes right (the split value for the split feature, -Infinity for the
 * others, so the child is `left + Π (x_f ≥ slot_f)` with no lookup of the split feature), then
 * `r_mass` and the entry of the left child (two int32; the right child follows the left one).
 * The first `reachableUsed` entries are the nodes (tree `t`'s root at entry `t`); entry
 * `e + reachableUsed` is the *twin* of entry `e`, where a walk that ends at `e` goes: `r_mass`
 * 0, slots +Infinity, its own child, so the walk stays there, adds nothing, and tells where it
 * ended (the entries where a walk ends have +Infinity slots and their twin as child).
 */
function entrySlots(nFeatures: number): number {
  return nFeatures + 1;
}

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
  if (options.limits.length < 1 || options.limits.length > 254) {
    throw new RangeError(`limits must name 1..254 features, got ${options.limits.length}`);
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

/** Builds the trees of the whole forest, or of shard `shard` of it. */
export function buildTrees(options: ForestOptions, shard: Shard = { index: 0, count: 1 }): Trees {
  const p = forestParams(options);
  const [firstTree, endTree] = shardTrees(p.nTrees, shard);
  const nodesPerTree = 2 ** (p.height + 1) - 1;
  const split = new Float64Array((endTree - firstTree) * nodesPerTree).fill(NaN);
  const feature = new Uint8Array(split.length).fill(LEAF);
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
      if (j >= firstLeaf) return;
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
      split[base + j] = at;
      feature[base + j] = on;
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
    split,
    feature,
  };
}

/** A model with no masses on `trees` (shared, not copied). */
export function createModel(trees: Trees): Forest {
  const forest: Forest = {
    nTrees: trees.nTrees,
    height: trees.height,
    windowSize: trees.windowSize,
    nFeatures: trees.nFeatures,
    firstTree: trees.firstTree,
    endTree: trees.endTree,
    nodesPerTree: trees.nodesPerTree,
    split: trees.split,
    feature: trees.feature,
    trees,
    rMass: new Int32Array(trees.split.length),
    counter: 0,
    window: 0,
    buffer: new Float64Array(Math.min(trees.windowSize, 1024) * trees.nFeatures),
    eagerWindow: -1,
    reachable: new ArrayBuffer(
      8 * entrySlots(trees.nFeatures) * 2 * (trees.endTree - trees.firstTree),
    ),
    reachableUsed: 0,
    ends: (trees.endTree - trees.firstTree) * trees.windowSize <= 1 << 22
      ? new Int32Array((trees.endTree - trees.firstTree) * trees.windowSize)
      : undefined,
    endsValid: true,
    entryNode: new Int32Array(2 * (trees.endTree - trees.firstTree)),
    entryDepth: new Uint8Array(2 * (trees.endTree - trees.firstTree)),
    endSum: new Float64Array(2 * (trees.endTree - trees.firstTree)),
    box: new Float64Array(4).fill(NaN),
  };
  buildReachable(forest);
  buildGrid(forest, 0);
  return forest;
}

/**
 * Copies the nodes a score can reach (the root, and both children of every node with
 * `r_mass ≥ 0.1 · windowSize` above the leaves) into {@link Forest.reachable}, tree `t`'s root
 * at entry `t`, children side by side, and writes the mass sum of the walks ending at each entry
 * where walks end to {@link Forest.endSum}. A few dozen entries per tree on the generator's
 * stream: the whole table stays in the first-level cache while scores walk it.
 */
function buildReachable(forest: Forest): void {
  const { rMass, split, feature, height } = forest;
  const sizeLimit = 0.1 * forest.windowSize;
  const trees = forest.endTree - forest.firstTree, per = forest.nodesPerTree;
  const d = forest.nFeatures, w = entrySlots(d);
  let f64 = new Float64Array(forest.reachable), i32 = new Int32Array(forest.reachable);
  let { endSum, entryNode: node, entryDepth: depth } = forest;
  // Breadth first, so children follow their parents: entry e is node `node[e]` of the tree
  // starting at node `base[e]`; its walk summed `above[e]` before it and weighs its mass by
  // `weight[e]` = 2^depth.
  growWalkScratch(node.length);
  let { base, above, weight } = walkScratch;
  for (let t = 0; t < trees; t++) {
    node[t] = base[t] = t * per;
    depth[t] = 0;
    above[t] = 0;
    weight[t] = 1;
  }
  let used = trees;
  for (let e = 0; e < used; e++) {
    const k = node[e], r = rMass[k], sum = above[e] + r * weight[e];
    i32[2 * (w * e + d)] = r;
    if (r < sizeLimit || depth[e] === height) {
      // The walk ends: +Infinity slots send it to the left "child", the twin (set below).
      for (let f = 0; f < d; f++) f64[w * e + f] = Infinity;
      i32[2 * (w * e + d) + 1] = -1;
      endSum[e] = sum;
      continue;
    }
    for (let f = 0; f < d; f++) f64[w * e + f] = f === feature[k] ? split[k] : -Infinity;
    if (2 * (used + 2) > node.length) {
      // Room for the entries and their twins.
      const entries = 4 * (used + 2);
      const grown = new ArrayBuffer(entries * 8 * w);
      new Uint8Array(grown).set(new Uint8Array(forest.reachable));
      forest.reachable = grown;
      f64 = new Float64Array(grown);
      i32 = new Int32Array(grown);
      forest.endSum = endSum = grow(endSum, new Float64Array(entries));
      forest.entryNode = node = grow(node, new Int32Array(entries));
      forest.entryDepth = depth = grow(depth, new Uint8Array(entries));
      growWalkScratch(entries);
      ({ base, above, weight } = walkScratch);
    }
    const child = used, left = 2 * k - base[e] + 1;
    used += 2;
    i32[2 * (w * e + d) + 1] = child;
    for (let c = 0; c < 2; c++) {
      node[child + c] = left + c;
      depth[child + c] = depth[e] + 1;
      base[child + c] = base[e];
      above[child + c] = sum;
      weight[child + c] = 2 * weight[e];
    }
  }
  for (let e = 0; e < used; e++) {
    const twin = e + used;
    if (i32[2 * (w * e + d) + 1] === -1) i32[2 * (w * e + d) + 1] = twin;
    for (let f = 0; f < d; f++) f64[w * twin + f] = Infinity;
    i32[2 * (w * twin + d)] = 0;
    i32[2 * (w * twin + d) + 1] = twin;
  }
  forest.reachableUsed = used;
}

/** `into` holding `from` at its start. */
function grow<T extends Int32Array | Float64Array | Uint8Array>(from: T, into: T): T {
  into.set(from.subarray(0, Math.min(from.length, into.length)));
  return into;
}

/** Scratch of {@link buildReachable}, per entry (shared: one table is built at a time). */
const walkScratch = {
  base: new Int32Array(0),
  above: new Float64Array(0),
  weight: new Float64Array(0),
};

function growWalkScratch(entries: number): void {
  // Shared by the models of a thread: it only grows.
  if (walkScratch.base.length >= entries) return;
  walkScratch.base = grow(walkScratch.base, new Int32Array(entries));
  walkScratch.above = grow(walkScratch.above, new Float64Array(entries));
  walkScratch.weight = grow(walkScratch.weight, new Float64Array(entries));
}

/**
 * Where the score walks of a two-feature forest start. A grid of `GRID × GRID` cells is laid over
 * the box where the first `n` kept events lie: per feature, mean ± 3 standard deviations of the
 * values inside the previous such range, three times over (so a few far anomalies do not widen
 * it), widened by a tenth each side; missing values left out. Per tree, each cell starts at the
 * deepest entry of the reachable table whose region holds the whole cell: a cell inside one
 * region where walks end starts at that end's twin (the walk is already done), a cell cut by a
 * split starts at the split. Cells follow from one monotone function of a value
 * (`⌊(x − low) · perUnit⌋`), and a cell lies left of a split value exactly when its index is below
 * the split value's own: every start is exact, and scores are the same as walking from the root.
 * Events outside the box walk from the root. With fewer than 20 values of a feature (a new or
 * restored model) every walk starts at the root.
 */
function buildGrid(forest: Forest, n: number): void {
  if (forest.nFeatures !== 2) return;
  const trees = forest.endTree - forest.firstTree, cellsPer = GRID * GRID + 1;
  const start = forest.gridStart ??= new Int32Array(trees * cellsPer);
  const box = forest.box;
  box[0] = NaN;
  for (let t = 0; t < trees; t++) start[t * cellsPer + GRID * GRID] = t;
  if (n < 20) return;
  for (let f = 0; f < 2; f++) {
    // Mean ± 3 standard deviations, recomputed twice over the values inside the last range, so
    // that a few far anomalies do not widen the box.
    let lo = -Infinity, hi = Infinity;
    for (let pass = 0; pass < 3; pass++) {
      let min = Infinity, max = -Infinity, mean = 0, m2 = 0, seen = 0;
      for (let i = 0; i < n; i++) {
        const v = forest.buffer[2 * i + f];
        if (!(v >= lo && v <= hi)) continue; // NaN (missing) too
        min = Math.min(min, v);
        max = Math.max(max, v);
        const delta = v - mean;
        mean += delta / ++seen;
        m2 += delta * (v - mean);
      }
      if (seen < 20) {
        if (pass > 0) break;
        box[0] = NaN;
        return;
      }
      const spread = 3 * Math.sqrt(m2 / seen);
      lo = Math.max(min, mean - spread);
      hi = Math.min(max, mean + spread);
    }
    const pad = hi > lo ? 0.1 * (hi - lo) : 1e-6 * Math.max(1, Math.abs(lo));
    box[2 * f] = lo - pad;
    box[2 * f + 1] = GRID / (hi + pad - (lo - pad));
  }
  const f64 = new Float64Array(forest.reachable), i32 = new Int32Array(forest.reachable);
  const used = forest.reachableUsed;
  let cells = 0;
  const assign = (entry: number, i0: number, i1: number, j0: number, j1: number): void => {
    for (let i = i0; i < i1; i++) {
      for (let j = j0; j < j1; j++) start[cells + i * GRID + j] = entry;
    }
  };
  const fill = (e: number, i0: number, i1: number, j0: number, j1: number): void => {
    if (i0 >= i1 || j0 >= j1) return;
    const child = i32[6 * e + 5];
    if (child >= used) return assign(child, i0, i1, j0, j1);
    const f = f64[3 * e] === -Infinity ? 1 : 0;
    const cut = Math.floor((f64[3 * e + f] - box[2 * f]) * box[2 * f + 1]);
    if (f === 0) {
      fill(child, i0, Math.min(i1, cut), j0, j1);
      if (cut >= i0 && cut < i1) assign(e, cut, cut + 1, j0, j1);
      fill(child + 1, Math.max(i0, cut + 1), i1, j0, j1);
    } else {
      fill(child, i0, i1, j0, Math.min(j1, cut));
      if (cut >= j0 && cut < j1) assign(e, i0, i1, cut, cut + 1);
      fill(child + 1, i0, i1, Math.max(j0, cut + 1), j1);
    }
  };
  for (let t = 0; t < trees; t++) {
    cells = t * cellsPer;
    fill(t, 0, GRID, 0, GRID);
  }
}

/** Builds the whole forest, or shard `shard` of it, with no masses. */
export function buildForest(options: ForestOptions, shard: Shard = { index: 0, count: 1 }): Forest {
  return createModel(buildTrees(options, shard));
}

/** Bytes held by a model: its trees (shared between models) and its own masses. */
export function forestBytes(forest: Forest): { trees: number; masses: number } {
  return {
    trees: forest.split.byteLength + forest.feature.byteLength,
    masses: forest.rMass.byteLength + forest.buffer.byteLength + (forest.lMass?.byteLength ?? 0) +
      (forest.stamp?.byteLength ?? 0) + (forest.order?.byteLength ?? 0) +
      forest.reachable.byteLength + (forest.ends?.byteLength ?? 0) +
      (forest.scratch?.byteLength ?? 0) + forest.entryNode.byteLength +
      forest.entryDepth.byteLength + forest.endSum.byteLength +
      (forest.gridStart?.byteLength ?? 0) + (forest.cells?.byteLength ?? 0),
  };
}

function hasMissing(features: Float64Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (features[i] !== features[i]) return true;
  return false;
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
  const d = forest.nFeatures;
  out.fill(0, 0, n);
  for (let e = 0; e < n;) {
    // One segment per window: its events are scored against the same reference masses.
    const end = Math.min(n, e + forest.windowSize - forest.counter);
    if (forest.eagerWindow !== forest.window && hasMissing(features, e * d, end * d)) {
      beginEager(forest);
    }
    if (forest.eagerWindow === forest.window) eagerSegment(forest, features, e, end, out);
    else scoreSegment(forest, features, e, end, out);
    keep(forest, features, e, end);
    if (forest.counter === forest.windowSize) pivot(forest);
    e = end;
  }
}

/**
 * Scores events `[from, to)` from the reference masses (no event lacks a feature), walking the
 * table of reachable nodes. With two features (the product's), four events walk a tree in
 * lockstep with their features in registers and branch-free child choices: each step is one
 * round of independent loads, and the CPU overlaps the four walks.
 */
function scoreSegment(
  forest: Forest,
  features: Float64Array,
  from: number,
  to: number,
  out: Float64Array,
): void {
  if (forest.nFeatures !== 2) return scoreSegmentAnyD(forest, features, from, to, out);
  const f64 = new Float64Array(forest.reachable), i32 = new Int32Array(forest.reachable);
  const trees = forest.endTree - forest.firstTree, twins = forest.reachableUsed;
  const x = features;
  // Where each walk ends, for the pivot: event e of this call is event `e + shift` of the window.
  const ends = forest.ends ?? new Int32Array(trees * (to - from));
  const W = forest.ends ? forest.windowSize : to - from;
  const shift = forest.ends ? forest.counter - from : -from;
  // Each event's cell of the grid (the same for every tree), `GRID²` outside the box.
  if (!forest.cells || forest.cells.length < to) {
    forest.cells = new Int32Array(Math.max(to, Math.min(forest.windowSize, 1 << 16)));
  }
  const cells = forest.cells, outside = GRID * GRID;
  const [lo0, per0, lo1, per1] = forest.box;
  for (let e = from; e < to; e++) {
    const i = Math.floor((x[2 * e] - lo0) * per0), j = Math.floor((x[2 * e + 1] - lo1) * per1);
    cells[e] = i >= 0 && i < GRID && j >= 0 && j < GRID ? i * GRID + j : outside;
  }
  const start = forest.gridStart!, endSum = forest.endSum;
  for (let t = 0; t < trees; t++) {
    const endAt = t * W + shift, grid = t * (outside + 1);
    let e = from;
    for (; e + 4 <= to; e += 4) {
      const u0 = x[2 * e], v0 = x[2 * e + 1], u1 = x[2 * e + 2], v1 = x[2 * e + 3];
      const u2 = x[2 * e + 4], v2 = x[2 * e + 5], u3 = x[2 * e + 6], v3 = x[2 * e + 7];
      let k0 = start[grid + cells[e]], k1 = start[grid + cells[e + 1]];
      let k2 = start[grid + cells[e + 2]], k3 = start[grid + cells[e + 3]];
      while (k0 < twins || k1 < twins || k2 < twins || k3 < twins) {
        k0 = i32[6 * k0 + 5] + (+(u0 >= f64[3 * k0]) & +(v0 >= f64[3 * k0 + 1]));
        k1 = i32[6 * k1 + 5] + (+(u1 >= f64[3 * k1]) & +(v1 >= f64[3 * k1 + 1]));
        k2 = i32[6 * k2 + 5] + (+(u2 >= f64[3 * k2]) & +(v2 >= f64[3 * k2 + 1]));
        k3 = i32[6 * k3 + 5] + (+(u3 >= f64[3 * k3]) & +(v3 >= f64[3 * k3 + 1]));
      }
      k0 -= twins;
      k1 -= twins;
      k2 -= twins;
      k3 -= twins;
      out[e] += endSum[k0];
      out[e + 1] += endSum[k1];
      out[e + 2] += endSum[k2];
      out[e + 3] += endSum[k3];
      ends[endAt + e] = k0;
      ends[endAt + e + 1] = k1;
      ends[endAt + e + 2] = k2;
      ends[endAt + e + 3] = k3;
    }
    for (; e < to; e++) {
      const u = x[2 * e], v = x[2 * e + 1];
      let k = start[grid + cells[e]];
      while (k < twins) k = i32[6 * k + 5] + (+(u >= f64[3 * k]) & +(v >= f64[3 * k + 1]));
      out[e] += endSum[k - twins];
      ends[endAt + e] = k - twins;
    }
  }
}

/** {@link scoreSegment} for any number of features, one walk at a time. */
function scoreSegmentAnyD(
  forest: Forest,
  features: Float64Array,
  from: number,
  to: number,
  out: Float64Array,
): void {
  const f64 = new Float64Array(forest.reachable), i32 = new Int32Array(forest.reachable);
  const d = forest.nFeatures, w = entrySlots(d);
  const trees = forest.endTree - forest.firstTree;
  const twins = forest.reachableUsed;
  const ends = forest.ends, W = forest.windowSize, shift = forest.counter - from;
  for (let t = 0; t < trees; t++) {
    for (let e = from; e < to; e++) {
      let k = t;
      while (k < twins) {
        let right = 1;
        for (let f = 0; f < d; f++) right &= +(features[e * d + f] >= f64[w * k + f]);
        k = i32[2 * (w * k + d) + 1] + right;
      }
      out[e] += forest.endSum[k - twins];
      if (ends) ends[t * W + shift + e] = k - twins;
    }
  }
}

/** Appends events `[from, to)` to the window's kept events. */
function keep(forest: Forest, features: Float64Array, from: number, to: number): void {
  const d = forest.nFeatures;
  const need = (forest.counter + to - from) * d;
  if (need > forest.buffer.length) {
    const grown = new Float64Array(Math.min(forest.windowSize * d, 2 * need));
    grown.set(forest.buffer.subarray(0, forest.counter * d));
    forest.buffer = grown;
  }
  forest.buffer.set(features.subarray(from * d, to * d), forest.counter * d);
  forest.counter += to - from;
}

/** Switches the current window to eager learning: learns the events kept so far. */
function beginEager(forest: Forest): void {
  const size = forest.split.length;
  if (!forest.lMass || !forest.stamp) {
    forest.lMass = new Int32Array(size);
    forest.stamp = new Int32Array(size).fill(-1);
  }
  forest.eagerWindow = forest.window;
  const kept = forest.counter;
  forest.counter = 0;
  const scratch = new Float64Array(kept);
  eagerSegment(forest, forest.buffer, 0, kept, scratch, false);
  forest.counter = kept;
}

/**
 * Scores (when `scoring`) and learns events `[from, to)` walking every tree to its leaf and
 * counting `l_mass` on the way: River's walk, missing features included.
 */
function eagerSegment(
  forest: Forest,
  features: Float64Array,
  from: number,
  to: number,
  out: Float64Array,
  scoring = true,
): void {
  const { rMass, split, feature, height, nodesPerTree: per } = forest;
  const lMass = forest.lMass!, stamp = forest.stamp!;
  const w = forest.window;
  const d = forest.nFeatures;
  const sizeLimit = 0.1 * forest.windowSize;
  const trees = forest.endTree - forest.firstTree;
  for (let t = 0; t < trees; t++) {
    const base = t * per;
    for (let e = from; e < to; e++) {
      const x = e * d;
      let k = base, sum = 0, reading = scoring;
      for (let depth = 0;; depth++) {
        if (reading) {
          const r = rMass[k];
          sum += r * (1 << depth);
          reading = r >= sizeLimit;
        }
        if (stamp[k] !== w) {
          stamp[k] = w;
          lMass[k] = 0;
        }
        lMass[k]++;
        if (depth === height) break;
        const v = features[x + feature[k]], at = split[k];
        const left = 2 * k - base + 1;
        if (v < at) k = left;
        else if (v >= at) k = left + 1;
        else {
          const lm = stamp[left] === w ? lMass[left] : 0;
          const rm = stamp[left + 1] === w ? lMass[left + 1] : 0;
          k = rm > lm ? left + 1 : left;
        }
      }
      if (scoring) out[e] += sum;
    }
  }
}

/** Ends the window: the reachable nodes' `r_mass` become this window's masses. */
function pivot(forest: Forest): void {
  const kept = forest.counter;
  const sizeLimit = 0.1 * forest.windowSize;
  const { rMass, split, feature, height, nodesPerTree: per } = forest;
  const trees = forest.endTree - forest.firstTree;
  if (forest.eagerWindow === forest.window) {
    const lMass = forest.lMass!, stamp = forest.stamp!, w = forest.window;
    const copy = (base: number, j: number, depth: number): void => {
      const k = base + j;
      const r = stamp[k] === w ? lMass[k] : 0;
      rMass[k] = r;
      if (r < sizeLimit || depth === height) return;
      copy(base, 2 * j + 1, depth + 1);
      copy(base, 2 * j + 2, depth + 1);
    };
    for (let t = 0; t < trees; t++) copy(t * per, 0, 0);
  } else {
    const d = forest.nFeatures, x = forest.buffer, n = forest.counter;
    // From the walk ends, the events below every tree's dense ends are partitioned at once.
    const room = forest.ends ? trees * forest.windowSize : n;
    if (!forest.order || forest.order.length < room) forest.order = new Int32Array(room);
    const order = forest.order;
    // Count the events reaching each node top-down, partitioning their indices in place.
    const count = (base: number, j: number, depth: number, a: number, b: number): void => {
      const k = base + j;
      rMass[k] = b - a;
      if (b - a < sizeLimit || depth === height) return;
      const f = feature[k], at = split[k];
      // [a, m) goes left, [m, i) right. Swapping unconditionally keeps that (when the event goes
      // right it trades places with another right one) and needs no branch.
      let m = a;
      for (let i = a; i < b; i++) {
        const e = order[i];
        order[i] = order[m];
        order[m] = e;
        m += +(x[e * d + f] < at);
      }
      count(base, 2 * j + 1, depth + 1, a, m);
      count(base, 2 * j + 2, depth + 1, m, b);
    };
    if (forest.ends && forest.endsValid) countFromEnds(forest, order, count);
    else {
      for (let t = 0; t < trees; t++) {
        for (let i = 0; i < n; i++) order[i] = i;
        count(t * per, 0, 0, 0, n);
      }
    }
  }
  forest.counter = 0;
  forest.window++;
  forest.endsValid = true;
  buildReachable(forest);
  buildGrid(forest, kept);
}

/**
 * The pivot's counts from where the window's score walks ended. A walk goes on below a node of
 * the reachable table whenever that node has children there, whatever the event; so the events
 * through an entry are those that ended in its subtree, and counting where walks ended gives
 * every entry's count without comparing features again (children follow their parents in the
 * table, so one backward pass sums the subtrees). Only below an entry where walks ended and which
 * the new window made dense (its events are known: those that ended there) does the partition
 * go on. Entries below a node the new window left sparse get counts no score reads.
 */
function countFromEnds(
  forest: Forest,
  order: Int32Array,
  count: (base: number, j: number, depth: number, a: number, b: number) => void,
): void {
  const { rMass, height, entryNode, entryDepth, nodesPerTree: per } = forest;
  const ends = forest.ends!;
  const sizeLimit = 0.1 * forest.windowSize;
  const trees = forest.endTree - forest.firstTree;
  const d = forest.nFeatures, w = entrySlots(d);
  const i32 = new Int32Array(forest.reachable);
  const used = forest.reachableUsed, n = forest.counter, W = forest.windowSize;
  if (!forest.scratch || forest.scratch.length < 3 * used) {
    forest.scratch = new Int32Array(6 * used);
  }
  const scratch = forest.scratch;
  // Per entry: events that ended there, start of its bucket in `order`, events in its subtree.
  const ended = scratch.subarray(0, used).fill(0);
  const start = scratch.subarray(used, 2 * used);
  const through = scratch.subarray(2 * used, 3 * used);
  for (let t = 0; t < trees; t++) {
    for (let i = t * W, end = t * W + n; i < end; i++) ended[ends[i]]++;
  }
  // Buckets only for the entries where walks ended that are dense now: the partition goes on.
  let cursor = 0;
  for (let e = used - 1; e >= 0; e--) {
    const c = i32[2 * (w * e + d) + 1];
    const events = c < used ? ended[e] + through[c] + through[c + 1] : ended[e];
    through[e] = events;
    rMass[entryNode[e]] = events;
    start[e] = cursor;
    if (c >= used && events >= sizeLimit && entryDepth[e] < height) cursor += events;
    else start[e] = -1;
  }
  for (let t = 0; t < trees; t++) {
    for (let i = 0; i < n; i++) {
      const e = ends[t * W + i];
      if (start[e] >= 0) order[start[e]++] = i;
    }
  }
  for (let e = 0; e < used; e++) {
    if (start[e] < 0) continue;
    const k = entryNode[e], base = k - (k % per), events = through[e];
    start[e] -= events;
    count(base, k - base, entryDepth[e], start[e], start[e] + events);
  }
}

/**
 * The learned state of a forest (or shard): `[tree, node, r_mass]` of every node a score can
 * reach (tree = index in the whole forest), the current window's events and the window
 * position. The trees themselves are not part of it: they follow from the seed.
 */
export interface MassState {
  counter: number;
  window: number;
  entries: Int32Array<ArrayBuffer>;
  /** The current window's events, row-major (`counter · nFeatures` values, NaN = missing). */
  events: Float64Array<ArrayBuffer>;
}

/** Exports the masses of `forest` (see {@link MassState}). */
export function exportMasses(forest: Forest): MassState {
  const out: number[] = [];
  const { rMass, height, nodesPerTree: per } = forest;
  const sizeLimit = 0.1 * forest.windowSize;
  const visit = (t: number, j: number, depth: number): void => {
    const r = rMass[t * per + j];
    if (r !== 0) out.push(forest.firstTree + t, j, r);
    if (r < sizeLimit || depth === height) return;
    visit(t, 2 * j + 1, depth + 1);
    visit(t, 2 * j + 2, depth + 1);
  };
  if (forest.window > 0) {
    for (let t = 0; t < forest.endTree - forest.firstTree; t++) visit(t, 0, 0);
  }
  return {
    counter: forest.counter,
    window: forest.window,
    entries: Int32Array.from(out),
    events: forest.buffer.slice(0, forest.counter * forest.nFeatures),
  };
}

/** A model on `trees` with the masses of `state` (its own trees' entries; others are skipped). */
export function importMasses(trees: Trees, state: MassState): Forest {
  const forest = createModel(trees);
  const per = forest.nodesPerTree;
  const e = state.entries;
  if (e.length % 3 !== 0) {
    throw new RangeError(`mass entries must be [tree, node, r_mass] triples, got ${e.length}`);
  }
  for (let i = 0; i < e.length; i += 3) {
    const tree = e[i];
    if (tree < forest.firstTree || tree >= forest.endTree || e[i + 1] < 0 || e[i + 1] >= per) {
      continue;
    }
    forest.rMass[(tree - forest.firstTree) * per + e[i + 1]] = e[i + 2];
  }
  if (state.events.length !== state.counter * forest.nFeatures) {
    throw new RangeError(
      `mass state events must hold counter·nFeatures = ${state.counter * forest.nFeatures} ` +
        `values, got ${state.events.length}`,
    );
  }
  forest.window = state.window;
  buildReachable(forest);
  keep(forest, state.events, 0, state.counter);
  buildGrid(forest, forest.counter);
  // The kept events were not scored here: the pivot partitions them.
  forest.endsValid = state.counter === 0;
  if (hasMissing(forest.buffer, 0, forest.counter * forest.nFeatures)) beginEager(forest);
  return forest;
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

/**
 * The table of reachable nodes a score walks (one entry per node a score can reach, laid out
 * as {@link entrySlots} says) and, for one- and two-feature forests, the start grid that says per
 * cell where a walk begins.
 *
 * @module
 */
import type { Forest } from "./model.ts";

/** Cells per feature of the grid where score walks start (two features; one has `GRID²`). */
export const GRID = 16;

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
export function entrySlots(nFeatures: number): number {
  return nFeatures + 1;
}

/** Float64 index of entry `e`'s slot of feature `f` (`d` features). */
export function slotAt(d: number, e: number, f: number): number {
  return entrySlots(d) * e + f;
}

/** Int32 index of entry `e`'s `r_mass` (`d` features). */
export function massAt(d: number, e: number): number {
  return 2 * (entrySlots(d) * e + d);
}

/** Int32 index of entry `e`'s left child (`d` features); the right child is the next entry. */
export function childAt(d: number, e: number): number {
  return massAt(d, e) + 1;
}

/**
 * Copies the nodes a score can reach (the root, and both children of every node with
 * `r_mass ≥ 0.1 · windowSize` above the leaves) into {@link Forest.reachable}, tree `t`'s root
 * at entry `t`, children side by side, and writes the mass sum of the walks ending at each entry
 * where walks end to {@link Forest.endSum}. A few dozen entries per tree on the generator's
 * stream: the whole table stays in the first-level cache while scores walk it.
 */
export function buildReachable(forest: Forest): void {
  const { rMass, split, feature, height } = forest;
  const sizeLimit = 0.1 * forest.windowSize;
  const trees = forest.endTree - forest.firstTree, per = forest.nodesPerTree;
  const d = forest.nFeatures;
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
    i32[massAt(d, e)] = r;
    if (r < sizeLimit || depth[e] === height) {
      // The walk ends: +Infinity slots send it to the left "child", the twin (set below).
      for (let f = 0; f < d; f++) f64[slotAt(d, e, f)] = Infinity;
      i32[childAt(d, e)] = -1;
      endSum[e] = sum;
      continue;
    }
    for (let f = 0; f < d; f++) f64[slotAt(d, e, f)] = f === feature[k] ? split[k] : -Infinity;
    if (2 * (used + 2) > node.length) {
      // Room for the entries and their twins.
      const entries = 4 * (used + 2);
      const grown = new ArrayBuffer(entries * 8 * entrySlots(d));
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
    i32[childAt(d, e)] = child;
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
    if (i32[childAt(d, e)] === -1) i32[childAt(d, e)] = twin;
    for (let f = 0; f < d; f++) f64[slotAt(d, twin, f)] = Infinity;
    i32[massAt(d, twin)] = 0;
    i32[childAt(d, twin)] = twin;
  }
  forest.reachableUsed = used;
}

/** `into` holding `from` at its start. */
export function grow<T extends Int32Array | Float64Array | Uint8Array>(from: T, into: T): T {
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
 * Where the score walks of a one- or two-feature forest start. A grid of `GRID × GRID` cells (two
 * features; `GRID²` cells along the line with one) is laid over the box where the first `n` kept
 * events lie: per feature, mean ± 3 standard deviations of the values inside the previous such
 * range, three times over (so a few far anomalies do not widen it), widened by a tenth each side;
 * missing values left out. Per tree, each cell starts at the deepest entry of the reachable table
 * whose region holds the whole cell: a cell inside one region where walks end starts at that end's
 * twin (the walk is already done), a cell cut by a split starts at the split. Cells follow from one
 * monotone function of a value (`⌊(x − low) · perUnit⌋`), and a cell lies left of a split value
 * exactly when its index is below the split value's own: every start is exact, and scores are the
 * same as walking from the root. Events outside the box walk from the root. With fewer than 20
 * values of a feature (a new or restored model) every walk starts at the root.
 */
export function buildGrid(forest: Forest, n: number): void {
  const d = forest.nFeatures;
  if (d !== 1 && d !== 2) return;
  const trees = forest.endTree - forest.firstTree, cellsPer = GRID * GRID + 1;
  const start = forest.gridStart ??= new Int32Array(trees * cellsPer);
  const box = forest.box;
  box[0] = NaN;
  for (let t = 0; t < trees; t++) start[t * cellsPer + GRID * GRID] = t;
  if (n < 20) return;
  // Cells per feature: GRID each of two, GRID² along one.
  const cellsOf = d === 2 ? GRID : GRID * GRID;
  for (let f = 0; f < d; f++) {
    // Mean ± 3 standard deviations, recomputed twice over the values inside the last range, so
    // that a few far anomalies do not widen the box.
    let lo = -Infinity, hi = Infinity;
    for (let pass = 0; pass < 3; pass++) {
      let min = Infinity, max = -Infinity, mean = 0, m2 = 0, seen = 0;
      for (let i = 0; i < n; i++) {
        const v = forest.buffer[d * i + f];
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
    box[2 * f + 1] = cellsOf / (hi + pad - (lo - pad));
  }
  const f64 = new Float64Array(forest.reachable), i32 = new Int32Array(forest.reachable);
  const used = forest.reachableUsed;
  let cells = 0;
  if (d === 1) {
    const line = GRID * GRID;
    const fill1 = (e: number, i0: number, i1: number): void => {
      if (i0 >= i1) return;
      const child = i32[childAt(1, e)];
      if (child >= used) {
        start.fill(child, cells + i0, cells + i1);
        return;
      }
      const cut = Math.floor((f64[slotAt(1, e, 0)] - box[0]) * box[1]);
      fill1(child, i0, Math.min(i1, cut));
      if (cut >= i0 && cut < i1) start[cells + cut] = e;
      fill1(child + 1, Math.max(i0, cut + 1), i1);
    };
    for (let t = 0; t < trees; t++) {
      cells = t * cellsPer;
      fill1(t, 0, line);
    }
    return;
  }
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

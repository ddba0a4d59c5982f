/**
 * Scoring and learning a batch of events, score-then-learn per event: the fast walk over the
 * reachable table (four walks in lockstep for two features, one at a time for any number),
 * deferred learning, and the eager path for windows with a missing feature.
 *
 * @module
 */
import type { Forest } from "./model.ts";
import { pivot } from "./pivot.ts";
import { childAt, entrySlots, GRID, slotAt } from "./table.ts";

export function hasMissing(features: Float64Array, from: number, to: number): boolean {
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
 * What the grid-started walks of events `[from, to)` share: the table's views, where each walk's
 * end is written for the pivot (event e of this call is event `e + shift` of the window, `W` per
 * tree), and the scratch of each event's grid cell.
 */
function walkSetup(forest: Forest, from: number, to: number) {
  const trees = forest.endTree - forest.firstTree;
  if (!forest.cells || forest.cells.length < to) {
    forest.cells = new Int32Array(Math.max(to, Math.min(forest.windowSize, 1 << 16)));
  }
  return {
    f64: new Float64Array(forest.reachable),
    i32: new Int32Array(forest.reachable),
    trees,
    twins: forest.reachableUsed,
    ends: forest.ends ?? new Int32Array(trees * (to - from)),
    W: forest.ends ? forest.windowSize : to - from,
    shift: forest.ends ? forest.counter - from : -from,
    cells: forest.cells,
  };
}

/** The entry layout of two-feature tables ({@link entrySlots}), as constants for the fast walk. */
const SLOTS_2 = entrySlots(2);
const CHILD_STRIDE_2 = childAt(2, 1) - childAt(2, 0);
const CHILD_2 = childAt(2, 0);

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
  if (forest.nFeatures === 1) return scoreSegment1(forest, features, from, to, out);
  if (forest.nFeatures !== 2) return scoreSegmentAnyD(forest, features, from, to, out);
  const { f64, i32, trees, twins, ends, W, shift, cells } = walkSetup(forest, from, to);
  const x = features, outside = GRID * GRID;
  // Each event's cell of the grid (the same for every tree), `GRID²` outside the box.
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
        k0 = i32[CHILD_STRIDE_2 * k0 + CHILD_2] +
          (+(u0 >= f64[SLOTS_2 * k0]) & +(v0 >= f64[SLOTS_2 * k0 + 1]));
        k1 = i32[CHILD_STRIDE_2 * k1 + CHILD_2] +
          (+(u1 >= f64[SLOTS_2 * k1]) & +(v1 >= f64[SLOTS_2 * k1 + 1]));
        k2 = i32[CHILD_STRIDE_2 * k2 + CHILD_2] +
          (+(u2 >= f64[SLOTS_2 * k2]) & +(v2 >= f64[SLOTS_2 * k2 + 1]));
        k3 = i32[CHILD_STRIDE_2 * k3 + CHILD_2] +
          (+(u3 >= f64[SLOTS_2 * k3]) & +(v3 >= f64[SLOTS_2 * k3 + 1]));
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
      while (k < twins) {
        k = i32[CHILD_STRIDE_2 * k + CHILD_2] +
          (+(u >= f64[SLOTS_2 * k]) & +(v >= f64[SLOTS_2 * k + 1]));
      }
      out[e] += endSum[k - twins];
      ends[endAt + e] = k - twins;
    }
  }
}

/** The entry layout of one-feature tables, as constants for the fast walk. */
const SLOTS_1 = entrySlots(1);
const CHILD_STRIDE_1 = childAt(1, 1) - childAt(1, 0);
const CHILD_1 = childAt(1, 0);

/**
 * {@link scoreSegment} for a one-feature forest: walks start at the cell of the line's grid
 * ({@link buildGrid}), four events per tree in lockstep.
 */
function scoreSegment1(
  forest: Forest,
  features: Float64Array,
  from: number,
  to: number,
  out: Float64Array,
): void {
  const { f64, i32, trees, twins, ends, W, shift, cells } = walkSetup(forest, from, to);
  const x = features, outside = GRID * GRID;
  const lo = forest.box[0], per = forest.box[1];
  for (let e = from; e < to; e++) {
    const i = Math.floor((x[e] - lo) * per);
    cells[e] = i >= 0 && i < outside ? i : outside;
  }
  const start = forest.gridStart!, endSum = forest.endSum;
  for (let t = 0; t < trees; t++) {
    const endAt = t * W + shift, grid = t * (outside + 1);
    let e = from;
    for (; e + 4 <= to; e += 4) {
      const u0 = x[e], u1 = x[e + 1], u2 = x[e + 2], u3 = x[e + 3];
      let k0 = start[grid + cells[e]], k1 = start[grid + cells[e + 1]];
      let k2 = start[grid + cells[e + 2]], k3 = start[grid + cells[e + 3]];
      while (k0 < twins || k1 < twins || k2 < twins || k3 < twins) {
        k0 = i32[CHILD_STRIDE_1 * k0 + CHILD_1] + +(u0 >= f64[SLOTS_1 * k0]);
        k1 = i32[CHILD_STRIDE_1 * k1 + CHILD_1] + +(u1 >= f64[SLOTS_1 * k1]);
        k2 = i32[CHILD_STRIDE_1 * k2 + CHILD_1] + +(u2 >= f64[SLOTS_1 * k2]);
        k3 = i32[CHILD_STRIDE_1 * k3 + CHILD_1] + +(u3 >= f64[SLOTS_1 * k3]);
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
      const u = x[e];
      let k = start[grid + cells[e]];
      while (k < twins) k = i32[CHILD_STRIDE_1 * k + CHILD_1] + +(u >= f64[SLOTS_1 * k]);
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
  const d = forest.nFeatures;
  const trees = forest.endTree - forest.firstTree;
  const twins = forest.reachableUsed;
  const ends = forest.ends, W = forest.windowSize, shift = forest.counter - from;
  for (let t = 0; t < trees; t++) {
    for (let e = from; e < to; e++) {
      let k = t;
      while (k < twins) {
        let right = 1;
        for (let f = 0; f < d; f++) right &= +(features[e * d + f] >= f64[slotAt(d, k, f)]);
        k = i32[childAt(d, k)] + right;
      }
      out[e] += forest.endSum[k - twins];
      if (ends) ends[t * W + shift + e] = k - twins;
    }
  }
}

/** Appends events `[from, to)` to the window's kept events. */
export function keep(forest: Forest, features: Float64Array, from: number, to: number): void {
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
export function beginEager(forest: Forest): void {
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

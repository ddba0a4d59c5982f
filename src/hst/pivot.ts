/**
 * The window swap (River's pivot): the window's kept events counted into `r_mass` of exactly
 * the nodes a score can reach next, then the reachable table rebuilt.
 *
 * @module
 */
import type { Forest } from "./model.ts";
import { buildGrid, buildReachable, childAt } from "./table.ts";

/** Ends the window: the reachable nodes' `r_mass` become this window's masses. */
export function pivot(forest: Forest): void {
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
  const d = forest.nFeatures;
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
    const c = i32[childAt(d, e)];
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

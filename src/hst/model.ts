/**
 * A model: the masses of one stream (a Kafka partition) on shared trees, and its memory.
 *
 * @module
 */
import { buildGrid, buildReachable, entrySlots } from "./table.ts";
import { buildTrees, type ForestOptions, type Shard, type Trees } from "./trees.ts";

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

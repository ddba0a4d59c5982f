/**
 * A model's learned masses as plain typed arrays (for checkpoints and moving a model between
 * threads), and back.
 *
 * @module
 */
import { createModel, type Forest } from "./model.ts";
import { beginEager, hasMissing, keep } from "./score.ts";
import { buildGrid, buildReachable } from "./table.ts";
import type { Trees } from "./trees.ts";

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

/**
 * The trees of a Half-Space Trees forest: parameters and their defaults, sharding, the
 * random complete binary trees (split feature and value per node), and the score scale.
 *
 * @module
 */
import { createRandom } from "../random.ts";
import { FOREST_DEFAULTS } from "../defaults.ts";

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
  const nTrees = positiveInt("nTrees", options.nTrees ?? FOREST_DEFAULTS.nTrees, 1000);
  const height = positiveInt("height", options.height ?? FOREST_DEFAULTS.height, 24);
  const windowSize = positiveInt(
    "windowSize",
    options.windowSize ?? FOREST_DEFAULTS.windowSize,
    1 << 30,
  );
  const seed = options.seed ?? FOREST_DEFAULTS.seed;
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

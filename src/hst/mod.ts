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
export {
  buildTrees,
  type ForestOptions,
  type ForestParams,
  forestParams,
  isWarm,
  LEAF,
  MASS_BYTES_PER_NODE,
  massToScore,
  maxMass,
  type Shard,
  shardTrees,
  TREE_BYTES_PER_NODE,
  type Trees,
} from "./trees.ts";
export { buildForest, createModel, type Forest, forestBytes } from "./model.ts";
export { scoreLearnBatch } from "./score.ts";
export { exportMasses, importMasses, type MassState } from "./state.ts";
export { createDetector, type Detector } from "./detector.ts";

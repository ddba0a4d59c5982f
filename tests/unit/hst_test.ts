import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buildForest,
  buildTrees,
  createDetector,
  createModel,
  exportMasses,
  type Forest,
  forestBytes,
  type ForestOptions,
  importMasses,
  isWarm,
  MASS_BYTES_PER_NODE,
  massToScore,
  maxMass,
  scoreLearnBatch,
  TREE_BYTES_PER_NODE,
} from "../../src/hst/mod.ts";
import { labelledFeatures } from "../../src/sensors.ts";

const LIMITS = [[-100, 100], [-20, 80]] as const;

/**
 * River's algorithm written plainly (one object per node, eager pivot over every node, separate
 * score and learn walks) on the same trees, as the reference for the typed-array forest.
 */
function referenceDetector(forest: Forest) {
  type Node = { feature: number; at: number; l: number; r: number; left?: Node; right?: Node };
  const make = (base: number, j: number, depth: number): Node => {
    const k = base + j;
    const node: Node = { feature: forest.feature[k], at: forest.split[k], l: 0, r: 0 };
    if (depth < forest.height) {
      node.left = make(base, 2 * j + 1, depth + 1);
      node.right = make(base, 2 * j + 2, depth + 1);
    }
    return node;
  };
  const trees = Array.from(
    { length: forest.endTree - forest.firstTree },
    (_, t) => make(t * forest.nodesPerTree, 0, 0),
  );
  const walk = function* (node: Node, x: ArrayLike<number>): Generator<Node> {
    let n: Node | undefined = node;
    while (n) {
      yield n;
      if (!n.left || !n.right) return;
      const v: number = x[n.feature];
      if (Number.isNaN(v)) n = n.right.l > n.left.l ? n.right : n.left;
      else n = v < n.at ? n.left : n.right;
    }
  };
  const all = function* (n: Node): Generator<Node> {
    yield n;
    if (n.left) yield* all(n.left);
    if (n.right) yield* all(n.right);
  };
  let counter = 0;
  return (x: ArrayLike<number>): number => {
    let sum = 0;
    for (const tree of trees) {
      let depth = 0;
      for (const node of walk(tree, x)) {
        sum += node.r * 2 ** depth++;
        if (node.r < 0.1 * forest.windowSize) break;
      }
    }
    for (const tree of trees) for (const node of walk(tree, x)) node.l += 1;
    if (++counter === forest.windowSize) {
      for (const tree of trees) {
        for (const node of all(tree)) {
          node.r = node.l;
          node.l = 0;
        }
      }
      counter = 0;
    }
    return sum;
  };
}

Deno.test("a one-split tree scores by River's formula, 0 during the first window", () => {
  const det = createDetector({ nTrees: 1, height: 1, windowSize: 2, limits: [[0, 1]] });
  const at = det.forest.split[0];
  assert.ok(at >= 0.15 && at <= 0.85, `split ${at} in the middle 70 % of [0, 1]`);
  assert.equal(det.scoreLearn([0]), 0);
  assert.equal(det.scoreLearn([0]), 0);
  // Reference window: root r=2, left r=2, right r=0; max mass 1·2·(2^2−1) = 6.
  assert.equal(det.scoreLearn([0]), 1 - (2 + 2 * 2) / 6); // dense side: 0
  assert.equal(det.scoreLearn([1]), 1 - 2 / 6); // empty side: walk stops at the root... plus 0
});

Deno.test("the walk stops after the first node whose reference mass is below 0.1·window", () => {
  // windowSize 30: sizeLimit 3. All 30 learned events go left, so the right child has r = 0.
  const det = createDetector({ nTrees: 1, height: 3, windowSize: 30, limits: [[0, 1]] });
  for (let i = 0; i < 30; i++) det.scoreLearn([0]);
  // Dense path: r = 30 at every depth 0..3: 30·(1+2+4+8) = 450 = max → score 0.
  assert.equal(det.scoreLearn([0]), 0);
  assert.equal(maxMass(1, 30, 3), 450);
});

Deno.test("typed-array forest equals River's plain algorithm, missing features and pivots included", () => {
  const options: ForestOptions = { nTrees: 4, height: 6, windowSize: 20, limits: LIMITS, seed: 9 };
  // No missing feature (deferred learning only), a rare one (a window switches to eager
  // learning part-way), and many (every window eager): River's missing-feature rule.
  const patterns: [string, (i: number) => [boolean, boolean]][] = [
    ["none", () => [false, false]],
    ["rare", (i) => [i % 401 === 300, i % 577 === 100]],
    ["many", (i) => [i % 11 === 0, i % 7 === 0]],
  ];
  for (const [name, missing] of patterns) {
    const forest = buildForest(options);
    const reference = referenceDetector(buildForest(options));
    const data = labelledFeatures(3000, { seed: 3 });
    for (let i = 0; i < data.n; i++) {
      const [value, temperature] = missing(i);
      if (value) data.features[2 * i] = NaN;
      if (temperature) data.features[2 * i + 1] = NaN;
    }
    // One by one, then in batches of uneven size (as the pipeline delivers them).
    const out = new Float64Array(64);
    for (let s = 0, b = 1; s < data.n; s += b, b = s < 1000 ? 1 : (b * 7 + 3) % 61 + 1) {
      const m = Math.min(b, data.n - s);
      scoreLearnBatch(forest, data.features.subarray(2 * s, 2 * (s + m)), m, out);
      for (let i = s; i < s + m; i++) {
        assert.equal(
          out[i - s],
          reference(data.features.subarray(2 * i, 2 * i + 2)),
          `${name}: ${i}`,
        );
      }
    }
  }
});

Deno.test("property: streams of few distinct values, split values themselves included, score as River's plain algorithm", () => {
  // Values sitting exactly on split values, constant features and far outliers: the cases where
  // where a walk starts (the grid over the window's box) could be off by one cell.
  const options: ForestOptions = { nTrees: 3, height: 5, windowSize: 25, limits: LIMITS, seed: 4 };
  const splits = buildTrees(options).split.filter((v) => !Number.isNaN(v));
  const value = fc.oneof(
    fc.constantFrom(...splits),
    fc.constantFrom(-100, -20, 0, 3.5, 80, 100),
    fc.double({ min: -100, max: 100, noNaN: true }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(value, value), { minLength: 60, maxLength: 300 }),
      fc.integer({ min: 1, max: 40 }),
      (events, batch) => {
        const forest = buildForest(options);
        const reference = referenceDetector(buildForest(options));
        const features = Float64Array.from(events.flat());
        const out = new Float64Array(batch);
        for (let s = 0; s < events.length; s += batch) {
          const m = Math.min(batch, events.length - s);
          scoreLearnBatch(forest, features.subarray(2 * s, 2 * (s + m)), m, out);
          for (let i = 0; i < m; i++) {
            assert.equal(out[i], reference(features.subarray(2 * (s + i), 2 * (s + i) + 2)));
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("property: one-feature forests (their walks start on a line's grid) score as River's plain algorithm, under any sharding", () => {
  const limits = [[-100, 100]] as [number, number][];
  const options: ForestOptions = { nTrees: 3, height: 6, windowSize: 25, limits, seed: 8 };
  const splits = buildTrees(options).split.filter((v) => !Number.isNaN(v));
  const value = fc.oneof(
    fc.constantFrom(...splits),
    fc.constantFrom(-100, -20, 0, 3.5, 80, 100),
    fc.double({ min: -100, max: 100, noNaN: true }),
    fc.double({ min: 1, max: 1.001, noNaN: true }),
  );
  fc.assert(
    fc.property(
      fc.array(value, { minLength: 60, maxLength: 400 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 3 }),
      (events, batch, w) => {
        const reference = referenceDetector(buildForest(options));
        const shards = Array.from(
          { length: w },
          (_, i) => buildForest(options, { index: i, count: w }),
        );
        const features = Float64Array.from(events);
        const out = new Float64Array(batch);
        const sum = new Float64Array(batch);
        for (let s = 0; s < events.length; s += batch) {
          const m = Math.min(batch, events.length - s);
          sum.fill(0);
          for (const shard of shards) {
            scoreLearnBatch(shard, features.subarray(s, s + m), m, out);
            for (let i = 0; i < m; i++) sum[i] += out[i];
          }
          for (let i = 0; i < m; i++) {
            assert.equal(sum[i], reference(features.subarray(s + i, s + i + 1)), `event ${s + i}`);
          }
        }
      },
    ),
    { numRuns: 200 },
  );
  // The grid is in use: a stream concentrated near one value starts most walks below the root.
  const forest = buildForest({ ...options, nTrees: 25, height: 15, windowSize: 250 });
  const data = Float64Array.from({ length: 2000 }, (_, i) => 40 + ((i * 7919) % 1000) / 100);
  scoreLearnBatch(forest, data, data.length, new Float64Array(data.length));
  const starts = forest.gridStart!.subarray(0, 256);
  assert.ok(starts.some((e) => e !== 0), "cells start below the root");
});

Deno.test("W shards sum to the whole forest's scores, bit for bit, for W = 1…8 over 100,000 events", () => {
  const n = 100_000;
  const options: ForestOptions = { limits: LIMITS, seed: 5 };
  const data = labelledFeatures(n, { seed: 11 });
  const whole = new Float64Array(n);
  scoreLearnBatch(buildForest(options), data.features, n, whole);
  const part = new Float64Array(n);
  for (let w = 1; w <= 8; w++) {
    const summed = new Float64Array(n);
    for (let i = 0; i < w; i++) {
      const shard = buildForest(options, { index: i, count: w });
      // Batches of uneven size, as the pipeline delivers them.
      for (let s = 0, b = 1; s < n; s += b, b = (b * 7 + 3) % 997 + 1) {
        const m = Math.min(b, n - s);
        scoreLearnBatch(shard, data.features.subarray(2 * s, 2 * (s + m)), m, part);
        for (let e = 0; e < m; e++) summed[s + e] += part[e];
      }
    }
    for (let e = 0; e < n; e++) {
      if (summed[e] !== whole[e]) {
        assert.fail(`W=${w}: event ${e} mass ${summed[e]} != ${whole[e]}`);
      }
    }
  }
  assert.ok(n / 250 >= 400, "the stream crosses hundreds of window pivots");
});

Deno.test("the forest does not depend on the sharding: shard i holds the same trees", () => {
  const options: ForestOptions = { nTrees: 7, height: 4, limits: LIMITS, seed: 1 };
  const whole = buildTrees(options);
  const perTree = 2 ** 5 - 1;
  for (const w of [2, 3, 7]) {
    for (let i = 0; i < w; i++) {
      const shard = buildTrees(options, { index: i, count: w });
      const from = shard.firstTree * perTree, to = shard.endTree * perTree;
      assert.deepEqual(shard.split, whole.split.slice(from, to));
      assert.deepEqual(shard.feature, whole.feature.slice(from, to));
    }
  }
});

Deno.test("defaults are River's; trees take 9 bytes per node, shared by every model on them", () => {
  const forest = buildForest({ limits: LIMITS });
  assert.deepEqual([forest.nTrees, forest.height, forest.windowSize], [25, 15, 250]);
  const nodes = 25 * (2 ** 16 - 1);
  assert.equal(forestBytes(forest).trees, nodes * TREE_BYTES_PER_NODE);
  const other = createModel(forest.trees);
  assert.equal(other.split, forest.split, "a second model shares the trees");
  // Masses, the window's events and where their walks ended, the table of reachable nodes (the
  // 25 roots and their twins: 3 slots, node, depth, walk sum) and where walks start (per tree,
  // 16 × 16 cells and the outside).
  assert.equal(
    forestBytes(other).masses,
    nodes * MASS_BYTES_PER_NODE + 250 * 2 * 8 + 25 * 250 * 4 + 50 * (3 * 8 + 4 + 1 + 8) +
      25 * 257 * 4,
  );
});

Deno.test("bad parameters are refused with their name and value", () => {
  assert.throws(
    () => buildForest({ limits: LIMITS, nTrees: 0 }),
    /nTrees must be an integer in 1\.\.1000, got 0/,
  );
  assert.throws(
    () => buildForest({ limits: [[5, 5]] }),
    /limits\[0\] must be finite with min < max, got \[5, 5\]/,
  );
  assert.throws(
    () => buildForest({ limits: LIMITS }, { index: 3, count: 3 }),
    /shard index .* got 3/,
  );
});

const finite = (lo: number, hi: number) =>
  fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
const stream = fc.array(fc.tuple(finite(-100, 100), finite(-20, 80)), {
  minLength: 1,
  maxLength: 300,
});
const params = fc.record({
  nTrees: fc.integer({ min: 1, max: 6 }),
  height: fc.integer({ min: 1, max: 6 }),
  windowSize: fc.integer({ min: 1, max: 40 }),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});

Deno.test("property: scores stay in [0, 1]; same seed and input give the same scores", () => {
  fc.assert(
    fc.property(params, stream, (p, xs) => {
      const run = () => {
        const det = createDetector({ ...p, limits: LIMITS });
        return xs.map((x) => det.scoreLearn(x));
      };
      const a = run();
      for (const s of a) if (!(s >= 0 && s <= 1)) return false;
      assert.deepEqual(run(), a);
      return true;
    }),
    { numRuns: 200 },
  );
});

Deno.test("property: changing the number of shards never changes a score", () => {
  fc.assert(
    fc.property(params, stream, fc.integer({ min: 2, max: 8 }), (p, xs, w) => {
      const features = Float64Array.from(xs.flat());
      const n = xs.length;
      const whole = new Float64Array(n);
      scoreLearnBatch(buildForest({ ...p, limits: LIMITS }), features, n, whole);
      const summed = new Float64Array(n);
      const part = new Float64Array(n);
      for (let i = 0; i < w; i++) {
        scoreLearnBatch(
          buildForest({ ...p, limits: LIMITS }, { index: i, count: w }),
          features,
          n,
          part,
        );
        for (let e = 0; e < n; e++) summed[e] += part[e];
      }
      const score = (m: number, e: number) => massToScore(m, isWarm(e, p.windowSize), p);
      return whole.every((m, e) => score(m, e) === score(summed[e], e));
    }),
    { numRuns: 200 },
  );
});

Deno.test("exported masses restore a forest that scores on exactly as the original, under any sharding", () => {
  const options: ForestOptions = { nTrees: 6, height: 8, windowSize: 50, limits: LIMITS, seed: 3 };
  // Taken mid-window, with and without an event lacking a feature among the window's events.
  for (const missingAt of [-1, 1210]) {
    const data = labelledFeatures(3000, { seed: 8 });
    if (missingAt >= 0) data.features[2 * missingAt + 1] = NaN;
    const first = 1234, rest = data.n - first;
    const original = buildForest(options);
    const out = new Float64Array(data.n);
    scoreLearnBatch(original, data.features.subarray(0, 2 * first), first, out);
    const state = exportMasses(original);
    assert.equal(state.counter, first % 50);
    const expected = new Float64Array(rest);
    scoreLearnBatch(original, data.features.subarray(2 * first), rest, expected);
    for (const w of [1, 4]) {
      const summed = new Float64Array(rest);
      const part = new Float64Array(rest);
      for (let i = 0; i < w; i++) {
        const restored = importMasses(buildTrees(options, { index: i, count: w }), state);
        scoreLearnBatch(restored, data.features.subarray(2 * first), rest, part);
        for (let e = 0; e < rest; e++) summed[e] += part[e];
      }
      assert.deepEqual(summed, expected, `W=${w}, missing at ${missingAt}`);
    }
    assert.ok(state.entries.length < 6 * 511 * 3, "only reachable non-zero nodes are exported");
  }
});

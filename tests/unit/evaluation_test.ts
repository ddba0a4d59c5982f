import assert from "node:assert/strict";
import { confusion, rocAuc } from "../../src/evaluation.ts";

Deno.test("ROC AUC: perfect, inverted, ties, by hand", () => {
  assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  // pairs (pos, neg): (0.7 vs 0.1, 0.8) → 1 + 0; (0.9 vs 0.1, 0.8) → 1 + 1 ⇒ 3/4
  assert.equal(rocAuc([0.1, 0.7, 0.8, 0.9], [0, 1, 0, 1]), 0.75);
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [0, 0])));
});

Deno.test("precision and recall count what was flagged", () => {
  const c = confusion([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]);
  assert.deepEqual([c.tp, c.fp, c.fn, c.tn], [2, 1, 1, 1]);
  assert.equal(c.precision, 2 / 3);
  assert.equal(c.recall, 2 / 3);
});

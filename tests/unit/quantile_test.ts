import assert from "node:assert/strict";
import { createQuantile } from "../../src/quantile.ts";
import { createRandom } from "../../src/random.ts";

/** Share of `sorted` strictly below `x`: the rank of an estimate, to compare with q. */
function rankOf(sorted: Float64Array, x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

Deno.test("the first five values are stored and read as River does", () => {
  const q = createQuantile(0.5);
  assert.ok(Number.isNaN(q.get()));
  for (const x of [5, 1, 3]) q.update(x);
  assert.equal(q.get(), 3); // sorted [1, 3, 5], index floor(min(2, 1.5)) = 1
  const high = createQuantile(0.995);
  for (const x of [5, 1, 3]) high.update(x);
  assert.equal(high.get(), 5);
});

// Stated error bound: on 100,000 values the estimate's rank lies within ±0.003 of q.
const BOUND = 0.003;

for (
  const [name, draw] of [
    ["uniform", (r: ReturnType<typeof createRandom>) => r.next()],
    ["normal", (r: ReturnType<typeof createRandom>) => r.normal()],
    ["exponential", (r: ReturnType<typeof createRandom>) => -Math.log(1 - r.next())],
  ] as const
) {
  Deno.test(`P² tracks exact quantiles of a ${name} stream within rank ±${BOUND}`, () => {
    for (const p of [0.5, 0.9, 0.995]) {
      const rng = createRandom(7);
      const q = createQuantile(p);
      const values = new Float64Array(100_000);
      for (let i = 0; i < values.length; i++) {
        values[i] = draw(rng);
        q.update(values[i]);
      }
      values.sort();
      const rank = rankOf(values, q.get());
      assert.ok(Math.abs(rank - p) <= BOUND, `${name} p=${p}: estimate at rank ${rank}`);
    }
  });
}

Deno.test("q outside (0, 1) is refused", () => {
  assert.throws(() => createQuantile(1), /q must be in \(0, 1\), got 1/);
});

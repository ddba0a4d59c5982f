import assert from "node:assert/strict";
import fc from "fast-check";
import { Histogram, Registry } from "prom-client";
import { createValueHistogram } from "../../src/value_histogram.ts";

const BUCKETS = [-100, -50, -25, -10, -5, -1, 0, 1, 5, 10, 25, 50, 100];
const HELP = "the first feature";

/** The product's histogram `v` of {@link BUCKETS}, in a registry of its own. */
function ourHistogram() {
  const registry = new Registry();
  const h = createValueHistogram({
    name: "v",
    help: HELP,
    buckets: BUCKETS,
    registers: [registry],
  });
  return { h, registry };
}

/** The same values through prom-client's own histogram and through the product's. */
async function bothScrapes(values: number[], batches: number[]) {
  const theirs = new Registry();
  const reference = new Histogram({ name: "v", help: HELP, buckets: BUCKETS, registers: [theirs] });
  const { h, registry: ours } = ourHistogram();
  for (const v of values) reference.observe(v);
  // Fed in batches of the given sizes, the last one by one.
  let at = 0;
  for (const size of batches) {
    h.observeAll(Float64Array.from(values.slice(at, at + size)));
    at += size;
  }
  for (; at < values.length; at++) h.observeAll([values[at]]);
  return { theirs: await theirs.metrics(), ours: await ours.metrics(), ourRegistry: ours };
}

Deno.test("event_value is scraped exactly as prom-client's histogram writes the same values, up to its top bucket", async () => {
  // Values above the top bucket are left out here: prom-client counts them wrongly (next test).
  const value = fc.oneof(
    fc.constantFrom(...BUCKETS, -0, 0.5, -1e15, 1e-300),
    fc.double({ min: -1e6, max: 100, noNaN: true }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(value, { maxLength: 200 }),
      fc.array(fc.nat(50), { maxLength: 5 }),
      async (values, batches) => {
        const { theirs, ours } = await bothScrapes(values, batches);
        assert.equal(ours, theirs);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("event_value skips a missing value (NaN) where prom-client's histogram throws; reset forgets every count", async () => {
  const values = [3, NaN, 7, Infinity, -Infinity, -2];
  const reference = new Histogram({ name: "r", help: HELP, buckets: BUCKETS, registers: [] });
  assert.throws(() => reference.observe(NaN), /not a valid number/);
  const { h, registry: ourRegistry } = ourHistogram();
  h.observeAll(values.slice(0, 4));
  for (const v of values.slice(4)) h.observeAll([v]);
  const ours = await ourRegistry.metrics();
  assert.match(ours, /^v_count 3$/m, "three finite values counted");
  assert.match(ours, /^v_sum 8$/m);
  assert.match(ours, /^v_bucket\{le="-1"\} 1$/m);
  assert.match(ours, /^v_bucket\{le="5"\} 2$/m);
  assert.match(ours, /^v_bucket\{le="\+Inf"\} 3$/m);
  ourRegistry.resetMetrics();
  const after = await ourRegistry.metrics();
  assert.match(after, /^v_count 0$/m);
  assert.match(after, /^v_bucket\{le="100"\} 0$/m);
});

Deno.test("a histogram's buckets must be finite and ascending: the error names the metric and them", () => {
  for (const buckets of [[], [1, 1], [2, 1], [0, Infinity], [NaN]]) {
    assert.throws(
      () => createValueHistogram({ name: "bad", help: HELP, buckets }),
      /histogram bad: buckets must be finite and strictly ascending, got/,
    );
  }
});

Deno.test("a value above the top bucket counts in +Inf only (prom-client 15.1.3 counted it under le=-1)", async () => {
  const { h, registry } = ourHistogram();
  h.observeAll([250, 1e15]);
  const ours = await registry.metrics();
  assert.match(ours, /^v_bucket\{le="100"\} 0$/m);
  assert.match(ours, /^v_bucket\{le="-1"\} 0$/m);
  assert.match(ours, /^v_bucket\{le="\+Inf"\} 2$/m);
  // prom-client's bucket search answers −1 for "above every bound", which is also this bound.
  const theirs = new Registry();
  new Histogram({ name: "v", help: HELP, buckets: BUCKETS, registers: [theirs] }).observe(250);
  assert.match(await theirs.metrics(), /^v_bucket\{le="-1"\} 1$/m);
});

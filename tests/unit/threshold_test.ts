import assert from "node:assert/strict";
import { createRandom } from "../../src/random.ts";
import { createThreshold, eventDeviation } from "../../src/threshold.ts";
import { deviationForRate } from "../../src/tails.ts";

Deno.test("no alert during warm-up, and warm-up scores do not move the threshold", () => {
  for (const mode of ["quantile", "adaptive"] as const) {
    const t = createThreshold({ mode });
    for (let i = 0; i < 100; i++) assert.equal(t.observe(0.999, false), false);
    assert.ok(Number.isNaN(t.value), `${mode}: no threshold before a warm score`);
  }
});

Deno.test("quantile mode flags about 1 − p of an i.i.d. stream, at score >= quantile", () => {
  const t = createThreshold({ mode: "quantile", quantileP: 0.99 });
  const rng = createRandom(3);
  let flagged = 0;
  const n = 50_000;
  for (let i = 0; i < n; i++) if (t.observe(rng.next(), true)) flagged++;
  assert.ok(Math.abs(flagged / n - 0.01) < 0.002, `flagged share ${flagged / n}`);
  assert.ok(Math.abs(t.value - 0.99) < 0.005, `threshold ${t.value}`);
});

Deno.test("adaptive mode flags an event whose mass is under a tenth of the median", () => {
  const t = createThreshold({ mode: "adaptive" });
  const rng = createRandom(4);
  // Typical events: score ≈ 0.8 (mass ≈ 0.2).
  for (let i = 0; i < 2000; i++) assert.equal(t.observe(0.8 + 0.02 * rng.normal(), true), false);
  assert.ok(Math.abs(t.value - 0.98) < 0.003, `threshold ${t.value}`);
  assert.equal(t.observe(0.995, true), true); // mass 0.005 < 0.02
  assert.equal(t.observe(0.97, true), false); // mass 0.03 > 0.02
});

Deno.test("adaptive mode keeps flagging when anomalies are frequent (the seed's 3 %)", () => {
  const t = createThreshold({ mode: "adaptive" });
  const rng = createRandom(5);
  let hits = 0, anomalies = 0;
  for (let i = 0; i < 20_000; i++) {
    const anomalous = rng.next() < 0.03;
    if (anomalous) anomalies++;
    const flagged = t.observe(anomalous ? 0.998 : 0.8 + 0.02 * rng.normal(), true);
    if (flagged && anomalous) hits++;
  }
  assert.ok(hits / anomalies > 0.99, `recall ${hits / anomalies}`);
});

Deno.test("bad threshold options name the parameter", () => {
  assert.throws(
    () => createThreshold({ mode: "adaptive", massRatio: 1 }),
    /massRatio must be .* > 1, got 1/,
  );
  assert.throws(
    () => createThreshold({ mode: "magic" as unknown as "quantile" }),
    /mode must be one of quantile, adaptive, context, got magic/,
  );
});

Deno.test("a threshold resumed from its state decides exactly as the original", () => {
  for (const mode of ["quantile", "adaptive"] as const) {
    const rng = createRandom(9);
    const scores = Array.from(
      { length: 3000 },
      () => 0.8 + 0.05 * rng.normal() + (rng.next() < 0.03 ? 0.19 : 0),
    );
    const a = createThreshold({ mode });
    for (const s of scores.slice(0, 1500)) a.observe(s, true);
    const b = createThreshold({ mode }, structuredClone(a.state()));
    for (const s of scores.slice(1500)) assert.equal(b.observe(s, true), a.observe(s, true));
    assert.equal(b.value, a.value);
  }
});

Deno.test("context mode: alerts on the entity's deviation at the target rate, never before the forest has a threshold", () => {
  const t = createThreshold({ mode: "context", targetFalseAlertRate: 1e-6 });
  // The forest's first warm score: no threshold yet, so no alert however far the event is.
  assert.equal(t.judge(0.5, true, [40, NaN]).anomaly, false);
  for (let i = 0; i < 100; i++) t.judge(0.5, true, [0.1, 0.2]);
  const far = t.judge(0.5, true, [-6, 0.1]);
  assert.equal(far.anomaly, true, "6 sd beyond 4.9");
  assert.ok(far.alertScore > 0.5 && far.alertScore < 1);
  const near = t.judge(0.5, true, [3, 0.1]);
  assert.equal(near.anomaly, false);
  assert.ok(near.alertScore < 0.5);
  assert.equal(t.judge(0.5, false, [9, 9]).anomaly, false, "nothing during warm-up");
  // A new entity (no baseline yet): only a forest score far beyond the threshold alerts.
  assert.equal(t.judge(0.5, true, [NaN, NaN]).anomaly, false);
  assert.equal(t.judge(0.99999, true, [NaN, NaN]).anomaly, true);
});

Deno.test("the judgement names the feature that decided an alert, or the forest", () => {
  const t = createThreshold({ mode: "context", targetFalseAlertRate: 1e-6 });
  for (let i = 0; i < 100; i++) t.judge(0.5, true, [0.1, 0.2, 0.3]);
  // The largest calibrated deviation decides, whatever its sign; counted from `from`.
  assert.equal(t.judge(0.5, true, [5.5, -7, 0.1]).driver, 1);
  assert.equal(t.judge(0.5, true, [9, 9, 0.1, 5.5, NaN, 6], 3, 3).driver, 2);
  assert.equal(t.judge(0.5, true, [3, 0.1, 0.2]).driver, -1, "no alert, no driver");
  assert.equal(t.judge(0.99999, true, [NaN, NaN, NaN]).driver, -1, "a new entity: the forest");
  const forest = createThreshold({ mode: "adaptive" });
  for (let i = 0; i < 100; i++) forest.judge(0.5, true, [0.1, 0.2]);
  const flagged = forest.judge(0.999, true, [8, 0.1]);
  assert.equal(flagged.anomaly, true);
  assert.equal(flagged.driver, -1, "adaptive: the forest decides");
});

Deno.test("context mode: an event's features share the target, so it is a share of events however many features they have", () => {
  const rate = 1e-4, t = createThreshold({ mode: "context", targetFalseAlertRate: rate });
  for (let i = 0; i < 100; i++) t.judge(0.5, true, [0.1, 0.2]);
  const one = deviationForRate(rate), each = deviationForRate(rate / 2);
  // One feature known (the other absent): judged at the whole target.
  assert.equal(t.judge(0.5, true, [one + 0.01, NaN]).anomaly, true);
  // Two features known: each at half of it, so the same deviation no longer alerts.
  assert.equal(t.judge(0.5, true, [one + 0.01, 0.1]).anomaly, false);
  assert.equal(t.judge(0.5, true, [each + 0.01, 0.1]).anomaly, true);
  // The alert score is 0.5 at the bar either way.
  assert.ok(Math.abs(t.judge(0.5, true, [one, NaN]).alertScore - 0.5) < 1e-9);
  assert.ok(Math.abs(t.judge(0.5, true, [0.1, each]).alertScore - 0.5) < 1e-3);
  // Twenty features: each at a twentieth.
  const twenty = Array.from({ length: 20 }, () => 0.1);
  twenty[7] = deviationForRate(rate / 20) - 0.02;
  assert.equal(t.judge(0.5, true, twenty).anomaly, false);
  twenty[7] += 0.04;
  const judged = t.judge(0.5, true, twenty);
  assert.equal(judged.anomaly, true);
  assert.equal(judged.driver, 7, "the feature that decided it");
  assert.equal(eventDeviation(3, 1), 3);
  assert.ok(eventDeviation(5, 10) < 5 && eventDeviation(5, 10) > 4);
});

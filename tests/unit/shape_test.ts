import assert from "node:assert/strict";
import fc from "fast-check";
import { createBaselines, createJudgement, deviationForRate, slotsOf } from "../../src/baseline.ts";
import {
  lambertW,
  learnShape,
  SHAPE_SLOTS,
  shapeDeviation,
  startShape,
} from "../../src/baseline/shape.ts";
import { createRandom } from "../../src/random.ts";

Deno.test("Lambert's W inverts w·e^w over the range a deviation needs", () => {
  fc.assert(fc.property(fc.double({ min: 0, max: 1e12, noNaN: true }), (x) => {
    const w = lambertW(x);
    assert.ok(Math.abs(w * Math.exp(w) - x) <= 1e-9 * (1 + x), `W(${x}) = ${w}`);
  }));
});

Deno.test("a Gaussian shape leaves a deviation as it is; learned on Gaussian noise it stays near", () => {
  const s = new Float64Array(SHAPE_SLOTS);
  startShape(s, 0);
  for (const z of [-7, -3, -0.5, 0, 1, 4.9, 12]) {
    assert.ok(Math.abs(shapeDeviation(s, 0, z) - Math.abs(z)) < 1e-9, `${z}`);
  }
  const rng = createRandom(4, 1);
  for (let i = 0; i < 30_000; i++) learnShape(s, 0, rng.normal());
  for (const z of [-5, -3, 3, 5]) {
    const d = shapeDeviation(s, 0, z);
    assert.ok(Math.abs(d - Math.abs(z)) < 0.15 * Math.abs(z), `${z} → ${d}`);
  }
});

Deno.test("a skewed shape judges the long side's deviations smaller and the short side's larger", () => {
  // Errors of a log-normal reading: the upper side reaches far, the lower side stops short.
  const s = new Float64Array(SHAPE_SLOTS);
  startShape(s, 0);
  const rng = createRandom(5, 1);
  // (Its sd 30 % of its level; at 18 % the skew is within what Gaussian noise's estimate shows.)
  const mean = Math.exp(0.3 ** 2 / 2), sd = mean * Math.sqrt(Math.exp(0.3 ** 2) - 1);
  for (let i = 0; i < 30_000; i++) learnShape(s, 0, (Math.exp(0.3 * rng.normal()) - mean) / sd);
  assert.ok(shapeDeviation(s, 0, 5) < 4, `+5 sd → ${shapeDeviation(s, 0, 5)}`);
  assert.ok(shapeDeviation(s, 0, -3) > 3, `−3 sd → ${shapeDeviation(s, 0, -3)}`);
});

/** Alerts per judged event over the target, of 50 sensors with `noise`, through the baselines. */
function alertRatio(extremes: "coarse" | "shape", noise: () => number, rate: number): number {
  const b = createBaselines(1, { extremes });
  const zStar = deviationForRate(rate);
  const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
  let judged = 0, alerts = 0;
  for (let i = 0; i < 20_000; i++) {
    for (let e = 0; e < 50; e++) {
      const v = 100 + e + 3 * Math.sin((2 * Math.PI * i) / 1440) + noise();
      b.judgeLearn(`s${e}`, [v], i * 60, { z, typical, calibrated });
      if (i < 5_000) continue;
      judged++;
      if (calibrated[0] >= zStar) alerts++;
    }
  }
  return alerts / judged / rate;
}

Deno.test("with `shape` extremes (the default), skewed or heavy-tailed noise alerts near the target rate; with `coarse` far above it", () => {
  const rng = createRandom(6, 1);
  const lognormal = () => 10 * Math.exp(0.3 * rng.normal());
  const laplace = () => (rng.next() < 0.5 ? 1 : -1) * Math.log(1 - rng.next());
  for (const [name, noise] of [["log-normal", lognormal], ["Laplace", laplace]] as const) {
    const fixed = alertRatio("coarse", noise, 1e-4), own = alertRatio("shape", noise, 1e-4);
    assert.ok(fixed > 10, `${name}, coarse: ${fixed} × the target`);
    assert.ok(own > 0.1 && own < 3, `${name}, shape: ${own} × the target`);
  }
});

Deno.test("with `shape` extremes the state holds 5 more numbers per feature and round-trips", () => {
  assert.equal(slotsOf("daily", false, true, false, true), slotsOf("daily", false, true) + 5);
  const opts = { extremes: "shape" as const, recent: [false, true] };
  const a = createBaselines(2, opts);
  const rng = createRandom(7, 1);
  const out = () => createJudgement(2);
  for (let i = 0; i < 3_000; i++) {
    a.judgeLearn(`s${i % 3}`, [Math.exp(rng.normal()), rng.normal()], i * 60, out());
  }
  const b = createBaselines(2, opts, structuredClone(a.state()));
  for (let i = 3_000; i < 3_500; i++) {
    const x = [Math.exp(rng.normal()), rng.normal()], ja = out(), jb = out();
    a.judgeLearn(`s${i % 3}`, x, i * 60, ja);
    b.judgeLearn(`s${i % 3}`, x, i * 60, jb);
    assert.deepEqual([...jb.calibrated], [...ja.calibrated]);
  }
  assert.throws(
    () => createBaselines(2, { extremes: "coarse", recent: [false, true] }, a.state()),
    /extremes coarse/,
  );
});

Deno.test("learned on Gaussian noise, a 5-sd deviation keeps about its size: the tail weight is read less its own estimate's noise", () => {
  // The tail weight `h` estimated from Gaussian noise wanders by about 0.01; read as it is, a 5-sd
  // deviation was judged as low as 4.0 (under the default's z* of 4.56) for some entities.
  const rng = createRandom(9, 1);
  let least = Infinity;
  for (let e = 0; e < 200; e++) {
    const s = new Float64Array(SHAPE_SLOTS);
    startShape(s, 0);
    for (let i = 0; i < 10_000; i++) learnShape(s, 0, rng.normal());
    least = Math.min(least, shapeDeviation(s, 0, 5), shapeDeviation(s, 0, -5));
  }
  assert.ok(least >= 4.75, `the least of 200 entities' 5-sd deviations: ${least}`);
});

Deno.test("an idle counter's bursts are judged by their recurrence, not by its shape: a burst far beyond its usual ones alerts", () => {
  // A count idle at 0, with bursts of 1–5 on 5 % of its readings, then one of 40.
  const zStar = deviationForRate(5e-6);
  const judged = (extremes: "shape" | "coarse") => {
    const b = createBaselines(1, { extremes });
    const out = createJudgement(1);
    const rng = createRandom(10, 1);
    let normal = 0;
    for (let i = 0; i < 6_000; i++) {
      const v = rng.next() < 0.05 ? Math.round(1 + 4 * rng.next()) : 0;
      b.judgeLearn("keys", [v], i * 300, out);
      if (i >= 3_000 && out.calibrated[0] >= zStar) normal++;
    }
    b.judgeLearn("keys", [40], 6_000 * 300, out);
    return { normal, burst: out.calibrated[0] };
  };
  const shape = judged("shape"), coarse = judged("coarse");
  assert.equal(shape.normal, 0, "its usual bursts do not alert");
  assert.ok(shape.burst >= zStar, `the burst of 40: ${shape.burst} (z* ${zStar})`);
  assert.equal(shape.burst, coarse.burst, "judged as `coarse` judges it");
});

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  deviationForLogTail,
  deviationForRate,
  erfc,
  logStudentTail,
  nullDegrees,
  shareScale,
  studentScale,
  youngDegrees,
} from "../../src/tails.ts";

Deno.test("Student's t tails match the closed forms of 1 and 2 degrees of freedom and a table value", () => {
  for (const t of [0.1, 0.5, 1, 2, 5, 30, 1e3]) {
    // ν = 1 (Cauchy): 1 − 2·atan(t)/π; ν = 2: 1 − t/√(2 + t²).
    const cauchy = 1 - (2 * Math.atan(t)) / Math.PI, two = 1 - t / Math.sqrt(2 + t * t);
    assert.ok(Math.abs(Math.exp(logStudentTail(t, 1)) / cauchy - 1) < 1e-9, `ν=1, t=${t}`);
    assert.ok(Math.abs(Math.exp(logStudentTail(t, 2)) / two - 1) < 1e-9, `ν=2, t=${t}`);
  }
  // The two-sided 5 % point of t with 10 degrees of freedom is 2.228139.
  assert.ok(Math.abs(Math.exp(logStudentTail(2.228139, 10)) - 0.05) < 1e-6);
  assert.equal(logStudentTail(0, 80), 0);
});

Deno.test("a deviation's Gaussian equivalent: the identity for many degrees of freedom, smaller for few, finite far out", () => {
  const gaussian = studentScale(1e9), eighty = studentScale(80);
  let before = 0;
  for (let z = 0; z < 12; z += 0.013) {
    assert.ok(Math.abs(gaussian(z) - z) < 0.002, `ν=1e9 at ${z}: ${gaussian(z)}`);
    const e = eighty(z);
    assert.ok(e <= z + 1e-9 && e >= before, `ν=80 at ${z}: ${e}`);
    // The table against the tail computed directly.
    assert.ok(Math.abs(e - deviationForLogTail(logStudentTail(z, 80))) < 1e-3, `table at ${z}`);
    before = e;
  }
  assert.equal(eighty(-3), eighty(3), "symmetric");
  assert.ok(eighty(1e12) > eighty(1e4) && Number.isFinite(eighty(1e12)));
  assert.ok(Number.isNaN(eighty(NaN)));
  // At the baselines' default weight, 1e-6 of the null lies beyond 5.30 sd, not 4.89.
  assert.equal(nullDegrees(0.02), 0.8 * 99);
  // A young entity's noise, from its first 30 events, holds 30 errors at most.
  assert.equal(nullDegrees(0.02, 30), 0.8 * 30);
  assert.equal(nullDegrees(0.02, 500), 0.8 * 99);
  // Rounded down to a quarter octave: 24 → 2^4.5; a handful of tables for any weight.
  assert.equal(youngDegrees(0.02, 30), 2 ** 4.5);
  const ages = new Set(Array.from({ length: 1_999_000 }, (_, n) => youngDegrees(1e-6, n + 1)));
  assert.ok(ages.size <= 4 * 21 + 1, `${ages.size} tables`);
  const z = 5.3;
  assert.ok(Math.abs(eighty(z) - deviationForRate(1e-6)) < 0.02, `${eighty(z)}`);
  assert.throws(() => studentScale(0), /degrees of freedom must be a finite number > 0, got 0/);
});

Deno.test("a deviation's Gaussian equivalent is never above the deviation, to the last bit: the baselines skip it where that could not decide", () => {
  // The degrees of freedom the baselines use: the drift's, a mature noise's, a young noise's.
  for (const nu of [40, nullDegrees(0.02), youngDegrees(0.02, 30), youngDegrees(0.02, 60)]) {
    const scale = studentScale(nu);
    for (let k = 0; k <= 100_000; k++) {
      const z = k / 1000;
      assert.ok(scale(z) <= z && scale(-z) <= z, `ν=${nu} at ${z}: ${scale(z)}`);
    }
    fc.assert(fc.property(fc.double({ min: 0, max: 1e300, noNaN: true }), (z) => {
      assert.ok(scale(z) <= z, `ν=${nu} at ${z}: ${scale(z)}`);
    }));
  }
});

Deno.test("the Gaussian tail and its inverse agree, down to tails below floating point's range", () => {
  for (const rate of [0.5, 0.05, 1e-3, 1e-6, 1e-12, 1e-300]) {
    const z = deviationForRate(rate);
    assert.ok(Math.abs(erfc(z / Math.SQRT2) / rate - 1) < 1e-5, `${rate}: ${z}`);
  }
  // ln tail −2,000: erfc underflows, its logarithm does not.
  const far = deviationForLogTail(-2000);
  assert.ok(far > 62 && far < 64, `${far}`);
  assert.throws(() => deviationForRate(0), /rate must be in \(0, 1\), got 0/);
});

Deno.test("a judgement weighed at a share of the target: its tail divided by the share, 0 where that reaches 1", () => {
  const whole = shareScale(1), quarter = shareScale(0.25);
  for (const c of [0.5, 2, 4.56, 7.3, 20, 300]) {
    assert.ok(Math.abs(whole(c) - c) < 1e-3, `share 1 keeps ${c}: ${whole(c)}`);
  }
  // The default target's deviation, at a quarter of it: the deviation of four times the rate.
  const c = deviationForRate(5e-6);
  assert.ok(Math.abs(quarter(c) - deviationForRate(2e-5)) < 1e-3, `${quarter(c)}`);
  assert.equal(quarter(0.1), 0, "a tail of 0.92, four times over, is no deviation");
  let last = -1;
  for (let k = 0; k <= 2000; k++) {
    const v = quarter(k / 10);
    assert.ok(v >= last && v <= k / 10, `increasing, below its argument at ${k / 10}`);
    last = v;
  }
  // Beyond the table: the square shifted by 2 ln(share), still finite and increasing.
  assert.ok(Math.abs(quarter(2e4) - Math.sqrt(4e8 + 2 * Math.log(0.25))) < 1e-6);
  assert.throws(() => shareScale(0), /share must be in \(0, 1\], got 0/);
});

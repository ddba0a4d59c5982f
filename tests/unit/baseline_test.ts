import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BASELINE_DEFAULTS,
  BASES,
  COARSE_REPEATS,
  createBaselines,
  createJudgement,
  deviationForRate,
  erfc,
  secondsInto,
  slotsOf,
} from "../../src/baseline.ts";
import { nullDegrees, studentScale, youngDegrees } from "../../src/tails.ts";
import { ODD_RATIO, oddStart } from "../../src/baseline/start.ts";
import { RECENT_SLOTS } from "../../src/baseline/recent.ts";
import { judgeChange } from "../../src/baseline/change.ts";
import { countDeviation, logCountChance, logCountTail } from "../../src/baseline/counts.ts";
import { createRandom, type Random } from "../../src/random.ts";
import { THRESHOLD_DEFAULTS } from "../../src/defaults.ts";

const judge = (b: ReturnType<typeof createBaselines>, key: string, ...x: number[]) => {
  const z = new Float64Array(x.length), t = new Float64Array(x.length);
  b.judgeLearn(key, x, undefined, { z, typical: t });
  return { z: [...z], typical: [...t] };
};

/**
 * Judges `readings[from … to)` of entity "s", a minute apart, into `b`; returns each one's
 * `calibrated` deviation or its `typical` value.
 */
const judgeMinutes = (
  b: ReturnType<typeof createBaselines>,
  readings: readonly number[],
  from: number,
  to: number,
  pick: "calibrated" | "typical",
) => {
  const out = {
    z: new Float64Array(1),
    typical: new Float64Array(1),
    calibrated: new Float64Array(1),
  };
  const picked: number[] = [];
  for (let i = from; i < to; i++) {
    b.judgeLearn("s", [readings[i]], 60 * i, out);
    picked.push(out[pick][0]);
  }
  return picked;
};

/** A Poisson count of `mean` by inversion, drawn from `rng`. */
const poissonOf = (rng: Random) => (mean: number) => {
  let k = 0, p = Math.exp(-mean), sum = p;
  const u = rng.next();
  while (u > sum) sum += p *= mean / ++k;
  return k;
};

Deno.test("each entity is judged against its own level and noise, after its warm-up", () => {
  const b = createBaselines(1, { warmUp: 20 });
  // Sensor "hot" runs at 33 ± 0.5, sensor "cold" at 15 ± 0.5: neither is deviant for being itself.
  for (let i = 0; i < 200; i++) {
    const r = judge(b, "hot", 33 + 0.5 * Math.sin(i));
    if (i < 20) assert.ok(Number.isNaN(r.z[0]), "nothing judged during warm-up");
    judge(b, "cold", 15 + 0.5 * Math.cos(i));
  }
  assert.ok(Math.abs(judge(b, "hot", 33.2).z[0]) < 2);
  assert.ok(Math.abs(judge(b, "cold", 15.1).z[0]) < 2);
  // A small step for "cold" that is large for its own noise, and its typical value.
  const step = judge(b, "cold", 18);
  assert.ok(step.z[0] > 5, `${step.z[0]}`);
  assert.ok(Math.abs(step.typical[0] - 15) < 0.5);
  assert.ok(Number.isNaN(judge(b, "cold", NaN).z[0]), "an absent feature is not judged");
});

Deno.test("entities are bounded: the least recently seen is evicted and counted; the state round-trips", () => {
  const b = createBaselines(2, { maxEntities: 3 });
  for (const k of ["a", "b", "c"]) judge(b, k, 1, 2);
  judge(b, "a", 1, 2); // a is now the most recent
  judge(b, "d", 1, 2); // evicts b
  assert.equal(b.size, 3);
  assert.equal(b.evicted, 1);
  assert.deepEqual(b.state().keys, ["c", "a", "d"]);
  const copy = createBaselines(2, { maxEntities: 3 }, structuredClone(b.state()));
  assert.deepEqual(copy.state(), b.state());
  assert.throws(() => createBaselines(1, {}, b.state()), /2 features, expected 1/);
});

Deno.test("eviction is least recently seen first, across a checkpoint, for any visit order", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 80 }),
      fc.nat(80),
      (max, visits, at) => {
        let b = createBaselines(1, { maxEntities: max });
        // The reference: keys least recently seen first.
        let lru: string[] = [];
        let evicted = 0;
        visits.forEach((v, i) => {
          if (i === at) b = createBaselines(1, { maxEntities: max }, structuredClone(b.state()));
          const key = `k${v}`;
          if (!lru.includes(key) && lru.length === max) {
            lru = lru.slice(1);
            evicted++;
          }
          lru = [...lru.filter((k) => k !== key), key];
          judge(b, key, i);
          assert.deepEqual(b.state().keys, lru);
          assert.equal(b.evicted, evicted);
        });
      },
    ),
  );
});

Deno.test("readings at the contract's ±1e15 limits keep an entity's judgements finite; beyond them its noise overflows", () => {
  const t0 = 1767225600;
  const out = {
    z: new Float64Array(1),
    typical: new Float64Array(1),
    calibrated: new Float64Array(1),
  };
  const noise = (b: ReturnType<typeof createBaselines>) => b.state().values[2];
  const bounded = createBaselines(1, {});
  for (let i = 0; i < 2000; i++) {
    bounded.judgeLearn("s", [i % 2 ? 1e15 : -1e15], t0 + 60 * i, out);
    if (i >= 30) assert.ok(Number.isFinite(out.calibrated[0]), `event ${i}: ${out.calibrated[0]}`);
  }
  for (let i = 0; i < 5000; i++) {
    bounded.judgeLearn("s", [Math.sin(i)], t0 + 60 * (2000 + i), out);
    assert.ok(Number.isFinite(out.calibrated[0]) && Number.isFinite(noise(bounded)));
  }
  // Beyond the limit a square overflows: the entity's noise is infinite for good, and a step of
  // any size is judged 0.
  const unbounded = createBaselines(1, {});
  for (let i = 0; i < 2000; i++) unbounded.judgeLearn("s", [i % 2 ? 1e300 : -1e300], t0, out);
  for (let i = 0; i < 5000; i++) unbounded.judgeLearn("s", [Math.sin(i)], t0 + 60 * i, out);
  assert.equal(noise(unbounded), Infinity);
  unbounded.judgeLearn("s", [1e6], t0 + 60 * 5000, out);
  assert.ok(!(out.calibrated[0] > 1), "why contracts bound a feature's limits");
});

Deno.test("a far-out value does not widen the noise the next ones are judged against", () => {
  const b = createBaselines(1, { warmUp: 10 });
  for (let i = 0; i < 300; i++) judge(b, "s", 10 + 0.1 * Math.sin(i));
  judge(b, "s", 60);
  assert.ok(judge(b, "s", 60).z[0] > 5, "a second spike is still caught");
});

Deno.test("a glitch among an entity's first readings does not leave it blind: a later 10-sd spike is caught", () => {
  // Readings of 20 ± 0.1, one of 100 (a sensor's first reading after power-on, say) at event k,
  // a spike of 10 noise sd at event 200. Before, the glitch widened the young noise so far that
  // the spike was judged under 1 sd, for every k up to the warm-up (and at 450 events still).
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  for (const k of [0, 1, 2, 5, 20]) {
    const b = createBaselines(1, {});
    const rng = createRandom(k + 1, 1);
    const out = {
      z: new Float64Array(1),
      typical: new Float64Array(1),
      calibrated: new Float64Array(1),
    };
    const alerts: number[] = [];
    for (let i = 0; i < 600; i++) {
      const v = i === k ? 100 : i === 200 ? 21 : 20 + 0.1 * rng.normal();
      b.judgeLearn("s", [v], 1767225600 + 60 * i, out);
      if (out.calibrated[0] >= zStar) alerts.push(i);
    }
    assert.deepEqual(alerts, [200], `glitch at ${k}: alerts at ${alerts}`);
  }
});

Deno.test("after a lasting shift an entity regains its sensitivity: 250 readings on, a 7-sd spike is judged as if there had been no shift", () => {
  // A 30-reading shift of 5 sd widens the noise the entity is judged in (about 2 × its own twenty
  // readings after it ends, when the same spike is judged at about 0.6 of its size); the noise
  // must come back, or every anomaly after a first lasting one would be missed. Each sensor is
  // run twice on the same noise, with and without the shift.
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const spikeAt = 3030 + 250, T0 = 1767225600;
  const judged = (sensor: number, shifted: boolean) => {
    const b = createBaselines(1, { change: [true], recent: [true] });
    const rng = createRandom(sensor + 1, 9);
    const out = createJudgement(1);
    for (let i = 0; i <= spikeAt; i++) {
      const shift = shifted && i >= 3000 && i < 3030 ? 5 : 0;
      b.judgeLearn("s", [20 + rng.normal() + shift + (i === spikeAt ? 7 : 0)], T0 + 60 * i, out);
    }
    return out.calibrated[0];
  };
  let caught = 0, caughtWithout = 0;
  for (let sensor = 0; sensor < 20; sensor++) {
    const after = judged(sensor, true), without = judged(sensor, false);
    assert.ok(
      after >= 0.9 * without,
      `sensor ${sensor}: ${after} after the shift, ${without} without`,
    );
    if (after >= zStar) caught++;
    if (without >= zStar) caughtWithout++;
  }
  assert.equal(caught, caughtWithout);
  assert.ok(caught >= 18, `${caught} of 20 caught`);
});

Deno.test("of an entity's first three readings, a first or second one far from two that agree is the one replaced", () => {
  assert.equal(oddStart(100, 20.1, 20.2), 0);
  assert.equal(oddStart(20.1, 0, 20.2), 1);
  assert.equal(oddStart(20.1, 20.2, 100), -1, "the third is the young clip's");
  assert.equal(oddStart(20, 0, 0), -1, "two equal readings give no scale");
  assert.equal(oddStart(1, 2, 3), -1);
  assert.equal(oddStart(0, 1, 1 + 1.1 / ODD_RATIO), -1, "not far enough");
  assert.equal(oddStart(0, 1, 1 + 0.9 / ODD_RATIO), 0);
  // Gaussian triples: the share replaced stays a few percent.
  const rng = createRandom(4, 1);
  let replaced = 0;
  for (let i = 0; i < 10_000; i++) {
    if (oddStart(rng.normal(), rng.normal(), rng.normal()) >= 0) replaced++;
  }
  assert.ok(replaced > 0 && replaced < 600, `${replaced} of 10,000`);
});

Deno.test("a count's tail: Poisson when its noise is at most its mean, negative binomial above", () => {
  const tail = (x: number, mean: number, variance: number) =>
    Math.exp(logCountTail(x, mean, variance)) / 2;
  // Poisson(1): P(X ≥ 5) = 0.003660, P(X ≥ 6) = 0.000594; Poisson(10): P(X ≤ 2) = 0.002769.
  assert.ok(Math.abs(tail(5, 1, 1) - 0.003660) < 1e-6);
  assert.ok(Math.abs(tail(6, 1, 0.9) - 0.000594) < 1e-6);
  assert.ok(Math.abs(tail(2, 10, 10) - 0.002769) < 1e-6);
  // Mean 2, variance 6: geometric, P(X ≥ k) = (2/3)^k, P(X = 0) = 1/3.
  assert.ok(Math.abs(tail(10, 2, 6) - (2 / 3) ** 10) < 1e-9);
  assert.ok(Math.abs(tail(0, 2, 6) - 1 / 3) < 1e-9);
  assert.equal(countDeviation(1, 1, 1), 0, "the mode is no deviation");
  assert.ok(countDeviation(60, 10, 10) > 10, "far out stays far out");
});

Deno.test("whole-number counts alert at the target rate; whole-number measurements stay Gaussian", () => {
  const rate = 1e-4, zStar = deviationForRate(rate);
  const rng = createRandom(12, 1), poisson = poissonOf(rng);
  const out = {
    z: new Float64Array(1),
    typical: new Float64Array(1),
    calibrated: new Float64Array(1),
  };
  // Errors a minute, mean 1 or 0.2, judged as Gaussian noise: 19 × and 87 × the target at 1e-4
  // (92 × and 598 × at 5e-6). A sparse count's forecast sank toward 0 after a run of zeros.
  for (const [mean, burst] of [[1, 12], [0.2, 6]]) {
    const b = createBaselines(1, { maxEntities: 1000 });
    let alerts = 0, judged = 0, caught = 0;
    for (let e = 0; e < 200; e++) {
      for (let i = 0; i < 2500; i++) {
        // A burst ends each entity's readings.
        b.judgeLearn(`s${e}`, [i === 2499 ? burst : poisson(mean)], 1767225600 + 60 * i, out);
        if (i === 2499) caught += out.calibrated[0] >= zStar ? 1 : 0;
        else if (i >= 300) {
          judged++;
          if (out.calibrated[0] >= zStar) alerts++;
        }
      }
    }
    assert.ok(alerts <= 2 * rate * judged, `mean ${mean}: ${alerts} alerts in ${judged}`);
    assert.ok(caught >= 180, `mean ${mean}: a burst of ${burst} caught ${caught} times in 200`);
  }
  // Integer degrees (noise far under the mean) are measurements: a step of 5 is caught.
  const degrees = createBaselines(1, {});
  for (let i = 0; i < 500; i++) {
    degrees.judgeLearn("t", [Math.round(20 + 0.6 * rng.normal())], 1767225600 + 60 * i, out);
  }
  degrees.judgeLearn("t", [25], 1767225600 + 60 * 500, out);
  assert.ok(out.calibrated[0] > 6, `${out.calibrated[0]}`);
});

Deno.test("overdispersed counts alert at the target rate, their runs too; a count stuck at its usual value is still caught", () => {
  // The chance of one value: Poisson(1) P(X = 1) = 1/e; mean 2, variance 6 is geometric.
  assert.ok(Math.abs(Math.exp(logCountChance(1, 1, 1)) - Math.exp(-1)) < 1e-9);
  assert.ok(Math.abs(Math.exp(logCountChance(4, 2, 6)) - (2 / 3) ** 4 / 3) < 1e-9);
  const rate = 1e-4, zStar = deviationForRate(rate);
  const rng = createRandom(13, 1), poisson = poissonOf(rng);
  // A gamma of `shape` ≥ 1 and mean 1 (Marsaglia and Tsang): a Poisson of mean m × it has
  // variance m + m² / shape.
  const gamma = (shape: number) => {
    const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = rng.normal(), v = (1 + c * x) ** 3;
      if (v > 0 && Math.log(rng.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
        return d * v / shape;
      }
    }
  };
  const out = {
    z: new Float64Array(1),
    typical: new Float64Array(1),
    calibrated: new Float64Array(1),
  };
  // Mean 20 and variance 60; mean 2 and variance 6 (geometric) with a daily cycle of ±50 %.
  // Judged on the noise's fast variance, and a run on the share of all repeats: 2.5 × and 1.7 ×
  // the target (a geometric's fast variance is under its mean most of the time, a value near a
  // count's mode repeats more often than the average one).
  const b = createBaselines(1, { maxEntities: 1000 });
  for (const [mean, shape, cycle] of [[20, 10, 0], [2, 1, 0.5]]) {
    let alerts = 0, judged = 0;
    for (let e = 0; e < 100; e++) {
      for (let i = 0; i < 4000; i++) {
        const m = mean * (1 + cycle * Math.sin(2 * Math.PI * i / 1440)) * gamma(shape);
        b.judgeLearn(`s${mean}-${e}`, [poisson(m)], 1767225600 + 60 * i, out);
        if (i < 300) continue;
        judged++;
        if (out.calibrated[0] >= zStar) alerts++;
      }
    }
    assert.ok(alerts <= 1.5 * rate * judged, `mean ${mean}: ${alerts} alerts in ${judged}`);
  }
  // A count of mean 20 stuck at 20, its mode: alerts within 16 readings.
  let stuck = 0;
  for (let i = 0; i < 16; i++) {
    b.judgeLearn("s20-0", [20], 1767225600 + 60 * (4000 + i), out);
    if (out.calibrated[0] >= zStar) stuck++;
  }
  assert.ok(stuck >= 1, "a stuck count is caught");
});

Deno.test("the deviation of a target false-alert rate, and bad options named", () => {
  assert.ok(Math.abs(deviationForRate(0.05) - 1.96) < 0.01);
  assert.ok(Math.abs(deviationForRate(1e-6) - 4.89) < 0.01);
  assert.ok(Math.abs(erfc(0) - 1) < 1e-7 && Math.abs(erfc(-1) - 1.8427) < 1e-4);
  assert.throws(() => deviationForRate(0), /rate must be in \(0, 1\), got 0/);
  assert.throws(() => createBaselines(1, { alpha: 2 }), /alpha must be in \(0, 1\), got 2/);
  assert.throws(() => createBaselines(1, { maxEntities: 0 }), /maxEntities .* got 0/);
});

Deno.test("a continuous reading stuck inside its normal range is caught; values that often repeat, or never varied, are not", () => {
  const zStar = deviationForRate(1e-6);
  const judgeRun = (b: ReturnType<typeof createBaselines>, key: string, value: number, n: number) =>
    Array.from({ length: n }, () => {
      const z = new Float64Array(1), t = new Float64Array(1), run = new Float64Array(1);
      b.judgeLearn(key, [value], undefined, { z, typical: t, run });
      return { z: z[0], run: run[0] };
    });
  const b = createBaselines(1);
  let x = 1;
  const noise = () => (x = (x * 16807) % 2147483647) / 2147483647 - 0.5;
  for (let i = 0; i < 500; i++) judge(b, "thermo", 20 + noise());
  // Stuck at its mean: no level deviation, yet flagged once its run is unlikely, at 4, 8, 16 …
  // (after 500 readings and no repeat, a repeat's chance is taken as about 1 in 500, the slow
  // share of repeats: two in a row, about 4e-6, are not rarer than the target of 1e-6; four are).
  const stuck = judgeRun(b, "thermo", 20, 20);
  assert.deepEqual(stuck.map((s) => s.run).slice(0, 5), [0, 1, 2, 3, 4], "repeats of the first");
  const flagged = stuck.filter((s) => Math.abs(s.z) >= zStar).map((s) => s.run);
  assert.deepEqual(flagged, [4, 8, 16], "flagged when its run reaches 4, 8, 16 repeats");
  // A counter that repeats half the time: runs are ordinary.
  const counter = createBaselines(1);
  for (let i = 0; i < 2000; i++) {
    const z = judge(counter, "c", Math.floor(i / 2) % 7).z[0];
    assert.ok(!(Math.abs(z) >= zStar) || i < 30, `counter flagged at ${i}`);
  }
  assert.ok(judgeRun(counter, "c", 3, 40).every((s) => Math.abs(s.z) < zStar || Number.isNaN(s.z)));
  // A series flat from its start has shown no variation to compare with.
  const flat = createBaselines(1);
  assert.ok(judgeRun(flat, "f", 5, 500).every((s) => !(Math.abs(s.z) >= zStar)));
  // A sensor whose first 20 readings were one value (a default before its first measurement)
  // and which then varied for 300: stuck again, it is caught as any other (its warm-up's repeats
  // do not make repeats its routine; counted, 19 in 320 readings put its share over 0.05).
  const late = createBaselines(1);
  judgeRun(late, "late", 21, 20);
  for (let i = 0; i < 300; i++) judge(late, "late", 20 + noise());
  const again = judgeRun(late, "late", 20, 20);
  const caught = again.filter((s) => Math.abs(s.z) >= zStar).map((s) => s.run);
  assert.ok(caught.includes(8) && caught.includes(16), `flagged at runs ${caught}`);
});

Deno.test("a young sensor stuck once is caught when it sticks again; one stuck on a schedule stops being judged", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const rng = createRandom(4, 2);
  const reading = () => Math.round((20 + 0.4 * rng.normal()) * 1000) / 1000;
  // Flagged runs of each stuck spell of `spells`, `between` varying readings apart, after a
  // warm-up of 60 readings.
  const spells = (count: number, between: number) => {
    const b = createBaselines(1), out = createJudgement(1);
    for (let i = 0; i < 60; i++) b.judgeLearn("s", [reading()], undefined, out);
    return Array.from({ length: count }, () => {
      const flagged: number[] = [];
      const stuck = reading();
      for (let i = 0; i < 20; i++) {
        b.judgeLearn("s", [stuck], undefined, out);
        if (BASES[out.basis[0]] === "flat" && out.calibrated[0] >= zStar) flagged.push(out.run[0]);
      }
      for (let i = 0; i < between; i++) b.judgeLearn("s", [reading()], undefined, out);
      return flagged;
    });
  };
  // Stuck for 20 readings at its 60th and again 40 readings later. The second spell went unjudged
  // when the first made repeats 19 of its 100 readings, "its routine", until its 380th reading.
  const [first, second, third] = spells(3, 40);
  assert.ok(first.length > 0 && second.length > 0, `spells flagged at runs ${first} / ${second}`);
  assert.ok(third.length > 0, `a third spell too: ${third}`);
  // Stuck 20 readings of every 80, from its start: a routine, judged on its first few spells only
  // (4 here; at a memory of 3,000 for every judged repeat, 11).
  const routine = spells(30, 60);
  assert.ok(routine[0].length > 0, "its first spell is flagged");
  assert.deepEqual(routine.slice(6).flat(), [], "no flat alert from its 7th spell on");
});

Deno.test("a daily cycle is learned per entity and hour: not flagged, and a step small against it still is", () => {
  const zStar = deviationForRate(1e-6);
  const day = 86_400;
  let x = 7;
  const noise = () => ((x = (x * 16807) % 2147483647) / 2147483647 - 0.5) * 0.4;
  // Every 10 minutes for 6 days: 20 ± 8 over the day, noise ±0.2.
  const value = (t: number) => 20 + 8 * Math.sin((2 * Math.PI * t) / day) + noise();
  const run = (season: "daily" | "none") => {
    const b = createBaselines(1, { season });
    let flagged = 0;
    for (let t = 0; t < 6 * day; t += 600) {
      const z = new Float64Array(1), typical = new Float64Array(1);
      b.judgeLearn("s", [value(t)], t, { z, typical });
      if (t > 2 * day && Math.abs(z[0]) >= zStar) flagged++;
    }
    const z = new Float64Array(1), typical = new Float64Array(1);
    // A step of 2 (10 noise units) at the peak hour: small against the cycle's 16.
    b.judgeLearn("s", [value(6 * day + day / 4) + 2], 6 * day + day / 4, { z, typical });
    return { flagged, step: z[0], typical: typical[0] };
  };
  const daily = run("daily"), plain = run("none");
  assert.equal(daily.flagged, 0, "the cycle itself is never flagged after its first days");
  assert.ok(daily.step >= zStar, `the step is caught against the hour's profile: ${daily.step}`);
  assert.ok(Math.abs(daily.typical - 28) < 1, `typical at the peak hour: ${daily.typical}`);
  assert.ok(
    plain.flagged > 0 || plain.step < zStar,
    "without the profile the cycle costs detection",
  );
  assert.throws(
    () => createBaselines(1, { season: "hourly" as "daily" }),
    /season must be one of daily, weekly, none, got hourly/,
  );
});

Deno.test("with extremes learned, a spike size an entity keeps showing stops alerting, a first one alerts; with `gaussian` every one does", () => {
  const zStar = deviationForRate(1e-5);
  const equivalent = studentScale(nullDegrees(BASELINE_DEFAULTS.alpha));
  const bursts = (extremes: "gaussian" | "learn") => {
    let x = 11;
    const noise = () => ((x = (x * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
    const b = createBaselines(1, { extremes });
    const step = (value: number) => {
      const z = new Float64Array(1), typical = new Float64Array(1);
      const calibrated = new Float64Array(1);
      b.judgeLearn("lb", [value], undefined, { z, typical, calibrated });
      return { z: z[0], calibrated: calibrated[0] };
    };
    for (let i = 0; i < 500; i++) {
      const r = step(10 + noise());
      if (!Number.isNaN(r.z)) {
        // The i-th event: a young entity's noise is an estimate from its i events.
        const eq = i >= 99 ? equivalent : studentScale(youngDegrees(BASELINE_DEFAULTS.alpha, i));
        assert.equal(r.calibrated, eq(r.z), "under 7 sd: the raw one's null equivalent");
      }
    }
    // A burst every 50 events, far out.
    const alerted: boolean[] = [];
    for (let burst = 0; burst < 10; burst++) {
      const r = step(40);
      assert.ok(Math.abs(r.z) > 20, `the raw deviation stays large: ${r.z}`);
      alerted.push(r.calibrated >= zStar);
      for (let i = 0; i < 49; i++) step(10 + noise());
    }
    return { alerted, larger: step(400).calibrated >= zStar };
  };
  const learned = bursts("learn");
  assert.deepEqual(learned.alerted.slice(0, 2), [true, true], "the first bursts alert");
  assert.ok(learned.alerted.slice(3).every((a) => !a), `then they stop: ${learned.alerted}`);
  assert.ok(learned.larger, "a far larger excursion is rare again for this entity");
  const gaussian = bursts("gaussian");
  assert.ok(gaussian.alerted.every((a) => a), "with gaussian extremes every burst alerts");
  assert.throws(
    () => createBaselines(1, { extremes: "often" as "learn" }),
    /extremes must be one of coarse, gaussian, learn, shape, got often/,
  );
});

Deno.test("by default a coarse or idle reading's routine bursts stop alerting, a finely varying one's keep alerting", () => {
  const zStar = deviationForRate(1e-5);
  // Two entities, the same bursts (40 every 50 events, then 400 once): "idle" reads 0 between
  // them (a count of rare events), "fine" a level of 10 with small Gaussian-like noise.
  const run = (between: () => number) => {
    const b = createBaselines(1);
    const step = (value: number) => {
      const z = new Float64Array(1), calibrated = new Float64Array(1);
      b.judgeLearn("e", [value], undefined, { z, typical: new Float64Array(1), calibrated });
      return calibrated[0];
    };
    for (let i = 0; i < 500; i++) step(between());
    const alerted: boolean[] = [];
    for (let burst = 0; burst < 10; burst++) {
      alerted.push(step(40) >= zStar);
      for (let i = 0; i < 49; i++) step(between());
    }
    return { alerted, larger: step(400) >= zStar };
  };
  let x = 7;
  const noise = () => ((x = (x * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
  const idle = run(() => 0), fine = run(() => 10 + noise());
  assert.ok(idle.alerted[0], "an idle reading's first burst alerts");
  assert.ok(idle.alerted.slice(3).every((a) => !a), `then its bursts stop: ${idle.alerted}`);
  assert.ok(idle.larger, "a far larger one alerts again");
  assert.ok(fine.alerted.every((a) => a), `every burst of a fine reading alerts: ${fine.alerted}`);
  // A reading to one decimal with noise of 0.5 (the seed's temperature) repeats about 6 % of the
  // time: judged as a fine one.
  const coarse = run(() => Math.round(10 * (10 + 10 * noise())) / 10);
  assert.ok(COARSE_REPEATS > 0.06);
  assert.ok(coarse.alerted.every((a) => a), `a reading to 0.1 is fine: ${coarse.alerted}`);
});

Deno.test("a weekly profile learns weekdays apart from weekends; a state of another season is refused", () => {
  const zStar = deviationForRate(1e-5);
  const hour = 3600, day = 24 * hour, end = 30 * 7 * day;
  let x = 5;
  const noise = () => ((x = (x * 16807) % 2147483647) / 2147483647 - 0.5) * 0.4;
  // Hourly for 30 weeks: 10 on weekdays, 30 on the two weekend days (ts 0 is a Thursday: days 2, 3).
  const weekend = (t: number) => [2, 3].includes(Math.floor(t / day) % 7);
  const value = (t: number) => (weekend(t) ? 30 : 10) + noise();
  const run = (season: "daily" | "weekly") => {
    const b = createBaselines(1, { season });
    let flagged = 0;
    const judge = (t: number, v: number) => {
      const z = new Float64Array(1), calibrated = new Float64Array(1);
      b.judgeLearn("s", [v], t, { z, typical: new Float64Array(1), calibrated });
      return calibrated[0];
    };
    for (let t = 0; t < end; t += hour) {
      if (judge(t, value(t)) >= zStar && t > 20 * 7 * day) flagged++;
    }
    // A weekday step of 2 (about 17 noise sd) at the end.
    return { flagged, step: judge(end + 12 * hour, value(end + 12 * hour) + 2), state: b.state() };
  };
  const weekly = run("weekly"), daily = run("daily");
  assert.ok(!weekend(end + 12 * hour));
  assert.equal(weekly.flagged, 0, "the weekend is learned as normal");
  assert.ok(weekly.step >= zStar, `the step is caught against the week's profile: ${weekly.step}`);
  assert.ok(daily.step < zStar, `an hour-of-day profile takes weekends for noise: ${daily.step}`);
  assert.throws(
    () => createBaselines(1, { season: "daily" }, weekly.state),
    new RegExp(
      `expected ${
        slotsOf("daily", false, true, false, true)
      } each \\(season daily, extremes shape\\)`,
    ),
  );
});

Deno.test("a feature's change since the previous event is judged when declared: a jump small against the level's noise is caught", () => {
  const zStar = deviationForRate(1e-5);
  // A smooth, wandering reading (a slow swing of ±10) with little jitter: the level's forecast
  // errors are wide, the changes from one event to the next are small.
  let x = 3;
  const jitter = () => ((x = (x * 16807) % 2147483647) / 2147483647 - 0.5) * 0.02;
  const value = (i: number) => 10 * Math.sin(i / 40) + jitter();
  const run = (change: boolean) => {
    const b = createBaselines(1, { change: [change], season: "none" });
    const judge = (v: number) => {
      const z = new Float64Array(1),
        typical = new Float64Array(1),
        calibrated = new Float64Array(1);
      b.judgeLearn("s", [v], undefined, { z, typical, calibrated });
      return { z: z[0], typical: typical[0], calibrated: calibrated[0] };
    };
    let flagged = 0;
    for (let i = 0; i < 3000; i++) if (judge(value(i)).calibrated >= zStar && i > 100) flagged++;
    return { flagged, jump: judge(value(3000) + 1), state: b.state() };
  };
  const withChange = run(true), without = run(false);
  assert.equal(withChange.flagged, 0, "the swing itself is not flagged");
  assert.ok(
    withChange.jump.calibrated >= zStar,
    `the jump is caught: ${withChange.jump.calibrated}`,
  );
  assert.ok(Math.abs(withChange.jump.typical - value(2999)) < 0.05, "typical: the previous value");
  assert.ok(without.jump.calibrated < zStar, `missed without it: ${without.jump.calibrated}`);
  // The change's variance, reference and flag, and its extremes' counts.
  assert.equal(
    withChange.state.values.length - without.state.values.length,
    slotsOf("daily", true, true) - slotsOf("daily", false, true),
  );
});

Deno.test("with the change judged, the return from a spike is not a second jump", () => {
  const zStar = deviationForRate(1e-6);
  let x = 5;
  const uniform = () => (x = (x * 16807) % 2147483647) / 2147483647;
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const b = createBaselines(1, { change: [true], season: "none" });
  const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
  const judge = (v: number) => {
    b.judgeLearn("s", [v], undefined, { z, typical, calibrated });
    return calibrated[0];
  };
  for (let i = 0; i < 2000; i++) judge(normal());
  assert.ok(judge(40 + normal()) >= zStar, "the spike alerts");
  const back = judge(normal());
  assert.ok(back < zStar, `the return does not: ${back}`);
});

Deno.test("with the change judged, the return after anomalies in a row is no jump, nor the second value of a step", () => {
  const zStar = deviationForRate(5e-6);
  const rng = createRandom(7, 0), normal = () => rng.normal();
  const b = createBaselines(1, { change: [true], season: "none" });
  const out = createJudgement(1);
  const judge = (v: number) => {
    b.judgeLearn("s", [v], undefined, out);
    return { calibrated: out.calibrated[0], basis: BASES[out.basis[0]], typical: out.typical[0] };
  };
  for (let i = 0; i < 2000; i++) judge(normal());
  // Two anomalies in a row, on either side, then normal readings: measured from the second
  // anomaly, the first two normal readings were each a jump (the seed stream's sensors: 101 false
  // alerts in 2 × 50,000 events).
  for (const [a, c] of [[25, -50], [30, 32], [-40, 25]]) {
    judge(a + normal());
    judge(c + normal());
    for (let k = 0; k < 3; k++) {
      const back = judge(normal());
      assert.ok(back.calibrated < zStar, `return ${k} after ${a}, ${c}: ${back.calibrated}`);
    }
    for (let i = 0; i < 200; i++) judge(normal());
  }
  // A lasting step alerts at its first value; its next values are changes from the previous one,
  // not from before the step (which judged the second value as a jump too).
  assert.ok(judge(20 + normal()).calibrated >= zStar, "the step alerts");
  for (let i = 0; i < 50; i++) {
    const j = judge(20 + normal());
    assert.ok(!(j.basis === "change" && j.calibrated >= zStar), `value ${i + 2} of the step`);
  }
});

Deno.test("a feature's recent level is judged when declared: a lasting shift of 2.5 noise units is caught within 10 events", () => {
  const zStar = deviationForRate(1e-6);
  // A Gaussian reading (σ = 1, Box–Muller over a fixed LCG), then a shift of +2.5σ that lasts.
  let x = 11;
  const uniform = () => (x = (x * 16807) % 2147483647) / 2147483647;
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const noise = Array.from({ length: 3020 }, normal);
  const run = (recent: boolean) => {
    const b = createBaselines(1, { recent: [recent], season: "none" });
    const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
    let before = 0, firstCaught = -1;
    for (let i = 0; i < noise.length; i++) {
      const shifted = i >= 3000;
      b.judgeLearn("s", [(shifted ? 2.5 : 0) + noise[i]], undefined, { z, typical, calibrated });
      if (!(calibrated[0] >= zStar)) continue;
      if (!shifted && i > 100) before++;
      if (shifted && firstCaught < 0) firstCaught = i - 3000;
    }
    return { before, firstCaught, state: b.state() };
  };
  const withRecent = run(true), without = run(false);
  assert.equal(withRecent.before, 0, "the noise itself is not flagged");
  assert.ok(
    withRecent.firstCaught >= 0 && withRecent.firstCaught < 10,
    `caught at event ${withRecent.firstCaught} of the shift`,
  );
  // Without it no single event stands out; only the drift, over more events, may catch it.
  assert.ok(
    without.firstCaught === -1 || without.firstCaught >= 10,
    `caught at event ${without.firstCaught} without it`,
  );
  assert.equal(withRecent.state.values.length, without.state.values.length + RECENT_SLOTS);
});

Deno.test("a shift's recent level is judged in the noise from before the shift: 3.5 sd for 5 events is caught 4 times in 5", () => {
  // The shift's own first events widened the entity's noise as they came (each adds α·z² to its
  // variance), and the recent level judged in that noise caught 67 of 100 such shifts within their
  // first 5 events.
  const zStar = deviationForRate(5e-6);
  let caught = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const rng = createRandom(seed, 1);
    const b = createBaselines(1, { recent: [true], season: "none" }), out = createJudgement(1);
    for (let i = 0; i < 1000; i++) b.judgeLearn("s", [rng.normal()], undefined, out);
    for (let k = 0; k < 5; k++) {
      b.judgeLearn("s", [3.5 + rng.normal()], undefined, out);
      if (out.calibrated[0] >= zStar) {
        caught++;
        break;
      }
    }
  }
  assert.ok(caught >= 80, `${caught} of 100 shifts caught within 5 events`);
});

Deno.test("on an entity's first day, an hour not seen yet is not flagged for the day's shape", () => {
  // 20 sensors, one reading a minute, a daily swing of ±10 noise sd: each new hour of the first
  // day was judged against the bare level (its offset unknown), and ~40 % of those first events
  // were flagged; now the previous hour's offset stands in until the hour has been seen.
  const zStar = deviationForRate(1e-6);
  let x = 3;
  const u = () => (x = (x * 16807) % 2147483647) / 2147483647;
  const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const b = createBaselines(1);
  let firstDay = 0, hourStarts = 0;
  for (let e = 0; e < 20; e++) {
    for (let t = 0; t < 86_400; t += 60) {
      const z = new Float64Array(1), typical = new Float64Array(1);
      b.judgeLearn(`s${e}`, [10 + 10 * Math.sin((2 * Math.PI * t) / 86_400) + normal()], t, {
        z,
        typical,
      });
      if (Math.abs(z[0]) >= zStar) firstDay++, hourStarts += t % 3600 === 0 ? 1 : 0;
    }
  }
  assert.equal(hourStarts, 0, "first events of the day's hours flagged");
  assert.ok(firstDay <= 2, `false alerts on the first day: ${firstDay} of ${20 * 1440}`);
});

Deno.test("a new entity is no more alert-prone in its first events than later", () => {
  // Its level and noise start as the plain mean and variance of its first values; an
  // exponentially weighted variance started at 0 is still ~45 % short when judging starts at
  // event 30, and the first 300 events of an entity drew 3.8 × the false alerts of the next 300.
  const zStar = deviationForRate(1e-4);
  let x = 5;
  const u = () => (x = (x * 16807) % 2147483647) / 2147483647;
  const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const b = createBaselines(1, { season: "none" });
  let early = 0, late = 0;
  for (let e = 0; e < 2000; e++) {
    for (let i = 0; i < 600; i++) {
      if (Math.abs(judge(b, `s${e}`, 10 + normal()).z[0]) >= zStar) i < 300 ? early++ : late++;
    }
  }
  // Judged events: 270 early (after the warm-up of 30), 300 late, per entity.
  assert.ok(early / 270 <= 2 * (late / 300), `early ${early} against late ${late}`);
  assert.ok(late > 0);
});

Deno.test("normal events alert at the target false-alert rate: deviations are judged on their null tail", () => {
  // 200 Gaussian sensors with a daily cycle, one reading a minute, after their first day. The
  // noise they are measured in is an estimate: on the Gaussian tail alone they alerted at 2.0 ×
  // a 1e-4 target and 3.1 × a 1e-5 one. With a faster level (alpha 0.05) the trend, then as fast,
  // drifted against the daily profile: 2.9 × at 1e-4.
  const run = (alpha: number, minutes: number, rates: number[]) => {
    let x = 9;
    const u = () => (x = (x * 48271) % 2147483647) / 2147483647;
    const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    const b = createBaselines(1, { alpha });
    const zStar = rates.map(deviationForRate), alerts = rates.map(() => 0);
    const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
    let judged = 0;
    for (let i = 0; i < minutes; i++) {
      for (let e = 0; e < 200; e++) {
        const v = 100 + e + 3 * Math.sin((2 * Math.PI * i) / 1440) + normal();
        b.judgeLearn(`s${e}`, [v], i * 60, { z, typical, calibrated });
        if (i < 1440) continue;
        judged++;
        rates.forEach((_, k) => alerts[k] += calibrated[0] >= zStar[k] ? 1 : 0);
      }
    }
    rates.forEach((rate, k) => {
      const ratio = alerts[k] / judged / rate;
      assert.ok(ratio > 0.6 && ratio < 1.5, `alpha ${alpha}, ${rate}: ${alerts[k]} of ${judged}`);
    });
  };
  run(0.02, 25_000, [1e-4, 1e-5]);
  run(0.05, 30_000, [1e-4]);
});

Deno.test("a one-sided feature alerts only on its side: a drop of a `high` feature decides nothing, a rise does, a flat line still does", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const rng = createRandom(4, 0);
  // Latencies around 100 ± 5, then a drop to 60 and a rise to 140 (8 sd each), then stuck.
  const run = (alertOn: ("both" | "high" | "low")[]) => {
    const b = createBaselines(1, { alertOn, season: "none" });
    const z = new Float64Array(1), typical = new Float64Array(1);
    const calibrated = new Float64Array(1), basis = new Uint8Array(1);
    const at = (v: number) => {
      b.judgeLearn("api", [v], undefined, { z, typical, calibrated, basis });
      return { alert: calibrated[0] >= zStar, basis: BASES[basis[0]] };
    };
    let normal = 0;
    for (let i = 0; i < 3000; i++) normal += at(100 + 5 * rng.normal()).alert ? 1 : 0;
    const drop = at(60).alert;
    for (let i = 0; i < 200; i++) at(100 + 5 * rng.normal());
    const rise = at(140).alert;
    for (let i = 0; i < 200; i++) at(100 + 5 * rng.normal());
    const stuck = Array.from({ length: 8 }, () => at(100)).filter((r) => r.alert);
    return { normal, drop, rise, stuck: stuck.map((r) => r.basis) };
  };
  const both = run(["both"]), high = run(["high"]), low = run(["low"]);
  assert.deepEqual([both.drop, both.rise], [true, true], "both sides alert by default");
  assert.deepEqual([high.drop, high.rise], [false, true], "high: the drop decides nothing");
  assert.deepEqual([low.drop, low.rise], [true, false], "low: the rise decides nothing");
  for (const r of [both, high, low]) {
    assert.equal(r.normal, 0, "no normal reading alerts");
    assert.deepEqual(r.stuck, ["flat", "flat"], "a stuck reading alerts on either side");
  }
  assert.throws(
    () => createBaselines(1, { alertOn: ["up" as "high"] }),
    /alertOn\[0\] must be one of both, high, low, got up/,
  );
});

Deno.test("a sensor that reports an error code for hours is judged as before it once its readings come back; the state round-trips mid-storm", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const rng = createRandom(3, 0);
  // A minute's reading of 20 ± 1 with a daily cycle of ±3 for 10 days, then −999 for 200 minutes
  // (an error code), then 10,000 normal readings but for 16 stuck at 20 from the 2,000th.
  const before = 14_400, storm = 200, after = 10_000, stuck = before + storm + 2000;
  const readings = Array.from({ length: before + storm + after }, (_, i) => {
    const normal = 20 + 3 * Math.sin((2 * Math.PI * i) / 1440) + rng.normal();
    return i >= before && i < before + storm ? -999 : i >= stuck && i < stuck + 16 ? 20 : normal;
  });
  const run = (b: ReturnType<typeof createBaselines>, from: number, to: number) =>
    judgeMinutes(b, readings, from, to, "calibrated");
  const b = createBaselines(1);
  run(b, 0, before + 100);
  // A checkpoint in the middle of the storm, resumed: the same judgements after it.
  // As a checkpoint writes it: JSON, NaN as null.
  const resumed = createBaselines(1, {}, JSON.parse(JSON.stringify(b.state())));
  assert.equal(b.state().excursions?.length, 1, "the state before the storm is kept");
  const rest = run(b, before + 100, readings.length);
  assert.deepEqual(run(resumed, before + 100, readings.length), rest);
  const at = stuck - before - 100;
  const alerts = [...rest.slice(100, at), ...rest.slice(at + 16)].filter((c) => c >= zStar);
  // Before the state from before the storm was kept: 42 alerts in the first 5,000 readings after.
  assert.ok(alerts.length <= 3, `${alerts.length} alerts in the 10,000 readings after the storm`);
  // The storm's repeats are forgotten too: a reading stuck soon after is still a flat line.
  assert.ok(rest.slice(at, at + 16).some((c) => c >= zStar), "the stuck reading alerts");
  assert.equal(b.state().excursions, undefined, "and it is put back, then dropped");
  // A storm that lasts beyond a day is a new normal: its state from before is dropped then, and
  // no other excursion starts while it goes on.
  const long = createBaselines(1);
  const z = new Float64Array(1), typical = new Float64Array(1);
  for (let i = 0; i < before + 2000; i++) {
    long.judgeLearn("s", [i < before ? readings[i] : -999], 60 * i, { z, typical });
    if (i === before + 1000) assert.equal(long.state().excursions?.length, 1, "under a day");
  }
  assert.equal(long.state().excursions, undefined, "beyond a day: a new normal");
});

Deno.test("an incident that has ended leaves the noise as it was: a 5-sd spike soon after is still caught", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  // 20 sensors read every minute, noise 1 around 20 with a daily cycle of ±3, for 3 days; each is
  // 8 sd off (half up, half down) for 30 readings from a minute of its third day, then back, and
  // 40 readings after that one reading lies exactly 5 sd above its noiseless value.
  const start = 2 * 1440 + 600, spike = start + 30 + 40;
  let incidents = 0, spikes = 0, normal = 0, judged = 0;
  for (let k = 0; k < 20; k++) {
    const rng = createRandom(17, k), b = createBaselines(1), at = start + 37 * k;
    const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
    let caught = false;
    for (let i = 0; i < 3 * 1440; i++) {
      const expected = 20 + 3 * Math.sin((2 * Math.PI * i) / 1440);
      const off = i >= at && i < at + 30 ? (k % 2 ? 8 : -8) : 0;
      const reading = i === spike + 37 * k ? expected + 5 : expected + off + rng.normal();
      b.judgeLearn("s", [reading], 60 * i, { z, typical, calibrated });
      if (i >= at && i < at + 30 && calibrated[0] >= zStar) caught = true;
      if (i === spike + 37 * k && calibrated[0] >= zStar) spikes++;
      if (i >= 1440 && (i < at || i >= at + 30) && i !== spike + 37 * k) {
        judged++;
        if (calibrated[0] >= zStar) normal++;
      }
    }
    if (caught) incidents++;
  }
  assert.equal(incidents, 20, "every incident alerts");
  // Before an incident was undone once it ended, none of the 20 spikes was caught (now 18; 15 when
  // an incident needed 6 sd): each was judged in a noise the incident had widened.
  assert.ok(spikes >= 15, `${spikes} of 20 spikes caught`);
  // The target allows about 3.4 of them.
  assert.ok(normal <= 10, `${normal} normal readings of ${judged} alert`);
});

Deno.test("two readings in a row 3.5 sd off start an incident too: a spike after a 5-sd shift that reached 4.5 sd nowhere is still caught", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  // 20 sensors read every minute, noise 1 around 20 with a daily cycle of ±3, for 3 days; each is
  // shifted 5 sd (half up, half down, with its noise: as the generator injects) for 30 readings
  // from a minute of its third day, and 40 readings after that one reading lies exactly 5 sd off
  // on the same side. A shift whose first reading lands under 4.5 sd (or does not jump 3 sd from
  // the one before) starts no incident by itself; its second reading confirms it.
  const start = 2 * 1440 + 600;
  let spikes = 0, normal = 0, judged = 0;
  for (let k = 0; k < 20; k++) {
    const rng = createRandom(41, k), b = createBaselines(1), at = start + 37 * k;
    const spike = at + 30 + 40, side = k % 2 ? 1 : -1;
    const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
    for (let i = 0; i < 3 * 1440; i++) {
      const expected = 20 + 3 * Math.sin((2 * Math.PI * i) / 1440);
      const off = i >= at && i < at + 30 ? 5 * side : 0;
      const reading = i === spike ? expected + 5 * side : expected + off + rng.normal();
      b.judgeLearn("s", [reading], 60 * i, { z, typical, calibrated });
      if (i === spike && calibrated[0] >= zStar) spikes++;
      if (i >= 1440 && (i < at || i >= at + 30) && i !== spike) {
        judged++;
        if (calibrated[0] >= zStar) normal++;
      }
    }
  }
  // With incidents started by one reading only, 11 of the 20 spikes were caught: the shifts that
  // started none widened the noise the spike was judged in. Now 18.
  assert.ok(spikes >= 15, `${spikes} of 20 spikes caught`);
  assert.ok(normal <= 10, `${normal} normal readings of ${judged} alert`);
});

Deno.test("a candidate incident survives a checkpoint: the reading after it confirms it as if none had been taken", () => {
  const rng = createRandom(43, 0);
  // 20 ± 1 with a daily cycle of ±3, a reading a minute for 2 days; then 4 sd up for 20 readings
  // (under the 4.5 sd one reading needs to start an incident by itself).
  const from = 2 * 1440;
  const readings = Array.from({ length: from + 400 }, (_, i) => {
    const expected = 20 + 3 * Math.sin((2 * Math.PI * i) / 1440);
    return i >= from && i < from + 20 ? expected + 4 : expected + rng.normal();
  });
  const b = createBaselines(1);
  judgeMinutes(b, readings, 0, from + 1, "calibrated");
  const state = b.state();
  assert.equal(state.excursions?.length, 1, "the first reading off is kept as a candidate");
  assert.equal(state.excursions[0].candidate, 1, "above its forecast");
  // As a checkpoint writes it: JSON.
  const resumed = createBaselines(1, {}, JSON.parse(JSON.stringify(state)));
  const rest = judgeMinutes(b, readings, from + 1, readings.length, "calibrated");
  assert.deepEqual(judgeMinutes(resumed, readings, from + 1, readings.length, "calibrated"), rest);
  // Confirmed by the next reading, the run was undone once it ended, from before its first.
  const after = createBaselines(1);
  judgeMinutes(after, readings, 0, from + 2, "calibrated");
  assert.equal(after.state().excursions?.[0].since, 60 * from, "an incident from the first");
  assert.equal(after.state().excursions?.[0].candidate, undefined, "no longer a candidate");
  assert.equal(b.state().excursions, undefined, "and it is put back, then dropped");
});

Deno.test("the way back from an incident is not another alert", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  // 20 sensors read every minute, noise 1 around 20 with a daily cycle of ±3, for 3 days; each is
  // 8 sd off (half up, half down) for 30 readings from a minute of its third day, then back. The
  // level has followed the shift some way by its end, so the first readings back lie several sd
  // from its forecast and a change of 8 sd from the reading before; they fit the state from
  // before the incident, and are judged against it. (The change since the previous reading and
  // the recent level are judged, as in the built-in contract.)
  let onset = 0, back = 0;
  for (let k = 0; k < 20; k++) {
    const rng = createRandom(37, k), at = 2 * 1440 + 600 + 37 * k;
    const b = createBaselines(1, { change: [true], recent: [true] });
    const readings = Array.from({ length: 3 * 1440 }, (_, i) => {
      const off = i >= at && i < at + 30 ? (k % 2 ? 8 : -8) : 0;
      return 20 + 3 * Math.sin((2 * Math.PI * i) / 1440) + off + rng.normal();
    });
    const calibrated = judgeMinutes(b, readings, 0, readings.length, "calibrated");
    if (calibrated[at] >= zStar) onset++;
    if (calibrated.slice(at + 30, at + 33).some((c) => c >= zStar)) back++;
  }
  assert.equal(onset, 20, "every incident alerts as it starts");
  // Judged against the forecast the incident dragged and as a change from the last reading of
  // the incident, the way back alerted on 12 sensors of 20.
  assert.equal(back, 0, `the way back alerts on ${back} sensors of 20`);
});

Deno.test("a shape that comes back each day is learned, not undone as an incident", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  // 10 sensors read every 5 minutes for 10 days: 20 ± 1 at night, 70 ± 4 from 9:00 to 18:00 (a
  // machine switched on). Each morning's jump is many sd from a forecast still learning it; it
  // must not start an incident that the evening's return ends, undoing the day.
  let alerts = 0, judged = 0;
  for (let k = 0; k < 10; k++) {
    const rng = createRandom(23, k), b = createBaselines(1);
    const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
    for (let i = 0; i < 10 * 288; i++) {
      const minute = (i % 288) * 5, on = minute >= 9 * 60 && minute < 18 * 60;
      b.judgeLearn("s", [on ? 70 + 4 * rng.normal() : 20 + rng.normal()], 300 * i, {
        z,
        typical,
        calibrated,
      });
      if (i < 2 * 288) continue;
      judged++;
      if (calibrated[0] >= zStar) alerts++;
    }
  }
  // Started in an hour whose first visit was the same day, or whose spread is routinely wide,
  // incidents undid each day: 116 and 563 alerts from the third day on.
  assert.ok(alerts <= 8, `${alerts} alerts in ${judged} readings from the third day on`);
});

Deno.test("an incident at the time of day of one the day before is learned, not undone; a checkpoint keeps when the last one began", () => {
  // A minute's reading of 20 ± 1 with a daily cycle of ±3; 8 sd up from 10:00 to 11:00 on the
  // third and the fourth day.
  const rng = createRandom(29, 0);
  const readings = Array.from({ length: 5 * 1440 }, (_, i) => {
    const minute = i % 1440, day = Math.floor(i / 1440);
    const up = (day === 2 || day === 3) && minute >= 600 && minute < 660 ? 8 : 0;
    return 20 + 3 * Math.sin((2 * Math.PI * i) / 1440) + up + rng.normal();
  });
  const run = (b: ReturnType<typeof createBaselines>, from: number, to: number) =>
    judgeMinutes(b, readings, from, to, "typical");
  const b = createBaselines(1);
  run(b, 0, 3 * 1440);
  const state = b.state();
  // It began within the incident's first minutes.
  const began = state.incidents?.map((e) => e.since / 60 - (2 * 1440 + 600));
  assert.ok(began?.length === 1 && began[0] >= 0 && began[0] < 5, `began at ${began}`);
  // As a checkpoint writes it: JSON.
  const resumed = createBaselines(1, {}, JSON.parse(JSON.stringify(state)));
  const rest = run(b, 3 * 1440, readings.length);
  assert.deepEqual(run(resumed, 3 * 1440, readings.length), rest);
  assert.equal(b.state().excursions, undefined, "no incident left under way");
  // Without when the third day's began, the resumed model undid the fourth day's as the first.
});

Deno.test("a forecast an odd day dragged away is learned back, not undone as an incident", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  // 20 sensors read every minute, 20 ± 1 with a daily cycle of ±3; on the third day each slides
  // down to 12 sd below from 8:00 to 9:00 and back by 10:00, a fifth of an sd a reading. The hours
  // it covered learn the slide, so on the fourth day their forecast is many sd off though no
  // reading moves: that must be learned back, not taken for an incident and undone.
  const alertsByDay = [0, 0, 0];
  for (let k = 0; k < 20; k++) {
    const rng = createRandom(31, k), b = createBaselines(1);
    const readings = Array.from({ length: 6 * 1440 }, (_, i) => {
      const minute = i % 1440, odd = i >= 2 * 1440 && i < 3 * 1440;
      const slide = minute < 480 || minute >= 600
        ? 0
        : minute < 540
        ? (minute - 480) / 60
        : minute < 570
        ? 1
        : (600 - minute) / 30;
      return 20 + 3 * Math.sin((2 * Math.PI * i) / 1440) - (odd ? 12 * slide : 0) + rng.normal();
    });
    const calibrated = judgeMinutes(b, readings, 0, readings.length, "calibrated");
    for (let day = 3; day < 6; day++) {
      const alerts = calibrated.slice(day * 1440, (day + 1) * 1440).filter((c) => c >= zStar);
      alertsByDay[day - 3] += alerts.length;
    }
  }
  // The fourth day alerts where the forecast is off (51 readings of 20 sensors' 28,800). Taken
  // for incidents (a reading 4.5 sd off without a jump from the one before), the fourth day's
  // mornings were undone and the fifth alerted as the fourth had: 41 and 7 alerts.
  const [, fifth, sixth] = alertsByDay;
  assert.ok(fifth + sixth <= 12, `${fifth} and ${sixth} alerts on the fifth and sixth days`);
});

Deno.test("a slow creep no single event shows is flagged as drift, within a few hundred events", () => {
  // 20 sensors, a reading every 5 minutes, Gaussian noise; from event 6,000 each creeps upwards by
  // 0.02 noise sd per event (a leak, a filling disk). The level follows it with a lag of under
  // one sd, so no single event stands out; the errors keep their sign, and their mean does.
  const rng = createRandom(11, 1);
  const b = createBaselines(1);
  const zStar = deviationForRate(5e-6);
  const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
  const basis = new Uint8Array(1);
  const first = new Map<number, number>();
  let before = 0;
  for (let i = 0; i < 7_000; i++) {
    for (let e = 0; e < 20; e++) {
      const v = 100 + e + (i >= 6_000 ? 0.02 * (i - 6_000) : 0) + rng.normal();
      b.judgeLearn(`s${e}`, [v], i * 300, { z, typical, calibrated, basis });
      if (!(calibrated[0] >= zStar)) continue;
      if (i < 6_000) before++;
      else if (!first.has(e)) {
        first.set(e, i - 6_000);
        assert.ok(z[0] > 0, `the drift is upwards: z ${z[0]}`);
        assert.equal(BASES[basis[0]], "drift", "the judgement says it is the drift");
      }
    }
  }
  assert.ok(before <= 1, `${before} alerts before the creep`);
  const delays = [...first.values()].sort((a, b) => a - b);
  assert.equal(delays.length, 20, `every creep is flagged: ${delays}`);
  assert.ok(delays[10] < 200, `half within 200 events: ${delays}`);
});

Deno.test("a lasting step is flagged at its start, not again by the drift while the level catches up", () => {
  const rng = createRandom(5, 1), normal = () => rng.normal();
  const b = createBaselines(1);
  const zStar = deviationForRate(5e-6);
  const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
  const first: number[] = [], later: string[] = [];
  for (let i = 0; i < 6_000; i++) {
    // 20 sensors, a reading a minute; at 11:20 on day 4 each one's level steps up by 30 noise
    // sd, for good.
    for (let e = 0; e < 20; e++) {
      const v = 100 + e + (i >= 5_000 ? 30 : 0) + normal();
      b.judgeLearn(`s${e}`, [v], i * 60, { z, typical, calibrated });
      if (i < 5_000 || !(calibrated[0] >= zStar)) continue;
      if (i === 5_000) first.push(e);
      // The level takes about 10 events to come within z* of the step; the hours after it are
      // new (their offsets the day before's, see the first-visit rule) but not flagged.
      else if (i >= 5_010) later.push(`s${e} +${i - 5_000}`);
    }
  }
  assert.equal(first.length, 20, "every step's first event is flagged");
  assert.deepEqual(later, [], "nothing flagged after the catch-up");
});

Deno.test("Gaussian readings every 5 minutes alert at the target rate, the drift's judgement included", () => {
  // On the drift's Gaussian tail these alerted at 1.9 × a 1e-4 target: its spread is itself an
  // estimate from a few tens of its correlation times.
  const rng = createRandom(17, 1), normal = () => rng.normal();
  const b = createBaselines(1);
  const zStar = deviationForRate(1e-4);
  const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
  let judged = 0, alerts = 0;
  for (let i = 0; i < 25_000; i++) {
    for (let e = 0; e < 60; e++) {
      b.judgeLearn(`s${e}`, [100 + e + normal()], i * 300, { z, typical, calibrated });
      if (i < 10_000) continue;
      judged++;
      if (calibrated[0] >= zStar) alerts++;
    }
  }
  const ratio = alerts / judged / 1e-4;
  assert.ok(ratio > 0.6 && ratio < 1.5, `${alerts} alerts in ${judged}: ${ratio} × the target`);
});

Deno.test("readings every 20 seconds with a daily cycle stay calibrated for weeks: the forecast does not swing wider day after day", () => {
  // With the trend learning at a 5-minute reading's weight per event, it fed on the level's moves
  // at each hour's turn, which the hourly offsets carried to the next day: these alerted at about
  // 100 × a 1e-4 target, the forecast off by hundreds of sd by the end.
  const rng = createRandom(23, 1);
  const b = createBaselines(1);
  const zStar = deviationForRate(1e-4);
  const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
  const basis = new Uint8Array(1);
  const days = 46, every = 20, sensors = 10, perDay = 86_400 / every;
  let judged = 0, alerts = 0, worst = 0;
  for (let i = 0; i < days * perDay; i++) {
    const cycle = 3 * Math.sin((2 * Math.PI * i * every) / 86_400);
    for (let e = 0; e < sensors; e++) {
      b.judgeLearn(`s${e}`, [100 + e + cycle + rng.normal()], i * every, {
        z,
        typical,
        calibrated,
        basis,
      });
      if (i < perDay) continue;
      judged++;
      if (calibrated[0] >= zStar) alerts++;
      // The forecast (a record's typical value is the record it passed instead).
      if (i >= (days - 1) * perDay && BASES[basis[0]] !== "record") {
        worst = Math.max(worst, Math.abs(typical[0] - 100 - e - cycle));
      }
    }
  }
  const ratio = alerts / judged / 1e-4;
  assert.ok(ratio < 1.6, `${alerts} alerts in ${judged}: ${ratio} × the target`);
  assert.ok(worst < 1.5, `on the last day the forecast is off by up to ${worst} sd`);
});

Deno.test("a sensor read every second is not flagged for drift when the clock turns an hour", () => {
  // An hour's first value moves its offset; the level's catching up after it is a run of
  // same-signed errors, which the drift took for a creep once it was judged (after 2,560 events).
  const rng = createRandom(5, 1);
  const b = createBaselines(1);
  const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
  const basis = new Uint8Array(1);
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const drift: number[] = [];
  for (let i = 0; i < 12 * 3600; i++) {
    b.judgeLearn("s", [rng.normal()], i, { z, typical, calibrated, basis });
    if (calibrated[0] >= zStar && BASES[basis[0]] === "drift") drift.push(i);
  }
  // At the default rate a chance drift alert may come (this stream has one, 42 minutes into an
  // hour); none comes in the 10 minutes after the clock turns an hour.
  assert.deepEqual(drift.filter((i) => i % 3600 < 600), [], `drift alerts at ${drift}`);
});

Deno.test("a sensor read every second keeps no slope it did not have: on its second day its first hour is forecast as it was learned", () => {
  // Its reading rate was taken from a day's count: until the first day closed the trend learned
  // at the full weight, kept a slope of 2e-5 an event for days, and the level drifted 2 sd away
  // from the offsets of the hours it had seen; 40 drift alerts when the clock came back to 00:00.
  const rng = createRandom(5, 1);
  const b = createBaselines(1);
  const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
  const basis = new Uint8Array(1);
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const alerts: string[] = [];
  let worst = 0;
  for (let i = 0; i < 26 * 3600; i++) {
    b.judgeLearn("s", [rng.normal()], 1767225600 + i, { z, typical, calibrated, basis });
    if (calibrated[0] >= zStar) alerts.push(`${i} ${BASES[basis[0]]}`);
    if (i >= 24 * 3600) worst = Math.max(worst, Math.abs(typical[0]));
  }
  // None when the clock comes back to 00:00, nor after any other hour's turn (a chance one may
  // come elsewhere at the default rate: this stream has one episode, 42 minutes into an hour).
  const drift = alerts.filter((a) => a.endsWith("drift")).map((a) => Number(a.split(" ")[0]));
  assert.deepEqual(
    drift.filter((i) => i % 3600 < 600 || (i >= 24 * 3600 && i < 25 * 3600)),
    [],
    alerts.join(", "),
  );
  assert.ok(worst < 1.5, `on the second day the forecast is off by up to ${worst} sd`);
});

Deno.test("a reading that rises steadily is followed by the trend: its noise stays its own, and without a season an 8-sd spike on it alerts", () => {
  // A damped trend lags a ramp by a constant many times its slope, which then counts as noise:
  // at 0.998 an event the noise came out 33 units for a true 1, and these spikes went unseen.
  const zStar = deviationForRate(1e-4);
  for (const season of ["none", "daily"] as const) {
    const rng = createRandom(7, 1);
    const b = createBaselines(1, { season });
    const z = new Float64Array(1), typical = new Float64Array(1), calibrated = new Float64Array(1);
    let missed = 0, square = 0, normal = 0;
    const noises: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const spike = i > 5_000 && i % 1_000 === 0;
      b.judgeLearn("s", [0.5 * i + rng.normal() + (spike ? 8 : 0)], i * 60, {
        z,
        typical,
        calibrated,
      });
      if (spike && !(calibrated[0] >= zStar)) missed++;
      if (!spike && i > 5_000) {
        square += z[0] ** 2;
        normal++;
      }
      if (i >= 10_000 && i % 100 === 0) noises.push(Math.sqrt(b.state().values[2]));
    }
    // With the daily profile an hour's offset, learned a day before, still lags at the hour's
    // turn, where a spike can go unseen, and the noise swings with the offsets' lag (from 1 to
    // about 20 here; its median over the last 10,000 readings 4–5): near its own without a season.
    if (season === "none") assert.equal(missed, 0, "spikes missed");
    const noise = noises.sort((a, c) => a - c)[noises.length >> 1];
    assert.ok(noise < (season === "none" ? 1.2 : 6), `${season}: median noise ${noise}`);
    assert.ok(Math.sqrt(square / normal) < 1.5, `${season}: rms deviation`);
  }
});

/**
 * 50 Gaussian sensors (noise 1) with a daily cycle of ±3, a reading a minute for 6 days, then
 * `change(e, i)` added at reading `i` (0 = the first after the 6 days) for 4 more days. Returns,
 * per sensor, the alerts after reading 0 at the default target rate and the forecast's mean
 * absolute error over readings 480 to 599 (the ninth and tenth hours after).
 */
function afterSixDays(change: (e: number, i: number) => number) {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const rng = createRandom(3, 1);
  const b = createBaselines(1);
  const out = {
    z: new Float64Array(1),
    typical: new Float64Array(1),
    calibrated: new Float64Array(1),
  };
  const start = 6 * 1440 + 630, sensors = 50;
  const alerts = new Array<number>(sensors).fill(0), error = new Array<number>(sensors).fill(0);
  for (let i = 0; i < start + 4 * 1440; i++) {
    const t = 1767225600 + 60 * i;
    for (let e = 0; e < sensors; e++) {
      const v = 10 + 3 * Math.sin((2 * Math.PI * t) / 86400) + rng.normal() +
        (i >= start ? change(e, i - start) : 0);
      b.judgeLearn(`s${e}`, [v], t, out);
      if (i > start && out.calibrated[0] >= zStar) alerts[e]++;
      if (i >= start + 480 && i < start + 600) error[e] += Math.abs(v - out.typical[0]) / 120;
    }
  }
  return { alerts, error };
}

Deno.test("a single glitch of 100 sd alerts once: the readings after it are not judged against a forecast it dragged away", () => {
  const quiet = afterSixDays(() => 0).alerts.reduce((a, c) => a + c, 0);
  const glitch = afterSixDays((e, i) => (i === 0 ? (e % 2 ? 100 : -100) : 0));
  // Before: the glitch moved the level by 2 sd and its hour's offset by 5, and the next reading
  // alerted at −7 sd on 34 of the 50 sensors.
  assert.ok(glitch.alerts.reduce((a, c) => a + c, 0) <= quiet + 1, glitch.alerts.join(","));
});

Deno.test("a lasting step of 100 sd is still followed: its second reading confirms it, and 10 hours on the readings are back within their noise of the forecast", () => {
  const { error } = afterSixDays(() => 100);
  // Had the step been held back at every reading, the forecast would still be about 16 sd short.
  // (Within the first hours the hours' offsets still carry part of the step: a single reading
  // 200 minutes on is 1–11 sd off, depending on the hour it falls in.)
  const mean = error.reduce((a, d) => a + d, 0) / error.length;
  assert.ok(
    mean < 1.2 && error.every((d) => d < 2),
    error.map((d) => d.toFixed(1)).join(","),
  );
});

Deno.test("deviations do not depend on the unit: the same readings in µ-units, units or mega-units are judged alike", () => {
  // A reading every 5 minutes for 8 days: a daily cycle, noise of 0.3, a spike, a flat run and a
  // lasting step, judged with every judgement on (change, recent level, the day).
  const judgements = (unit: number, offset = 0) => {
    const rng = createRandom(11, 0);
    const b = createBaselines(1, { change: [true], recent: [true], season: "weekly" });
    const out = createJudgement(1), calibrated: number[] = [];
    let flat = 0;
    for (let i = 0; i < 8 * 288; i++) {
      const t = 1767225600 + 300 * i;
      let v = 20 + 2 * Math.sin((2 * Math.PI * t) / 86400) + 0.3 * rng.normal();
      if (i === 1500) v += 3;
      if (i >= 1800 && i < 1830) v = flat ||= v;
      if (i >= 2000) v += 1.5;
      b.judgeLearn("s", [v * unit + offset], t, out);
      calibrated.push(out.calibrated[0]);
    }
    return calibrated;
  };
  const units = judgements(1);
  const alerts = units.filter((c) =>
    c >= deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate)
  );
  assert.ok(alerts.length >= 3, `the spike, the flat run and the step alert: ${alerts.length}`);
  for (const [unit, offset] of [[1e-6, 0], [1e-9, 0], [1e6, 0], [1, 1e4]]) {
    const other = judgements(unit, offset);
    const worst = units.reduce((m, c, i) => Math.max(m, Math.abs(c - other[i]) || 0), 0);
    assert.ok(worst < 1e-3, `×${unit} +${offset}: calibrated deviations differ by up to ${worst}`);
  }
});

Deno.test("a daily shape that climbs within hours is forecast along its slope; one that jumps at an hour's turn is still read as steps", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const day = 86_400, start = 1767225600;
  // A reading every 5 minutes for 3 weeks, noise 3, then a day whose shape is missing.
  const run = (shape: (hour: number) => number) => {
    const rng = createRandom(17, 0);
    const b = createBaselines(1), out = createJudgement(1);
    let normal = 0, missing = 0;
    for (let t = start; t < start + 22 * day; t += 300) {
      const hour = ((t - start) % day) / 3600, last = t >= start + 21 * day;
      const v = (last ? 20 : shape(hour)) + 3 * rng.normal();
      b.judgeLearn("s", [v], t, out);
      const alert = out.calibrated[0] >= zStar;
      if (t >= start + 7 * day && !last && alert) normal++;
      if (last && alert) missing++;
    }
    return { normal, missing };
  };
  // Traffic: 20 at night, climbing to 100 from 7:00 to 9:00, falling back from 18:00 to 21:00.
  const ramp = run((h) =>
    20 + 80 * Math.min(1, Math.max(0, (h - 7) / 2)) - 80 * Math.min(1, Math.max(0, (h - 18) / 3))
  );
  // A machine: 20, and 80 from 9:00 to 18:00.
  const square = run((h) => (h >= 9 && h < 18 ? 80 : 20));
  // Read as steps the ramp's first reading at 7:00 alerted about once a day (15 in these 2 weeks).
  assert.ok(ramp.normal <= 1, `ramp: ${ramp.normal} alerts in 2 weeks of normal days`);
  assert.ok(square.normal <= 1, `steps: ${square.normal} alerts in 2 weeks of normal days`);
  assert.ok(ramp.missing > 0 && square.missing > 0, "a day without its shape alerts");
});

Deno.test("an incident late in an hour is not the hour's shape: the next day its first readings are not alerted", () => {
  // 20 sensors read every minute with a daily cycle; on their third day, from 22:40 to 23:00,
  // every reading is 16 sd up (memory leaking), or down (a feed stuck low). The hour's offset
  // learned those readings whole: the next day at 22:00 the forecast jumped to the incident's
  // level and its first readings alerted (56 and 48 alerts in 22:00–22:30; 5 and 1 now).
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const day = 86_400, start = 1767225600, sensors = 20;
  for (const size of [16, -16]) {
    const rng = createRandom(41, 0);
    const b = createBaselines(1), out = createJudgement(1);
    const caught = new Set<number>();
    let echo = 0;
    for (let t = start; t < start + 4 * day; t += 60) {
      const minute = ((t - start) / 60) % 1440, d = Math.floor((t - start) / day);
      const incident = d === 2 && minute >= 22 * 60 + 40 && minute < 23 * 60;
      for (let k = 0; k < sensors; k++) {
        const cycle = 3 * Math.sin((2 * Math.PI * minute) / 1440);
        b.judgeLearn(`s${k}`, [50 + k + cycle + rng.normal() + (incident ? size : 0)], t, out);
        if (out.calibrated[0] < zStar) continue;
        if (incident) caught.add(k);
        if (d === 3 && minute >= 22 * 60 && minute < 22 * 60 + 30) echo++;
      }
    }
    assert.equal(caught.size, sensors, `the incident is alerted on ${caught.size} sensors`);
    assert.ok(echo <= 10, `${size} sd: ${echo} alerts the next day at 22:00–22:30`);
  }
});

Deno.test("a weekly profile read every 5 minutes learns each hour of the week as its mean: a morning climb is not alerted at its start", () => {
  const zStar = deviationForRate(THRESHOLD_DEFAULTS.targetFalseAlertRate);
  const day = 86_400, start = 1767225600, rng = createRandom(19, 0);
  const b = createBaselines(1, { season: "weekly" }), out = createJudgement(1);
  let alerts = 0;
  // 20 at night, climbing to 100 from 7:00 to 9:00, falling back from 18:00 to 21:00, noise 3.
  for (let t = start; t < start + 7 * 7 * day; t += 300) {
    const h = ((t - start) % day) / 3600;
    const v = 20 + 80 * Math.min(1, Math.max(0, (h - 7) / 2)) -
      80 * Math.min(1, Math.max(0, (h - 18) / 3)) + 3 * rng.normal();
    b.judgeLearn("s", [v], t, out);
    if (t >= start + 3 * 7 * day && out.calibrated[0] >= zStar) alerts++;
  }
  // At 0.35 an event, an hour of the week kept its last few readings: 7:00 was forecast at
  // about 8:00's value, and the climb's start alerted most days (40 in these 4 weeks). Now 2 at
  // the default rate of 3e-5, 0.24 expected by chance in these 8,064 readings (at 5e-6: 0).
  assert.ok(alerts <= 2, `${alerts} alerts in 4 weeks`);
});

Deno.test("a young entity's events alert at about the target: its noise is judged as an estimate from its few events", () => {
  // 10,000 Gaussian entities, 20 at a time, each judged from its 30th to its 59th event (after
  // the warm-up), at 1e-3. Judged on the mature entity's t tail (80 degrees of freedom) they
  // alerted at 2.5 × the target; with their change and recent level judged too (the built-in
  // sensor contract's), at 4.7 ×, the change's noise being its first change's square, fading.
  const rate = 1e-3, zStar = deviationForRate(rate);
  for (const options of [{}, { change: [true], recent: [true] }]) {
    const b = createBaselines(1, { maxEntities: 100, ...options });
    const out = createJudgement(1), rng = createRandom(5, 1);
    let judged = 0, alerts = 0;
    for (let g = 0; g < 10_000; g += 20) {
      for (let i = 0; i < 60; i++) {
        for (let e = g; e < g + 20; e++) {
          b.judgeLearn(`e${e}`, [50 + (e % 50) + rng.normal()], (g * 60 + i) * 300, out);
          if (Number.isNaN(out.calibrated[0])) continue;
          judged++;
          if (out.calibrated[0] >= zStar) alerts++;
        }
      }
    }
    assert.equal(judged, 10_000 * 30);
    const ratio = alerts / judged / rate;
    assert.ok(
      ratio > 0.8 && ratio < 2,
      `${JSON.stringify(options)}: the first 30 judged events of each: ${ratio} × the target`,
    );
  }
});

Deno.test("an event's place in its hour and week is its time's remainder, in [0, period)", () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 4e12 }),
    fc.constantFrom(3600, 86400, 604800),
    (ms, period) => {
      const ts = ms / 1000, into = secondsInto(ts, period);
      assert.ok(into >= 0 && into < period, `${ts} in ${period}: ${into}`);
      // The remainder of a double by a double is exact.
      assert.equal(into, ts % period);
    },
  ));
  // Just under and at a period's boundary, and before 1970 (the same place, a period on).
  assert.equal(secondsInto(604800 * 2900 - 2 ** -20, 604800), 604800 - 2 ** -20);
  assert.equal(secondsInto(604800 * 2900, 604800), 0);
  assert.equal(secondsInto(-1, 3600), 3599);
  assert.equal(secondsInto(-604800 * 3 + 0.25, 604800), 0.25);
  // Far beyond 2⁵³ the quotient's rounding leaves the range: the remainders' form decides.
  for (const ts of [1e300, -1e300, 2 ** 60 + 2 ** 9, Number.MAX_VALUE]) {
    const into = secondsInto(ts, 3600);
    assert.ok(into >= 0 && into < 3600, `${ts}: ${into}`);
  }
});

Deno.test("an entity's change noise is the mean square of its changes: plain over its first ones, then weighted", () => {
  // Changes of a zero-mean quantity are squared about 0: a young entity's noise is their plain
  // mean (it was 0.90 of it at the 30th change), a mature one's their weighted mean (it was 0.98).
  const o = { warmUp: 30, alpha: BASELINE_DEFAULTS.alpha };
  const s = new Float64Array(3), rng = createRandom(9, 1);
  const scale = (z: number) => z;
  let v = 100, sum = 0;
  for (let n = 1; n <= 40; n++) {
    const d = rng.normal();
    judgeChange(s, 0, n, v + d, v, o, false, false, scale, 0);
    v += d;
    sum += d * d;
    assert.ok(Math.abs(s[0] - sum / n) < 1e-12 * (sum / n), `change ${n}: ${s[0]} for ${sum / n}`);
  }
  // Changes of ±2 from then on, every one: their mean square is 4.
  for (let n = 41; n < 3000; n++) {
    const d = n % 2 ? 2 : -2;
    judgeChange(s, 0, n, v + d, v, o, false, false, scale, 0);
    v += d;
  }
  assert.ok(Math.abs(s[0] - 4) < 1e-9, `mature: ${s[0]}`);
});

Deno.test("a reading that rests at exactly 0 each night alerts on its first nights, not every night", () => {
  // A machine read every minute: 3 kW ± 0.2 while on, exactly 0 while off, 2–6 hours a night
  // from about 22:00, for 30 days. Each night's run of zeros was judged on the share of repeats
  // of the last few dozen readings (none), and alerted at 2, 4, 8 … 256 repeats: 203 flat alerts.
  const rng = createRandom(2, 9);
  const b = createBaselines(1), out = createJudgement(1);
  const start = 1767225600, zStar = deviationForRate(5e-6);
  const flatAlertDays = new Set<number>();
  let offFrom = 0, offTo = 0;
  for (let t = start; t < start + 30 * 86_400; t += 60) {
    const day = Math.floor((t - start) / 86_400), sec = (t - start) % 86_400;
    if (sec === 0) {
      offFrom = 22 * 3600 + Math.floor(rng.next() * 3600);
      offTo = offFrom + (2 + 4 * rng.next()) * 3600;
    }
    const off = day >= 3 && (sec >= offFrom && sec < offTo || sec + 86_400 < offTo);
    b.judgeLearn("press-4", [off ? 0 : 3 + 0.2 * rng.normal()], t, out);
    if (BASES[out.basis[0]] === "flat" && out.calibrated[0] >= zStar) flatAlertDays.add(day);
  }
  assert.ok(flatAlertDays.size > 0, "its first nights alert");
  assert.ok(Math.max(...flatAlertDays) < 10, `flat alerts on days ${[...flatAlertDays]}`);
});

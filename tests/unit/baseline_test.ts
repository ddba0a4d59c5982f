import assert from "node:assert/strict";
import { createBaselines, deviationForRate, erfc } from "../../src/baseline.ts";

const judge = (b: ReturnType<typeof createBaselines>, key: string, ...x: number[]) => {
  const z = new Float64Array(x.length), t = new Float64Array(x.length);
  b.judgeLearn(key, x, z, t);
  return { z: [...z], typical: [...t] };
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

Deno.test("a far-out value does not widen the noise the next ones are judged against", () => {
  const b = createBaselines(1, { warmUp: 10 });
  for (let i = 0; i < 300; i++) judge(b, "s", 10 + 0.1 * Math.sin(i));
  judge(b, "s", 60);
  assert.ok(judge(b, "s", 60).z[0] > 5, "a second spike is still caught");
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
      b.judgeLearn(key, [value], z, t, run);
      return { z: z[0], run: run[0] };
    });
  const b = createBaselines(1);
  let x = 1;
  const noise = () => (x = (x * 16807) % 2147483647) / 2147483647 - 0.5;
  for (let i = 0; i < 500; i++) judge(b, "thermo", 20 + noise());
  // Stuck at its mean: no level deviation, yet flagged once its run is unlikely, at 2, 4, 8 …
  const stuck = judgeRun(b, "thermo", 20, 20);
  assert.deepEqual(stuck.map((s) => s.run).slice(0, 5), [0, 1, 2, 3, 4], "repeats of the first");
  const flagged = stuck.filter((s) => Math.abs(s.z) >= zStar).map((s) => s.run);
  assert.deepEqual(flagged, [2, 4, 8, 16], "flagged when its run reaches 2, 4, 8, 16 repeats");
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
});

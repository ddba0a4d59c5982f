import assert from "node:assert/strict";
import {
  INJECTIONS,
  labelledFeatures,
  multiEntityEvents,
  SEED_RATES,
  sensorEvents,
} from "../../src/sensors.ts";

function take(n: number, options = {}) {
  const out = [];
  for (const e of sensorEvents(options)) {
    if (out.length === n) break;
    out.push(e);
  }
  return out;
}

Deno.test("the stream is deterministic for a seed and differs between seeds", () => {
  assert.deepEqual(take(500, { seed: 3 }), take(500, { seed: 3 }));
  assert.notDeepEqual(take(50, { seed: 3 }), take(50, { seed: 4 }));
});

Deno.test("injections follow the seed's table", () => {
  const n = 200_000;
  const counts = Object.fromEntries(INJECTIONS.map((k) => [k, 0]));
  for (const { injected } of take(n, { seed: 1 })) counts[injected]++;
  for (const [name, rate] of Object.entries(SEED_RATES)) {
    const share = counts[name] / n;
    assert.ok(Math.abs(share - rate) < 0.15 * rate, `${name}: ${share} vs ${rate}`);
  }
});

Deno.test("each injection does what its name says; normal events pass the range checks", () => {
  const start = 1767347851;
  for (const { event, injected } of take(50_000, { seed: 2, startTs: start, rate: 20 })) {
    switch (injected) {
      case "missing_value":
        assert.ok(!("value" in event));
        break;
      case "out_of_range":
        assert.equal(event.value, 9999);
        break;
      case "stale":
        assert.ok(event.ts < start - 2.9 * 86400);
        break;
      case "value":
        assert.ok(Math.abs(event.value!) >= 12 && Math.abs(event.value!) <= 100, `${event.value}`);
        break;
      case "temperature":
        assert.ok(event.temperature! <= 80 && event.temperature! >= -20);
        assert.ok(event.temperature! > 40 || event.temperature! < 12, `${event.temperature}`);
        break;
      case "none":
        assert.ok(
          Math.abs(event.value!) < 12 && event.temperature! > 12 && event.temperature! < 40,
        );
        break;
    }
    assert.match(event.sensor_id, /^sensor-\d+$/);
    assert.ok(["OK", "WARN", "FAIL"].includes(event.status));
  }
});

Deno.test("labelled features keep only model-bound events, labelled by injection", () => {
  const data = labelledFeatures(10_000, { seed: 1 });
  const share = data.labels.reduce((a, b) => a + b, 0) / data.n;
  assert.ok(share > 0.025 && share < 0.037, `anomaly share ${share}`);
  assert.ok(data.features.every(Number.isFinite));
});

Deno.test("the multi-entity stream's level shifts keep one direction for all their events", () => {
  // Against the mean of the sensor's last 10 normal readings: a 5-noise-sd shift stays on one side.
  let shifts = 0, i = 0;
  const recent = new Map<string, number[]>(), open = new Map<string, number[]>();
  for (const { event, injected } of multiEntityEvents({ seed: 3 })) {
    if (i++ === 60_000) break;
    const id = event.sensor_id, before = recent.get(id) ?? [], run = open.get(id);
    const temperature = event.temperature!;
    if (injected === "shift") {
      const reference = before.reduce((a, b) => a + b, 0) / before.length;
      open.set(id, [...(run ?? []), temperature - reference]);
      continue;
    }
    if (run) {
      shifts++;
      assert.equal(run.length, 30, "a shift lasts 30 events");
      assert.ok(run.every((d) => Math.sign(d) === Math.sign(run[0])), `${id}: ${run}`);
      open.delete(id);
    }
    if (injected === "none") recent.set(id, [...before, temperature].slice(-10));
  }
  assert.ok(shifts > 20, `shifts seen: ${shifts}`);
});

Deno.test("the multi-entity stream's truth: normal readings are its noise around `expected`, spikes 5 noise sd off", () => {
  const normal: number[][] = [[], []], spikes: number[] = [];
  let i = 0;
  for (const e of multiEntityEvents({ seed: 3 })) {
    if (i++ === 30_000) break;
    const x = [e.event.value!, e.event.temperature!];
    const d = x.map((v, f) => (v - e.expected[f]) / e.noise[f]);
    if (e.injected === "none") d.forEach((z, f) => normal[f].push(z));
    if (e.injected === "spike") spikes.push(Math.abs(d[1]));
  }
  for (const zs of normal) {
    const mean = zs.reduce((a, z) => a + z, 0) / zs.length;
    const sd = Math.sqrt(zs.reduce((a, z) => a + (z - mean) ** 2, 0) / zs.length);
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(sd - 1) < 0.03, `sd ${sd}`);
  }
  const mean = spikes.reduce((a, z) => a + z, 0) / spikes.length;
  assert.ok(
    spikes.length > 20 && Math.abs(mean - 5) < 0.5,
    `${spikes.length} spikes, mean ${mean}`,
  );
});

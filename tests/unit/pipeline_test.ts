import assert from "node:assert/strict";
import { CHECKS } from "../../src/event.ts";
import { createDetector, isWarm } from "../../src/hst/mod.ts";
import { parseContract } from "../../src/contract/spec.ts";
import { explainOf } from "../../src/outputs.ts";
import { createPipeline } from "../../src/pipeline.ts";
import { sensorEvents } from "../../src/sensors.ts";
import { createRandom } from "../../src/random.ts";
import { createThreshold } from "../../src/threshold.ts";

const encoder = new TextEncoder();
const START = 1_767_347_851;

function stream(n: number, seed = 1) {
  const out = [];
  for (const e of sensorEvents({ seed, startTs: START })) {
    if (out.length === n) break;
    out.push(e);
  }
  return out;
}

Deno.test("W = 1, 2, 3 workers give exactly the single-threaded detector's scores and decisions", async () => {
  const events = stream(6000);
  const values = events.map((e) => encoder.encode(JSON.stringify(e.event)));
  // Single-threaded reference over the events that reach the model.
  const det = createDetector({ limits: [[-100, 100], [-20, 80]], seed: 42 });
  const threshold = createThreshold({ mode: "adaptive" });
  const expected: number[] = [];
  const flags: boolean[] = [];
  for (const { event, injected } of events) {
    if (["missing_value", "out_of_range", "stale"].includes(injected)) continue;
    const s = det.scoreLearn([event.value!, event.temperature!]);
    expected.push(s);
    flags.push(threshold.observe(s, isWarm(expected.length - 1, 250)));
  }
  for (const workers of [1, 2, 3]) {
    const pipeline = await createPipeline({
      workers,
      clock: "event",
      forest: { seed: 42 },
      threshold: { mode: "adaptive" },
    });
    try {
      const scores: number[] = [];
      const anomalies: boolean[] = [];
      for (let s = 0; s < values.length; s += 777) {
        const out = await pipeline.process(values.slice(s, s + 777));
        for (let i = 0; i < out.n; i++) {
          if (out.status[i] === 0) {
            scores.push(out.score[i]);
            anomalies.push(out.anomaly[i] === 1);
          }
        }
      }
      assert.equal(scores.length, expected.length, `W=${workers}: valid count`);
      assert.ok(scores.every((s, k) => s === expected[k]), `W=${workers}: scores differ`);
      assert.deepEqual(anomalies, flags, `W=${workers}: decisions differ`);
    } finally {
      await pipeline.close();
    }
  }
});

Deno.test("context mode: per-entity baselines, decisions and alert scores are identical for W = 1, 2, 3", async () => {
  const values = stream(6000, 9).map((e) => encoder.encode(JSON.stringify(e.event)));
  const runs = [];
  for (const workers of [1, 2, 3]) {
    const pipeline = await createPipeline({ workers, clock: "event", forest: { seed: 42 } });
    try {
      const got = { anomaly: [] as number[], alert: [] as number[], dev: [] as number[] };
      for (let s = 0; s < values.length; s += 501) {
        const out = await pipeline.process(values.slice(s, s + 501));
        got.anomaly.push(...out.anomaly);
        got.alert.push(...out.alertScore);
        got.dev.push(...out.deviation);
      }
      const state = await pipeline.snapshot();
      runs.push({ got, baselines: state.baselines });
    } finally {
      await pipeline.close();
    }
  }
  assert.ok(runs[0].got.anomaly.some((a) => a === 1), "context mode flags the injected anomalies");
  for (const r of runs.slice(1)) {
    assert.deepEqual(r.got, runs[0].got);
    assert.deepEqual(r.baselines, runs[0].baselines);
  }
  assert.equal(runs[0].baselines.keys.length, 5, "one baseline per sensor");
});

Deno.test("each injected fault is rejected by its check, with the event-time clock", async () => {
  const events = stream(4000, 2);
  const pipeline = await createPipeline({ workers: 2, clock: "event" });
  try {
    const out = await pipeline.process(events.map((e) => encoder.encode(JSON.stringify(e.event))));
    const expectedCheck: Record<string, string> = {
      none: "ok",
      value: "ok",
      temperature: "ok",
      missing_value: "required",
      out_of_range: "range_value",
      stale: "freshness",
    };
    events.forEach((e, i) => {
      assert.equal(
        CHECKS[out.status[i]],
        expectedCheck[e.injected],
        `event ${i} (${e.injected}): ${out.reasons[i]}`,
      );
      if (out.status[i] !== 0) assert.ok(out.reasons[i]);
    });
  } finally {
    await pipeline.close();
  }
});

Deno.test("the wall clock rejects events older than the freshness lag", async () => {
  const pipeline = await createPipeline({ workers: 1, now: () => START + 1000 });
  try {
    const mk = (ts: number) => encoder.encode(JSON.stringify({ sensor_id: "s", ts, value: 1 }));
    const out = await pipeline.process([mk(START + 999), mk(START), null]);
    assert.deepEqual([...out.status].map((c) => CHECKS[c]), ["ok", "freshness", "schema"]);
    assert.match(out.reasons[2]!, /empty record/);
  } finally {
    await pipeline.close();
  }
});

Deno.test("the event clock survives one wild time: a time in milliseconds is rejected saying so, a year typed wrong does not reject the rows after it, a real gap still moves the clock", async () => {
  const pipeline = await createPipeline({ workers: 1, clock: "event" });
  try {
    const mk = (ts: number) => encoder.encode(JSON.stringify({ sensor_id: "s", ts, value: 1 }));
    const times = [
      START,
      START * 1000 + 60_000, // milliseconds where the contract reads seconds
      START + 120,
      START + 25 * 365 * 86_400, // a year typed wrong: taken for a gap at first
      START + 180, // fresh against the clock before that jump: the jump was one wild time
      START + 240,
      START + 30 * 86_400, // a real gap of a month
      START + 30 * 86_400 + 60,
      START + 240, // before the gap: stale
    ];
    const out = await pipeline.process(times.map(mk));
    assert.deepEqual([...out.status].map((c) => CHECKS[c]), [
      "ok",
      "schema",
      "ok",
      "ok",
      "ok",
      "ok",
      "ok",
      "ok",
      "freshness",
    ]);
    assert.match(out.reasons[1]!, /after the year 3000 \(read as milliseconds it would be now/);
  } finally {
    await pipeline.close();
  }
});

Deno.test("a pipeline resumed from a snapshot scores and decides as if it had never stopped", async () => {
  const values = stream(5000, 4).map((e) =>
    encoder.encode(JSON.stringify({ ...e.event, ts: START }))
  );
  // The resumed segment starts with an extreme event: it must be judged with the saved threshold.
  values[2100] = encoder.encode(
    JSON.stringify({ sensor_id: "sensor-1", ts: START, value: 97, temperature: 78 }),
  );
  const options = { now: () => START, forest: { seed: 3 } };
  const original = await createPipeline({ ...options, workers: 2 });
  let resumed;
  try {
    await original.process(values.slice(0, 2100));
    const state = structuredClone(await original.snapshot());
    assert.equal(state.scored, original.scored);
    const expected = await original.process(values.slice(2100));
    resumed = await createPipeline({ ...options, workers: 3, state });
    const got = await resumed.process(values.slice(2100));
    assert.deepEqual(got.score, expected.score);
    assert.deepEqual(got.threshold, expected.threshold, "the threshold goes on from the saved one");
    assert.deepEqual(got.anomaly, expected.anomaly);
    assert.equal(got.anomaly[0], 1, "the extreme event right after the restart is flagged");
    assert.deepEqual((await resumed.snapshot()).threshold, (await original.snapshot()).threshold);
    assert.ok(got.anomaly.some((a) => a === 1), "anomalies right after the restart, no warm-up");
    await assert.rejects(
      createPipeline({ ...options, forest: { seed: 4 }, state }),
      /model state does not fit these parameters/,
    );
  } finally {
    await original.close();
    await resumed?.close();
  }
});

Deno.test("a snapshot restores at another target false-alert rate, also one whose key names the earlier default; other settings still refuse it", async () => {
  const values = stream(1200, 4).map((e) =>
    encoder.encode(JSON.stringify({ ...e.event, ts: START }))
  );
  const options = { now: () => START, forest: { seed: 3 } };
  const original = await createPipeline({ ...options, threshold: { targetFalseAlertRate: 1e-4 } });
  const opened: Awaited<ReturnType<typeof createPipeline>>[] = [];
  try {
    await original.process(values.slice(0, 1000));
    const state = structuredClone(await original.snapshot());
    const expected = await original.process(values.slice(1000));
    // A key written before the rate left it (checkpoint format 21 until then) names the rate,
    // after the threshold's mode.
    const entries = Object.entries(JSON.parse(state.model)).flatMap(([k, v]) =>
      k === "mode" ? [[k, v], ["targetRate", 5e-6]] : [[k, v]]
    );
    const older = { ...state, model: JSON.stringify(Object.fromEntries(entries)) };
    assert.notEqual(older.model, state.model);
    for (const from of [state, older]) {
      const p = await createPipeline({ ...options, state: from });
      opened.push(p);
      const got = await p.process(values.slice(1000));
      assert.deepEqual(got.score, expected.score, "the forest goes on from the saved state");
      assert.deepEqual(got.calibrated, expected.calibrated, "and so do the baselines");
    }
    await assert.rejects(
      createPipeline({ ...options, forest: { seed: 4 }, state: older }),
      /model state does not fit these parameters/,
    );
    await assert.rejects(
      createPipeline({ ...options, state: { ...older, model: "{not json" } }),
      /model state does not fit these parameters/,
    );
  } finally {
    await original.close();
    for (const p of opened) await p.close();
  }
});

Deno.test("models are kept per key: interleaved partitions score as separate pipelines, and a model moves through its snapshot", async () => {
  const encode = (e: { event: object }) =>
    encoder.encode(JSON.stringify({ ...e.event, ts: START }));
  const streams = [stream(1500, 5).map(encode), stream(1500, 6).map(encode)];
  const options = { now: () => START, forest: { seed: 7 } };
  const shared = await createPipeline({ ...options, workers: 2, initialModel: false });
  const alone = await Promise.all(streams.map(() => createPipeline({ ...options, workers: 1 })));
  let moved;
  try {
    await shared.open(3);
    await shared.open(8);
    assert.deepEqual(shared.models, [3, 8]);
    await assert.rejects(shared.process(streams[0].slice(0, 10), 0), /model 0 is not open/);
    // Batches of both partitions alternate, as kafkajs hands them over.
    for (let at = 0; at < 1000; at += 250) {
      for (const [k, key] of [3, 8].entries()) {
        const got = await shared.process(streams[k].slice(at, at + 250), key);
        const expected = await alone[k].process(streams[k].slice(at, at + 250));
        assert.deepEqual(got.score, expected.score, `partition ${key} at ${at}`);
      }
    }
    assert.equal(shared.scoredBy(3), alone[0].scored);
    assert.equal(shared.scored, alone[0].scored + alone[1].scored);
    // Partition 8 moves to another instance: its snapshot opens there and scores on the same.
    const state = structuredClone(await shared.snapshot(8));
    await shared.drop(8);
    assert.deepEqual(shared.models, [3]);
    moved = await createPipeline({ ...options, workers: 3, initialModel: false });
    await moved.open(8, state);
    const got = await moved.process(streams[1].slice(1000), 8);
    const expected = await alone[1].process(streams[1].slice(1000));
    assert.deepEqual(got.score, expected.score);
    assert.deepEqual(got.anomaly, expected.anomaly);
  } finally {
    await shared.close();
    await moved?.close();
    for (const p of alone) await p.close();
  }
});

/** A contract of one entity `id` with one feature, `level`, declared as `feature` says. */
const levelContract = (
  name: string,
  feature: { change?: boolean; recent?: boolean; alert_on?: string },
) =>
  parseContract({
    name,
    version: 1,
    key: "id",
    time: { field: "ts", freshness_lag_sec: null },
    fields: {
      id: { type: "string" },
      ts: { type: "timestamp" },
      level: { type: "number", min: -100, max: 100 },
    },
    features: [{ field: "level", ...feature }],
  }, `${name}.yaml`);

Deno.test("a contract's `change: true` reaches the baselines: a jump on a smooth reading alerts, shown against the previous value", async () => {
  const contractWith = (change: boolean) => levelContract("smooth", { change });
  const enc = new TextEncoder();
  // A slow swing of ±10 with ±0.01 jitter, then a jump of 1.
  const value = (i: number) => 10 * Math.sin(i / 40) + 0.01 * Math.sin(i * 12.9898);
  const records = Array.from({ length: 3001 }, (_, i) =>
    enc.encode(JSON.stringify({
      id: "a",
      ts: 1_767_225_600 + 60 * i,
      level: Number((value(i) + (i === 3000 ? 1 : 0)).toFixed(4)),
    })));
  const run = async (change: boolean) => {
    const p = await createPipeline({ workers: 1, clock: "event", contract: contractWith(change) });
    try {
      let last;
      for (let i = 0; i < records.length; i += 500) {
        last = await p.process(records.slice(i, i + 500));
      }
      return last!;
    } finally {
      await p.close();
    }
  };
  const withChange = await run(true), without = await run(false);
  const k = withChange.n - 1;
  assert.equal(withChange.anomaly[k], 1, "the jump alerts with the change judged");
  assert.equal(without.anomaly[k], 0, "and not without it");
  const [top] = explainOf(withChange, k, ["level"]);
  assert.equal(top.by, "change", "the alert says it is the change that deviates");
  assert.ok(
    Math.abs(top.typical! - Number(value(2999).toFixed(4))) < 1e-3,
    `typical ${top.typical}`,
  );
  let flagged = 0;
  for (let i = 0; i < k; i++) flagged += withChange.anomaly[i];
  assert.equal(flagged, 0, "the swing itself never alerts in the last batch");
});

Deno.test("a contract's `recent: true` reaches the baselines: a lasting shift no single event shows alerts", async () => {
  const contractWith = (recent: boolean) => levelContract("steady", { recent });
  const enc = new TextEncoder();
  // Gaussian noise (σ = 1, a fixed LCG), then from event 3000 a shift of +2.5σ for 20 events.
  let x = 11;
  const uniform = () => (x = (x * 16807) % 2147483647) / 2147483647;
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const records = Array.from({ length: 3020 }, (_, i) =>
    enc.encode(JSON.stringify({
      id: "a",
      ts: 1_767_225_600 + 60 * i,
      level: Number(((i >= 3000 ? 2.5 : 0) + normal()).toFixed(4)),
    })));
  const run = async (recent: boolean) => {
    const p = await createPipeline({
      workers: 1,
      clock: "event",
      contract: contractWith(recent),
      baseline: { season: "none" },
      // At 5e-6 (z* 4.56) a 2.5-sd shift's single events stay under the bar; at the default
      // (4.17) one of its events with noise of +1.9 sd or more would reach it by itself.
      threshold: { targetFalseAlertRate: 5e-6 },
    });
    const flags: number[] = [];
    try {
      for (let i = 0; i < records.length; i += 500) {
        const r = await p.process(records.slice(i, i + 500));
        for (let k = 0; k < r.n; k++) {
          flags.push(r.anomaly[k]);
          if (r.anomaly[k] && recent) bases.add(explainOf(r, k, ["level"])[0].by ?? "level");
        }
      }
      return flags;
    } finally {
      await p.close();
    }
  };
  const bases = new Set<string>();
  const withRecent = await run(true), without = await run(false);
  const sum = (a: number[]) => a.reduce((s, f) => s + f, 0);
  assert.ok(bases.has("recent"), `an alert says it is the recent level: ${[...bases]}`);
  assert.equal(sum(withRecent.slice(300, 3000)), 0, "the noise never alerts");
  assert.ok(
    sum(withRecent.slice(3000, 3010)) > 0,
    "the shift alerts within 10 events with the recent level judged",
  );
  // Without it no single event stands out; only the drift, over more events, may catch it.
  assert.equal(sum(without.slice(3000, 3010)), 0, "and not without it");
});

/**
 * The anomaly flag of each of `records` (one entity's `level`) through a pipeline whose contract
 * declares the feature `alert_on: alertOn`, in threshold `mode` (default: the default mode).
 */
async function sidedFlags(
  records: readonly Uint8Array[],
  alertOn?: string,
  mode?: "adaptive" | "quantile",
): Promise<number[]> {
  const contract = levelContract("sided", alertOn ? { alert_on: alertOn } : {});
  const p = await createPipeline({
    workers: 1,
    clock: "event",
    contract,
    ...(mode ? { threshold: { mode } } : {}),
  });
  const flags: number[] = [];
  try {
    for (let i = 0; i < records.length; i += 700) {
      const r = await p.process(records.slice(i, i + 700));
      for (let k = 0; k < r.n; k++) flags.push(r.anomaly[k]);
    }
    return flags;
  } finally {
    await p.close();
  }
}

/**
 * 2,101 readings of entity `a`'s `level`, one a minute, 50 ± 1 (seed `seed`) but `drop` at event
 * 2000 and `rise` at event 2100.
 */
function levelReadings(seed: number, drop: number, rise: number): Uint8Array[] {
  const rng = createRandom(seed, 0);
  return Array.from({ length: 2101 }, (_, i) =>
    encoder.encode(JSON.stringify({
      id: "a",
      ts: 1_767_225_600 + 60 * i,
      level: Number((i === 2000 ? drop : i === 2100 ? rise : 50 + rng.normal()).toFixed(3)),
    })));
}

Deno.test("a contract's `alert_on: high` reaches the baselines: a drop decides nothing, a rise alerts", async () => {
  // Readings of 50 ± 1; event 2000 drops 10 (10 sd), event 2100 rises 10.
  const records = levelReadings(6, 40, 60);
  const run = (alertOn?: string) => sidedFlags(records, alertOn);
  const both = await run(), high = await run("high"), low = await run("low");
  assert.deepEqual([both[2000], both[2100]], [1, 1], "both sides alert without it");
  assert.deepEqual([high[2000], high[2100]], [0, 1], "high: only the rise");
  assert.deepEqual([low[2000], low[2100]], [1, 0], "low: only the drop");
});

Deno.test("a contract's `scale: log` judges amounts by factors: a spread that grows with the level stops alerting, a 20 × amount still alerts, shown in the field's units", async () => {
  const contractWith = (scale?: "log") =>
    parseContract({
      name: "amounts",
      version: 1,
      key: "account",
      time: { field: "ts", freshness_lag_sec: null },
      fields: {
        account: { type: "string" },
        ts: { type: "timestamp" },
        amount: { type: "number", min: 0, max: 100_000 },
      },
      features: [{ field: "amount", min: 0, max: 5000, ...(scale ? { scale } : {}) }],
    }, "amounts.yaml");
  // 20 accounts, each with its own typical amount (5 to 2,000), log-normal around it (σ 0.5 of
  // the log: a few percent of payments are 2.3 × the typical one or more); the last event of
  // account 7 is 20 × its typical amount.
  const rng = createRandom(3, 0), accounts = 20, perAccount = 2500;
  const typical = Array.from({ length: accounts }, (_, a) => 5 * 400 ** (a / (accounts - 1)));
  const n = accounts * perAccount, last = n - accounts + 7;
  const records = Array.from({ length: n }, (_, i) => {
    const a = i % accounts;
    const amount = i === last ? 20 * typical[a] : typical[a] * Math.exp(0.5 * rng.normal());
    return encoder.encode(JSON.stringify({
      account: `acc-${a}`,
      ts: 1_767_225_600 + 60 * Math.floor(i / accounts),
      amount: Number(amount.toFixed(2)),
    }));
  });
  const run = async (scale?: "log") => {
    const p = await createPipeline({ workers: 1, clock: "event", contract: contractWith(scale) });
    let normal = 0;
    try {
      for (let i = 0; i < n; i += 5000) {
        const r = await p.process(records.slice(i, i + 5000));
        for (let k = 0; k < r.n; k++) if (i + k !== last) normal += r.anomaly[k];
        if (i + r.n === n) return { normal, r, k: last - i };
      }
      throw new Error("unreachable");
    } finally {
      await p.close();
    }
  };
  const linear = await run(), log = await run("log");
  // 50,000 normal payments at the default target rate of 3e-5 are 1.5 false alerts expected.
  assert.ok(linear.normal >= 20, `linear: ${linear.normal} normal payments alert`);
  assert.ok(log.normal <= 2, `log: ${log.normal} normal payments alert`);
  assert.equal(log.r.anomaly[log.k], 1, "the 20 × amount alerts on the log scale");
  const [top] = explainOf(log.r, log.k, ["amount"]);
  assert.equal(top.actual, Number((20 * typical[7]).toFixed(2)), "actual is the amount paid");
  const ratio = top.typical! / typical[7];
  assert.ok(ratio > 1 / 1.3 && ratio < 1.3, `typical ${top.typical} for ${typical[7]}`);
});

Deno.test("a contract's `time.cycles` gives the forest the time of day: a daytime level at night is isolated, not without it", async () => {
  const contractWith = (cycles: string[]) =>
    parseContract({
      name: "office",
      version: 1,
      key: "id",
      time: { field: "ts", freshness_lag_sec: null, cycles },
      fields: {
        id: { type: "string" },
        ts: { type: "timestamp" },
        load: { type: "number", min: 0, max: 100 },
      },
      features: ["load"],
    }, "office.yaml");
  const enc = new TextEncoder();
  // Every 15 minutes (the forest's window of 250 events spans more than a day, as it must for
  // a cycle): load 80 ± 2 from 08:00 to 20:00 UTC, 20 ± 2 at night; then, on day 9 at 03:00,
  // the daytime load.
  const start = 1_767_225_600, every = 900;
  const records = Array.from({ length: 8 * 96 + 12 }, (_, i) => {
    const ts = start + every * i, hour = Math.floor((ts % 86_400) / 3600);
    const day = hour >= 8 && hour < 20;
    const load = (day ? 80 : 20) + 2 * Math.sin(i * 12.9898);
    return { ts, load };
  });
  records.push({ ts: records.at(-1)!.ts + every, load: 80 });
  const values = records.map((r) => enc.encode(JSON.stringify({ id: "a", ...r })));
  const run = async (cycles: string[]) => {
    const p = await createPipeline({
      workers: 2,
      clock: "event",
      contract: contractWith(cycles),
      threshold: { mode: "adaptive" },
    });
    try {
      let last;
      for (let i = 0; i < values.length; i += 200) last = await p.process(values.slice(i, i + 200));
      return { last: last!, features: p.features };
    } finally {
      await p.close();
    }
  };
  const withDay = await run(["day"]), without = await run([]);
  const k = withDay.last.n - 1;
  assert.equal(withDay.last.anomaly[k], 1, `isolated: score ${withDay.last.score[k]}`);
  assert.equal(without.last.anomaly[k], 0, "without the cycle it is an ordinary load");
  // Of the last batch's other events, only some at the switch between night and day (08:00,
  // 20:00: a level seen twice a day) may be flagged.
  const batchStart = records.length - withDay.last.n;
  for (let i = 0; i < k; i++) {
    if (!withDay.last.anomaly[i]) continue;
    const t = records[batchStart + i].ts % 86_400;
    const fromSwitch = Math.min(Math.abs(t - 8 * 3600), Math.abs(t - 20 * 3600));
    assert.ok(fromSwitch <= 2 * every, `flagged at ${t / 3600} h, away from a switch`);
  }
  assert.deepEqual(withDay.features, ["load"], "the cycle is the forest's, not a field");
  assert.throws(
    () => contractWith(["day", "day"]),
    /time\.cycles: expected each cycle at most once/,
  );
  assert.throws(() => contractWith(["month"]), /time\.cycles\.0/);
});

Deno.test("a quantity in small units is judged as in any other: an error ratio of 2e-6 ± 1e-7 alerts on a jump of 1e-6, and its alert shows its figures", async () => {
  const contract = parseContract({
    name: "ratios",
    version: 1,
    key: "service",
    time: { field: "ts", freshness_lag_sec: null },
    fields: {
      service: { type: "string" },
      ts: { type: "timestamp" },
      ratio: { type: "number", min: 0, max: 1 },
    },
    features: [{ field: "ratio", min: 0, max: 1e-4 }],
  }, "ratios.yaml");
  const rng = createRandom(5, 0), n = 3000, last = n - 1;
  const records = Array.from({ length: n }, (_, i) =>
    encoder.encode(JSON.stringify({
      service: "checkout",
      ts: 1_767_225_600 + 60 * i,
      ratio: i === last ? 3.2e-6 : 2e-6 + 1e-7 * rng.normal(),
    })));
  const p = await createPipeline({ workers: 1, clock: "event", contract });
  try {
    const r = await p.process(records);
    const normal = r.anomaly.slice(0, last).reduce((a, c) => a + c, 0);
    assert.ok(normal <= 1, `${normal} normal readings alert`);
    assert.equal(r.anomaly[last], 1, "a jump of 12 noise units alerts");
    const [top] = explainOf(r, last, ["ratio"]);
    assert.equal(top.actual, 3.2e-6);
    assert.ok(Math.abs(top.typical! - 2e-6) < 1e-7, `typical ${top.typical}`);
  } finally {
    await p.close();
  }
});

Deno.test("a contract's time zone: a daily shape that follows local time is not alerted when daylight saving moves it against UTC", async () => {
  const contractIn = (zone?: string) =>
    parseContract({
      name: "traffic",
      version: 1,
      key: "road",
      time: { field: "ts", freshness_lag_sec: null, ...(zone ? { zone } : {}) },
      fields: {
        road: { type: "string" },
        ts: { type: "timestamp" },
        cars: { type: "number", min: 0, max: 1000 },
      },
      features: [{ field: "cars", min: 0, max: 1000 }],
    }, "traffic.yaml");
  // Cars every 5 minutes on a New York road, from 20 at night up to 100 between 7:00 and 9:00
  // local time and back down from 18:00 to 21:00 (noise 3), for 7 weeks before the change to
  // daylight saving (2025-03-09) and one after.
  const hours = new Intl.DateTimeFormat("en-US", {
    timeZone: "America/New_York",
    hourCycle: "h23",
    hour: "numeric",
    minute: "numeric",
  });
  const start = Date.parse("2025-01-19T05:00:00Z") / 1000,
    change = Date.parse("2025-03-09T07:00:00Z") / 1000;
  const rng = createRandom(8, 0), records: Uint8Array[] = [], times: number[] = [];
  for (let ts = start; ts < change + 7 * 86_400; ts += 300) {
    const [h, m] = hours.format(new Date(ts * 1000)).split(":").map(Number);
    const local = h + m / 60;
    const cars = 20 + 80 * Math.min(1, Math.max(0, (local - 7) / 2)) -
      80 * Math.min(1, Math.max(0, (local - 18) / 3)) + 3 * rng.normal();
    records.push(
      encoder.encode(JSON.stringify({ road: "I-95", ts, cars: Number(cars.toFixed(1)) })),
    );
    times.push(ts);
  }
  const alertsAfterChange = async (zone?: string) => {
    const p = await createPipeline({ workers: 1, clock: "event", contract: contractIn(zone) });
    let alerts = 0;
    try {
      for (let i = 0; i < records.length; i += 5000) {
        const r = await p.process(records.slice(i, i + 5000));
        for (let k = 0; k < r.n; k++) if (times[i + k] >= change) alerts += r.anomaly[k];
      }
    } finally {
      await p.close();
    }
    return alerts;
  };
  const local = await alertsAfterChange("America/New_York"), utc = await alertsAfterChange();
  assert.ok(local <= 1, `local time: ${local} alerts in the week after the change`);
  assert.ok(utc >= 10, `UTC: ${utc} alerts in the week after the change`);
});

Deno.test("in a forest threshold mode a one-sided feature's quiet side is not alerted either: the forest flags a drop, `alert_on: high` keeps it quiet", async () => {
  // Readings of 50 ± 1; event 2000 drops to 10, event 2100 rises to 90.
  const records = levelReadings(7, 10, 90);
  const run = (mode: "adaptive" | "quantile", alertOn?: string) =>
    sidedFlags(records, alertOn, mode);
  for (const mode of ["adaptive", "quantile"] as const) {
    const both = await run(mode), high = await run(mode, "high"), low = await run(mode, "low");
    assert.deepEqual([both[2000], both[2100]], [1, 1], `${mode}: the forest flags both`);
    assert.deepEqual([high[2000], high[2100]], [0, 1], `${mode}, high: only the rise`);
    assert.deepEqual([low[2000], low[2100]], [1, 0], `${mode}, low: only the drop`);
    const others = (f: number[]) => f.filter((a, i) => a && i !== 2000 && i !== 2100).length;
    assert.ok(others(high) <= others(both), `${mode}: no alert added`);
  }
});

Deno.test("normal events of a contract of 10 features alert at about the target rate, not 10 × it", async () => {
  const features = Array.from({ length: 10 }, (_, f) => `m${f}`);
  const contract = parseContract({
    name: "many",
    version: 1,
    key: "id",
    time: { field: "ts", freshness_lag_sec: null },
    fields: {
      id: { type: "string" },
      ts: { type: "timestamp" },
      ...Object.fromEntries(features.map((f) => [f, { type: "number", min: -100, max: 200 }])),
    },
    features,
  }, "many.yaml");
  const rate = 1e-3, rng = createRandom(21), entities = 20, readings = 2500, judgedFrom = 500;
  const p = await createPipeline({
    workers: 1,
    clock: "event",
    contract,
    threshold: { targetFalseAlertRate: rate },
  });
  let alerts = 0, judged = 0;
  try {
    for (let i = 0; i < readings; i += 50) {
      const batch: Uint8Array[] = [];
      for (let r = i; r < i + 50; r++) {
        for (let e = 0; e < entities; e++) {
          const event: Record<string, unknown> = { id: `e${e}`, ts: START + 60 * r };
          features.forEach((f, k) => event[f] = Number((50 + e + 5 * k + rng.normal()).toFixed(4)));
          batch.push(encoder.encode(JSON.stringify(event)));
        }
      }
      const out = await p.process(batch);
      for (let k = 0; k < out.n; k++) {
        if (i + Math.floor(k / entities) < judgedFrom) continue;
        judged++;
        alerts += out.anomaly[k];
      }
    }
  } finally {
    await p.close();
  }
  // Judged feature by feature, each at the whole target, these events alerted at about 9 × it.
  const expected = rate * judged;
  assert.ok(alerts <= 2 * expected, `${alerts} alerts, ${expected} expected`);
  assert.ok(alerts >= 0.2 * expected, `${alerts} alerts, ${expected} expected`);
});

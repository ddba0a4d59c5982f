import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { testTopic } from "../helpers/kafka.ts";
import { committed, produce, readAll, startProcessor, waitFor } from "../helpers/processor.ts";
import { sensorEvents } from "../../src/sensors.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

async function topics(name: string, partitions = 1) {
  return {
    events: await testTopic(`${name}-events`, partitions),
    alerts: await testTopic(`${name}-alerts`),
    dlq: await testTopic(`${name}-dlq`),
  };
}

function envFor(
  t: Awaited<ReturnType<typeof topics>>,
  group: string,
  extra: Record<string, string> = {},
) {
  return {
    TOPIC_EVENTS: t.events.name,
    TOPIC_ALERTS: t.alerts.name,
    TOPIC_DLQ: t.dlq.name,
    CONSUMER_GROUP: group,
    WORKERS: "2",
    ...extra,
  };
}

/** The generator's normal events with ts = now, `n` of them. */
function normalEvents(n: number, seed: number) {
  const now = Date.now() / 1000;
  const out = [];
  for (
    const { event, injected } of sensorEvents({
      seed,
      rates: { value: 0, temperature: 0, missing_value: 0, out_of_range: 0, stale: 0 },
    })
  ) {
    if (out.length === n) break;
    if (injected === "none") out.push({ ...event, ts: now });
  }
  return out;
}

Deno.test("a known mix gives exact check counts, dead letters with headers, alerts for the extremes, committed offsets", async () => {
  const t = await topics("mix");
  await using _e = t.events, _a = t.alerts, _d = t.dlq;
  const now = Date.now() / 1000;
  const normal = normalEvents(400, 5).map((e) => JSON.stringify(e));
  const faults: [string, string][] = [
    [JSON.stringify({ sensor_id: "s-1", ts: now, temperature: 20 }), "required"],
    [JSON.stringify({ sensor_id: "s-1", ts: now, value: 9999 }), "range_value"],
    [
      JSON.stringify({ sensor_id: "s-1", ts: now, value: 1, temperature: -45 }),
      "range_temperature",
    ],
    [JSON.stringify({ sensor_id: "s-1", ts: now - 3 * 86400, value: 1 }), "freshness"],
    ["{not json", "schema"],
    [JSON.stringify({ sensor_id: "s-1", ts: now, value: "NaN" }), "schema"],
    ["", "schema"],
  ];
  const extremes = [
    JSON.stringify({ sensor_id: "sensor-x", ts: now, value: 95, temperature: 75 }),
    JSON.stringify({ sensor_id: "sensor-y", ts: now, value: -90, temperature: -15 }),
    JSON.stringify({ sensor_id: "sensor-z", ts: now, value: 60, temperature: 70 }),
  ];
  const values = [
    ...normal.slice(0, 300),
    ...faults.map((f) => f[0]),
    ...normal.slice(300),
    ...extremes,
  ];
  // Ground truth in the generator's header: extremes are injected value anomalies.
  const truth = (i: number) =>
    i >= values.length - extremes.length
      ? "value"
      : i >= 300 && i < 300 + faults.length
      ? "out_of_range"
      : "none";
  await produce(
    t.events.name,
    values.map((v, i) => ({ key: `k${i}`, value: v, headers: { injected: truth(i) } })),
    0,
  );
  const group = `g-${t.events.name}`;
  const p = await startProcessor(envFor(t, group));
  try {
    await waitFor(
      async () => (await p.metric("processed_records_total")) === values.length,
      60_000,
      "all records processed",
    );
    for (const check of ["required", "range_value", "range_temperature", "freshness"]) {
      assert.equal(
        await p.metric(`dq_records_total{outcome="invalid",check="${check}"}`),
        1,
        check,
      );
    }
    assert.equal(await p.metric(`dq_records_total{outcome="invalid",check="schema"}`), 3);
    assert.equal(
      await p.metric(`dq_records_total{outcome="ok",check="all"}`),
      values.length - faults.length,
    );
    const dlq = await readAll(t.dlq.name);
    assert.equal(dlq.length, faults.length);
    for (const [k, m] of dlq.entries()) {
      const offset = 300 + k;
      assert.equal(m.headers!.dq_check!.toString(), faults[k][1]);
      assert.ok(m.headers!.dq_reason!.toString().length > 0);
      assert.equal(m.headers!.source_topic!.toString(), t.events.name);
      assert.equal(m.headers!.source_partition!.toString(), "0");
      assert.equal(m.headers!.source_offset!.toString(), String(offset));
      assert.equal(m.key!.toString(), `k${offset}`, "original key kept");
      assert.equal(
        (m.value ?? new Uint8Array()).toString(),
        faults[k][0],
        "original value bytes kept",
      );
    }
    const alerts = (await readAll(t.alerts.name)).map((m) => ({
      key: m.key!.toString(),
      ...JSON.parse(m.value!.toString()),
    }));
    for (const [k, text] of extremes.entries()) {
      const offset = values.length - extremes.length + k;
      const a = alerts.find((x) => x.offset === String(offset));
      assert.ok(a, `alert for extreme at offset ${offset}`);
      const e = JSON.parse(text);
      assert.equal(a.type, "anomaly");
      assert.equal(a.key, e.sensor_id);
      assert.equal(a.sensor_id, e.sensor_id);
      assert.deepEqual(a.features, { value: e.value, temperature: e.temperature });
      assert.deepEqual(a.dq_issues, []);
      assert.ok(a.score > a.threshold && a.score <= 1);
    }
    assert.ok(
      alerts.length <= extremes.length + 2,
      `${alerts.length} alerts: at most 2 on normal events`,
    );
    assert.equal(await p.metric("anomalies_total"), alerts.length);
    // Every alert names what decided it, and the metric counts alerts by that cause.
    const causes = new Map<string, number>();
    for (const a of alerts) {
      assert.ok(a.cause?.basis && a.cause?.feature, `alert at ${a.offset} names its cause`);
      const series = `anomaly_causes_total{basis="${a.cause.basis}",feature="${a.cause.feature}"}`;
      causes.set(series, (causes.get(series) ?? 0) + 1);
    }
    for (const [series, count] of causes) assert.equal(await p.metric(series), count, series);
    // Live detection quality from the ground-truth header.
    assert.equal(
      await p.metric('detection_labelled_total{truth="anomaly",flagged="true"}'),
      extremes.length,
    );
    assert.equal(await p.metric("detection_recall"), 1);
    assert.equal(await p.metric("detection_precision"), extremes.length / alerts.length);
    await waitFor(
      async () => (await committed(group, t.events.name)).get(0) === values.length,
      10_000,
      "committed offset at the end",
    );
  } finally {
    p.child.kill("SIGTERM");
    assert.equal((await p.status).code, 0);
  }
});

Deno.test("dead letters carry the exact original bytes, null versus empty, every original header, and their source", async () => {
  const t = await topics("dlbytes");
  await using _e = t.events, _a = t.alerts, _d = t.dlq;
  const now = Date.now() / 1000;
  const notUtf8 = new Uint8Array([
    ...new TextEncoder().encode('{"sensor_id":"s'),
    0xc3,
    0x28,
    0xff,
    ...new TextEncoder().encode(`","ts":${now},"value":1}`),
  ]);
  const records: {
    key: string;
    value: string | Uint8Array | null;
    headers: Record<string, string>;
  }[] = [
    { key: "utf8", value: notUtf8, headers: { trace: "t-1" } },
    { key: "empty", value: new Uint8Array(0), headers: { trace: "t-2" } },
    { key: "null", value: null, headers: { trace: "t-3" } },
    {
      key: "custom",
      value: JSON.stringify({ sensor_id: "s", ts: now, value: 9999 }),
      headers: { injected: "out_of_range", trace: "t-4", "x-tenant": "acme" },
    },
  ];
  await produce(t.events.name, records, 0);
  const sources = await readAll(t.events.name);
  const group = `g-${t.events.name}`;
  const p = await startProcessor(envFor(t, group));
  try {
    await waitFor(
      async () => (await committed(group, t.events.name)).get(0) === records.length,
      60_000,
      "all records committed",
    );
    const dlq = await readAll(t.dlq.name);
    assert.equal(dlq.length, records.length);
    for (const m of dlq) {
      const source = sources.find((s) => s.key!.toString() === m.key!.toString())!;
      const h = m.headers!;
      if (source.value === null) assert.equal(m.value, null, "a null value stays null");
      else assert.ok(Buffer.from(source.value).equals(m.value!), `${m.key}: the exact bytes`);
      for (const [k, v] of Object.entries(source.headers!)) {
        assert.equal(h[k]?.toString(), v!.toString(), `${m.key}: original header ${k}`);
      }
      assert.equal(h.source_topic!.toString(), t.events.name);
      assert.equal(h.source_partition!.toString(), "0");
      assert.equal(h.source_offset!.toString(), source.offset);
      assert.equal(h.source_timestamp!.toString(), source.timestamp);
      assert.ok(h.dq_reason!.toString().length > 0);
    }
    const byKey = (k: string) => dlq.find((m) => m.key!.toString() === k)!;
    assert.equal(byKey("empty").value!.length, 0, "an empty value stays empty, not null");
    assert.notEqual(byKey("empty").value, null);
    assert.equal(byKey("custom").headers!.dq_check!.toString(), "range_value");
    assert.equal(byKey("utf8").headers!.dq_check!.toString(), "schema");
  } finally {
    p.child.kill("SIGTERM");
    assert.equal((await p.status).code, 0);
  }
});

Deno.test("SIGTERM: the batch in hand is finished and committed, exit 0 within 10 s", async () => {
  const t = await topics("term", 2);
  await using _e = t.events, _a = t.alerts, _d = t.dlq;
  const group = `g-${t.events.name}`;
  const values = normalEvents(3000, 6).map((e, i) => ({
    key: `sensor-${i % 5}`,
    value: JSON.stringify(e),
  }));
  await produce(t.events.name, values);
  const p = await startProcessor(envFor(t, group));
  await waitFor(async () => (await p.metric("processed_records_total")) > 0, 30_000, "first batch");
  const sent = Date.now();
  p.child.kill("SIGTERM");
  const status = await p.status;
  const took = Date.now() - sent;
  assert.equal(status.code, 0, p.lines.join("\n"));
  assert.ok(took < 10_000, `exit took ${took} ms`);
  assert.ok(p.lines.some((l) => l.includes("shutdown_complete")));
  const processed = Number(
    p.lines.find((l) => l.includes("shutdown_complete"))!.match(/processed=(\d+)/)![1],
  );
  const offsets = await committed(group, t.events.name);
  const total = [...offsets.values()].reduce((a, b) => a + Math.max(0, b), 0);
  assert.equal(total, processed, "every processed record is committed, nothing more");
});

Deno.test("kill -9 mid-stream and restart: every produced event is accounted for at least once", async () => {
  const t = await topics("kill", 2);
  await using _e = t.events, _a = t.alerts, _d = t.dlq;
  const group = `g-${t.events.name}`;
  const now = Date.now() / 1000;
  const produced = [];
  for (const { event, injected } of sensorEvents({ seed: 9 })) {
    if (produced.length === 6000) break;
    event.ts = injected === "stale" ? now - 3 * 86400 : now;
    produced.push({ key: event.sensor_id, value: JSON.stringify(event), injected });
  }
  const first = await startProcessor(envFor(t, group, { WORKERS: "1" }));
  // The stream flows while the processor runs: 200 events every 40 ms.
  const producing = (async () => {
    for (let i = 0; i < produced.length; i += 200) {
      await produce(
        t.events.name,
        produced.slice(i, i + 200).map(({ key, value }) => ({ key, value })),
      );
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  await waitFor(
    async () => (await first.metric("processed_records_total")) >= 1500,
    60_000,
    "1500 processed",
  );
  first.child.kill("SIGKILL");
  await first.status;
  await producing;
  const atKill = [...(await committed(group, t.events.name)).values()].reduce(
    (a, b) => a + Math.max(0, b),
    0,
  );
  assert.ok(
    atKill < produced.length,
    `killed mid-stream (${atKill} of ${produced.length} committed)`,
  );
  const second = await startProcessor(envFor(t, group));
  try {
    await waitFor(
      async () => {
        const offsets = await committed(group, t.events.name);
        return [...offsets.values()].reduce((a, b) => a + Math.max(0, b), 0) === produced.length;
      },
      90_000,
      "all offsets committed after the restart",
    );
  } finally {
    second.child.kill("SIGTERM");
    assert.equal((await second.status).code, 0);
  }
  // The restarted processor went over everything the first had not committed.
  const secondProcessed = Number(
    second.lines.find((l) => l.includes("shutdown_complete"))!.match(/processed=(\d+)/)![1],
  );
  assert.ok(
    secondProcessed >= produced.length - atKill,
    `${secondProcessed} >= ${produced.length - atKill}`,
  );
  // Invalid events: each in the dead-letter topic at least once (a replayed batch may repeat).
  const invalid =
    produced.filter((p) => ["missing_value", "out_of_range", "stale"].includes(p.injected)).length;
  const dlq = await readAll(t.dlq.name);
  const dead = new Set(
    dlq.map((m) => `${m.headers!.source_partition}:${m.headers!.source_offset}`),
  );
  assert.equal(dead.size, invalid, "every invalid event dead-lettered");
  console.log(
    `kill9_committed_at_kill=${atKill} reprocessed=${
      secondProcessed - (produced.length - atKill)
    } ` +
      `dead_letters=${dlq.length} distinct=${dead.size} duplicates=${dlq.length - dead.size}`,
  );
});

Deno.test("replay of the same input gives the scores and anomalies process published", async () => {
  const t = await topics("replay");
  await using _e = t.events, _a = t.alerts, _d = t.dlq;
  const now = Date.now() / 1000;
  const lines: string[] = [];
  for (const { event, injected } of sensorEvents({ seed: 12 })) {
    if (lines.length === 2500) break;
    event.ts =
      Math.round((injected === "stale" ? now - 3 * 86400 : now + lines.length * 0.05) * 1000) /
      1000;
    lines.push(JSON.stringify(event));
  }
  await produce(t.events.name, lines.map((value) => ({ value })), 0);
  const group = `g-${t.events.name}`;
  const p = await startProcessor(envFor(t, group, { HST_SEED: "7" }));
  try {
    await waitFor(
      async () => (await p.metric("processed_records_total")) === lines.length,
      60_000,
      "processed",
    );
  } finally {
    p.child.kill("SIGTERM");
    await p.status;
  }
  const alerts = (await readAll(t.alerts.name)).map((m) => JSON.parse(m.value!.toString()));
  const file = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "replay", file, "--seed", "7", "--workers", "3"],
    stdout: "piped",
    stderr: "null",
  }).output();
  await Deno.remove(file);
  assert.ok(out.success);
  const replayed = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.equal(replayed.length, lines.length);
  const replayAnomalies = replayed.filter((r) => r.anomaly);
  assert.ok(replayAnomalies.length > 20, `${replayAnomalies.length} anomalies replayed`);
  assert.deepEqual(
    alerts.map((a) => [Number(a.offset) + 1, a.score]),
    replayAnomalies.map((r) => [r.line, r.score]),
  );
});

/**
 * The example contracts through `process` against the real broker: each sample (its time set to
 * now) gives exact check counts under the contract's check names, dead letters naming the check,
 * rule, field and contract, and alerts for the injected spikes that carry the contract, the
 * entity and every feature. `generate` sends a contract's labelled events.
 */
import assert from "node:assert/strict";
import { testBroker, testTopic } from "../helpers/kafka.ts";
import { produce, readAll, startProcessor, waitFor } from "../helpers/processor.ts";
import { loadContract } from "../../src/contract/load.ts";
import { stampTime } from "../../src/contract/generate.ts";
import { compileChecker, createCheckOutput } from "../../src/contract/compile.ts";
import { EXPECTED } from "../helpers/contracts.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const ROOT = new URL("../../contracts/", import.meta.url).pathname;

/** The sample of `name` as records to produce: time = now (stale stays 3 days old). */
async function sampleRecords(name: string) {
  const contract = await loadContract(`${ROOT}${name}.yaml`);
  const stamp = stampTime(contract);
  const now = Date.now() / 1000;
  const text = await Deno.readTextFile(`${ROOT}samples/${name}.jsonl`);
  return {
    contract,
    records: text.split("\n").slice(0, -1).map((line, i) => {
      try {
        const { injected, ...event } = JSON.parse(line);
        if (typeof injected !== "string") throw new Error("not an event");
        stamp(event, now + i / 1000, injected);
        const key = contract.key && typeof event[contract.key] === "string"
          ? event[contract.key]
          : "none";
        return { key, value: JSON.stringify(event), headers: { injected } };
      } catch {
        return { key: "bad", value: line, headers: { injected: "malformed" } };
      }
    }),
  };
}

/** `process` with contract `file` on these topics, 2 workers, a group of its own. */
function processWith(file: string, events: string, alerts: string, dlq: string) {
  return startProcessor({
    TOPIC_EVENTS: events,
    TOPIC_ALERTS: alerts,
    TOPIC_DLQ: dlq,
    CONSUMER_GROUP: `g-${events}`,
    WORKERS: "2",
    CONTRACT_FILE: file,
  });
}

for (const name of Object.keys(EXPECTED)) {
  Deno.test(`process ${name}: check counts, dead letters naming check/rule/field/contract, alerts for spikes`, async () => {
    const { contract, records } = await sampleRecords(name);
    await using events = await testTopic(`c-${name}-events`);
    await using alerts = await testTopic(`c-${name}-alerts`);
    await using dlq = await testTopic(`c-${name}-dlq`);
    await produce(events.name, records, 0);
    const p = await processWith(`${ROOT}${name}.yaml`, events.name, alerts.name, dlq.name);
    try {
      await waitFor(
        async () => (await p.metric("processed_records_total")) === records.length,
        60_000,
        "all records processed",
      );
      assert.ok(p.lines.some((l) => l.includes(`contract_loaded file=${ROOT}${name}.yaml`)));
      const want = (label: string) =>
        label === "malformed" ? "schema" : EXPECTED[name][label] ?? "ok";
      const counts = new Map<string, number>();
      for (const r of records) {
        counts.set(want(r.headers.injected), (counts.get(want(r.headers.injected)) ?? 0) + 1);
      }
      for (const [check, n] of counts) {
        const sample = check === "ok"
          ? `dq_records_total{outcome="ok",check="all"}`
          : `dq_records_total{outcome="invalid",check="${check}"}`;
        assert.equal(await p.metric(sample), n, sample);
        if (check !== "ok") assert.equal(await p.metric(`dead_letters_total{check="${check}"}`), n);
      }
      const dead = await readAll(dlq.name);
      assert.equal(dead.length, records.length - counts.get("ok")!);
      for (const m of dead) {
        const h = Object.fromEntries(Object.entries(m.headers!).map(([k, v]) => [k, String(v)]));
        assert.equal(h.dq_check, want(h.injected), `${h.injected}: ${h.dq_reason}`);
        assert.equal(h.dq_contract, `${contract.name}@${contract.version}`);
        assert.ok(h.dq_rule && h.dq_reason, "rule and reason named");
        if (h.dq_check.startsWith("range_") || h.dq_check.startsWith("enum_")) {
          assert.equal(h.dq_field, h.dq_check.replace(/^[a-z]+_/, ""), "the field named");
        }
        assert.equal(m.value!.toString(), records[Number(h.source_offset)].value, "bytes kept");
      }
      const published = (await readAll(alerts.name)).map((m) => ({
        key: m.key!.toString(),
        ...JSON.parse(m.value!.toString()),
      }));
      let tp = 0;
      for (const a of published) {
        const r = records[Number(a.offset)];
        if (r.headers.injected === "spike") tp++;
        assert.equal(a.contract, contract.name);
        assert.equal(a.contract_version, contract.version);
        assert.equal(a.entity_field, contract.key);
        assert.equal(a.entity, r.key);
        assert.equal(a.key, r.key, "keyed by the entity");
        const event = JSON.parse(r.value);
        const present = contract.features.filter((f) => event[f.field] !== undefined);
        for (const f of present) assert.equal(a.features[f.field], event[f.field]);
        assert.equal(Object.keys(a.features).length, present.length, "every feature present");
        assert.equal(a.explain.length, present.length);
        assert.ok(a.explain[0].typical !== null, "the entity's typical value");
      }
      const spikes = records.filter((r) => r.headers.injected === "spike").length;
      assert.ok(tp / spikes >= 0.7, `${tp} of ${spikes} spikes alerted`);
      assert.ok(tp / Math.max(1, published.length) >= 0.9, `${published.length - tp} false alerts`);
    } finally {
      p.child.kill("SIGTERM");
      await p.status;
    }
  });
}

Deno.test("generate with a contract: its labelled events, keyed by the entity, time at send time", async () => {
  await using topic = await testTopic("c-gen", 2);
  const contract = await loadContract(`${ROOT}payments.yaml`);
  const started = Date.now() / 1000;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "generate", "--count", "2000", "--rate", "0", "--producers", "2"],
    env: {
      KAFKA_BROKER: testBroker(),
      TOPIC_EVENTS: topic.name,
      CONTRACT_FILE: `${ROOT}payments.yaml`,
      GEN_SENSORS: "4",
    },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const records = await readAll(topic.name);
  assert.equal(records.length, 2000);
  const checker = compileChecker(contract);
  const x = new Float64Array(1);
  const o = createCheckOutput();
  const labels = new Map<string, number>();
  const entities = new Set<string>();
  for (const m of records) {
    const injected = m.headers!.injected!.toString();
    labels.set(injected, (labels.get(injected) ?? 0) + 1);
    const code = checker.check(m.value!, x, 0, o);
    const want = EXPECTED.payments[injected];
    assert.equal(checker.checks[code], want === "freshness" || !want ? "ok" : want, injected);
    if (code === 0) {
      entities.add(o.key);
      assert.equal(m.key!.toString(), o.key);
      if (injected !== "stale") assert.ok(Math.abs(o.ts - started) < 120, `time at send: ${o.ts}`);
    }
  }
  assert.equal(entities.size, 4);
  assert.ok(
    (labels.get("spike") ?? 0) > 10 && (labels.get("none") ?? 0) > 1800,
    JSON.stringify([...labels]),
  );
});

Deno.test("process with a contract whose first feature is optional: events without it are judged and committed, the value histogram counts those with it", async () => {
  // prom-client's histogram threw on the missing value (NaN) and the processor stopped.
  const dir = await Deno.makeTempDir();
  const file = `${dir}/optional.yaml`;
  await Deno.writeTextFile(
    file,
    [
      "name: optional-first",
      "version: 1",
      "key: id",
      "time: { field: ts, freshness_lag_sec: 300 }",
      "fields:",
      "  id: { type: string }",
      "  ts: { type: timestamp }",
      "  load: { type: number, required: false, min: 0, max: 1000 }",
      "  temp: { type: number, min: -20, max: 80 }",
      "features: [load, temp]",
      "",
    ].join("\n"),
  );
  await using events = await testTopic("c-optional-events");
  await using alerts = await testTopic("c-optional-alerts");
  await using dlq = await testTopic("c-optional-dlq");
  const now = Date.now() / 1000;
  // 300 events of 3 entities; every 10th has no `load`; loads up to 400 (above the top bucket).
  const records = Array.from({ length: 300 }, (_, i) => {
    const event: Record<string, unknown> = { id: `m-${i % 3}`, ts: now + i / 1000, temp: 20 };
    if (i % 10 !== 0) event.load = 100 + (i % 300);
    return { key: `m-${i % 3}`, value: JSON.stringify(event) };
  });
  await produce(events.name, records, 0);
  const p = await processWith(file, events.name, alerts.name, dlq.name);
  try {
    await waitFor(
      async () => (await p.metric("processed_records_total")) === records.length,
      60_000,
      "all records processed",
    );
    assert.equal(await p.metric(`dq_records_total{outcome="ok",check="all"}`), 300);
    assert.equal(await p.metric("event_value_count"), 270, "the 270 events with a load");
    assert.equal(await p.metric(`event_value_bucket{le="100"}`), 0, "every load is above 100");
    assert.equal(await p.metric(`event_value_bucket{le="-1"}`), 0, "none shown below −1");
    assert.equal(await p.metric(`event_value_bucket{le="+Inf"}`), 270);
  } finally {
    p.child.kill("SIGTERM");
    await p.status;
    await Deno.remove(dir, { recursive: true });
  }
});

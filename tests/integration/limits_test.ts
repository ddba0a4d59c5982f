/**
 * Outputs within the broker's limits: a backlog of records just under `MAX_EVENT_BYTES` is
 * dead-lettered whole, in produce requests the broker accepts; a dead letter too large for its
 * topic is cut with headers that say so. Against the real broker.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { ConfigResourceTypes } from "kafkajs";
import { testKafka, testTopic } from "../helpers/kafka.ts";
import { committed, produce, readAll, startProcessor, waitFor } from "../helpers/processor.ts";

const MAX_EVENT_BYTES = 65_536;

/** Bad records of exactly `bytes` bytes: JSON cut short, all different. */
function truncatedJson(n: number, bytes: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const head = `{"sensor_id":"s-${i}","ts":1,"value":"`;
    return new TextEncoder().encode(head + "x".repeat(bytes - head.length));
  });
}

async function deleteTopic(name: string) {
  const admin = testKafka().admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [name] }).catch(() => {});
  await admin.disconnect();
}

Deno.test("a backlog of 2,000 records just under MAX_EVENT_BYTES is dead-lettered whole, without a crash", async () => {
  await using events = await testTopic("limits-events", 2);
  await using alerts = await testTopic("limits-alerts");
  const dlq = `limits-dlq-${crypto.randomUUID().slice(0, 8)}`; // created by the processor
  const group = `g-${events.name}`;
  const bad = truncatedJson(2000, MAX_EVENT_BYTES - 8);
  await produce(events.name, bad.map((value, i) => ({ key: `k${i}`, value })));
  const p = await startProcessor({
    TOPIC_EVENTS: events.name,
    TOPIC_ALERTS: alerts.name,
    TOPIC_DLQ: dlq,
    CONSUMER_GROUP: group,
    MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
    CHECKPOINT_INTERVAL_SEC: "0",
  });
  try {
    await waitFor(
      async () => {
        const c = await committed(group, events.name);
        return (c.get(0) ?? 0) + (c.get(1) ?? 0) === 2000;
      },
      180_000,
      "the whole backlog committed",
    );
    assert.ok(!p.lines.some((l) => /consumer_crash|pipeline_failed/.test(l)), p.lines.join("\n"));
    const admin = testKafka().admin();
    await admin.connect();
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: dlq,
        configNames: ["max.message.bytes"],
      }],
    });
    await admin.disconnect();
    const limit = Number(described.resources[0].configEntries[0].configValue);
    assert.equal(limit, MAX_EVENT_BYTES + 65_536, "the dead-letter topic holds a whole record");
    const letters = await readAll(dlq);
    assert.equal(letters.length, 2000, "each bad record dead-lettered once");
    const byKey = new Map(letters.map((m) => [m.key!.toString(), m]));
    for (let i = 0; i < bad.length; i++) {
      const m = byKey.get(`k${i}`)!;
      assert.ok(Buffer.from(bad[i]).equals(m.value!), `record ${i}: original bytes`);
      assert.equal(m.headers!.dq_check!.toString(), "schema");
      assert.equal(m.headers!.dq_value_truncated, undefined);
    }
    assert.equal(await p.metric('dead_letters_total{check="schema"}'), 2000);
    assert.equal(await p.metric("output_records_truncated_total"), 0);
  } finally {
    p.child.kill("SIGTERM");
    await p.status;
    await deleteTopic(dlq);
  }
});

Deno.test("a dead letter too large for its topic is cut to fit, with its size and SHA-256; nothing stalls", async () => {
  await using events = await testTopic("trunc-events");
  await using alerts = await testTopic("trunc-alerts");
  const dlq = `trunc-dlq-${crypto.randomUUID().slice(0, 8)}`;
  const admin = testKafka().admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{
      topic: dlq,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [{ name: "max.message.bytes", value: "16384" }],
    }],
  });
  await admin.disconnect();
  const group = `g-${events.name}`;
  const bad = truncatedJson(30, 40_000);
  const valid = JSON.stringify({ sensor_id: "s", ts: Date.now() / 1000, value: 1 });
  await produce(events.name, [
    ...bad.map((value, i) => ({ key: `k${i}`, value, headers: { origin: "hostile" } })),
    { key: "ok", value: valid },
  ]);
  const p = await startProcessor({
    TOPIC_EVENTS: events.name,
    TOPIC_ALERTS: alerts.name,
    TOPIC_DLQ: dlq,
    CONSUMER_GROUP: group,
    MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
    CHECKPOINT_INTERVAL_SEC: "0",
  });
  try {
    await waitFor(
      async () => (await committed(group, events.name)).get(0) === 31,
      60_000,
      "all 31 records committed",
    );
    const letters = await readAll(dlq);
    assert.equal(letters.length, 30);
    for (const m of letters) {
      const i = Number(m.key!.toString().slice(1));
      const h = m.headers!;
      assert.equal(h.dq_value_truncated!.toString(), "true");
      assert.equal(h.dq_original_bytes!.toString(), "40000");
      assert.equal(
        h.dq_original_sha256!.toString(),
        createHash("sha256").update(bad[i]).digest("hex"),
      );
      assert.equal(h.dq_check!.toString(), "schema");
      assert.equal(h.origin!.toString(), "hostile", "the original headers kept");
      assert.ok(m.value!.length > 10_000 && m.value!.length < 16384, `${m.value!.length}`);
      assert.ok(Buffer.from(bad[i]).subarray(0, m.value!.length).equals(m.value!), "a prefix");
    }
    assert.equal(await p.metric(`output_records_truncated_total{topic="${dlq}"}`), 30);
    assert.equal(await p.metric('dq_records_total{outcome="ok",check="all"}'), 1);
  } finally {
    p.child.kill("SIGTERM");
    await p.status;
    await deleteTopic(dlq);
  }
});

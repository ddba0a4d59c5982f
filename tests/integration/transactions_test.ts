import assert from "node:assert/strict";
import { testKafka, testTopic } from "../helpers/kafka.ts";
import { committed, startProcessor, waitFor } from "../helpers/processor.ts";

/** Writes `batches` to `topic` in transactions, each committed or aborted. */
async function transact(
  topic: string,
  id: string,
  batches: { abort: boolean; values: string[] }[],
) {
  const producer = testKafka().producer({
    transactionalId: id,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    for (const { abort, values } of batches) {
      const t = await producer.transaction();
      await t.send({ topic, messages: values.map((value) => ({ value })) });
      if (abort) await t.abort();
      else await t.commit();
    }
  } finally {
    await producer.disconnect();
  }
}

Deno.test("a topic written in transactions: only committed events are judged, the offset is committed past aborted ones and markers, a stop checkpoints at once, a restart resumes", async () => {
  await using events = await testTopic("tx-events");
  await using alerts = await testTopic("tx-alerts");
  await using dlq = await testTopic("tx-dlq");
  let n = 0;
  // Committed events are normal; an aborted transaction's would all alert (value 999).
  const values = (count: number, value: (i: number) => number) =>
    Array.from({ length: count }, () => {
      const i = n++;
      return JSON.stringify({
        sensor_id: "s1",
        ts: Math.floor(Date.now() / 1000) - 120 + i,
        value: value(i),
        temperature: 20,
        status: "OK",
      });
    });
  const normal = (i: number) => Number((Math.sin(i) / 10).toFixed(3));
  await transact(events.name, `tx-${events.name}`, [
    { abort: false, values: values(40, normal) },
    { abort: true, values: values(10, () => 999) },
    { abort: false, values: values(40, normal) },
    { abort: true, values: values(10, () => 999) },
  ]);
  // Each transaction's records, then its marker: the offsets the topic ends at. (The markers are
  // written after a commit returns, so the broker's high watermark can lag them for a moment.)
  const end = 40 + 1 + 10 + 1 + 40 + 1 + 10 + 1;
  const group = `g-${events.name}`;
  const env = {
    TOPIC_EVENTS: events.name,
    TOPIC_ALERTS: alerts.name,
    TOPIC_DLQ: dlq.name,
    CHECKPOINT_TOPIC: `cp-${events.name}`,
    CONSUMER_GROUP: group,
    WORKERS: "1",
  };
  const p = await startProcessor(env);
  try {
    // The last records are an aborted transaction's and its marker: the commit still gets there.
    await waitFor(
      async () => (await committed(group, events.name)).get(0) === end,
      30_000,
      `the committed offset at the topic's end (${end})`,
    );
    assert.equal(await p.metric("processed_records_total"), 80, "committed events only");
    assert.equal(await p.metric(`dq_records_total{outcome="ok",check="all"}`), 80, "all valid");
    assert.equal(await p.metric("anomalies_total"), 0, "no aborted event judged");
    assert.equal(await p.metric('consumer_lag{topic="' + events.name + '",partition="0"}'), 0);
  } finally {
    p.child.kill("SIGTERM");
    assert.equal((await p.status).code, 0, "a clean stop within its guard");
  }
  assert.ok(
    p.lines.some((l) => l.includes("checkpoint_written") && l.includes(`offset=${end}`)),
    `a checkpoint at ${end} on the stop: ${p.lines.slice(-4).join("\n")}`,
  );
  // More committed events; the restarted processor restores the checkpoint and judges only them.
  await transact(events.name, `tx-${events.name}`, [{
    abort: false,
    values: values(20, normal),
  }]);
  const end2 = end + 20 + 1;
  const q = await startProcessor(env);
  try {
    await waitFor(
      async () => (await committed(group, events.name)).get(0) === end2,
      30_000,
      "the new events committed",
    );
    assert.equal(await q.metric("processed_records_total"), 20);
  } finally {
    q.child.kill("SIGTERM");
    assert.equal((await q.status).code, 0);
  }
  assert.ok(
    q.lines.some((l) => l.includes("checkpoint_restored") && l.includes(`offset=${end}`)),
  );
});

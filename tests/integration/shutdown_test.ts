/**
 * SIGTERM while a batch is in flight: its own broker behind a proxy that holds produce requests
 * for 3 s, so the signal lands while the batch's dead letter waits on the broker. The processor
 * must finish that batch, commit its last offset, and only then leave and exit 0.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startProxiedBroker } from "../helpers/proxy.ts";
import { committed, readAll, startService, waitFor } from "../helpers/processor.ts";

const BROKER = { port: 19892, controllerPort: 19894, advertisedPort: 19893 };

Deno.test({
  name:
    "SIGTERM with a batch in flight: the batch is finished and its last offset committed before exit",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using broker = await startProxiedBroker("s", BROKER);
    const { proxy, kafka, topics, producer } = broker;
    const ADDRESS = broker.address;
    const group = "s-processor";
    const p = await startService("process", {
      KAFKA_BROKER: ADDRESS,
      TOPIC_EVENTS: topics.events,
      TOPIC_ALERTS: topics.alerts,
      TOPIC_DLQ: topics.dlq,
      CONSUMER_GROUP: group,
      CHECKPOINT_INTERVAL_SEC: "0",
      WORKERS: "1",
    });
    try {
      const now = Date.now() / 1000;
      await producer.send({
        topic: topics.events,
        acks: -1,
        messages: [
          ...Array.from({ length: 20 }, (_, i) => ({
            value: JSON.stringify({ sensor_id: "s", ts: now, value: i / 10 }),
          })),
          { value: "{not json" },
        ],
      });
      await waitFor(
        async () => (await committed(group, topics.events, kafka)).get(0) === 21,
        30_000,
        "the first records committed",
      );
      // From now on the broker takes 3 s to acknowledge: the next batch's dead letter waits.
      proxy.produceDelayMs = 3000;
      const held = proxy.held;
      await producer.send({ topic: topics.events, acks: -1, messages: [{ value: "{again" }] });
      await waitFor(() => proxy.held >= held + 2, 20_000, "the processor's send held back");
      p.child.kill("SIGTERM");
      const status = await p.status;
      assert.equal(status.code, 0, p.lines.slice(-30).join("\n"));
      assert.ok(
        !p.lines.some((l) => l.includes("batch_not_committed")),
        `no batch left uncommitted:\n${p.lines.slice(-30).join("\n")}`,
      );
      proxy.produceDelayMs = 0;
      assert.equal(
        (await committed(group, topics.events, kafka)).get(0),
        22,
        "the batch in hand committed to its last offset",
      );
      const dlq = await readAll(topics.dlq, kafka);
      assert.deepEqual(dlq.map((m) => m.headers?.source_offset?.toString()).sort(), ["20", "21"]);
      const done = p.lines.find((l) => l.includes("shutdown_complete"))!;
      assert.match(done, /processed=22/);
    } finally {
      try {
        p.child.kill("SIGKILL");
      } catch {
        // it ended
      }
      await p.status;
    }
  },
});

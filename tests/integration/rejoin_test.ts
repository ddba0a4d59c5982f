/**
 * A commit the group refuses: its own broker behind a proxy that holds back produce requests
 * (a congested broker) for longer than the consumer session, so the group forgets the processor
 * while a dead letter waits to be acknowledged.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startProxiedBroker } from "../helpers/proxy.ts";
import { committed, readAll, startService, waitFor } from "../helpers/processor.ts";

const BROKER = { port: 19692, controllerPort: 19694, advertisedPort: 19693 };

Deno.test({
  name:
    "a commit refused because the group forgot the member rejoins the group; nothing lost, nothing dead-lettered twice",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using broker = await startProxiedBroker("r", BROKER);
    const { proxy, kafka, topics, producer } = broker;
    const ADDRESS = broker.address;
    const group = "r-processor";
    const p = await startService("process", {
      KAFKA_BROKER: ADDRESS,
      TOPIC_EVENTS: topics.events,
      TOPIC_ALERTS: topics.alerts,
      TOPIC_DLQ: topics.dlq,
      CONSUMER_GROUP: group,
      CONSUMER_SESSION_TIMEOUT_MS: "6000",
      CHECKPOINT_INTERVAL_SEC: "0",
      WORKERS: "1",
    });
    try {
      // Every produce request now waits 9 s at the proxy: the record's own, then its dead
      // letter's, while the processor sends no heartbeat (it is in the batch) for longer than
      // its 6 s session.
      proxy.produceDelayMs = 9000;
      await producer.send({ topic: topics.events, acks: -1, messages: [{ value: "{not json" }] });
      await waitFor(
        async () => (await committed(group, topics.events, kafka)).get(0) === 1,
        60_000,
        "the record committed after its dead letter went through",
      ).catch((e) => {
        throw new Error(`${e.message}; the processor's log:\n${p.lines.slice(-40).join("\n")}`);
      });
      assert.ok(
        p.lines.some((l) => l.includes("commit_refused")),
        `the commit was refused and the processor rejoined:\n${p.lines.slice(-30).join("\n")}`,
      );
      proxy.produceDelayMs = 0;
      // The same process goes on.
      await producer.send({ topic: topics.events, acks: -1, messages: [{ value: "{still not" }] });
      await waitFor(
        async () => (await committed(group, topics.events, kafka)).get(0) === 2,
        30_000,
        "a later record committed",
      );
      // One dead letter per record: the record that came again after the rejoin had its dead
      // letter acknowledged already, so it was committed, not dead-lettered twice.
      const dlq = await readAll(topics.dlq, kafka);
      assert.deepEqual(dlq.map((m) => m.headers?.source_offset?.toString()), ["0", "1"]);
      // Each record counted once: the first when it was committed after the rejoin.
      assert.equal(await p.metric("processed_records_total"), 2);
      console.log(`rejoin_produce_requests_held=${proxy.held}`);
      p.child.kill("SIGTERM");
      assert.equal((await p.status).code, 0);
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

import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import {
  CHUNK_BYTES,
  CLEANUP_MS,
  decodeCheckpoint,
  encodeCheckpoint,
  newestReadable,
  readCheckpoints,
} from "../../src/checkpoint.ts";
import { contractOf, createPipeline } from "../../src/pipeline.ts";
import { sensorEvents } from "../../src/sensors.ts";

function withoutTemperature(value: Uint8Array): Uint8Array {
  const { temperature: _, ...event } = JSON.parse(new TextDecoder().decode(value));
  return new TextEncoder().encode(JSON.stringify(event));
}

Deno.test("a checkpoint of the default forest encodes compactly and decodes to the same state", async () => {
  const now = 1_767_347_851;
  const values: Uint8Array[] = [];
  for (const { event } of sensorEvents({ seed: 2 })) {
    if (values.length === 3000) break;
    values.push(new TextEncoder().encode(JSON.stringify({ ...event, ts: now })));
  }
  const pipeline = await createPipeline({ workers: 2, now: () => now });
  try {
    await pipeline.process(values);
    await pipeline.process(
      values.slice(0, 123).map((v, i) =>
        // A window with a missing feature: NaN must survive the encoding.
        i === 122 ? withoutTemperature(v) : v
      ),
    );
    const state = await pipeline.snapshot();
    assert.ok(state.masses.events.some(Number.isNaN), "the window holds a missing feature");
    const checkpoint = {
      topic: "events",
      partition: 3,
      offset: "3123",
      state,
      takenAt: Date.now(),
    };
    const bytes = await encodeCheckpoint(checkpoint);
    const back = await decodeCheckpoint(new Uint8Array(bytes));
    assert.deepEqual(back, checkpoint);
    console.log(`checkpoint_bytes=${bytes.length} entries=${state.masses.entries.length / 3}`);
    assert.ok(bytes.length < 4 * CHUNK_BYTES, `${bytes.length} bytes: a few chunks at most`);
  } finally {
    await pipeline.close();
  }
});

Deno.test("baselines with every option (weekly profile, change, recent level, learned extremes) survive a checkpoint: the restored model judges on exactly as the original", async () => {
  const now = 1_767_347_851;
  const values: Uint8Array[] = [];
  for (const { event } of sensorEvents({ seed: 4 })) {
    if (values.length === 4000) break;
    values.push(new TextEncoder().encode(JSON.stringify({ ...event, ts: now + values.length })));
  }
  const builtin = contractOf({});
  const options = {
    workers: 2,
    clock: "event" as const,
    // Every feature's change judged, the first one's recent level too.
    contract: {
      ...builtin,
      features: builtin.features.map((f, i) => ({ ...f, change: true, recent: i === 0 })),
    },
    baseline: { season: "weekly" as const, extremes: "learn" as const },
  };
  const original = await createPipeline(options);
  const restored = await createPipeline(options);
  try {
    await original.process(values.slice(0, 3000));
    const checkpoint = { topic: "events", partition: 0, offset: "3000", takenAt: 0 };
    const bytes = await encodeCheckpoint({ ...checkpoint, state: await original.snapshot() });
    const back = await decodeCheckpoint(new Uint8Array(bytes));
    await restored.open(0, back.state);
    const a = await original.process(values.slice(3000));
    const b = await restored.process(values.slice(3000));
    assert.deepEqual([...b.deviation], [...a.deviation]);
    assert.deepEqual([...b.calibrated!], [...a.calibrated!]);
    assert.deepEqual([...b.anomaly], [...a.anomaly]);
    assert.ok(
      a.status.every((c) => c === 0 || c > 0) && a.status.filter((c) => c === 0).length > 900,
    );
    // The learned extremes matter in the continuation: some deviations are calibrated down.
    const discounted = [...a.calibrated!].filter((c, k) => c < Math.abs(a.deviation[k]) - 1);
    assert.ok(discounted.length >= 5, `${discounted.length} deviations calibrated down`);
  } finally {
    await original.close();
    await restored.close();
  }
});

Deno.test("a checkpoint taken while a sensor reports an error code keeps its state from before: the restored model judges on exactly as the original", async () => {
  const now = 1_767_347_851;
  const values: Uint8Array[] = [];
  // No injected anomaly: sensor-0's values stay within a few units of its level until −99.
  const rates = { value: 0, temperature: 0, missing_value: 0, out_of_range: 0, stale: 0 };
  for (const { event } of sensorEvents({ seed: 6, rates })) {
    if (values.length === 4000) break;
    // sensor-0 reports −99 (its error code) for 200 events from event 3000.
    const stuck = event.sensor_id === "sensor-0" && values.length >= 3000 && values.length < 3200;
    values.push(new TextEncoder().encode(JSON.stringify({
      ...event,
      ...(stuck ? { value: -99 } : {}),
      ts: now + values.length,
    })));
  }
  const options = { workers: 2, clock: "event" as const };
  const original = await createPipeline(options);
  const restored = await createPipeline(options);
  try {
    await original.process(values.slice(0, 3100));
    const state = await original.snapshot();
    assert.equal(state.baselines.excursions?.length, 1, "sensor-0's state before −99 is kept");
    const checkpoint = { topic: "events", partition: 0, offset: "3100", takenAt: 0, state };
    const back = await decodeCheckpoint(new Uint8Array(await encodeCheckpoint(checkpoint)));
    assert.deepEqual(back, checkpoint);
    await restored.open(0, back.state);
    const a = await original.process(values.slice(3100));
    const b = await restored.process(values.slice(3100));
    assert.deepEqual([...b.calibrated!], [...a.calibrated!]);
    assert.deepEqual([...b.anomaly], [...a.anomaly]);
    assert.equal((await original.snapshot()).baselines.excursions, undefined, "put back since");
  } finally {
    await original.close();
    await restored.close();
  }
});

Deno.test("a checkpoint that does not decode is reported and the one before it restored", async () => {
  const pipeline = await createPipeline({ workers: 1 });
  try {
    const state = await pipeline.snapshot();
    const at = (partition: number, offset: string) => ({
      topic: "events",
      partition,
      offset,
      state,
      takenAt: 0,
    });
    const bytes = async (c: ReturnType<typeof at>) => new Uint8Array(await encodeCheckpoint(c));
    const gzipped = await bytes(at(0, "200"));
    const complete = [
      { partition: 0, bytes: await bytes(at(0, "100")) },
      { partition: 1, bytes: await bytes(at(1, "50")) },
      { partition: 0, bytes: await bytes(at(0, "200")) },
      // Newest of partition 0: cut short; of partition 1: not a checkpoint at all.
      { partition: 0, bytes: gzipped.slice(0, gzipped.length >> 1) },
      { partition: 1, bytes: new TextEncoder().encode('{"not":"a checkpoint"}') },
    ];
    const unreadable: [number, string][] = [];
    const found = await newestReadable(complete, (p, e) => unreadable.push([p, e.message]));
    assert.equal(found.get(0)?.offset, "200");
    assert.equal(found.get(1)?.offset, "50");
    assert.deepEqual(unreadable.map(([p]) => p).sort(), [0, 1]);
    // Nothing readable: no checkpoint, and no throw.
    const none = await newestReadable(complete.slice(3), () => {});
    assert.equal(none.size, 0);
  } finally {
    await pipeline.close();
  }
});

Deno.test("reading checkpoints from a broker that accepts connections and never answers fails in time, naming the step", async () => {
  // A peer that holds every connection open and says nothing, as a restarting broker can.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const { port } = listener.addr as Deno.NetAddr;
  const kafka = new Kafka({
    clientId: "checkpoint-timeout-test",
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 60_000,
    requestTimeout: 60_000,
    retry: { retries: 0 },
  });
  const started = Date.now();
  try {
    await assert.rejects(
      readCheckpoints(kafka, "checkpoints", "g", "events", { timeoutMs: 1_500 }),
      /reading checkpoints from checkpoints: connecting timed out/,
    );
    const took = Date.now() - started;
    assert.ok(took < 1_500 + 3 * CLEANUP_MS, `gave up after ${took} ms`);
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test("a checkpoint read whose events-topic offsets never come back fails in time, naming the step", async () => {
  // A broker that has just restarted can leave a request unanswered with no timeout of kafkajs's
  // own; a read held that way held every batch waiting for it.
  const { readAllCheckpoints } = await import("../../src/models.ts");
  const pipeline = await createPipeline({ workers: 1, now: () => 1_767_347_851 });
  let value: Uint8Array;
  try {
    value = await encodeCheckpoint({
      topic: "events",
      partition: 0,
      offset: "10",
      state: await pipeline.snapshot(),
      takenAt: Date.now(),
    });
  } finally {
    await pipeline.close();
  }
  const done = () => Promise.resolve();
  let eventsOffsetsAsked = 0;
  const kafka = {
    admin: () => ({
      connect: done,
      disconnect: done,
      deleteGroups: done,
      fetchTopicOffsets: (topic: string) => {
        if (topic === "checkpoints") {
          return Promise.resolve([{ partition: 0, high: "1", low: "0" }]);
        }
        eventsOffsetsAsked++;
        return new Promise(() => {});
      },
    }),
    consumer: () => ({
      connect: done,
      disconnect: done,
      subscribe: done,
      run: ({ eachMessage }: { eachMessage: (p: unknown) => Promise<void> }) =>
        eachMessage({
          message: {
            offset: "0",
            value,
            headers: {
              group: "g",
              topic: "events",
              partition: "0",
              checkpoint_id: "c1",
              chunks: "1",
              chunk: "0",
            },
          },
        }),
    }),
  } as unknown as Kafka;
  const config = { checkpointTopic: "checkpoints", consumerGroup: "g", topicEvents: "events" };
  const started = Date.now();
  await assert.rejects(
    readAllCheckpoints(kafka, config, { offsetsMs: 300 }),
    /reading the offsets of events timed out/,
  );
  assert.ok(
    Date.now() - started < 300 + 2 * CLEANUP_MS,
    `gave up after ${Date.now() - started} ms`,
  );
  assert.equal(eventsOffsetsAsked, 1);
});

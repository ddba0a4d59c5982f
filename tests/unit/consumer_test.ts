import assert from "node:assert/strict";
import type { Consumer } from "kafkajs";
import { createReadiness, watchConsumer } from "../../src/consumer.ts";
import type { ProcessorContext } from "../../src/context.ts";
import { createPartitions, planBatch } from "../../src/partition.ts";

/** A consumer that records seeks and lets the test emit its group events. */
function fakeConsumer(refuse = false) {
  const handlers = new Map<string, (e: unknown) => void>();
  const seeks: { topic: string; partition: number; offset: string }[] = [];
  const consumer = {
    events: { GROUP_JOIN: "join", FETCH: "fetch", CRASH: "crash" },
    on: (event: string, fn: (e: unknown) => void) => handlers.set(event, fn),
    seek: (s: { topic: string; partition: number; offset: string }) => {
      if (refuse) throw new Error("Consumer group was not initialized");
      seeks.push(s);
    },
  };
  const join = (partitions: number[]) =>
    handlers.get("join")!({ payload: { memberAssignment: { events: partitions } } });
  return { consumer: consumer as unknown as Consumer, seeks, join };
}

/** A processor context with models for partitions 0 and 1 of topic `events`. */
function context(): ProcessorContext {
  return {
    config: { topicEvents: "events" },
    owned: new Set<number>(),
    pipeline: { models: [0, 1], drop: () => Promise.resolve() },
    partitions: createPartitions(),
    stopping: false,
  } as unknown as ProcessorContext;
}

Deno.test("a rejoin asks again for a rewind to a checkpoint no batch has reached, so the partition does not wait for it for ever", () => {
  const run = context();
  const { consumer, seeks, join } = fakeConsumer();
  watchConsumer(run, consumer, createReadiness(), () => {});
  join([0, 1]);
  assert.deepEqual(seeks, [], "nothing to resume on the first join");
  // Partition 0's model was restored from a checkpoint at 120 while the group had committed 150;
  // then the consumer crashed and started again before the seek was fetched.
  const state = run.partitions.get(0);
  state.seekTo = "120";
  state.relearn = 150n;
  assert.deepEqual(
    planBatch(state, ["150", "151"]),
    { action: "skip" },
    "the committed offset's batch waits",
  );
  join([0, 1]);
  assert.deepEqual(seeks, [{ topic: "events", partition: 0, offset: "120" }]);
  // Once a batch starts at the rewind's offset, nothing is asked again.
  assert.equal(planBatch(state, ["120", "121"]).action, "process");
  state.seekTo = undefined;
  join([0, 1]);
  assert.equal(seeks.length, 1);
});

Deno.test("a rewind the consumer refuses is dropped: the partition goes on from the committed offset", () => {
  const run = context();
  const { consumer, join } = fakeConsumer(true);
  watchConsumer(run, consumer, createReadiness(), () => {});
  join([0]);
  const state = run.partitions.get(0);
  state.seekTo = "120";
  state.relearn = 150n;
  join([0]);
  assert.equal(state.seekTo, undefined);
  assert.equal(state.relearn, undefined);
  assert.deepEqual(planBatch(state, ["150"]), {
    action: "process",
    start: 0,
    learnOnly: 0,
    rewound: false,
  });
});

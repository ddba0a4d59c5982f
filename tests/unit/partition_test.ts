import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { KafkaMessage } from "kafkajs";
import { batchOutputs } from "../../src/outputs.ts";
import {
  addCounts,
  causeOfKey,
  createPartitions,
  type PartitionState,
  planBatch,
} from "../../src/partition.ts";
import { BASES } from "../../src/baseline.ts";
import type { BatchOutcome } from "../../src/pipeline.ts";

const offsets = (from: number, n: number) => Array.from({ length: n }, (_, i) => String(from + i));
const fresh = (extra: Partial<PartitionState> = {}): PartitionState => ({
  checkpointedScored: 0,
  ...extra,
});

Deno.test("planBatch: a new partition processes the whole batch", () => {
  assert.deepEqual(planBatch(fresh(), offsets(0, 5)), {
    action: "process",
    start: 0,
    learnOnly: 0,
    rewound: false,
  });
});

Deno.test("planBatch: after a rewind, batches fetched before the seek are skipped until one starts there", () => {
  const state = fresh({ seekTo: "100" });
  assert.deepEqual(planBatch(state, offsets(250, 10)), { action: "skip" });
  assert.deepEqual(planBatch(state, offsets(100, 10)), {
    action: "process",
    start: 0,
    learnOnly: 0,
    rewound: true,
  });
});

Deno.test("planBatch: records already acknowledged are committed, not processed again", () => {
  assert.deepEqual(planBatch(fresh({ acked: 20n }), offsets(10, 10)), {
    action: "commit",
    last: "19",
  });
  assert.deepEqual(planBatch(fresh({ acked: 15n }), offsets(10, 10)), {
    action: "process",
    start: 5,
    learnOnly: 0,
    rewound: false,
  });
});

Deno.test("planBatch: records the group had committed before a rewind are learned only", () => {
  const state = fresh({ relearn: 107n });
  assert.deepEqual(planBatch(state, offsets(100, 10)), {
    action: "process",
    start: 0,
    learnOnly: 7,
    rewound: false,
  });
  assert.equal((planBatch(state, offsets(90, 5)) as { learnOnly: number }).learnOnly, 5);
  assert.equal((planBatch(state, offsets(120, 5)) as { learnOnly: number }).learnOnly, 0);
});

Deno.test("partitions: waiting for a commit resolves when it lands, rejects when the partition goes", async () => {
  const p = createPartitions();
  const waited = p.untilCommitted(3, 50n, 5000);
  p.committed(3, 40n);
  p.committed(3, 50n);
  await waited;
  const gone = p.untilCommitted(4, 10n, 5000);
  p.drop(4);
  await assert.rejects(gone, /reassigned/);
  await assert.rejects(p.untilCommitted(5, 1n, 10), /not committed in 10 ms/);
  assert.equal(p.get(9).checkpointedScored, 0, "a new partition starts empty");
});

Deno.test("batchOutputs: an alert per anomaly from the worker's key, a dead letter per rejected record, counts", () => {
  const n = 4;
  const out: BatchOutcome = {
    n,
    status: new Uint8Array([0, 1, 0, 3]),
    reasons: [undefined, "not JSON", undefined, "value 9999 outside [-100, 100]"],
    keys: ["sensor-1", "", "sensor-2", ""],
    ts: new Float64Array([10, NaN, 11, 12]),
    features: new Float64Array([1.5, 20, NaN, NaN, 80, NaN, 9999, NaN]),
    score: new Float64Array([0.5, NaN, 0.99, NaN]),
    threshold: new Float64Array([0.9, NaN, 0.9, NaN]),
    anomaly: new Uint8Array([0, 0, 1, 0]),
    alertScore: new Float64Array([0.1, NaN, 0.7, NaN]),
    deviation: new Float64Array([0.5, NaN, NaN, NaN, 12, NaN, NaN, NaN]),
    typical: new Float64Array([1.4, 20, NaN, NaN, 1.2, NaN, NaN, NaN]),
  };
  const messages = Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.from(`v${i}`),
    offset: String(40 + i),
    timestamp: "1000",
    headers: { injected: Buffer.from(i === 2 ? "value" : "none") },
  })) as unknown as KafkaMessage[];
  const o = batchOutputs(out, messages, 0, { topic: "events", partition: 2 });
  assert.equal(o.alerts.length, 1);
  assert.equal(o.alerts[0].key, "sensor-2");
  const alert = JSON.parse(String(o.alerts[0].value));
  assert.equal(alert.sensor_id, "sensor-2");
  assert.deepEqual(alert.features, { value: 80 }, "an absent temperature is left out");
  assert.deepEqual(alert.explain, [{ feature: "value", actual: 80, typical: 1.2, deviation: 12 }]);
  assert.equal(alert.alert_score, 0.7);
  assert.equal(alert.raw_score, 0.99);
  assert.equal(alert.offset, "42");
  assert.equal(alert.partition, 2);
  assert.deepEqual(o.dead.map((d) => d.headers!.dq_check), ["schema", "range_value"]);
  assert.deepEqual(o.counts.perCheck, [2, 1, 0, 1, 0, 0]);
  assert.deepEqual(o.counts.truth, [1, 0, 0, 1], "normal kept, anomaly flagged");
  assert.deepEqual(o.values, [1.5, 80]);
  assert.equal(o.lastScore, 0.99);
  // From index 2 on only (the first two learned only after a rewind).
  const tail = batchOutputs(out, messages, 2, { topic: "events", partition: 2 });
  assert.deepEqual(tail.counts.perCheck, [1, 0, 0, 1, 0, 0]);
  assert.equal(tail.dead.length, 1);
});

Deno.test("batchOutputs: each alert names its cause, and the counts tally alerts by cause", () => {
  const n = 3;
  const out: BatchOutcome = {
    n,
    status: new Uint8Array(n),
    reasons: new Array(n),
    keys: ["sensor-1", "sensor-2", "sensor-3"],
    ts: new Float64Array([10, 11, 12]),
    features: new Float64Array([1, 20, 2, 25, 3, 21]),
    score: new Float64Array([0.9, 0.9, 0.9999]),
    threshold: new Float64Array([0.9, 0.9, 0.9]),
    anomaly: new Uint8Array([1, 1, 1]),
    // sensor-1: its value's level; sensor-2: its temperature's day mean; sensor-3: the forest
    // (a new sensor, no baseline yet).
    driver: new Int16Array([0, 1, -1]),
    basis: new Uint8Array([0, 0, 0, BASES.indexOf("day"), 0, 0]),
    alertScore: new Float64Array([0.6, 0.55, 0.5]),
    deviation: new Float64Array([7, 0.1, 0.2, 6, NaN, NaN]),
    typical: new Float64Array([0.5, 20, 2, 22, NaN, NaN]),
  };
  const messages = Array.from({ length: n }, (_, i) => ({
    key: null,
    value: Buffer.from(`v${i}`),
    offset: String(i),
    timestamp: "1000",
    headers: {},
  })) as unknown as KafkaMessage[];
  const o = batchOutputs(out, messages, 0, { topic: "events", partition: 0 });
  assert.deepEqual(o.alerts.map((a) => JSON.parse(String(a.value)).cause), [
    { basis: "level", feature: "value" },
    { basis: "day", feature: "temperature" },
    { basis: "forest", feature: "all" },
  ]);
  const more = batchOutputs(out, messages, 1, { topic: "events", partition: 0 });
  const total = addCounts(o.counts, more.counts);
  assert.deepEqual(
    new Map([...total.causes].map(([k, v]) => [Object.values(causeOfKey(k)).join("/"), v])),
    new Map([["level/value", 1], ["day/temperature", 2], ["forest/all", 2]]),
  );
});

Deno.test("planBatch: records a batch does not show (aborted transactions, markers) are committed past, never waited for", () => {
  // Shown records 100–104, then an aborted transaction and its marker up to 115.
  assert.deepEqual(planBatch(fresh(), offsets(100, 5), { first: "100", last: "115" }), {
    action: "process",
    start: 0,
    learnOnly: 0,
    rewound: false,
  });
  // A batch of hidden records only: nothing to process, the commit goes to its end.
  assert.deepEqual(planBatch(fresh({ acked: 116n }), [], { first: "116", last: "130" }), {
    action: "commit",
    last: "130",
  });
  // Already acknowledged past the batch: the commit does not go back.
  assert.deepEqual(
    planBatch(fresh({ acked: 200n }), offsets(150, 5), { first: "150", last: "160" }),
    {
      action: "commit",
      last: "199",
    },
  );
});

Deno.test("planBatch: a rewind whose offset holds a hidden record ends at the batch fetched from there, shown records or not", () => {
  // The checkpoint's offset falls on an aborted transaction's record: the first shown record is
  // later, but the batch was fetched from the rewind's offset.
  const state = fresh({ seekTo: "33", relearn: 44n });
  assert.deepEqual(planBatch(state, offsets(44, 3), { first: "40", last: "46" }), {
    action: "skip",
  });
  assert.deepEqual(planBatch(state, offsets(44, 3), { first: "33", last: "46" }), {
    action: "process",
    start: 0,
    learnOnly: 0,
    rewound: true,
  });
  assert.deepEqual(planBatch(state, [], { first: "33", last: "43" }), {
    action: "commit",
    last: "43",
    rewound: true,
  });
});

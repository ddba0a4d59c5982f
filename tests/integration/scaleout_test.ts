/**
 * Scale-out on a Kafka consumer group: instances split the partitions of `events` and their
 * models; when one stops (SIGTERM) or crashes (kill -9), the survivor restores the partitions'
 * models from their checkpoints and loses no event.
 */
import assert from "node:assert/strict";
import { sensorEvents } from "../../src/sensors.ts";
import { testTopic } from "../helpers/kafka.ts";
import {
  committed,
  type ProcessorProcess,
  produce,
  readAll,
  startProcessor,
  waitFor,
} from "../helpers/processor.ts";

const NONE = { value: 0, temperature: 0, missing_value: 0, out_of_range: 0, stale: 0 };
const PARTITIONS = 4;

/** `n` normal events per partition, keyed by sensor: sensor `s` lives on partition `s % 4`. */
function normal(n: number, seed: number): Map<number, { key: string; value: string }[]> {
  const out = new Map<number, { key: string; value: string }[]>();
  for (let p = 0; p < PARTITIONS; p++) out.set(p, []);
  const now = Date.now() / 1000;
  let i = 0;
  for (const { event } of sensorEvents({ seed, sensors: 8, rates: NONE })) {
    const p = Number(event.sensor_id.split("-")[1]) % PARTITIONS;
    const list = out.get(p)!;
    if (list.length < n) {
      list.push({
        key: event.sensor_id,
        value: JSON.stringify({ ...event, ts: now + i++ * 0.001 }),
      });
    }
    if ([...out.values()].every((l) => l.length === n)) return out;
  }
  return out;
}

const extreme = (p: number) => ({
  key: `sensor-${p}`,
  value: JSON.stringify({
    sensor_id: `sensor-${p}`,
    ts: Date.now() / 1000,
    value: 95,
    temperature: 78,
  }),
});
const broken = (p: number) => ({
  key: `sensor-${p}`,
  value: JSON.stringify({ sensor_id: `sensor-${p}`, ts: Date.now() / 1000, value: "NaN" }),
});

/** Produces `first` (if any) then the normal events, per partition; returns the new ends. */
async function produceAll(
  topic: string,
  ends: number[],
  events: Map<number, { key: string; value: string }[]>,
  first: (p: number) => { key: string; value: string }[] = () => [],
): Promise<void> {
  await Promise.all([...events].map(async ([p, list]) => {
    const batch = [...first(p), ...list];
    await produce(topic, batch, p);
    ends[p] += batch.length;
  }));
}

function assigned(p: ProcessorProcess): number[] {
  const line = p.lines.findLast((l) => l.includes("partitions_assigned"));
  const m = line?.match(/partitions=([\d,]+|none)/);
  return !m || m[1] === "none" ? [] : m[1].split(",").map(Number);
}

Deno.test("two instances split the partitions; on SIGTERM and on kill -9 the survivor restores the models and loses nothing", async () => {
  await using events = await testTopic("scale-events", PARTITIONS);
  await using alerts = await testTopic("scale-alerts");
  await using dlq = await testTopic("scale-dlq");
  const env = {
    TOPIC_EVENTS: events.name,
    TOPIC_ALERTS: alerts.name,
    TOPIC_DLQ: dlq.name,
    CONSUMER_GROUP: `g-${events.name}`,
    CHECKPOINT_TOPIC: `cp-${events.name}`,
    CHECKPOINT_INTERVAL_SEC: "1",
    WORKERS: "1",
  };
  const group = env.CONSUMER_GROUP;
  const ends = new Array(PARTITIONS).fill(0);
  const allCommitted = async () => {
    const c = await committed(group, events.name);
    return ends.every((end, p) => c.get(p) === end);
  };
  const a = await startProcessor(env);
  const b = await startProcessor(env);
  const stopped: ProcessorProcess[] = [];
  try {
    await waitFor(
      () => assigned(a).length + assigned(b).length === PARTITIONS && assigned(b).length > 0,
      60_000,
      "both instances assigned",
    );
    // Past the first window (250) of every partition's model.
    await produceAll(events.name, ends, normal(600, 1));
    await waitFor(allCommitted, 60_000, "phase 1 committed");
    const split = [assigned(a), assigned(b)];
    assert.deepEqual([...split[0], ...split[1]].sort(), [0, 1, 2, 3], `split ${split}`);
    assert.ok(split[0].length > 0 && split[1].length > 0, `both own partitions: ${split}`);

    // 1. B stops cleanly: it checkpoints its partitions, A restores them.
    const fromB = split[1];
    b.child.kill("SIGTERM");
    assert.equal((await b.status).code, 0);
    stopped.push(b);
    // Its newest checkpoint of each partition (at shutdown, or the interval one when nothing
    // came after it).
    const scoredByB = new Map(
      b.lines.filter((l) => l.includes("checkpoint_written")).map((l) => [
        Number(l.match(/partition=(\d+)/)![1]),
        Number(l.match(/scored=(\d+)/)![1]),
      ]),
    );
    assert.deepEqual([...scoredByB.keys()].sort(), [...fromB].sort(), b.lines.join("\n"));
    for (const p of fromB) assert.equal(scoredByB.get(p), 600, `B learned all of partition ${p}`);
    await waitFor(() => assigned(a).length === PARTITIONS, 60_000, "A owns every partition");
    // The first event of each moved partition is an extreme one: judged only with its model.
    const phase2 = ends.slice();
    await produceAll(events.name, ends, normal(20, 2), (p) => [extreme(p), broken(p)]);
    await waitFor(allCommitted, 60_000, "phase 2 committed");
    for (const p of fromB) {
      assert.ok(
        a.lines.some((l) =>
          new RegExp(`checkpoint_restored scored=${scoredByB.get(p)} partition=${p} `).test(l)
        ),
        `A restored partition ${p} at B's ${scoredByB.get(p)} events:\n${a.lines.join("\n")}`,
      );
    }

    // 2. A new instance C takes half again; then it is killed (-9) and A restores its models
    //    from C's interval checkpoints.
    const c = await startProcessor(env);
    await waitFor(() => assigned(c).length > 0 && assigned(a).length < PARTITIONS, 60_000, "C in");
    const fromC = assigned(c);
    const phase3 = ends.slice();
    await produceAll(events.name, ends, normal(100, 3));
    await waitFor(allCommitted, 60_000, "phase 3 committed");
    await waitFor(
      () =>
        fromC.every((p) => c.lines.some((l) => l.includes(`partition=${p} offset=${ends[p]} `))),
      30_000,
      "C's checkpoints at the end of phase 3",
    );
    c.child.kill("SIGKILL");
    await c.status;
    stopped.push(c);
    await waitFor(() => assigned(a).length === PARTITIONS, 60_000, "A owns every partition again");
    const phase4 = ends.slice();
    await produceAll(events.name, ends, normal(20, 4), (p) => [extreme(p), broken(p)]);
    await waitFor(allCommitted, 90_000, "phase 4 committed");
    for (const p of fromC) {
      assert.ok(
        a.lines.some((l) =>
          new RegExp(`checkpoint_restored scored=\\d+ partition=${p} offset=${phase4[p]} `).test(l)
        ),
        `A restored partition ${p} from C's checkpoint at ${phase4[p]}:\n${a.lines.join("\n")}`,
      );
    }

    // Nothing lost: every broken event is dead-lettered, every extreme one alerted (a model
    // without its state would be in warm-up and miss it), everything committed.
    const dead = await readAll(dlq.name);
    const deadAt = new Set(
      dead.map((m) => `${m.headers!.source_partition}/${m.headers!.source_offset}`),
    );
    const raised = new Set(
      (await readAll(alerts.name)).map((m) => JSON.parse(m.value!.toString()))
        .map((x) => `${x.partition}/${x.offset}`),
    );
    for (const start of [phase2, phase4]) {
      for (let p = 0; p < PARTITIONS; p++) {
        assert.ok(raised.has(`${p}/${start[p]}`), `extreme at ${p}/${start[p]} alerted`);
        assert.ok(
          deadAt.has(`${p}/${start[p] + 1}`),
          `broken at ${p}/${start[p] + 1} dead-lettered`,
        );
      }
    }
    assert.ok(phase3.every((end, p) => end < ends[p]));
  } finally {
    for (const p of [a, b]) {
      if (!stopped.includes(p)) {
        p.child.kill("SIGTERM");
        await p.status;
      }
    }
  }
});

import assert from "node:assert/strict";
import { sensorEvents } from "../../src/sensors.ts";
import { testTopic } from "../helpers/kafka.ts";
import { committed, produce, readAll, startProcessor, waitFor } from "../helpers/processor.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const NONE = { value: 0, temperature: 0, missing_value: 0, out_of_range: 0, stale: 0 };

function normal(n: number, seed: number): string[] {
  const out: string[] = [];
  const now = Date.now() / 1000;
  for (const { event } of sensorEvents({ seed, rates: NONE })) {
    if (out.length === n) break;
    out.push(JSON.stringify({ ...event, ts: now + out.length * 0.01 }));
  }
  return out;
}

const extreme = (i: number) =>
  JSON.stringify({ sensor_id: `x-${i}`, ts: Date.now() / 1000, value: 90 - i, temperature: 75 });

async function setup(name: string) {
  const events = await testTopic(`${name}-events`);
  const alerts = await testTopic(`${name}-alerts`);
  const dlq = await testTopic(`${name}-dlq`);
  const env = (extra: Record<string, string>) => ({
    TOPIC_EVENTS: events.name,
    TOPIC_ALERTS: alerts.name,
    TOPIC_DLQ: dlq.name,
    CONSUMER_GROUP: `g-${events.name}`,
    CHECKPOINT_TOPIC: `cp-${events.name}`,
    WORKERS: "2",
    ...extra,
  });
  return { events, alerts, dlq, env };
}

async function runUntilCommitted(
  env: Record<string, string>,
  group: string,
  topic: string,
  total: number,
  kill: "SIGKILL" | "SIGTERM",
) {
  const p = await startProcessor(env);
  await waitFor(
    async () => (await committed(group, topic)).get(0) === total,
    60_000,
    `${total} committed`,
  );
  if (kill === "SIGKILL" && env.CHECKPOINT_INTERVAL_SEC === "1") {
    // Let the interval checkpoint of everything committed land first, as a crash might not.
    await waitFor(
      () => p.lines.some((l) => l.includes(`checkpoint_written reason=interval scored=${total} `)),
      15_000,
      `the interval checkpoint of ${total} events`,
    );
  }
  p.child.kill(kill);
  await p.status;
  return p;
}

for (const withCheckpoints of [true, false]) {
  Deno.test(`restart after kill -9 ${withCheckpoints ? "with" : "without"} a checkpoint: the first event after it is ${withCheckpoints ? "" : "not "}judged`, async () => {
    const t = await setup(withCheckpoints ? "cp-on" : "cp-off");
    await using _e = t.events, _a = t.alerts, _d = t.dlq;
    const env = t.env({ CHECKPOINT_INTERVAL_SEC: withCheckpoints ? "1" : "0" });
    const group = env.CONSUMER_GROUP;
    await produce(t.events.name, normal(600, 1).map((value) => ({ value })), 0);
    const first = await runUntilCommitted(env, group, t.events.name, 600, "SIGKILL");
    if (withCheckpoints) {
      assert.ok(
        first.lines.some((l) => /checkpoint_written reason=interval scored=600/.test(l)),
        first.lines.join("\n"),
      );
    }
    // After the crash: an extreme event first, then normal ones.
    await produce(t.events.name, [extreme(0), ...normal(5, 2)].map((value) => ({ value })), 0);
    const second = await runUntilCommitted(env, group, t.events.name, 606, "SIGTERM");
    const alerts = (await readAll(t.alerts.name)).map((m) => JSON.parse(m.value!.toString()));
    const judged = alerts.some((a) => a.offset === "600");
    if (withCheckpoints) {
      assert.ok(
        second.lines.some((l) => /checkpoint_restored scored=600 /.test(l)),
        second.lines.join("\n"),
      );
      assert.ok(judged, "the first event after the restart raised its alert: 0 events of warm-up");
    } else {
      assert.ok(!judged, "without a checkpoint the model re-warms and misses it");
    }
  });
}

Deno.test("a checkpoint older than the committed offsets rewinds: the events after it are learned once, their alerts and dead letters not sent again", async () => {
  const t = await setup("cp-rewind");
  await using _e = t.events, _a = t.alerts, _d = t.dlq;
  const group = `g-${t.events.name}`;
  const lines = [...normal(600, 3)];
  await produce(t.events.name, lines.map((value) => ({ value })), 0);
  // Run 1: a clean stop checkpoints at 600.
  const one = await runUntilCommitted(
    t.env({ CHECKPOINT_INTERVAL_SEC: "3600" }),
    group,
    t.events.name,
    600,
    "SIGTERM",
  );
  assert.ok(one.lines.some((l) => /checkpoint_written reason=shutdown scored=600/.test(l)));
  // Run 2: 300 more (an extreme one at offset 700, a broken one at 750), committed, then a crash
  // before any new checkpoint.
  const more = normal(300, 4);
  more[100] = extreme(0);
  more[150] = "{not json";
  lines.push(...more);
  await produce(t.events.name, more.map((value) => ({ value })), 0);
  await runUntilCommitted(
    t.env({ CHECKPOINT_INTERVAL_SEC: "3600" }),
    group,
    t.events.name,
    900,
    "SIGKILL",
  );
  // Run 3: restores 600, rewinds from 900 to 600, and goes on with extremes.
  const tail = [extreme(1), ...normal(50, 5), extreme(2), ...normal(50, 6), extreme(3)];
  lines.push(...tail);
  await produce(t.events.name, tail.map((value) => ({ value })), 0);
  const three = await runUntilCommitted(
    t.env({ CHECKPOINT_INTERVAL_SEC: "3600" }),
    group,
    t.events.name,
    lines.length,
    "SIGTERM",
  );
  assert.ok(
    three.lines.some((l) => /checkpoint_restored scored=600 .*relearn=300/.test(l)),
    "run 3 went over the 300 events after the checkpoint again",
  );
  const processed = Number(
    three.lines.find((l) => l.includes("shutdown_complete"))!.match(/processed=(\d+)/)![1],
  );
  assert.equal(processed, lines.length - 900, "the re-learned records are not counted again");
  // What run 2 sent for offsets 600-899 (acknowledged, then committed) is not sent again.
  const published = (await readAll(t.alerts.name)).map((m) => JSON.parse(m.value!.toString()));
  const offsets = published.map((a) => a.offset);
  assert.equal(offsets.filter((o) => o === "700").length, 1, "one alert for offset 700");
  const early = offsets.filter((o) => Number(o) < 900);
  assert.equal(new Set(early).size, early.length, `an alert sent twice: ${early}`);
  const dead = (await readAll(t.dlq.name)).map((m) => m.headers!.source_offset!.toString());
  assert.deepEqual(dead, ["750"], "one dead letter for offset 750");
  // The model after the rewind is the one-pass model: alerts after offset 900 score as in a replay.
  const alerts = published.filter((a) => Number(a.offset) >= 900);
  const file = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "replay", file],
    stdout: "piped",
    stderr: "null",
  }).output();
  await Deno.remove(file);
  const replayed = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l))
    .filter((r) => r.anomaly && r.line > 900);
  assert.ok(alerts.length >= 3, `${alerts.length} alerts after offset 900`);
  const last = new Map(alerts.map((a) => [Number(a.offset) + 1, a.score]));
  assert.deepEqual(
    [...last.entries()].sort((a, b) => a[0] - b[0]),
    replayed.map((r) => [r.line, r.score]),
  );
});

/**
 * The hostile-input suite (part of `deno task test`): 100,000 records of 16 kinds of bad input
 * (random bytes, truncated JSON, wrong types, 40 KB nested arrays, NaN literals, duplicate keys,
 * invalid UTF-8, out-of-range, stale and future events, `__proto__`/`constructor` keys,
 * 20,000-level nesting, records within a few bytes of `MAX_EVENT_BYTES`, empty values, null
 * values; one in seven with a null key) mixed with 13 % valid events, produced at full speed
 * while the processor is killed with SIGKILL three times at random moments and the broker is
 * restarted once. At the end every bad record is in the dead-letter topic with its original
 * bytes (or cut, with its size and SHA-256) and a check and reason, no valid event is there, the
 * whole input topic is committed, and the processor is alive and ready. Duplicates are counted
 * and printed (`hostile_*=` lines), not hidden.
 *
 * Bounded: 100,000 records (~120 MB), 3 kills, 1 broker restart, 240 s to drain.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { Kafka, logLevel, type Message } from "kafkajs";
import { startBroker, stopBroker } from "../../scripts/kafka.ts";
import { createProducer } from "../../src/kafka.ts";
import { groupByBytes, recordBudget } from "../../src/outbox.ts";
import { createRandom } from "../../src/random.ts";
import {
  committed,
  type ProcessorProcess,
  readAll,
  startService,
  waitFor,
} from "../helpers/processor.ts";

const BROKER = { port: 19792, controllerPort: 19794, heap: "512m" };
const ADDRESS = `127.0.0.1:${BROKER.port}`;
const RECORDS = 100_000;
const MAX_EVENT_BYTES = 1 << 20;
const KILLS = 3;

const kafka = () =>
  new Kafka({ clientId: "hostile", brokers: [ADDRESS], logLevel: logLevel.NOTHING });

/** The kinds of bad record, each a function of its index and a random source. */
const BAD: Record<string, (i: number, r: () => number, now: number) => Buffer | null> = {
  random_bytes: (_i, r) =>
    Buffer.from(Array.from({ length: 1 + Math.floor(r() * 200) }, () => Math.floor(r() * 256))),
  truncated_json: (i, r, now) => {
    const text = JSON.stringify({ sensor_id: `s-${i}`, ts: now, value: 1.5, temperature: 20 });
    return Buffer.from(text.slice(0, 1 + Math.floor(r() * (text.length - 2))));
  },
  wrong_types: (i, _r, now) =>
    Buffer.from(
      [
        `{"sensor_id":${i},"ts":${now},"value":1}`,
        `{"sensor_id":"s","ts":"${now}","value":1}`,
        `{"sensor_id":"s","ts":${now},"value":"1"}`,
        `{"sensor_id":"s","ts":${now},"value":true}`,
        `{"sensor_id":"s","ts":${now},"value":1,"status":"BROKEN"}`,
        `[1,2,3]`,
        `"just a string"`,
        `null`,
      ][i % 8],
    ),
  nested_arrays_40k: (i) => {
    const inner = Array.from({ length: 2500 }, (_, k) => [k, [k + 1, [i]]]);
    return Buffer.from(JSON.stringify({ sensor_id: "s", ts: 1, value: inner }).slice(0, 40_000));
  },
  nan_literal: (_i, _r, now) =>
    Buffer.from(`{"sensor_id":"s","ts":${now},"value":NaN,"temperature":Infinity}`),
  duplicate_keys: (_i, _r, now) => Buffer.from(`{"sensor_id":"s","ts":${now},"value":1,"value":2}`),
  invalid_utf8: (_i, _r, now) =>
    Buffer.concat([
      Buffer.from(`{"sensor_id":"s`),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
      Buffer.from(`","ts":${now},"value":1}`),
    ]),
  out_of_range: (i, _r, now) =>
    Buffer.from(
      i % 2
        ? `{"sensor_id":"s","ts":${now},"value":1e300}`
        : `{"sensor_id":"s","ts":${now},"value":1,"temperature":-273.15}`,
    ),
  stale: (_i, _r, now) => Buffer.from(`{"sensor_id":"s","ts":${now - 3 * 86400},"value":1}`),
  future: (_i, _r, now) => Buffer.from(`{"sensor_id":"s","ts":${now + 3 * 86400},"value":1}`),
  proto_keys: (i, _r, now) =>
    Buffer.from(
      i % 2
        ? `{"__proto__":{"polluted":true},"sensor_id":"s","ts":${now},"value":1}`
        : `{"constructor":{"prototype":{"x":1}},"sensor_id":"s","ts":${now},"value":1}`,
    ),
  deep_nesting_20000: () => Buffer.from("[".repeat(20_000) + "]".repeat(20_000)),
  near_max_bytes: (i) => {
    // Within 4 bytes of MAX_EVENT_BYTES on either side: an unknown key pads it.
    const bytes = MAX_EVENT_BYTES - 4 + (i % 9);
    const head = `{"sensor_id":"s","ts":1,"value":1,"pad":"`;
    return Buffer.from(head + "x".repeat(bytes - head.length - 2) + `"}`);
  },
  empty_value: () => Buffer.alloc(0),
  null_value: () => null,
};

/** How many of each kind in 100,000: the large kinds are few, valid events 13 %. */
const COUNTS: Record<string, number> = {
  nested_arrays_40k: 400,
  deep_nesting_20000: 200,
  near_max_bytes: 24,
  valid: 13_000,
};

function hostileStream(now: number): { kind: string; message: Message }[] {
  const rng = createRandom(4242);
  const r = () => rng.next();
  const fixed = Object.values(COUNTS).reduce((a, n) => a + n, 0);
  const small = Object.keys(BAD).filter((k) => !(k in COUNTS));
  const each = Math.floor((RECORDS - fixed) / small.length);
  const kinds: string[] = [];
  for (const [k, n] of Object.entries(COUNTS)) for (let i = 0; i < n; i++) kinds.push(k);
  for (const k of small) for (let i = 0; i < each; i++) kinds.push(k);
  while (kinds.length < RECORDS) kinds.push("truncated_json");
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  return kinds.map((kind, i) => {
    const value = kind === "valid"
      ? Buffer.from(JSON.stringify({
        sensor_id: `sensor-${i % 9}`,
        ts: now,
        value: Math.round((r() * 4 - 2) * 1000) / 1000,
        temperature: 20 + Math.round(r() * 50) / 10,
      }))
      : BAD[kind](i, r, now);
    return {
      kind,
      message: { key: i % 7 === 0 ? null : `k-${i}`, value, headers: { hid: String(i) } },
    };
  });
}

Deno.test({
  name:
    "hostile input: 100,000 bad and valid records, 3 × kill -9, a broker restart: every bad record dead-lettered, no valid one, all committed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "anomaly-flow-hostile-" });
    const options = { ...BROKER, dataDir };
    await startBroker(options);
    const started = Date.now();
    const env = {
      KAFKA_BROKER: ADDRESS,
      TOPIC_EVENTS: "h-events",
      TOPIC_ALERTS: "h-alerts",
      TOPIC_DLQ: "h-dlq",
      CONSUMER_GROUP: "h-processor",
      CHECKPOINT_TOPIC: "h-checkpoints",
      CHECKPOINT_INTERVAL_SEC: "2",
      // Valid events stay valid however long the kills and the restart delay them.
      FRESHNESS_MAX_LAG_SEC: "3600",
      WORKERS: "2",
    };
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic: env.TOPIC_EVENTS,
        numPartitions: 4,
        replicationFactor: 1,
        // Holds the records a few bytes over MAX_EVENT_BYTES, so they reach the processor.
        configEntries: [{ name: "max.message.bytes", value: String(2 * MAX_EVENT_BYTES) }],
      }],
    });
    await admin.disconnect();
    const stream = hostileStream(Date.now() / 1000);
    const processors: ProcessorProcess[] = [];
    const report: Record<string, number | string> = {
      records: RECORDS,
      kinds: Object.keys(BAD).length,
    };
    const producer = createProducer(kafka());
    try {
      processors.push(await startService("process", env));
      // Full speed, in requests the events topic takes; retried through the broker restart.
      await producer.connect();
      const producing = (async () => {
        const budget = recordBudget(2 * MAX_EVENT_BYTES);
        for (let i = 0; i < stream.length; i += 2000) {
          const chunk = stream.slice(i, i + 2000).map((s) => s.message);
          for (const group of groupByBytes(chunk, budget)) {
            await producer.send({ topic: env.TOPIC_EVENTS, acks: -1, messages: group });
          }
        }
      })();
      const rng = createRandom(7);
      for (let kill = 0; kill < KILLS; kill++) {
        await new Promise((r) => setTimeout(r, 1000 + rng.next() * 4000));
        if (kill === 1) {
          // The broker goes away under a running processor and the producer, and comes back.
          await stopBroker(options);
          await new Promise((r) => setTimeout(r, 2000));
          await startBroker(options);
          report.broker_restarts = 1;
          await new Promise((r) => setTimeout(r, 1000 + rng.next() * 3000));
        }
        const current = processors.at(-1)!;
        const exited = await Promise.race([
          current.status,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
        ]);
        if (exited) {
          throw new Error(
            `the processor exited by itself (${exited.code}); its log:\n${
              current.lines.slice(-40).join("\n")
            }`,
          );
        }
        current.child.kill("SIGKILL");
        await current.status;
        processors.push(await startService("process", env));
      }
      report.kills = KILLS;
      await producing;
      report.produce_seconds = Math.round((Date.now() - started) / 1000);
      const last = processors.at(-1)!;
      const total = async () =>
        [...(await committed(env.CONSUMER_GROUP, env.TOPIC_EVENTS, kafka())).values()]
          .reduce((a, o) => a + Math.max(0, o), 0);
      await waitFor(async () => (await total()) === RECORDS, 240_000, "the whole topic committed")
        .catch(async (e) => {
          throw new Error(
            `${e.message} (${await total()} of ${RECORDS}); log:\n${
              last.lines.slice(-60).join("\n")
            }`,
          );
        });
      report.seconds = Math.round((Date.now() - started) / 1000);

      // Alive and ready, never crashed.
      const ready = await fetch(`http://127.0.0.1:${last.port}/readyz`);
      await ready.body?.cancel();
      assert.equal(ready.status, 200, "the processor is ready at the end");
      for (const p of processors) {
        const crashes = p.lines.filter((l) =>
          /\[error\] consumer_crash|pipeline_failed|consumer_restart_failed|\[fatal\]/.test(l)
        );
        assert.deepEqual(crashes, [], "no crash in any run");
      }

      const letters = await readAll(env.TOPIC_DLQ, kafka());
      const byId = new Map<number, typeof letters>();
      for (const m of letters) {
        const id = Number(m.headers!.hid!.toString());
        byId.set(id, [...(byId.get(id) ?? []), m]);
      }
      let truncated = 0;
      const missing: string[] = [];
      for (let i = 0; i < stream.length; i++) {
        const { kind, message } = stream[i];
        const got = byId.get(i) ?? [];
        if (kind === "valid") {
          assert.equal(got.length, 0, `valid record ${i} is not dead-lettered`);
          continue;
        }
        if (got.length === 0) {
          missing.push(`${i}:${kind}`);
          continue;
        }
        for (const m of got) {
          const h = m.headers!;
          assert.ok(h.dq_check && h.dq_reason, `record ${i} (${kind}) names its check and reason`);
          const original = message.value as Buffer | null;
          if (h.dq_value_truncated?.toString() === "true") {
            truncated++;
            assert.equal(
              h.dq_original_sha256!.toString(),
              createHash("sha256").update(original ?? Buffer.alloc(0)).digest("hex"),
            );
          } else if (original === null) {
            assert.equal(m.value, null, `record ${i}: a null value stays null`);
          } else {
            assert.ok(original.equals(m.value ?? Buffer.alloc(1)), `record ${i} (${kind}) bytes`);
          }
          assert.equal(m.key?.toString() ?? null, message.key ?? null, `record ${i}: its key`);
        }
      }
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} bad records not dead-lettered`);
      const bad = stream.filter((s) => s.kind !== "valid").length;
      report.bad_records = bad;
      report.dead_letters = letters.length;
      report.dead_letter_duplicates = letters.length - byId.size;
      report.truncated = truncated;
      const checks = new Map<string, number>();
      for (const m of letters) {
        const c = m.headers!.dq_check!.toString();
        checks.set(c, (checks.get(c) ?? 0) + 1);
      }
      report.by_check = [...checks].map(([c, n]) => `${c}:${n}`).join(",");
      const count = (re: RegExp) =>
        processors.reduce((a, p) => a + p.lines.filter((l) => re.test(l)).length, 0);
      report.consumer_restarts = count(/consumer_restart /);
      report.producer_renewals = count(/producer_renewed/);
      report.commits_refused = count(/commit_refused/);
      report.rewinds = count(/checkpoint_restored .*relearn=[1-9]/);
    } finally {
      console.log(Object.entries(report).map(([k, v]) => `hostile_${k}=${v}`).join("\n"));
      await producer.disconnect().catch(() => {});
      for (const p of processors) {
        try {
          p.child.kill("SIGKILL");
        } catch {
          // ended
        }
        await p.status;
      }
      await stopBroker(options);
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

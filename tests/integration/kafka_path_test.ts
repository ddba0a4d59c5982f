import assert from "node:assert/strict";
import { testBroker, testKafka, testTopic } from "../helpers/kafka.ts";
import { committed, readAll, startProcessor, waitFor } from "../helpers/processor.ts";
import { libsDir } from "../../scripts/kafka.ts";
import { decompressZstd } from "../../src/compression.ts";
import { recordsEncoded } from "../../src/kafkajs_records.ts";
import { recordsDecoded } from "../../src/kafkajs_decode.ts";
import type { Buffer } from "node:buffer";
import type { KafkaMessage } from "kafkajs";

async function kcat(args: string[], input?: string): Promise<string> {
  const child = new Deno.Command("kcat", {
    args: ["-b", testBroker(), ...args],
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const out = await child.output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `kcat ${args.join(" ")} failed: ${err}`);
  return new TextDecoder().decode(out.stdout);
}

/** Every record of `topic` from the beginning, read by kcat, one `format` line each. */
function kcatRead(topic: string, format: string): Promise<string> {
  return kcat(["-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", format]);
}

/**
 * Produces `lines` to `topic` with the Java client (the broker's own `kafka-clients`, through its
 * console producer), compressed with `codec`, in one batch.
 */
async function javaProduce(topic: string, codec: string, lines: string[]): Promise<void> {
  const child = new Deno.Command("java", {
    args: [
      "-cp",
      `${libsDir()}/*`,
      "org.apache.kafka.tools.ConsoleProducer",
      "--bootstrap-server",
      testBroker(),
      "--topic",
      topic,
      "--compression-codec",
      codec,
      "--batch-size",
      "1000000",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await w.close();
  const out = await child.output();
  assert.ok(out.success, `java producer failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** `process` with one worker on the topics `events`, `alerts` and `dlq`, in group `group`. */
function processorOn(
  topics: Record<"events" | "alerts" | "dlq", { name: string }>,
  group: string,
  env: Record<string, string> = {},
) {
  return startProcessor({
    TOPIC_EVENTS: topics.events.name,
    TOPIC_ALERTS: topics.alerts.name,
    TOPIC_DLQ: topics.dlq.name,
    CONSUMER_GROUP: group,
    WORKERS: "1",
    ...env,
  });
}

Deno.test("kafkajs produces, kcat (an independent client) reads the same records back: keys, UTF-8 values and dead-letter headers, each written by the product's record encoder", async () => {
  await using topic = await testTopic("path-kafkajs-to-kcat");
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = Array.from({ length: 50 }, (_, i) => ({
    key: `sensor-${i % 5}`,
    value: i % 2
      ? JSON.stringify({ sensor_id: `sensor-${i % 5}`, ts: 1767347851 + i, value: i / 10 })
      : JSON.stringify({ type: "anomaly", note: "é ✓ 🚀", i }),
    headers: i % 2 ? {} : { dq_check: "range_value", dq_reason: `value ${i} outside [0, 1]` },
  }));
  const before = recordsEncoded();
  await producer.send({ topic: topic.name, acks: -1, messages: sent });
  await producer.disconnect();
  assert.equal(recordsEncoded() - before, sent.length, "every record through kafkajs_records.ts");
  const out = await kcatRead(topic.name, "%k\t%s\t%h\n");
  const got = out.trim().split("\n").map((line) => {
    const [key, value, headers = ""] = line.split("\t");
    return { key, value, headers };
  });
  assert.deepEqual(
    got,
    sent.map((m) => ({
      key: m.key,
      value: m.value,
      headers: Object.entries(m.headers).map(([k, v]) => `${k}=${v}`).join(","),
    })),
  );
});

Deno.test("kcat produces, kafkajs consumes the same records back: keys, UTF-8 values, repeated headers, offsets and timestamps, each read by the product's record decoder", async () => {
  await using topic = await testTopic("path-kcat-to-kafkajs");
  const lines = Array.from({ length: 30 }, (_, i) => `k${i}:{"n":${i},"note":"é ✓ 🚀"}`);
  const sentAt = Date.now();
  await kcat(
    [
      "-P",
      "-t",
      topic.name,
      "-K",
      ":",
      "-H",
      "dq_check=json",
      "-H",
      "dq_check=range",
      "-H",
      "src=kcat",
    ],
    lines.join("\n") + "\n",
  );
  const consumer = testKafka().consumer({ groupId: `g-${topic.name}` });
  await consumer.connect();
  await consumer.subscribe({ topic: topic.name, fromBeginning: true });
  const got: KafkaMessage[] = [];
  const before = recordsDecoded();
  const done = new Promise<void>((resolve) => {
    consumer.run({
      eachMessage: ({ message }) => {
        got.push(message);
        if (got.length === lines.length) resolve();
        return Promise.resolve();
      },
    });
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`only ${got.length} of ${lines.length} records in 30 s`)),
      30_000,
    )
  );
  try {
    await Promise.race([done, timeout]);
  } finally {
    await consumer.disconnect();
  }
  assert.ok(recordsDecoded() - before >= lines.length, "every record through kafkajs_decode.ts");
  assert.deepEqual(got.map((m) => `${m.key}:${m.value}`), lines);
  assert.deepEqual(got.map((m) => m.offset), lines.map((_, i) => String(i)));
  for (const m of got) {
    const headers = Object.fromEntries(
      Object.entries(m.headers ?? {}).map((
        [k, v],
      ) => [k, Array.isArray(v) ? v.map(String) : String(v)]),
    );
    assert.deepEqual(headers, { dq_check: ["json", "range"], src: "kcat" });
    const ts = Number(m.timestamp);
    assert.ok(ts >= sentAt - 60_000 && ts <= Date.now() + 60_000, `timestamp ${m.timestamp}`);
  }
});

Deno.test("a topic compressed with gzip, snappy, lz4 or zstd, by kcat (librdkafka) or the Java client, is read whole: every event judged, the bad one dead-lettered, the offsets committed", async () => {
  const now = Math.floor(Date.now() / 1000);
  const lines = Array.from({ length: 120 }, (_, i) =>
    JSON.stringify({
      sensor_id: `sensor-${i % 3}`,
      ts: now - 120 + i,
      value: Number(Math.sin(i).toFixed(3)),
      temperature: 20 + (i % 5) / 10,
      status: "OK",
    }));
  lines[60] = "{not json";
  const producers = ["kcat", "java"].flatMap((client) =>
    ["gzip", "snappy", "lz4", "zstd"].map((codec) => ({ client, codec }))
  );
  for (const { client, codec } of producers) {
    const what = `${client} ${codec}`;
    await using events = await testTopic(`codec-${client}-${codec}-events`);
    await using alerts = await testTopic(`codec-${client}-${codec}-alerts`);
    await using dlq = await testTopic(`codec-${client}-${codec}-dlq`);
    // Each client batches the lines together and compresses the batch.
    if (client === "kcat") {
      await kcat(["-P", "-t", events.name, "-z", codec], lines.join("\n") + "\n");
    } else await javaProduce(events.name, codec, lines);
    const group = `g-codec-${client}-${codec}`;
    const p = await processorOn({ events, alerts, dlq }, group);
    try {
      await waitFor(
        async () => (await committed(group, events.name)).get(0) === lines.length,
        30_000,
        `${what}: every record committed`,
      );
      assert.equal(await p.metric("processed_records_total"), lines.length, what);
      assert.equal(
        await p.metric(`dq_records_total{outcome="ok",check="all"}`),
        lines.length - 1,
        what,
      );
      const dead = await readAll(dlq.name);
      assert.deepEqual(dead.map((m) => m.value?.toString()), ["{not json"], what);
    } finally {
      p.child.kill("SIGTERM");
      assert.equal((await p.status).code, 0, `${what}: clean exit`);
    }
  }
});

Deno.test("a compressed batch beyond MAX_BATCH_BYTES is dead-lettered record by record with its compressed bytes kept, and the consumer moves on to the next batch", async () => {
  await using events = await testTopic("unreadable-events");
  await using alerts = await testTopic("unreadable-alerts");
  await using dlq = await testTopic("unreadable-dlq");
  const now = Math.floor(Date.now() / 1000);
  // A padded event would be rejected for its unknown field too: the reason tells them apart.
  const event = (i: number, pad?: string) =>
    JSON.stringify({ sensor_id: "s-1", ts: now - 60 + i, value: 1 + (i % 3) / 10, pad });
  // 30 records of 40 KB in one zstd batch: 1.2 MB once decompressed, a few KB compressed.
  const big = Array.from({ length: 30 }, (_, i) => event(i, " ".repeat(40_000)));
  // One batch: librdkafka's linger (5 ms) can close a batch before the 30 lines are all queued,
  // and a batch under MAX_BATCH_BYTES is read (its records then rejected for `pad`).
  const limits = [
    "-X",
    "batch.size=4000000",
    "-X",
    "message.max.bytes=5000000",
    "-X",
    "linger.ms=2000",
  ];
  await kcat(["-P", "-t", events.name, "-z", "zstd", ...limits], big.join("\n") + "\n");
  const small = Array.from({ length: 10 }, (_, i) => event(30 + i));
  await kcat(["-P", "-t", events.name, "-z", "zstd"], small.join("\n") + "\n");
  const group = "g-unreadable";
  const p = await processorOn({ events, alerts, dlq }, group, { MAX_BATCH_BYTES: "1048576" });
  try {
    await waitFor(
      async () => (await committed(group, events.name)).get(0) === 40,
      30_000,
      "both batches committed",
    );
    const dead = await readAll(dlq.name);
    assert.equal(await p.metric(`dq_records_total{outcome="ok",check="all"}`), 10);
    assert.equal(dead.length, 30);
    assert.deepEqual(dead.map((m) => Number(m.headers?.source_offset?.toString())), [
      ...Array(30).keys(),
    ]);
    for (const m of dead) {
      assert.match(
        m.headers?.dq_reason?.toString() ?? "",
        /^unreadable zstd batch of \d+ records \(\d+ compressed bytes\): zstd: a batch of up to \d+ bytes, at most 1048576/,
      );
    }
    // The producer may split the 30 records into batches; the first dead letter of each keeps
    // its batch: decompressed without the limit, they hold the 30 events.
    const kept = dead.map((m) => m.headers?.dq_compressed_records as Buffer | undefined)
      .filter((b) => b !== undefined);
    assert.ok(kept.length >= 1 && kept.length < 30, `${kept.length} batches`);
    const records = kept.map((b) => new TextDecoder().decode(decompressZstd(b, 2 ** 30))).join("");
    for (const line of big) assert.ok(records.includes(line));
  } finally {
    p.child.kill("SIGTERM");
    assert.equal((await p.status).code, 0, "clean exit");
  }
});

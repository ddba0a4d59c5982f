import assert from "node:assert/strict";
import { testBroker, testKafka, testTopic } from "../helpers/kafka.ts";

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

Deno.test("kafkajs produces, kcat (an independent client) reads the same records back", async () => {
  await using topic = await testTopic("path-kafkajs-to-kcat");
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = Array.from({ length: 50 }, (_, i) => ({
    key: `sensor-${i % 5}`,
    value: JSON.stringify({ sensor_id: `sensor-${i % 5}`, ts: 1767347851 + i, value: i / 10 }),
  }));
  await producer.send({ topic: topic.name, acks: -1, messages: sent });
  await producer.disconnect();
  const out = await kcat(["-C", "-t", topic.name, "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n"]);
  const got = out.trim().split("\n").map((line) => {
    const [key, value] = line.split("\t");
    return { key, value };
  });
  assert.deepEqual(got, sent);
});

Deno.test("kcat produces, kafkajs consumes the same records back", async () => {
  await using topic = await testTopic("path-kcat-to-kafkajs");
  const lines = Array.from({ length: 30 }, (_, i) => `k${i}:{"n":${i}}`);
  await kcat(["-P", "-t", topic.name, "-K", ":"], lines.join("\n") + "\n");
  const consumer = testKafka().consumer({ groupId: `g-${topic.name}` });
  await consumer.connect();
  await consumer.subscribe({ topic: topic.name, fromBeginning: true });
  const got: string[] = [];
  const done = new Promise<void>((resolve) => {
    consumer.run({
      eachMessage: ({ message }) => {
        got.push(`${message.key}:${message.value}`);
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
  assert.deepEqual(got, lines);
});

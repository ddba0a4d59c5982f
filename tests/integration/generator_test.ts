import assert from "node:assert/strict";
import { INJECTIONS, sensorEvents } from "../../src/sensors.ts";
import { testBroker, testTopic } from "../helpers/kafka.ts";
import { readAll } from "../helpers/processor.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

async function generate(topic: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "generate", ...args],
    env: { KAFKA_BROKER: testBroker(), TOPIC_EVENTS: topic },
    stdout: "null",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, log);
  return log;
}

for (
  const [mode, args] of [["rate mode", ["--rate", "2000"]], ["load mode, 2 producers", [
    "--rate",
    "0",
    "--producers",
    "2",
  ]]] as const
) {
  Deno.test(`generate (${mode}): the seeded stream, keyed by sensor, ground truth only in the header`, async () => {
    await using topic = await testTopic(`gen-${args[1]}`, 4);
    const log = await generate(topic.name, [...args, "--count", "3000", "--seed", "5"]);
    assert.match(log, /generator_done sent=3000 /);
    const records = await readAll(topic.name);
    assert.equal(records.length, 3000);
    const seen = new Map<string, number>();
    for (const m of records) {
      const injected = m.headers!.injected!.toString();
      assert.ok((INJECTIONS as readonly string[]).includes(injected), injected);
      const body = JSON.parse(m.value!.toString());
      assert.ok(!("injected" in body), "no ground truth in the body");
      assert.equal(m.key!.toString(), body.sensor_id);
      const k = `${body.sensor_id}|${injected}|${body.value ?? "none"}|${body.temperature}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    // Same events as the pure model for this seed (ts is the send time, so it is left out).
    const expected = new Map<string, number>();
    let i = 0;
    for (const { event, injected } of sensorEvents({ seed: 5 })) {
      if (i++ === 3000) break;
      const k = `${event.sensor_id}|${injected}|${event.value ?? "none"}|${event.temperature}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    assert.deepEqual(seen, expected);
  });
}

Deno.test("generate refuses a bad flag with the setting's name and what is allowed", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "generate", "--rate", "-5"],
    env: { KAFKA_BROKER: testBroker() },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /invalid setting GEN_RATE \(--rate\) = "-5": expected a number >= 0/,
  );
});

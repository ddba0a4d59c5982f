import assert from "node:assert/strict";
import { type KafkaConnection, KafkaStartError, startingKafka } from "../../src/kafka.ts";

const CONN: KafkaConnection = {
  brokers: ["127.0.0.1:9"],
  sasl: { mechanism: "scram-sha-512", username: "alice", password: "s3cret-pw" },
};

/** A step failing with `errors` in turn, then answering "up"; counts its calls. */
function flaky(errors: Error[]) {
  let calls = 0;
  return {
    step: () => {
      const e = errors[calls++];
      return e ? Promise.reject(e) : Promise.resolve("up");
    },
    calls: () => calls,
  };
}

Deno.test("start-up retries a failure that may pass, backing off, and goes on once Kafka answers", async () => {
  const waits: number[] = [];
  const s = flaky([
    new Error("This server does not host this topic-partition"),
    new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9"),
    new Error(
      "There is no leader for this topic-partition as we are in the middle of a leadership election",
    ),
  ]);
  const got = await startingKafka(CONN, s.step, {
    sleep: (ms) => (waits.push(ms), Promise.resolve()),
  });
  assert.equal(got, "up");
  assert.equal(s.calls(), 4);
  assert.deepEqual(waits, [1000, 2000, 4000]);
});

Deno.test("start-up gives up after retryForMs with one line naming the broker", async () => {
  const s = flaky(Array.from({ length: 100 }, () => new Error("connect ECONNREFUSED")));
  await assert.rejects(
    startingKafka(CONN, s.step, {
      retryForMs: 50,
      firstWaitMs: 10,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    }),
    (e: Error) =>
      e instanceof KafkaStartError &&
      /^cannot reach Kafka at 127\.0\.0\.1:9: connect ECONNREFUSED/.test(e.message),
  );
  assert.ok(s.calls() >= 2 && s.calls() <= 5, `${s.calls()} attempts in 50 ms`);
});

Deno.test("refused credentials and TLS failures stop start-up at once, without the password", async () => {
  const sasl = Object.assign(new Error("SASL SCRAM SHA512 authentication failed for s3cret-pw"), {
    name: "KafkaJSSASLAuthenticationError",
  });
  for (const error of [sasl, new Error("self-signed certificate in certificate chain")]) {
    const s = flaky([error]);
    await assert.rejects(
      startingKafka(CONN, s.step, { sleep: () => Promise.reject(new Error("must not wait")) }),
      (e: Error) => e instanceof KafkaStartError && !e.message.includes("s3cret-pw"),
    );
    assert.equal(s.calls(), 1, error.message);
  }
});

Deno.test("kafkajs' retried, transient conditions are warnings; what the operator must act on stays an error", async () => {
  const { kafkajsLevel } = await import("../../src/kafka.ts");
  const ERROR = 1, WARN = 2;
  for (
    const m of [
      "The coordinator is loading and hence can't process requests",
      "The group coordinator is not available",
      "There is no leader for this topic-partition as we are in the middle of a leadership election",
      "Connection error: connect ECONNREFUSED 127.0.0.1:9092",
    ]
  ) assert.equal(kafkajsLevel(ERROR, m), "warning", m);
  assert.equal(
    kafkajsLevel(
      ERROR,
      "[Connection] Response Metadata",
      "This server does not host this topic-partition",
    ),
    "warning",
  );
  // Right after a broker starts, the group coordinator is loading: kafkajs crashes the consumer
  // and restarts it; that passes by itself.
  assert.equal(
    kafkajsLevel(
      ERROR,
      "Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group",
    ),
    "warning",
  );
  assert.equal(kafkajsLevel(ERROR, "Restarting the consumer in 300ms"), "warning");
  assert.equal(kafkajsLevel(ERROR, "Crash: KafkaJSNonRetriableError: broker refused"), "error");
  assert.equal(kafkajsLevel(ERROR, "SASL SCRAM SHA512 authentication failed"), "error");
  assert.equal(kafkajsLevel(WARN, "anything"), "warning");
});

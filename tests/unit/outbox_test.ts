import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import fc from "fast-check";
import type { Message, Producer } from "kafkajs";
import {
  fitRecord,
  groupByBytes,
  isTooLarge,
  recordBudget,
  recordBytes,
  sendWithinLimits,
} from "../../src/outbox.ts";
import * as outbox from "../../src/outbox.ts";

const record = (valueBytes: number, headers: Record<string, string> = {}): Message => ({
  key: "k",
  value: Buffer.alloc(valueBytes, 0x61),
  headers,
});

Deno.test("groups keep their order and stay under the budget; an oversized record is a group alone", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 200 }), (sizes) => {
      const messages = sizes.map((n) => record(n));
      const groups = groupByBytes(messages, 4096);
      assert.deepEqual(groups.flat(), messages, "every record once, in order");
      for (const g of groups) {
        const bytes = g.reduce((a, m) => a + recordBytes(m), 0);
        assert.ok(g.length === 1 || bytes <= 4096, `group of ${g.length} has ${bytes} bytes`);
      }
    }),
  );
});

Deno.test("a record that cannot fit is cut to fit, with its original size and SHA-256 in headers", () => {
  const original = record(100_000, { dq_check: "schema", source_offset: "7", injected: "none" });
  const budget = recordBudget(16_384);
  const fitted = fitRecord(original, budget);
  assert.ok(recordBytes(fitted) <= budget);
  const h = fitted.headers!;
  assert.equal(h.dq_value_truncated, "true");
  assert.equal(h.dq_original_bytes, "100000");
  assert.equal(
    h.dq_original_sha256,
    createHash("sha256").update(original.value as Buffer).digest("hex"),
  );
  assert.equal(h.injected, "none", "the original headers are kept when they fit");
  assert.equal(h.dq_check, "schema");
  const value = fitted.value as Buffer;
  assert.ok(value.byteLength > 15_000, `as much of the value as fits: ${value.byteLength}`);
  assert.deepEqual(value, (original.value as Buffer).subarray(0, value.byteLength), "a prefix");
  const small = record(10);
  assert.equal(fitRecord(small, budget), small, "a record that fits is left alone");
});

Deno.test("a record whose own headers are too large keeps its dq_ and source_ headers", () => {
  const huge = record(50, { custom: "x".repeat(20_000), dq_check: "schema", source_topic: "t" });
  const fitted = fitRecord(huge, 2048);
  assert.ok(recordBytes(fitted) <= 2048);
  assert.equal(fitted.headers!.custom, undefined);
  assert.equal(fitted.headers!.dq_headers_truncated, "true");
  assert.equal(fitted.headers!.dq_check, "schema");
  assert.equal(fitted.headers!.source_topic, "t");
});

Deno.test("sendWithinLimits: requests stay under each topic's limit; a refused one is split until it passes", async () => {
  const sent: { topic: string; bytes: number; n: number }[] = [];
  let refuseOver = Infinity;
  const producer = {
    sendBatch({ topicMessages }: { topicMessages: { topic: string; messages: Message[] }[] }) {
      for (const t of topicMessages) {
        const bytes = t.messages.reduce((a, m) => a + recordBytes(m), 0);
        if (bytes > refuseOver) {
          const e = new Error("The request included a message larger than the max message size");
          return Promise.reject(Object.assign(e, { type: "MESSAGE_TOO_LARGE" }));
        }
      }
      for (const t of topicMessages) {
        sent.push({
          topic: t.topic,
          n: t.messages.length,
          bytes: t.messages.reduce((a, m) => a + recordBytes(m), 0),
        });
      }
      return Promise.resolve([]);
    },
  } as unknown as Producer;
  const dead = Array.from({ length: 300 }, () => record(60_000));
  const alerts = Array.from({ length: 50 }, () => record(300));
  await sendWithinLimits(producer, [{ topic: "dlq", messages: dead }, {
    topic: "alerts",
    messages: alerts,
  }], { limits: new Map([["dlq", 200_000]]) });
  assert.equal(sent.filter((s) => s.topic === "dlq").reduce((a, s) => a + s.n, 0), 300);
  assert.equal(sent.filter((s) => s.topic === "alerts").reduce((a, s) => a + s.n, 0), 50);
  assert.ok(sent.filter((s) => s.topic === "dlq").every((s) => s.bytes <= 200_000));
  // The broker's limit turns out lower than the one read at start-up: halved until it passes.
  sent.length = 0;
  refuseOver = 70_000;
  const truncated: number[] = [];
  await sendWithinLimits(producer, [{
    topic: "dlq",
    messages: [...dead.slice(0, 8), record(90_000)],
  }], {
    onTruncated: (_t, b) => truncated.push(b),
  });
  assert.equal(sent.reduce((a, s) => a + s.n, 0), 9);
  assert.ok(sent.every((s) => s.bytes <= 70_000));
  assert.deepEqual(truncated, [90_000], "only the record that could not pass was cut");
  // Other errors are the caller's.
  const failing = {
    sendBatch: () => Promise.reject(new Error("broker away")),
  } as unknown as Producer;
  await assert.rejects(sendWithinLimits(failing, [{ topic: "t", messages: [record(1)] }]), /away/);
});

Deno.test("isTooLarge finds the broker's answer inside kafkajs' wrappers", () => {
  const inner = Object.assign(new Error("x"), { type: "MESSAGE_TOO_LARGE" });
  assert.ok(isTooLarge({ message: "wrap", cause: { message: "wrap2", cause: inner } }));
  assert.ok(isTooLarge({ message: "agg", errors: [new Error("a"), inner] }));
  assert.ok(!isTooLarge(new Error("Connection error")));
});

Deno.test("isProducerLost recognises a lost idempotent producer (after a broker restart), nothing else", () => {
  const { isProducerLost } = outbox;
  const lost = Object.assign(new Error("The broker received an out of order sequence number"), {
    type: "OUT_OF_ORDER_SEQUENCE_NUMBER",
  });
  assert.ok(isProducerLost(lost));
  assert.ok(isProducerLost({ message: "wrapped", cause: lost }));
  assert.ok(isProducerLost({ type: "UNKNOWN_PRODUCER_ID" }));
  assert.ok(!isProducerLost(new Error("Connection error")));
  assert.ok(!isProducerLost({ type: "MESSAGE_TOO_LARGE" }));
});

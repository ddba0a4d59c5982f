/**
 * Unit tests of `process` logic that needs no broker (the broker-backed tests are in
 * `tests/integration/process_test.ts` and the fault suite).
 *
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import kafkajs, { type KafkaMessage } from "kafkajs";
import { rejoinCause } from "../../src/batch.ts";
import { deadLetterOf } from "../../src/outputs.ts";

// The shape of the broker's answer kafkajs builds the error from (its typings say `Error`).
const { KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;
// As kafkajs' retrier wraps an error it will not retry (its typings omit the options).
const NonRetriable = KafkaJSNonRetriableError as unknown as new (
  e: Error,
  options: { cause: Error },
) => Error;
const protocolError = (type: string, code: number) =>
  new KafkaJSProtocolError(
    { type, code, retriable: false, message: `${type} from the broker` } as unknown as Error,
  );

Deno.test("a commit refused because the group moved on rejoins instead of crashing the consumer", () => {
  // What kafkajs throws from commitOffsets after a broker restart: its retrier wraps the
  // broker's answer in a non-retriable error, which would stop the consumer for good.
  for (const [type, code] of [["UNKNOWN_MEMBER_ID", 25], ["ILLEGAL_GENERATION", 22]] as const) {
    const cause = protocolError(type, code);
    const wrapped = new NonRetriable(cause, { cause });
    assert.equal(rejoinCause(wrapped), cause, type);
    assert.equal(rejoinCause(cause), cause, type);
  }
  const denied = protocolError("TOPIC_AUTHORIZATION_FAILED", 29);
  // Anything else is not a membership problem: it propagates unchanged.
  assert.equal(
    rejoinCause(new NonRetriable(denied, { cause: denied })),
    undefined,
  );
  assert.equal(rejoinCause(new Error("network down")), undefined);
  assert.equal(rejoinCause(undefined), undefined);
});

Deno.test("a dead letter keeps the original key, value bytes and headers, and says why and whence", () => {
  const value = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22]);
  const message = {
    key: Buffer.from("k-1"),
    value,
    headers: { trace: Buffer.from("abc"), injected: Buffer.from("out_of_range") },
    offset: "41",
    timestamp: "1767347851123",
    attributes: 0,
  } as unknown as KafkaMessage;
  const letter = deadLetterOf(message, "schema", "not UTF-8", { topic: "events", partition: 3 });
  assert.equal(letter.value, value, "the very bytes, not a re-encoding");
  assert.equal(letter.key, message.key);
  assert.deepEqual(letter.headers, {
    trace: message.headers!.trace,
    injected: message.headers!.injected,
    dq_check: "schema",
    dq_reason: "not UTF-8",
    source_topic: "events",
    source_partition: "3",
    source_offset: "41",
    source_timestamp: "1767347851123",
  });
  assert.equal(message.headers!.trace!.toString(), "abc", "the source record is not changed");
  assert.equal(Object.keys(message.headers!).length, 2, "nor are its headers");
  const empty = deadLetterOf({ ...message, value: Buffer.alloc(0) }, "schema", "empty", {
    topic: "e",
    partition: 0,
  });
  const none = deadLetterOf({ ...message, value: null, key: null }, "schema", "empty", {
    topic: "e",
    partition: 0,
  });
  assert.equal((empty.value as Buffer).byteLength, 0);
  assert.equal(none.value, null, "a null value stays null, not empty");
  assert.equal(none.key, null, "a null key stays null");
});

/**
 * Unit tests of `process` logic that needs no broker (the broker-backed tests are in
 * `tests/integration/process_test.ts` and the fault suite).
 *
 * @module
 */
import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import { rejoinCause } from "../../src/process.ts";

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

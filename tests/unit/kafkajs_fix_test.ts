import assert from "node:assert/strict";
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";
import { kafkajsFixed } from "../../src/kafkajs_fix.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

// deno-lint-ignore no-explicit-any
function queue(): any {
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "localhost:1",
    logger: quiet,
  });
}

Deno.test("kafkajs request queue: with nothing pending it arms no timer (no 1 ms polling)", () => {
  assert.equal(kafkajsFixed(), true);
  const q = queue();
  // What kafkajs does after every response: check the queue, then schedule the next check.
  for (let i = 0; i < 1000; i++) q.checkPendingRequests();
  assert.equal(q.throttleCheckTimeoutId, null, "an idle queue keeps no timer");
  q.destroy?.();
});

Deno.test("kafkajs request queue: a pending request is checked again, at the throttle's end if throttled", async () => {
  const q = queue();
  let sent = 0;
  const request = (id: number) => ({
    entry: { correlationId: id, apiKey: 0, apiName: "Test", apiVersion: 0, resolve() {} },
    expectResponse: true,
    sendRequest: () => sent++,
  });
  // Throttled for 40 ms: the push waits in the queue, and one timer is armed for its end.
  q.maybeThrottle(40);
  q.push(request(1));
  assert.equal(sent, 0);
  assert.equal(q.pending.length, 1);
  assert.notEqual(q.throttleCheckTimeoutId, null, "a check is scheduled for the pending request");
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(sent, 1, "sent once the throttle ended");
  assert.equal(q.pending.length, 0);
  assert.equal(q.throttleCheckTimeoutId, null, "nothing pending: no timer left");
  // One in flight (the limit): the next waits until a response frees the slot.
  q.push(request(2));
  assert.equal(q.pending.length, 1);
  q.fulfillRequest({ correlationId: 1, payload: new Uint8Array(0), size: 0 });
  assert.equal(sent, 2, "a response lets the pending request go at once");
  q.fulfillRequest({ correlationId: 2, payload: new Uint8Array(0), size: 0 });
  // The 10 ms check armed while request 2 waited fires once, finds nothing, and arms no other.
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(q.throttleCheckTimeoutId, null, "idle again: no timer left");
});

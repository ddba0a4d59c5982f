/**
 * A fix to kafkajs 2.2.4 (the last release), installed on import: its request queue polled
 * itself every millisecond on every broker connection, for as long as the connection lived.
 *
 * `RequestQueue.scheduleCheckPendingRequests` arms a timer to look at the queue's pending
 * requests again. With nothing pending and no client-side throttling its delay is
 * `throttledUntil − now` with `throttledUntil` = −1: minus the time since 1970, which the runtime
 * clamps to 1 ms (printing a `TimeoutNegativeWarning`); the timer finds nothing, re-arms, and so
 * on — about a thousand timer callbacks a second per connection, idle or not (tulios/kafkajs
 * issues #1704 and #1751, unmerged upstream). Here a queue with nothing pending arms no timer:
 * a request is pending only after `push` found it could not be sent (that schedules a check, at
 * the throttle's end or in 10 ms), and every fulfilled request checks the queue again, so nothing
 * that waits is left unchecked. With requests pending, the original behaviour is kept.
 *
 * Import it before any kafkajs client is created (`kafka.ts` does). Idempotent.
 *
 * @module
 */
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";

/** kafkajs's check interval while requests are pending (its `CHECK_PENDING_REQUESTS_INTERVAL`). */
const PENDING_CHECK_MS = 10;

/** The queue's fields the fix reads (kafkajs internals, fixed at 2.2.4 by the lock file). */
interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}

const FIXED = Symbol.for("anomaly-flow.kafkajs-request-queue-fixed");
const proto = RequestQueue.prototype as Queue & {
  scheduleCheckPendingRequests(): void;
  [FIXED]?: true;
};

if (typeof proto.scheduleCheckPendingRequests !== "function") {
  throw new Error(
    "kafkajs RequestQueue.scheduleCheckPendingRequests not found: the fix in kafkajs_fix.ts " +
      "was written for kafkajs 2.2.4",
  );
}

if (!proto[FIXED]) {
  proto.scheduleCheckPendingRequests = function (this: Queue) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilThrottleEnds = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, untilThrottleEnds > 0 ? untilThrottleEnds : PENDING_CHECK_MS);
  };
  proto[FIXED] = true;
}

/** True once the fix is installed (it is, by importing this module). */
export function kafkajsFixed(): boolean {
  return proto[FIXED] === true;
}

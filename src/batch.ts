/**
 * One batch of one partition, from kafkajs' `eachBatch` to the commit: plan it
 * ({@link planBatch}), run the pipeline, build its outputs ({@link batchOutputs}), send them
 * within the topics' limits, and only then commit; count it in the metrics once committed.
 *
 * Delivery is at-least-once: an offset is committed only after every alert and dead letter of
 * the records up to it has been acknowledged by the broker.
 *
 * @module
 */
import type { EachBatchPayload } from "kafkajs";
import type { ProcessorContext } from "./context.ts";
import { logger } from "./log.ts";
import type { Models } from "./models.ts";
import { isProducerLost, sendWithinLimits } from "./outbox.ts";
import { batchOutputs } from "./outputs.ts";
import { addCounts, type BatchCounts, causeOfKey, planBatch } from "./partition.ts";

/** Group-membership errors: the consumer must rejoin its group (kafkajs does, given the error). */
const REJOIN = new Set([
  "UNKNOWN_MEMBER_ID",
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "NOT_COORDINATOR_FOR_GROUP",
]);

/**
 * The membership error behind a failed commit, if that is what failed it. kafkajs wraps it in a
 * non-retriable error that would crash the consumer for good; given the error itself, its runner
 * rejoins the group (after a broker restart the coordinator forgets its members).
 */
export function rejoinCause(error: unknown): Error | undefined {
  let e = error as { cause?: unknown; type?: string } | undefined;
  for (let depth = 0; e?.cause && depth < 8; depth++) e = e.cause as typeof e;
  return e && REJOIN.has(e.type ?? "") ? e as unknown as Error : undefined;
}

/**
 * Commits the batch's partition up to `last`. False when the consumer is stopping (kafkajs would
 * drop the commit silently; the next owner replays the records). A commit refused because the
 * group moved on rejoins the group; the records come again and are committed then.
 */
async function commit(run: ProcessorContext, payload: EachBatchPayload, last: string) {
  const { batch } = payload;
  if (!payload.isRunning()) {
    logger().warning("batch_not_committed", {
      topic: batch.topic,
      partition: batch.partition,
      last_offset: last,
    });
    return false;
  }
  const next = BigInt(last) + 1n;
  try {
    await run.consumer.commitOffsets([{
      topic: batch.topic,
      partition: batch.partition,
      offset: next.toString(),
    }]);
  } catch (e) {
    const cause = rejoinCause(e);
    if (!cause) throw e;
    logger().warning("commit_refused", {
      partition: batch.partition,
      last_offset: last,
      error: cause.message,
      action: "rejoin",
    });
    throw cause;
  }
  payload.resolveOffset(last);
  run.partitions.committed(batch.partition, next);
  return true;
}

/** Counts committed records in the metrics; logs progress every 1000 records. */
function countCommitted(run: ProcessorContext, counts: BatchCounts): void {
  const { metrics } = run;
  const { perCheck, alerts, truth } = counts;
  const n = perCheck.reduce((a, v) => a + v, 0);
  const before = run.processed;
  run.processed += n;
  run.anomalies += alerts;
  metrics.processed.inc(n);
  if (perCheck[0] > 0) metrics.dq.inc({ outcome: "ok", check: "all" }, perCheck[0]);
  const checks = run.pipeline.checks;
  for (let code = 1; code < checks.length; code++) {
    if (perCheck[code] === 0) continue;
    metrics.dq.inc({ outcome: "invalid", check: checks[code] }, perCheck[code]);
    metrics.deadLetters.inc({ check: checks[code] }, perCheck[code]);
  }
  metrics.anomalies.inc(alerts);
  for (const [key, count] of counts.causes) metrics.causes.inc(causeOfKey(key), count);
  countTruth(run, truth);
  if (Math.floor(run.processed / 1000) > Math.floor(before / 1000)) {
    logger().info("progress", {
      processed: run.processed,
      anomalies: run.anomalies,
      last_score: Number(run.lastScore.toFixed(4)),
      threshold: Number(run.pipeline.threshold.toFixed(4)),
    });
  }
}

const TRUTH_LABELS = [
  { truth: "normal", flagged: "false" },
  { truth: "normal", flagged: "true" },
  { truth: "anomaly", flagged: "false" },
  { truth: "anomaly", flagged: "true" },
];

function countTruth(run: ProcessorContext, truth: number[]): void {
  const { metrics, detection } = run;
  for (let k = 0; k < 4; k++) {
    if (truth[k] === 0) continue;
    detection[k] += truth[k];
    metrics.labelled.inc(TRUTH_LABELS[k], truth[k]);
  }
  const [, fp, fn, tp] = detection;
  if (tp + fp > 0) metrics.precision.set(tp / (tp + fp));
  if (tp + fn > 0) metrics.recall.set(tp / (tp + fn));
}

/** Counts what `partition` acknowledged before its commit (once the commit went through). */
function countUncounted(run: ProcessorContext, partition: number): void {
  const state = run.partitions.get(partition);
  const counts = state.uncounted;
  state.uncounted = undefined;
  if (counts) countCommitted(run, counts);
}

/** Handles one `eachBatch` call: see the module doc. */
export async function handleBatch(
  run: ProcessorContext,
  models: Models,
  payload: EachBatchPayload,
): Promise<void> {
  const { batch, heartbeat, isRunning, isStale } = payload;
  // The batch's span includes records kafkajs does not show (an aborted transaction's, the
  // transactions' markers): they need nothing, and the commit goes past them. No first offset:
  // nothing was fetched.
  const first = batch.firstOffset();
  if (run.stopping || !isRunning() || isStale() || first === null) return;
  if (!run.owned.has(batch.partition)) return;
  if (!run.pipeline.models.includes(batch.partition)) {
    await models.load(batch.partition, first);
    if (!run.pipeline.models.includes(batch.partition)) return;
  }
  const state = run.partitions.get(batch.partition);
  const range = { first, last: batch.lastOffset() };
  const plan = planBatch(state, batch.messages.map((m) => m.offset), range);
  if (plan.action === "skip") return;
  if (plan.rewound) state.seekTo = undefined;
  if (plan.action === "commit") {
    const next = BigInt(plan.last) + 1n;
    if (state.acked === undefined || state.acked < next) state.acked = next;
    if (state.relearn !== undefined && next < state.relearn) {
      // Hidden records during a rewind's relearning: the group had committed past them already,
      // and a commit here would move its offset back.
      payload.resolveOffset(plan.last);
      run.partitions.committed(batch.partition, next);
      return;
    }
    state.relearn = undefined;
    if (await commit(run, payload, plan.last)) countUncounted(run, batch.partition);
    return;
  }
  const started = performance.now();
  const messages = plan.start === 0 ? batch.messages : batch.messages.slice(plan.start);
  state.enqueued = BigInt(range.last) + 1n;
  const out = await run.pipeline.process(messages.map((m) => m.value), batch.partition);
  const last = range.last;
  if (state.relearn !== undefined && BigInt(last) + 1n >= state.relearn) state.relearn = undefined;
  if (plan.learnOnly === out.n) {
    // Learned again only: the group had committed these records.
    payload.resolveOffset(last);
    run.partitions.committed(batch.partition, BigInt(last) + 1n);
    await heartbeat();
    return;
  }
  await publish(run, payload, out, messages, plan.learnOnly, last, started);
}

async function publish(
  run: ProcessorContext,
  payload: EachBatchPayload,
  out: Awaited<ReturnType<ProcessorContext["pipeline"]["process"]>>,
  messages: EachBatchPayload["batch"]["messages"],
  from: number,
  last: string,
  started: number,
): Promise<void> {
  const { batch } = payload;
  const { config, metrics } = run;
  const o = batchOutputs(out, messages, from, batch, run.pipeline);
  metrics.eventValue.observeAll(o.values);
  if (!Number.isNaN(o.lastScore)) run.lastScore = o.lastScore;
  const outputs = [
    { topic: config.topicAlerts, messages: o.alerts },
    { topic: config.topicDlq, messages: o.dead },
  ];
  const options = {
    limits: run.limits,
    onTruncated: (topic: string, bytes: number) => {
      metrics.truncated.inc({ topic });
      logger().warning("output_truncated", { topic, original_bytes: bytes });
    },
  };
  for (let attempt = 1;; attempt++) {
    try {
      await sendWithinLimits(run.producer, outputs, options);
      break;
    } catch (e) {
      // A broker restart can lose the idempotent producer's sequence: a new producer sends the
      // batch again (at-least-once: what the old one delivered may come twice).
      if (!isProducerLost(e) || attempt >= 5) throw e;
      await run.renewProducer((e as Error).message);
    }
  }
  const ackedAt = Date.now() / 1000;
  for (const s of o.alertTimes) {
    metrics.alertLatency.observe({ from: "event_ts" }, Math.max(0, ackedAt - s.ts));
    metrics.alertLatency.observe({ from: "kafka_ts" }, Math.max(0, ackedAt - s.kafkaTs));
  }
  const state = run.partitions.get(batch.partition);
  state.acked = BigInt(last) + 1n;
  // Counted once committed; if the commit is refused, when the records come again.
  state.uncounted = state.uncounted ? addCounts(state.uncounted, o.counts) : o.counts;
  if (!await commit(run, payload, last)) return;
  countUncounted(run, batch.partition);
  if (!Number.isNaN(run.lastScore)) metrics.lastScore.set(run.lastScore);
  if (!Number.isNaN(run.pipeline.threshold)) metrics.threshold.set(run.pipeline.threshold);
  metrics.lag.set(
    { topic: batch.topic, partition: String(batch.partition) },
    Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last) - 1n)),
  );
  const entities = run.pipeline.entitiesOf(batch.partition);
  metrics.entities.set({ partition: String(batch.partition) }, entities.size);
  metrics.entitiesEvicted.inc(Math.max(0, entities.evicted - (state.evictedCounted ?? 0)));
  state.evictedCounted = entities.evicted;
  metrics.batchDuration.observe((performance.now() - started) / 1000);
  await payload.heartbeat();
}

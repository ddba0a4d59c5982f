/**
 * The processor's consumer: its settings (bounded fetch sizes), how it runs (manual commits, each
 * batch through `batch.ts`), readiness from its group events, and its restart after a transient
 * crash kafkajs will not restart itself.
 *
 * @module
 */
import type { Consumer } from "kafkajs";
import { handleBatch } from "./batch.ts";
import type { Config } from "./config.ts";
import type { ProcessorContext } from "./context.ts";
import { type createKafka, isTransientKafkaError } from "./kafka.ts";
import { logger } from "./log.ts";
import type { createModels } from "./models.ts";

/**
 * Fetch sizes: a partition's fetch holds at least one record of `MAX_EVENT_BYTES` (with its
 * headers), a whole fetch four of them, so a backlog of large records keeps memory bounded.
 */
export function fetchSizes(config: Config): { maxBytesPerPartition: number; maxBytes: number } {
  const perPartition = Math.max(1024 * 1024, config.maxEventBytes + 64 * 1024);
  return { maxBytesPerPartition: perPartition, maxBytes: 4 * perPartition };
}

/** Readiness: consumer in its group, producer connected, and the broker answering fetches. */
export function createReadiness() {
  let consumer = false, producer = false, why = "starting", lastFetch = 0;
  // A fetch completes at least every maxWaitTimeInMs while the broker answers: none for 5 s
  // means the broker is away (kafkajs keeps retrying and reconnects by itself).
  const answers = () => Date.now() - lastFetch < 5000;
  return {
    ready: () => consumer && producer && answers(),
    reason: () => why || (answers() ? "" : "no fetch from the broker for 5 s"),
    producerUp: () => producer = true,
    consumerUp: () => (consumer = true, why = ""),
    fetched: () => lastFetch = Date.now(),
    down: (reason: string) => (consumer = false, why = reason),
    isUp: () => consumer,
  };
}

/** Wires the consumer's group events to the context: assignment, fetches, crashes. */
export function watchConsumer(
  run: ProcessorContext,
  consumer: Consumer,
  readiness: ReturnType<typeof createReadiness>,
  onNewPartitions: () => void,
) {
  const log = logger();
  let joins = 0;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // Models of partitions taken away go (their new owner restores them from their
    // checkpoints); those of new ones load on their first batch.
    const previous = run.owned;
    run.owned = new Set(e.payload.memberAssignment[run.config.topicEvents] ?? []);
    // New partitions after a rebalance: their previous owner may have checkpointed since.
    if (joins++ > 0 && [...run.owned].some((p) => !previous.has(p))) onNewPartitions();
    for (const partition of run.pipeline.models) {
      if (run.owned.has(partition)) continue;
      void run.pipeline.drop(partition);
      run.partitions.drop(partition);
    }
    resumeRewinds(run, consumer);
    log.info("partitions_assigned", {
      partitions: [...run.owned].sort((a, b) => a - b).join(",") || "none",
    });
    readiness.consumerUp();
  });
  consumer.on(consumer.events.FETCH, () => {
    // A completed fetch: the consumer is in its group and running again (after kafkajs' own
    // restart, or a broker outage).
    readiness.fetched();
    if (!readiness.isUp() && !run.stopping) readiness.consumerUp();
  });
  consumer.on(consumer.events.CRASH, (e) => {
    readiness.down(`consumer crashed: ${e.payload.error.message}`);
    // A crash that passes (kafkajs restarts the consumer, or the processor does: see runProcess)
    // is a warning; one that stops the processor is an error.
    const passes = e.payload.restart || isTransientKafkaError(e.payload.error);
    log[passes ? "warning" : "error"]("consumer_crash", {
      error: e.payload.error.message,
      restart: passes,
    });
  });
}

/**
 * Asks again for every rewind to a checkpoint that no batch has reached yet. A join (a
 * rebalance, or the consumer started again after a crash) resumes fetching at the committed
 * offsets and forgets seeks not yet fetched, while the partition still waits for a batch at the
 * rewind's offset: without this, every later batch of it would be skipped (a stall seen in the
 * fault suite after a broker restart). A seek refused leaves the rewind: its records are then
 * not learned again (the model misses them once), and nothing else is lost.
 */
export function resumeRewinds(run: ProcessorContext, consumer: Pick<Consumer, "seek">): void {
  for (const partition of run.owned) {
    if (!run.pipeline.models.includes(partition)) continue;
    const state = run.partitions.get(partition);
    if (state.seekTo === undefined) continue;
    try {
      consumer.seek({ topic: run.config.topicEvents, partition, offset: state.seekTo });
      logger().info("rewind_resumed", { partition, offset: state.seekTo });
    } catch (e) {
      logger().warning("rewind_dropped", { partition, error: (e as Error).message });
      state.seekTo = undefined;
      state.relearn = undefined;
    }
  }
}

/** Builds the consumer `process` uses (fetch sizes bounded, session from the configuration). */
export function createConsumer(kafka: ReturnType<typeof createKafka>, config: Config): Consumer {
  return kafka.consumer({
    groupId: config.consumerGroup,
    maxWaitTimeInMs: 50,
    ...fetchSizes(config),
    sessionTimeout: config.consumerSessionTimeoutMs,
    heartbeatInterval: Math.min(3000, Math.floor(config.consumerSessionTimeoutMs / 3)),
  });
}

/** How the consumer runs: manual commits, four partitions in flight, each batch `handleBatch`. */
export function consumerRun(
  run: ProcessorContext,
  models: ReturnType<typeof createModels>,
  stop: (reason: string, code: number) => Promise<void>,
): Parameters<Consumer["run"]>[0] {
  return {
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Several partitions in flight: one batch's Kafka work overlaps another's scoring; the
    // pipeline still scores batches one at a time.
    partitionsConsumedConcurrently: 4,
    eachBatch: (payload) => {
      const p = handleBatch(run, models, payload).catch((e) => {
        // A dead worker thread cannot be recovered in place: exit so a supervisor restarts us
        // (nothing is lost: the batch is not committed). Other errors: kafkajs retries the batch.
        if (run.pipeline.failed) {
          logger().error("pipeline_failed", { error: run.pipeline.failed.message });
          void stop("pipeline failed", 1);
        }
        throw e;
      });
      run.inFlight.add(p);
      return p.finally(() => run.inFlight.delete(p));
    },
  };
}

/**
 * The partitions' models: opened before a partition's first batch (from its newest checkpoint,
 * rewinding the partition to the checkpoint's offset) and checkpointed on an interval and at
 * shutdown, each checkpoint written only once the batches it learned are committed.
 *
 * @module
 */
import type { Kafka } from "kafkajs";
import { bestEffort, readCheckpoints, within, writeCheckpoint } from "./checkpoint.ts";
import type { Config } from "./config.ts";
import type { ProcessorContext } from "./context.ts";
import { logger } from "./log.ts";
import { isProducerLost } from "./outbox.ts";
import { MODEL_STATE_VERSION, sameModel } from "./pipeline.ts";

/** Opening and checkpointing the models of a running processor. */
export interface Models {
  /** Opens the model of `partition` before its first batch (`first`: that batch's offset). */
  load(partition: number, first: string): Promise<void>;
  /** Checkpoints every owned partition scored since its last one; one run at a time. */
  checkpoint(reason: string): Promise<void>;
}

/** {@link Models} of `run`. */
export function createModels(run: ProcessorContext): Models {
  const loading = new Map<number, Promise<void>>();
  let checkpointing: Promise<void> | undefined;
  return {
    load(partition, first) {
      const found = loading.get(partition) ??
        openModel(run, partition, first).finally(() => loading.delete(partition));
      loading.set(partition, found);
      return found;
    },
    async checkpoint(reason) {
      while (checkpointing) await checkpointing;
      const { config, pipeline } = run;
      if (config.checkpointIntervalSec === 0 || pipeline.failed) return;
      checkpointing = checkpointAll(run, reason).finally(() => checkpointing = undefined);
      await checkpointing;
    },
  };
}

async function openModel(run: ProcessorContext, partition: number, first: string) {
  const { config, pipeline } = run;
  const log = logger();
  const state = run.partitions.get(partition);
  const found = config.checkpointIntervalSec > 0
    ? (await run.readCheckpoints()).get(partition)
    : undefined;
  if (
    found && sameModel(found.state.model, run.modelKey) &&
    found.state.version === MODEL_STATE_VERSION
  ) {
    await pipeline.open(partition, found.state);
    state.checkpointedScored = found.state.scored;
    const at = BigInt(found.offset);
    const relearn = at < BigInt(first) ? BigInt(first) - at : 0n;
    if (relearn > 0n) {
      // Rewind: the events after the checkpoint are learned once; those the group had committed
      // are only learned. Should the group be rejoined before they are all learned (a broker
      // outage), fetching resumes at the committed offset and the model misses the rest, once.
      state.seekTo = at.toString();
      state.relearn = BigInt(first);
      run.consumer.seek({ topic: config.topicEvents, partition, offset: at.toString() });
    } else if (at > BigInt(first)) {
      log.warning("checkpoint_ahead", {
        partition,
        checkpoint_offset: at.toString(),
        committed: first,
        learned_twice: (at - BigInt(first)).toString(),
      });
    }
    log.info("checkpoint_restored", {
      scored: found.state.scored,
      partition,
      offset: at.toString(),
      relearn: relearn.toString(),
      age_sec: Math.round((Date.now() - found.takenAt) / 1000),
    });
  } else {
    if (found) {
      log.warning("checkpoint_ignored", {
        partition,
        reason: found.state.version === MODEL_STATE_VERSION
          ? "model settings changed"
          : `checkpoint format ${found.state.version}, this version reads ${MODEL_STATE_VERSION}`,
      });
    }
    await pipeline.open(partition);
    state.checkpointedScored = 0;
  }
  if (!run.owned.has(partition)) await pipeline.drop(partition);
}

async function checkpointAll(run: ProcessorContext, reason: string): Promise<void> {
  for (const partition of run.pipeline.models) {
    if (!run.owned.has(partition)) continue;
    const state = run.partitions.get(partition);
    const offset = state.enqueued;
    if (offset === undefined || run.pipeline.scoredBy(partition) === state.checkpointedScored) {
      continue;
    }
    const started = performance.now();
    try {
      const snapshot = await run.pipeline.snapshot(partition);
      await run.partitions.untilCommitted(partition, offset, 30_000);
      const bytes = await writeCheckpoint(
        run.producer,
        run.config.checkpointTopic,
        run.config.consumerGroup,
        {
          topic: run.config.topicEvents,
          partition,
          offset: offset.toString(),
          state: snapshot,
          takenAt: Date.now(),
        },
        { maxMessageBytes: run.limits.get(run.config.checkpointTopic) },
      );
      state.checkpointedScored = snapshot.scored;
      logger().info("checkpoint_written", {
        reason,
        scored: snapshot.scored,
        partition,
        offset: offset.toString(),
        bytes,
        ms: Math.round(performance.now() - started),
      });
    } catch (e) {
      logger().warning("checkpoint_failed", { reason, partition, error: (e as Error).message });
      if (isProducerLost(e)) await run.renewProducer((e as Error).message).catch(() => {});
    }
  }
}

/**
 * Every partition's newest checkpoint, each offset raised to the oldest event the broker still
 * holds (retention may have removed some). Bounded in time: the checkpoints' read by 20 s, the
 * events topic's offsets by `options.offsetsMs` (default 10,000), so a read started just before a
 * broker outage fails (and the batch that needed it is retried) instead of holding every later
 * batch that waits on it.
 */
export async function readAllCheckpoints(
  kafka: Kafka,
  config: Pick<Config, "checkpointTopic" | "consumerGroup" | "topicEvents">,
  options: { offsetsMs?: number } = {},
) {
  const found = await readCheckpoints(
    kafka,
    config.checkpointTopic,
    config.consumerGroup,
    config.topicEvents,
    {
      timeoutMs: 20_000,
      unreadable: (partition, error) =>
        logger().warning("checkpoint_unreadable", { partition, error: error.message }),
    },
  );
  if (found.size === 0) return found;
  const admin = kafka.admin();
  try {
    const offsets = await within(
      admin.connect().then(() => admin.fetchTopicOffsets(config.topicEvents)),
      options.offsetsMs ?? 10_000,
      `reading the offsets of ${config.topicEvents}`,
    );
    for (const o of offsets) {
      const c = found.get(o.partition);
      if (c && BigInt(c.offset) < BigInt(o.low)) c.offset = o.low;
    }
  } finally {
    await bestEffort(admin.disconnect());
  }
  return found;
}

/**
 * The running processor as its parts share it: configuration, clients, the pipeline, metrics,
 * the owned partitions and the totals. Built by `process.ts`, used by `batch.ts` and
 * `models.ts`; holds no behaviour of its own.
 *
 * @module
 */
import type { Consumer, Producer } from "kafkajs";
import type { Checkpoint } from "./checkpoint.ts";
import type { Config } from "./config.ts";
import type { ProcessorMetrics } from "./metrics.ts";
import type { TopicLimits } from "./outbox.ts";
import type { Partitions } from "./partition.ts";
import type { Pipeline } from "./pipeline.ts";

/** The running processor. */
export interface ProcessorContext {
  config: Config;
  pipeline: Pipeline;
  producer: Producer;
  /**
   * Replaces `producer` with a new one (a new producer id): after the broker lost the old one's
   * sequence (a broker restart), an idempotent producer cannot go on. One renewal at a time.
   */
  renewProducer(reason: string): Promise<void>;
  consumer: Consumer;
  metrics: ProcessorMetrics;
  /** `max.message.bytes` of the output topics, read at start-up. */
  limits: TopicLimits;
  /** Set on shutdown: batches not yet started are left for the next run. */
  stopping: boolean;
  /** Batches being processed; shutdown waits for them before leaving the group. */
  inFlight: Set<Promise<void>>;
  /** Partitions of the latest assignment. */
  owned: Set<number>;
  /** Their states. */
  partitions: Partitions;
  /** Key of the model parameters (a checkpoint of other parameters is ignored). */
  modelKey: string;
  /** Checkpoints of the previous owners, read once per rebalance that brings new partitions. */
  readCheckpoints: () => Promise<Map<number, Checkpoint>>;
  /** Totals, for the progress line and shutdown. */
  processed: number;
  anomalies: number;
  lastScore: number;
  /** Labelled events so far: normal kept, normal flagged, anomaly missed, anomaly flagged. */
  detection: number[];
}

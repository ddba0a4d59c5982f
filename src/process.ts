/**
 * `process`: consume `TOPIC_EVENTS`, run the pipeline, publish alerts to `TOPIC_ALERTS` and
 * rejected records to `TOPIC_DLQ`, serve metrics, commit.
 *
 * Delivery is at-least-once: a batch's offsets are committed only after the producer
 * (idempotent, `acks: -1`) has acknowledged every alert and dead letter the batch caused. A crash
 * replays the uncommitted batch; it never drops it. SIGINT/SIGTERM: stop fetching, finish the
 * batch in hand, flush, commit, checkpoint, leave the group, exit 0.
 *
 * Each partition of `TOPIC_EVENTS` has its own model, so instances in one consumer group split
 * the partitions and their models: on the first batch of a partition it was given, an instance
 * restores that partition's newest checkpoint (written by whoever owned it before) and rewinds to
 * the checkpoint's offset; a partition taken away is dropped. The records between the checkpoint
 * and the group's committed offset are learned again but neither published nor counted: their
 * alerts and dead letters were acknowledged before they were committed.
 *
 * @module
 */
import type {
  Consumer,
  EachBatchPayload,
  IHeaders,
  KafkaMessage,
  Message,
  Producer,
} from "kafkajs";
import { type Config, loadConfig } from "./config.ts";
import { type CheckLimits, CHECKS, DEFAULT_LIMITS } from "./event.ts";
import { connectionOf, createKafka, createProducer, startingKafka } from "./kafka.ts";
import { logger, setupLogging } from "./log.ts";
import { createProcessorMetrics, type ProcessorMetrics, serveMetrics } from "./metrics.ts";
import { type Checkpoint, readCheckpoints, writeCheckpoint } from "./checkpoint.ts";
import {
  type BatchOutcome,
  createPipeline,
  forestOf,
  modelKey,
  type Pipeline,
} from "./pipeline.ts";
import { ensureTopics, projectTopics } from "./topics.ts";
import { readTopicLimits, sendWithinLimits, type TopicLimits } from "./outbox.ts";

/** Check limits from the configuration. */
export function limitsOf(config: Config): CheckLimits {
  return {
    ...DEFAULT_LIMITS,
    maxEventBytes: config.maxEventBytes,
    valueMin: config.valueMin,
    valueMax: config.valueMax,
    temperatureMin: config.temperatureMin,
    temperatureMax: config.temperatureMax,
    freshnessMaxLagSec: config.freshnessMaxLagSec,
  };
}

/** Pipeline options from the configuration. */
export function pipelineOptionsOf(config: Config) {
  return {
    workers: config.workers,
    limits: limitsOf(config),
    forest: {
      nTrees: config.hstNTrees,
      height: config.hstHeight,
      windowSize: config.hstWindowSize,
      seed: config.hstSeed,
    },
    threshold: {
      mode: config.thresholdMode,
      quantileP: config.quantileP,
      massRatio: config.thresholdMassRatio,
    },
  };
}

/** The alert of record `i` of a batch, in the seed's format plus `partition`, `offset`, `detected_at`. */
export function alertOf(
  out: BatchOutcome,
  i: number,
  raw: Uint8Array,
  source: { partition: number; offset: string },
): Record<string, unknown> {
  const event = JSON.parse(new TextDecoder().decode(raw));
  const temperature = out.features[2 * i + 1];
  return {
    type: "anomaly",
    sensor_id: event.sensor_id,
    ts: out.ts[i],
    score: out.score[i],
    threshold: out.threshold[i],
    features: {
      value: out.features[2 * i],
      ...(Number.isNaN(temperature) ? {} : { temperature }),
    },
    dq_issues: [],
    partition: source.partition,
    offset: source.offset,
    detected_at: Date.now() / 1000,
  };
}

/** The dead letter of a rejected record: original key and value, headers naming why and whence. */
export function deadLetterOf(
  message: KafkaMessage,
  check: string,
  reason: string,
  source: { topic: string; partition: number },
): Message {
  const headers: IHeaders = { ...message.headers };
  headers["dq_check"] = check;
  headers["dq_reason"] = reason;
  headers["source_topic"] = source.topic;
  headers["source_partition"] = String(source.partition);
  headers["source_offset"] = message.offset;
  headers["source_timestamp"] = message.timestamp;
  return { key: message.key, value: message.value, headers };
}

interface Running {
  /** Set on shutdown: batches not yet started are left for the next run. */
  stopping: boolean;
  /** Batches being processed; shutdown waits for them before leaving the group. */
  inFlight: Set<Promise<void>>;
  config: Config;
  pipeline: Pipeline;
  producer: Producer;
  consumer: Consumer;
  metrics: ProcessorMetrics;
  /** `max.message.bytes` of the output topics, read at start-up. */
  limits: TopicLimits;
  processed: number;
  anomalies: number;
  lastScore: number;
  /** Labelled events so far: normal kept, normal flagged, anomaly missed, anomaly flagged. */
  detection: number[];
  /** Per partition: next offset of the batches handed to the pipeline, and of those committed. */
  enqueued: Map<number, bigint>;
  committed: Map<number, bigint>;
  /**
   * Per partition: next offset after the records whose alerts and dead letters the broker has
   * acknowledged. When a commit was refused (the group moved on during a broker outage), the
   * records come again: those below this offset are committed, not processed twice.
   */
  acked: Map<number, bigint>;
  /** Per partition: counts of acknowledged records whose commit was refused (see {@link acked}). */
  uncounted: Map<number, BatchCounts>;
  /** Partitions rewound to a checkpoint: batches are skipped until one starts there. */
  seekTo: Map<number, string>;
  /**
   * Per partition rewound to a checkpoint: the committed offset it was rewound from. Records below
   * it are learned again only: no alert, dead letter, metric or commit (they had theirs). Should
   * the group be rejoined before they are all learned (a broker outage), fetching resumes at the
   * committed offset and the model misses the rest of them, once.
   */
  relearn: Map<number, bigint>;
  /** Partitions of the latest assignment, and the loading of their models. */
  owned: Set<number>;
  loading: Map<number, Promise<void>>;
  /** Checkpoints read since the latest rebalance (read once, on the first partition to load). */
  checkpoints: Promise<Map<number, Checkpoint>> | undefined;
  readCheckpoints: () => Promise<Map<number, Checkpoint>>;
  modelKey: string;
  checkpointing: boolean;
  /** Per partition: events scored by its model at its latest checkpoint. */
  checkpointedScored: Map<number, number>;
}

/** What a batch adds to the metrics once it is committed. */
interface BatchCounts {
  /** Records per check code (0 = passed every check). */
  perCheck: number[];
  alerts: number;
  /** Labelled records: normal kept, normal flagged, anomaly missed, anomaly flagged. */
  truth: number[];
}

function addCounts(into: BatchCounts, from: BatchCounts): BatchCounts {
  from.perCheck.forEach((v, i) => into.perCheck[i] += v);
  from.truth.forEach((v, i) => into.truth[i] += v);
  into.alerts += from.alerts;
  return into;
}

/** Counts committed records in the metrics and logs progress every 1000 records. */
function countCommitted(run: Running, counts: BatchCounts): void {
  const { metrics } = run;
  const { perCheck, alerts, truth } = counts;
  const n = perCheck.reduce((a, v) => a + v, 0);
  const before = run.processed;
  run.processed += n;
  run.anomalies += alerts;
  metrics.processed.inc(n);
  if (perCheck[0] > 0) metrics.dq.inc({ outcome: "ok", check: "all" }, perCheck[0]);
  for (let code = 1; code < CHECKS.length; code++) {
    if (perCheck[code] === 0) continue;
    metrics.dq.inc({ outcome: "invalid", check: CHECKS[code] }, perCheck[code]);
    metrics.deadLetters.inc({ check: CHECKS[code] }, perCheck[code]);
  }
  metrics.anomalies.inc(alerts);
  updateDetection(run, truth);
  if (Math.floor(run.processed / 1000) > Math.floor(before / 1000)) {
    logger().info("progress", {
      processed: run.processed,
      anomalies: run.anomalies,
      last_score: Number(run.lastScore.toFixed(4)),
      threshold: Number(run.pipeline.threshold.toFixed(4)),
    });
  }
}

function updateDetection(run: Running, truth: number[]): void {
  const { metrics, detection } = run;
  const labels = [["false", "false"], ["false", "true"], ["true", "false"], ["true", "true"]];
  for (let k = 0; k < 4; k++) {
    if (truth[k] === 0) continue;
    detection[k] += truth[k];
    metrics.labelled.inc({
      truth: labels[k][0] === "true" ? "anomaly" : "normal",
      flagged: labels[k][1],
    }, truth[k]);
  }
  const [, fp, fn, tp] = detection;
  if (tp + fp > 0) metrics.precision.set(tp / (tp + fp));
  if (tp + fn > 0) metrics.recall.set(tp / (tp + fn));
}

/**
 * Writes a checkpoint per partition: its model after every batch handed to the pipeline so far,
 * once those batches are committed (a checkpoint never holds an event whose alerts and dead
 * letters were not acknowledged). Skips the partitions with nothing scored since their last one.
 */
async function checkpoint(run: Running, reason: string): Promise<void> {
  const { config } = run;
  if (config.checkpointIntervalSec === 0 || run.checkpointing || run.pipeline.failed) return;
  run.checkpointing = true;
  try {
    for (const partition of run.pipeline.models) {
      const offset = run.enqueued.get(partition);
      const scored = run.pipeline.scoredBy(partition);
      if (!run.owned.has(partition) || offset === undefined) continue;
      if (scored === run.checkpointedScored.get(partition)) continue;
      const started = performance.now();
      try {
        const state = await run.pipeline.snapshot(partition);
        const deadline = Date.now() + 30_000;
        while ((run.committed.get(partition) ?? -1n) < offset) {
          if (!run.owned.has(partition)) throw new Error("partition reassigned");
          if (Date.now() > deadline) {
            throw new Error("batches before the checkpoint were not committed in 30 s");
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        const bytes = await writeCheckpoint(
          run.producer,
          config.checkpointTopic,
          config.consumerGroup,
          {
            topic: config.topicEvents,
            partition,
            offset: offset.toString(),
            state,
            takenAt: Date.now(),
          },
          { maxMessageBytes: run.limits.get(config.checkpointTopic) },
        );
        run.checkpointedScored.set(partition, state.scored);
        logger().info("checkpoint_written", {
          reason,
          scored: state.scored,
          partition,
          offset: offset.toString(),
          bytes,
          ms: Math.round(performance.now() - started),
        });
      } catch (e) {
        logger().warning("checkpoint_failed", {
          reason,
          partition,
          error: (e as Error).message,
        });
      }
    }
  } finally {
    run.checkpointing = false;
  }
}

/**
 * Opens the model of `partition` before its first batch (`first` = that batch's first offset):
 * from the partition's newest checkpoint when it fits the model settings, rewinding the
 * partition to the checkpoint's offset; else empty.
 */
function loadModel(run: Running, partition: number, first: string): Promise<void> {
  const loading = run.loading.get(partition) ?? (async () => {
    const { config, pipeline } = run;
    const log = logger();
    const found = config.checkpointIntervalSec > 0
      ? (await run.readCheckpoints()).get(partition)
      : undefined;
    if (found && found.state.model === run.modelKey && found.state.version === 2) {
      await pipeline.open(partition, found.state);
      run.checkpointedScored.set(partition, found.state.scored);
      const at = BigInt(found.offset);
      const relearn = at < BigInt(first) ? BigInt(first) - at : 0n;
      if (relearn > 0n) {
        // Rewind: the events after the checkpoint are learned once; those the group had committed
        // are only learned (see `relearn`).
        run.seekTo.set(partition, at.toString());
        run.relearn.set(partition, BigInt(first));
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
        log.warning("checkpoint_ignored", { partition, reason: "model settings changed" });
      }
      await pipeline.open(partition);
      run.checkpointedScored.set(partition, 0);
    }
    if (!run.owned.has(partition)) await pipeline.drop(partition);
  })().finally(() => run.loading.delete(partition));
  run.loading.set(partition, loading);
  return loading;
}

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
 * Commits a partition up to `last` (its records' alerts and dead letters acknowledged). False
 * when the consumer is stopping (kafkajs would drop the commit silently; the records are replayed
 * by the next owner). A commit refused because the group moved on rejoins the group; the records
 * come again and are committed then.
 */
async function commit(run: Running, payload: EachBatchPayload, last: string): Promise<boolean> {
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
  run.committed.set(batch.partition, next);
  return true;
}

async function handleBatch(run: Running, payload: EachBatchPayload): Promise<void> {
  const { batch, heartbeat, isRunning, isStale } = payload;
  if (run.stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
  if (!run.owned.has(batch.partition)) return;
  if (!run.pipeline.models.includes(batch.partition)) {
    await loadModel(run, batch.partition, batch.firstOffset()!);
    if (!run.pipeline.models.includes(batch.partition)) return;
  }
  const rewind = run.seekTo.get(batch.partition);
  if (rewind !== undefined) {
    // Fetched before the seek to the checkpoint took effect: leave it, the seek refetches.
    if (batch.firstOffset() !== rewind) return;
    run.seekTo.delete(batch.partition);
  }
  const started = performance.now();
  const { config, metrics } = run;
  let messages = batch.messages;
  const acked = run.acked.get(batch.partition);
  if (acked !== undefined && BigInt(batch.firstOffset()!) < acked) {
    messages = messages.filter((m) => BigInt(m.offset) >= acked);
    if (messages.length === 0) {
      if (await commit(run, payload, (acked - 1n).toString())) countUncounted(run, batch.partition);
      return;
    }
  }
  run.enqueued.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
  const out = await run.pipeline.process(messages.map((m) => m.value), batch.partition);
  const last = messages[messages.length - 1].offset;
  // After a rewind: records the group had committed are learned, nothing more.
  const relearnTo = run.relearn.get(batch.partition);
  let from = 0;
  if (relearnTo !== undefined) {
    while (from < out.n && BigInt(messages[from].offset) < relearnTo) from++;
    if (BigInt(last) + 1n >= relearnTo) run.relearn.delete(batch.partition);
    if (from === out.n) {
      payload.resolveOffset(last);
      run.committed.set(batch.partition, BigInt(last) + 1n);
      await heartbeat();
      return;
    }
  }
  const alerts: Message[] = [];
  const dead: Message[] = [];
  const alertSources: { ts: number; kafkaTs: number }[] = [];
  const perCheck = new Array<number>(CHECKS.length).fill(0);
  const truth = [0, 0, 0, 0]; // [normal kept, normal flagged, anomaly missed, anomaly flagged]
  for (let i = from; i < out.n; i++) {
    const m = messages[i];
    const code = out.status[i];
    perCheck[code]++;
    if (code !== 0) {
      dead.push(deadLetterOf(m, CHECKS[code], out.reasons[i] ?? CHECKS[code], batch));
      continue;
    }
    metrics.eventValue.observe(out.features[2 * i]);
    run.lastScore = out.score[i];
    const injected = m.headers?.injected?.toString();
    if (injected === "none" || injected === "value" || injected === "temperature") {
      truth[(injected === "none" ? 0 : 2) + out.anomaly[i]]++;
    }
    if (out.anomaly[i]) {
      const alert = alertOf(out, i, m.value!, { partition: batch.partition, offset: m.offset });
      alerts.push({ key: String(alert.sensor_id), value: JSON.stringify(alert) });
      alertSources.push({ ts: out.ts[i], kafkaTs: Number(m.timestamp) / 1000 });
    }
  }
  const topicMessages = [
    ...(alerts.length ? [{ topic: config.topicAlerts, messages: alerts }] : []),
    ...(dead.length ? [{ topic: config.topicDlq, messages: dead }] : []),
  ];
  if (topicMessages.length) {
    await sendWithinLimits(run.producer, topicMessages, {
      limits: run.limits,
      onTruncated: (topic, bytes) => {
        metrics.truncated.inc({ topic });
        logger().warning("output_truncated", { topic, original_bytes: bytes });
      },
    });
  }
  const ackedAt = Date.now() / 1000;
  for (const s of alertSources) {
    metrics.alertLatency.observe({ from: "event_ts" }, Math.max(0, ackedAt - s.ts));
    metrics.alertLatency.observe({ from: "kafka_ts" }, Math.max(0, ackedAt - s.kafkaTs));
  }
  run.acked.set(batch.partition, BigInt(last) + 1n);
  // Counted once committed; if the commit is refused, when the records come again.
  const counts = { perCheck, alerts: alerts.length, truth };
  const earlier = run.uncounted.get(batch.partition);
  run.uncounted.set(batch.partition, earlier ? addCounts(earlier, counts) : counts);
  if (!await commit(run, payload, last)) return;
  countUncounted(run, batch.partition);
  if (!Number.isNaN(run.lastScore)) metrics.lastScore.set(run.lastScore);
  if (!Number.isNaN(run.pipeline.threshold)) metrics.threshold.set(run.pipeline.threshold);
  metrics.lag.set(
    { topic: batch.topic, partition: String(batch.partition) },
    Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last) - 1n)),
  );
  metrics.batchDuration.observe((performance.now() - started) / 1000);
  await heartbeat();
}

function countUncounted(run: Running, partition: number): void {
  const counts = run.uncounted.get(partition);
  run.uncounted.delete(partition);
  if (counts) countCommitted(run, counts);
}

/**
 * Fetch sizes: a partition's fetch holds at least one record of `MAX_EVENT_BYTES` (with its
 * headers), a whole fetch four of them, so a backlog of large records keeps memory bounded.
 */
export function fetchSizes(config: Config): { maxBytesPerPartition: number; maxBytes: number } {
  const perPartition = Math.max(1024 * 1024, config.maxEventBytes + 64 * 1024);
  return { maxBytesPerPartition: perPartition, maxBytes: 4 * perPartition };
}

/** `max.message.bytes` of the topics the processor writes, as the broker has them. */
async function outputLimits(
  kafka: ReturnType<typeof createKafka>,
  config: Config,
): Promise<TopicLimits> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await readTopicLimits(admin, [
      config.topicAlerts,
      config.topicDlq,
      ...(config.checkpointIntervalSec > 0 ? [config.checkpointTopic] : []),
    ]);
  } finally {
    await admin.disconnect();
  }
}

/** Runs the processor until SIGINT/SIGTERM (or `signal`); returns the exit code. */
export async function runProcess(args: string[], signal?: AbortSignal): Promise<number> {
  const { config } = loadConfig({ args });
  setupLogging({ level: config.logLevel, format: config.logFormat });
  const log = logger();
  const metrics = createProcessorMetrics();
  metrics.workers.set(config.workers);
  let consumerReady = false, producerReady = false, why = "starting";
  // A fetch completes at least every maxWaitTimeInMs while the broker answers: none for 5 s
  // means the broker is away (kafkajs keeps retrying and reconnects by itself).
  let lastFetch = 0;
  const brokerAnswers = () => Date.now() - lastFetch < 5000;
  const server = serveMetrics({
    port: config.metricsPort,
    hostname: config.metricsHost,
    registry: metrics.registry,
    health: {
      ready: () => consumerReady && producerReady && brokerAnswers(),
      reason: () => why || (brokerAnswers() ? "" : "no fetch from the broker for 5 s"),
    },
  });
  log.info("metrics_server_started", { port: server.addr.port });

  const conn = await connectionOf(config);
  const kafka = createKafka(conn, "anomaly-flow-processor");
  const checkpoints = config.checkpointIntervalSec > 0;
  await startingKafka(conn, () =>
    ensureTopics(conn, [
      ...projectTopics(config),
      ...(checkpoints
        ? [{
          topic: config.checkpointTopic,
          numPartitions: 1,
          configEntries: [{ name: "cleanup.policy", value: "compact" }],
        }]
        : []),
    ]));
  const limits = await startingKafka(conn, () => outputLimits(kafka, config));
  log.info("output_limits", Object.fromEntries(limits));
  const options = pipelineOptionsOf(config);
  const pipeline = await createPipeline({ ...options, initialModel: false });
  // Checkpoints are read once at start-up (retried like every start-up step) and again after a
  // rebalance that brings partitions new to this instance, not on every batch.
  // Each checkpoint's offset is raised to the oldest event the broker still holds (retention may
  // have removed some), here rather than per partition: loading a model needs no broker call.
  const readAll = async () => {
    const found = await readCheckpoints(
      kafka,
      config.checkpointTopic,
      config.consumerGroup,
      config.topicEvents,
      { timeoutMs: 20_000 },
    );
    if (found.size === 0) return found;
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const o of await admin.fetchTopicOffsets(config.topicEvents)) {
        const c = found.get(o.partition);
        if (c && BigInt(c.offset) < BigInt(o.low)) c.offset = o.low;
      }
    } finally {
      await admin.disconnect();
    }
    return found;
  };
  const initialCheckpoints = checkpoints ? await startingKafka(conn, readAll) : new Map();
  if (checkpoints) {
    log.info("checkpoints_read", {
      partitions: [...initialCheckpoints.keys()].sort((a, b) => a - b).join(",") || "none",
    });
  }
  let joins = 0;
  const producer = createProducer(kafka);
  const consumer = kafka.consumer({
    groupId: config.consumerGroup,
    maxWaitTimeInMs: 50,
    ...fetchSizes(config),
    sessionTimeout: config.consumerSessionTimeoutMs,
    heartbeatInterval: Math.min(3000, Math.floor(config.consumerSessionTimeoutMs / 3)),
  });
  // The producer reconnects by itself (kafkajs reports a lost broker connection as a disconnect
  // and keeps retrying sends): readiness needs it connected once; a broker outage shows up as
  // missing fetches, a failing send as a batch that is not committed (lag).
  producer.on(producer.events.CONNECT, () => producerReady = true);
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // The partitions this instance owns now: models of the others go (their new owner restores
    // them from their checkpoints), those of new ones load on their first batch.
    const previous = run.owned;
    run.owned = new Set(e.payload.memberAssignment[config.topicEvents] ?? []);
    // Partitions new to this instance after a rebalance: their previous owner may have written
    // checkpoints since the last read (the first join uses the read made at start-up; a rejoin
    // with the same partitions, e.g. after a broker outage, needs no new read).
    if (joins++ > 0 && [...run.owned].some((p) => !previous.has(p))) run.checkpoints = undefined;
    for (const partition of pipeline.models) {
      if (run.owned.has(partition)) continue;
      void pipeline.drop(partition);
      for (
        const m of [
          run.enqueued,
          run.committed,
          run.acked,
          run.uncounted,
          run.seekTo,
          run.relearn,
          run.checkpointedScored,
        ]
      ) {
        m.delete(partition);
      }
    }
    log.info("partitions_assigned", {
      partitions: [...run.owned].sort((a, b) => a - b).join(",") || "none",
    });
    consumerReady = true;
    why = "";
  });
  consumer.on(consumer.events.FETCH, () => {
    // A completed fetch means the consumer is in its group and running again (after a crash
    // and kafkajs' own restart, or a broker outage).
    lastFetch = Date.now();
    if (!consumerReady && !stopping) {
      consumerReady = true;
      why = "";
    }
  });
  consumer.on(consumer.events.CRASH, (e) => {
    consumerReady = false;
    why = `consumer crashed: ${e.payload.error.message}`;
    log.error("consumer_crash", { error: e.payload.error.message, restart: e.payload.restart });
  });
  await startingKafka(conn, async () => {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: config.topicEvents, fromBeginning: true });
  });
  const run: Running = {
    stopping: false,
    inFlight: new Set(),
    config,
    pipeline,
    producer,
    consumer,
    metrics,
    limits,
    processed: 0,
    anomalies: 0,
    lastScore: NaN,
    detection: [0, 0, 0, 0],
    enqueued: new Map(),
    committed: new Map(),
    acked: new Map(),
    uncounted: new Map(),
    seekTo: new Map(),
    relearn: new Map(),
    owned: new Set(),
    loading: new Map(),
    checkpoints: Promise.resolve(initialCheckpoints),
    // A failed read (broker away) fails the batch; kafkajs retries it and the read with it.
    readCheckpoints: () =>
      run.checkpoints ??= readAll().catch((e) => {
        run.checkpoints = undefined;
        throw e;
      }),
    modelKey: modelKey(forestOf(options), options.threshold),
    checkpointing: false,
    checkpointedScored: new Map(),
  };
  const timer = checkpoints
    ? setInterval(() => void checkpoint(run, "interval"), config.checkpointIntervalSec * 1000)
    : undefined;

  let resolveStop!: (code: number) => void;
  const stopped = new Promise<number>((r) => resolveStop = r);
  let stopping = false;
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    consumerReady = false;
    why = "shutting down";
    log.info("shutdown_started", { reason });
    const guard = setTimeout(() => {
      log.error("shutdown_timeout", { after_ms: 9000 });
      Deno.exit(1);
    }, 9000);
    try {
      // kafkajs ignores commits once its runner stops (silently), so first stop fetching and let
      // the batches in hand publish and commit, then leave the group.
      run.stopping = true;
      try {
        consumer.pause([{ topic: config.topicEvents }]);
      } catch {
        // The consumer crashed for good: nothing is fetched any more.
      }
      await Promise.allSettled([...run.inFlight]);
      clearInterval(timer);
      while (run.checkpointing) await new Promise((r) => setTimeout(r, 20));
      await checkpoint(run, "shutdown");
      await consumer.disconnect();
      await producer.disconnect();
      await pipeline.close();
      await server.shutdown();
    } finally {
      clearTimeout(guard);
    }
    log.info("shutdown_complete", { processed: run.processed, anomalies: run.anomalies });
    resolveStop(code);
  };
  const onSignal = (name: string) => () => void stop(name, 0);
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => {
    const h = onSignal(s);
    Deno.addSignalListener(s, h);
    return [s, h] as const;
  });
  signal?.addEventListener("abort", () => void stop("abort", 0));
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) void stop("consumer crashed without restart", 1);
  });

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Several partitions in flight: one batch's Kafka work overlaps another's scoring; the
    // pipeline still scores batches one at a time.
    partitionsConsumedConcurrently: 4,
    eachBatch: (payload) => {
      const p = handleBatch(run, payload).catch((e) => {
        // A dead worker thread cannot be recovered in place: exit so a supervisor restarts us
        // (nothing is lost: the batch is not committed). Other errors: kafkajs retries the batch.
        if (pipeline.failed) {
          log.error("pipeline_failed", { error: pipeline.failed.message });
          void stop("pipeline failed", 1);
        }
        throw e;
      });
      run.inFlight.add(p);
      return p.finally(() => run.inFlight.delete(p));
    },
  });
  log.info("processor_started", {
    broker: config.kafkaBroker.join(","),
    topic: config.topicEvents,
    workers: config.workers,
    group: config.consumerGroup,
  });
  const code = await stopped;
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  return code;
}

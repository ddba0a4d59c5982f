/**
 * `process`: consume `TOPIC_EVENTS`, run the pipeline, publish alerts to `TOPIC_ALERTS` and
 * rejected records to `TOPIC_DLQ`, serve metrics, commit. This module is the composition root:
 * configuration, clients, readiness, the consumer's events, signals and shutdown. What a batch
 * does is in `batch.ts`, model loading and checkpoints in `models.ts` (docs/ARCHITECTURE.md).
 *
 * Delivery is at-least-once: a batch's offsets are committed only after the producer
 * (idempotent, `acks: -1`) has acknowledged every alert and dead letter the batch caused.
 * SIGINT/SIGTERM: stop fetching, finish the batch in hand, flush, commit, checkpoint, leave the
 * group, exit 0.
 *
 * Each partition of `TOPIC_EVENTS` has its own model, so instances in one consumer group split
 * the partitions and their models (see `models.ts`).
 *
 * @module
 */
import type { Checkpoint } from "./checkpoint.ts";
import { type Config, loadConfig } from "./config.ts";
import type { Contract } from "./contract/spec.ts";
import type { ProcessorContext } from "./context.ts";
import {
  connectionOf,
  createKafka,
  createProducer,
  restartAfterTransientCrash,
  startingKafka,
} from "./kafka.ts";
import { consumerRun, createConsumer, createReadiness, watchConsumer } from "./consumer.ts";
import { logger, setupLogging } from "./log.ts";
import { createProcessorMetrics, serveMetrics } from "./metrics.ts";
import { createModels, readAllCheckpoints } from "./models.ts";
import { contractOfConfig, pipelineOptionsOf } from "./options.ts";
import { createPartitions } from "./partition.ts";
import { createPipeline, forestOf, modelKey } from "./pipeline.ts";
import { ensureTopics, outputLimits, processTopics } from "./topics.ts";

/**
 * Stops `run`: stop fetching, let the batches in hand publish and commit (kafkajs ignores commits
 * once its runner stops, silently), checkpoint, leave the group. Exits 1 if it takes over 9 s.
 */
async function shutdown(
  run: ProcessorContext,
  models: ReturnType<typeof createModels>,
  reason: string,
  timer: ReturnType<typeof setInterval> | undefined,
  server: { shutdown(): Promise<void> },
): Promise<void> {
  const log = logger();
  log.info("shutdown_started", { reason });
  const guard = setTimeout(() => {
    log.error("shutdown_timeout", { after_ms: 9000 });
    Deno.exit(1);
  }, 9000);
  try {
    run.stopping = true;
    try {
      run.consumer.pause([{ topic: run.config.topicEvents }]);
    } catch {
      // The consumer crashed for good: nothing is fetched any more.
    }
    await Promise.allSettled([...run.inFlight]);
    clearInterval(timer);
    await models.checkpoint("shutdown");
    await run.consumer.disconnect();
    await run.producer.disconnect();
    await run.pipeline.close();
    await server.shutdown();
  } finally {
    clearTimeout(guard);
  }
  log.info("shutdown_complete", { processed: run.processed, anomalies: run.anomalies });
}

/**
 * Start-up steps before consuming (each retried while Kafka may still be starting): topics,
 * output limits, the pipeline, the checkpoints of the partitions' previous owners; then the
 * clients and the context. `forgetCheckpoints` makes the next model load read them again.
 */
async function startUp(
  config: Config,
  conn: Awaited<ReturnType<typeof connectionOf>>,
  kafka: ReturnType<typeof createKafka>,
  metrics: ReturnType<typeof createProcessorMetrics>,
  contract: Contract | undefined,
): Promise<{ run: ProcessorContext; forgetCheckpoints: () => void }> {
  const log = logger();
  const checkpoints = config.checkpointIntervalSec > 0;
  await startingKafka(conn, () => ensureTopics(conn, processTopics(config)));
  const limits = await startingKafka(conn, () => outputLimits(kafka, config));
  log.info("output_limits", Object.fromEntries(limits));
  const options = pipelineOptionsOf(config, contract);
  const pipeline = await createPipeline({ ...options, initialModel: false });
  // Checkpoints are read once at start-up and again after a rebalance that brings partitions
  // new to this instance, not on every batch.
  const initial: Map<number, Checkpoint> = checkpoints
    ? await startingKafka(conn, () => readAllCheckpoints(kafka, config))
    : new Map();
  if (checkpoints) {
    log.info("checkpoints_read", {
      partitions: [...initial.keys()].sort((a, b) => a - b).join(",") || "none",
    });
  }
  let read: Promise<Map<number, Checkpoint>> | undefined = Promise.resolve(initial);
  let renewing: Promise<void> | undefined;
  const run: ProcessorContext = {
    config,
    pipeline,
    producer: createProducer(kafka),
    renewProducer: (reason) =>
      renewing ??= (async () => {
        const old = run.producer;
        log.warning("producer_renewed", { reason });
        run.producer = createProducer(kafka);
        await old.disconnect().catch(() => {});
        await run.producer.connect();
      })().finally(() => renewing = undefined),
    consumer: createConsumer(kafka, config),
    metrics,
    limits,
    stopping: false,
    inFlight: new Set(),
    owned: new Set(),
    partitions: createPartitions(),
    modelKey: modelKey(forestOf(options), options.threshold),
    // A failed read (broker away) fails the batch; kafkajs retries it and the read with it.
    readCheckpoints: () =>
      read ??= readAllCheckpoints(kafka, config).catch((e) => {
        read = undefined;
        throw e;
      }),
    processed: 0,
    anomalies: 0,
    lastScore: NaN,
    detection: [0, 0, 0, 0],
  };
  return { run, forgetCheckpoints: () => read = undefined };
}

/** Runs the processor until SIGINT/SIGTERM (or `signal`); returns the exit code. */
export async function runProcess(args: string[], signal?: AbortSignal): Promise<number> {
  const loaded = loadConfig({ args });
  const { config } = loaded;
  const contract = await contractOfConfig(loaded);
  setupLogging({ level: config.logLevel, format: config.logFormat });
  const log = logger();
  if (contract) {
    log.info("contract_loaded", {
      file: config.contractFile,
      name: contract.name,
      version: contract.version,
      key: contract.key ?? "none",
      features: contract.features.map((f) => f.field).join(","),
    });
  }
  const metrics = createProcessorMetrics();
  metrics.workers.set(config.workers);
  metrics.targetRate.set(config.thresholdMode === "context" ? config.targetFalseAlertRate : 0);
  const readiness = createReadiness();
  const server = serveMetrics({
    port: config.metricsPort,
    hostname: config.metricsHost,
    registry: metrics.registry,
    health: { ready: readiness.ready, reason: readiness.reason },
  });
  log.info("metrics_server_started", { port: server.addr.port });

  const conn = await connectionOf(config);
  const kafka = createKafka(conn, "anomaly-flow-processor");
  const { run, forgetCheckpoints } = await startUp(config, conn, kafka, metrics, contract);
  const { producer, consumer } = run;
  const checkpoints = config.checkpointIntervalSec > 0;
  // The producer reconnects by itself: readiness needs it connected once; a broker outage shows
  // up as missing fetches, a failing send as a batch that is not committed (lag).
  producer.on(producer.events.CONNECT, readiness.producerUp);
  const models = createModels(run);
  watchConsumer(run, consumer, readiness, forgetCheckpoints);
  await startingKafka(conn, async () => {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: config.topicEvents, fromBeginning: true });
  });
  const timer = checkpoints
    ? setInterval(() => void models.checkpoint("interval"), config.checkpointIntervalSec * 1000)
    : undefined;

  let resolveStop!: (code: number) => void;
  const stopped = new Promise<number>((r) => resolveStop = r);
  let stopping = false;
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    readiness.down("shutting down");
    await shutdown(run, models, reason, timer, server);
    resolveStop(code);
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => {
    const h = () => void stop(s, 0);
    Deno.addSignalListener(s, h);
    return [s, h] as const;
  });
  signal?.addEventListener("abort", () => void stop("abort", 0));
  const runConsumer = () => consumer.run(consumerRun(run, models, stop));
  restartAfterTransientCrash(consumer, conn, config.topicEvents, runConsumer, stop, () => stopping);
  await runConsumer();
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

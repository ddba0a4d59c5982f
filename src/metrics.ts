/**
 * The processor's Prometheus metrics: the seed's six (names, types and labels unchanged) and the
 * operational ones, in a registry of their own.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `processed_records_total` | counter | |
 * | `dq_records_total` | counter | `outcome`, `check` |
 * | `anomalies_total` | counter | |
 * | `anomaly_causes_total` | counter | `basis`, `feature` |
 * | `last_anomaly_score` | gauge | |
 * | `anomaly_threshold` | gauge | |
 * | `event_value` | histogram | |
 * | `dead_letters_total` | counter | `check` |
 * | `consumer_lag` | gauge | `topic`, `partition` |
 * | `output_records_truncated_total` | counter | `topic` |
 * | `baseline_entities` | gauge | `partition` |
 * | `baseline_entities_evicted_total` | counter | |
 * | `batch_duration_seconds` | histogram | |
 * | `alert_latency_seconds` | histogram | `from` (`event_ts`, `kafka_ts`) |
 * | `processor_workers` | gauge | |
 * | `detection_labelled_total` | counter | `truth`, `flagged` |
 * | `detection_precision`, `detection_recall` | gauge | |
 *
 * The detection metrics count events that carry the generator's `injected` header (ground
 * truth), so a dashboard shows how well detection works on a labelled stream.
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { ConfigError } from "./config.ts";
import { createValueHistogram, type ValueHistogram } from "./value_histogram.ts";

/** The processor's metrics. */
export interface ProcessorMetrics {
  registry: Registry;
  processed: Counter;
  dq: Counter<"outcome" | "check">;
  anomalies: Counter;
  causes: Counter<"basis" | "feature">;
  lastScore: Gauge;
  threshold: Gauge;
  targetRate: Gauge;
  /** `event_value`: counted a batch at a time; a value that is not finite is not counted. */
  eventValue: ValueHistogram;
  deadLetters: Counter<"check">;
  truncated: Counter<"topic">;
  entities: Gauge<"partition">;
  entitiesEvicted: Counter;
  lag: Gauge<"topic" | "partition">;
  batchDuration: Histogram;
  alertLatency: Histogram<"from">;
  workers: Gauge;
  labelled: Counter<"truth" | "flagged">;
  precision: Gauge;
  recall: Gauge;
}

/** Creates the metrics in a new registry. */
export function createProcessorMetrics(): ProcessorMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    processed: new Counter({
      name: "processed_records_total",
      help: "Records consumed and checked (valid and invalid).",
      registers,
    }),
    dq: new Counter({
      name: "dq_records_total",
      help:
        'Data-quality outcomes: outcome="ok",check="all" or outcome="invalid",check=<failed check>.',
      labelNames: ["outcome", "check"],
      registers,
    }),
    anomalies: new Counter({
      name: "anomalies_total",
      help: "Events flagged as anomalies.",
      registers,
    }),
    causes: new Counter({
      name: "anomaly_causes_total",
      help: "Events flagged as anomalies, by what decided them: basis (level, change, recent, " +
        "drift, flat, day, record, or forest) and feature (all when the forest decided).",
      labelNames: ["basis", "feature"],
      registers,
    }),
    lastScore: new Gauge({
      name: "last_anomaly_score",
      help: "Score of the last scored event (0-1).",
      registers,
    }),
    threshold: new Gauge({
      name: "anomaly_threshold",
      help: "Current dynamic threshold on the score.",
      registers,
    }),
    targetRate: new Gauge({
      name: "anomaly_target_false_alert_rate",
      help: "Target rate of false alerts per judged event (TARGET_FALSE_ALERT_RATE) in context " +
        "mode; 0 in the forest threshold modes, which have none.",
      registers,
    }),
    eventValue: createValueHistogram({
      name: "event_value",
      help: "Distribution of the first feature of valid events (`value` for the seed's event).",
      buckets: [-100, -50, -25, -10, -5, -1, 0, 1, 5, 10, 25, 50, 100],
      registers,
    }),
    deadLetters: new Counter({
      name: "dead_letters_total",
      help: "Rejected records written to the dead-letter topic, by failed check.",
      labelNames: ["check"],
      registers,
    }),
    entities: new Gauge({
      name: "baseline_entities",
      help: "Entities (sensors) with a baseline, per partition's model.",
      labelNames: ["partition"],
      registers,
    }),
    entitiesEvicted: new Counter({
      name: "baseline_entities_evicted_total",
      help: "Entities whose baseline was evicted (MAX_ENTITIES reached).",
      registers,
    }),
    truncated: new Counter({
      name: "output_records_truncated_total",
      help: "Output records (dead letters, alerts) whose value was cut to fit the topic's limit.",
      labelNames: ["topic"],
      registers,
    }),
    lag: new Gauge({
      name: "consumer_lag",
      help: "Records behind the partition's high watermark after the last batch.",
      labelNames: ["topic", "partition"],
      registers,
    }),
    batchDuration: new Histogram({
      name: "batch_duration_seconds",
      help: "Time from receiving a batch to committing its offsets.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    alertLatency: new Histogram({
      name: "alert_latency_seconds",
      help: "Event-to-alert latency: alert acknowledged minus event ts or Kafka timestamp.",
      labelNames: ["from"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    workers: new Gauge({ name: "processor_workers", help: "Stage worker threads.", registers }),
    labelled: new Counter({
      name: "detection_labelled_total",
      help: "Scored events with a ground-truth `injected` header, by truth and decision.",
      labelNames: ["truth", "flagged"],
      registers,
    }),
    precision: new Gauge({
      name: "detection_precision",
      help: "Share of flagged labelled events that were injected anomalies.",
      registers,
    }),
    recall: new Gauge({
      name: "detection_recall",
      help: "Share of injected anomalies (labelled events) that were flagged.",
      registers,
    }),
  };
}

/** Health of a service, as `/healthz` (alive) and `/readyz` (ready for traffic) report it. */
export interface Health {
  ready(): boolean;
  /** Why not ready (shown by /readyz). */
  reason(): string;
}

/** Options of {@link serveMetrics}. */
export interface ServeOptions {
  port: number;
  /** Default: `0.0.0.0`. */
  hostname?: string;
  registry: Registry;
  health: Health;
  /** The setting that chose the port, named when it is taken. Default: `METRICS_PORT`. */
  setting?: string;
}

/**
 * Serves `/metrics`, `/healthz` and `/readyz`. Throws a {@link ConfigError} naming the address and
 * the setting when it cannot listen (the port taken by another process, most often).
 */
export function serveMetrics(options: ServeOptions): Deno.HttpServer<Deno.NetAddr> {
  const hostname = options.hostname ?? "0.0.0.0";
  try {
    return Deno.serve({ port: options.port, hostname, onListen: () => {} }, async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        return new Response(await options.registry.metrics(), {
          headers: { "content-type": options.registry.contentType },
        });
      }
      if (path === "/healthz") return new Response("ok\n");
      if (path === "/readyz") {
        return options.health.ready()
          ? new Response("ready\n")
          : new Response(`not ready: ${options.health.reason()}\n`, { status: 503 });
      }
      return new Response("not found: try /metrics, /healthz, /readyz\n", { status: 404 });
    });
  } catch (e) {
    const setting = options.setting ?? "METRICS_PORT";
    throw new ConfigError(
      setting,
      `cannot serve metrics on ${hostname}:${options.port}: ${(e as Error).message}; ` +
        `set ${setting} to a free port (0: any free port)`,
    );
  }
}

/**
 * Settings of every command, read from the environment (the seed's names) and overridden by
 * command-line flags, validated with zod at start-up. A bad value stops start-up with one line
 * that names the setting, its value and what is allowed:
 *
 * ```text
 * invalid setting QUANTILE_P (--quantile-p) = "1.5": expected a number > 0 and < 1
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { LOG_FORMATS, LOG_LEVELS } from "./log.ts";
import { THRESHOLD_MODES } from "./threshold.ts";
import { SEED_RATES } from "./sensors.ts";
import { BASELINE_DEFAULTS, EXTREMES_MODES, SEASONS } from "./baseline.ts";
import { FOREST_DEFAULTS, PARTITION_DEFAULTS, THRESHOLD_DEFAULTS } from "./defaults.ts";
import { FEATURE_LIMIT } from "./contract/spec.ts";
import { zoneName, ZONES_ALLOWED } from "./zone.ts";

/** What a setting is about, for a command's `--help` (`help.ts`). */
export const SETTING_GROUPS = {
  kafka: "Kafka connection",
  topics: "topics",
  consumer: "processor: consumer group, checkpoints, metrics",
  contract: "event contract",
  events: "data-quality checks",
  detection: "detection",
  notify: "notifications",
  email: "e-mail (SMTP)",
  generator: "generator",
  logging: "logging",
} as const;
/** One of the keys of {@link SETTING_GROUPS}. */
export type SettingGroup = keyof typeof SETTING_GROUPS;

/** One setting: its variable, flag, default, what it allows and means. */
export interface Spec {
  env: string;
  /** What the setting is about; a command's `--help` lists the groups it reads. */
  group: SettingGroup;
  flag: string;
  default: string;
  allowed: string;
  schema: z.ZodType;
  doc: string;
  /** A secret: its value is never printed, not even in an error. */
  secret?: boolean;
  /** How the default is shown when it depends on the machine (`available cores`). */
  defaultShown?: string;
}

const int = (min: number, max: number) =>
  z.string().trim().regex(/^[+-]?\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
const num = () =>
  z.string().trim().min(1).transform(Number).pipe(z.number().refine(Number.isFinite));
const open01 = () => z.string().trim().min(1).transform(Number).pipe(z.number().gt(0).lt(1));
const text = () => z.string().trim().min(1);
/** A Kafka topic name: what the broker accepts (1–249 of these characters, not `.` or `..`). */
const topic = () =>
  z.string().trim().regex(/^[A-Za-z0-9._-]{1,249}$/).refine((t) => t !== "." && t !== "..");
/** A limit of a built-in feature: within ±{@link FEATURE_LIMIT} (squared deviations stay finite). */
const featureLimit = () => num().pipe(z.number().min(-FEATURE_LIMIT).max(FEATURE_LIMIT));
const TOPIC_ALLOWED = "a topic name: 1–249 letters, digits, '.', '_' or '-' (not '.' or '..')";
const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values);
const brokers = () =>
  z.string().trim().transform((s) => s.split(",").map((b) => b.trim())).pipe(
    z.array(z.string().regex(/^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$/)).min(1),
  );

const optionalText = () => z.string().trim();
const bool = () =>
  z.string().trim().toLowerCase().pipe(z.enum(["true", "false", "1", "0", "yes", "no", ""]))
    .transform((v) => v === "true" || v === "1" || v === "yes");
const emails = () =>
  z.string().trim().transform((s) => s === "" ? [] : s.split(",").map((e) => e.trim())).pipe(
    z.array(z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/)),
  );

const cores = String(Math.max(1, navigator.hardwareConcurrency ?? 1));

/** Every setting: environment variable, flag, default and what is allowed. */
export const SETTINGS = {
  kafkaBroker: {
    env: "KAFKA_BROKER",
    group: "kafka",
    flag: "kafka-broker",
    default: "localhost:9092",
    allowed: "a comma-separated list of host:port",
    schema: brokers(),
    doc: "Kafka bootstrap servers",
  },
  kafkaSsl: {
    env: "KAFKA_SSL",
    group: "kafka",
    flag: "kafka-ssl",
    default: "false",
    allowed: "true or false",
    schema: bool(),
    doc: "TLS to Kafka",
  },
  kafkaSslCaFile: {
    env: "KAFKA_SSL_CA_FILE",
    group: "kafka",
    flag: "kafka-ssl-ca-file",
    default: "",
    allowed: "empty or a PEM file path",
    schema: optionalText(),
    doc: "extra CA to trust for the brokers' certificates",
  },
  kafkaSaslMechanism: {
    env: "KAFKA_SASL_MECHANISM",
    group: "kafka",
    flag: "kafka-sasl-mechanism",
    default: "none",
    allowed: "one of none, plain, scram-sha-256, scram-sha-512",
    schema: z.string().trim().toLowerCase().pipe(
      z.enum(["none", "plain", "scram-sha-256", "scram-sha-512"]),
    ),
    doc: "SASL mechanism",
  },
  kafkaSaslUsername: {
    env: "KAFKA_SASL_USERNAME",
    group: "kafka",
    flag: "kafka-sasl-username",
    default: "",
    allowed: "a user name (required with a SASL mechanism)",
    schema: optionalText(),
    doc: "SASL user",
  },
  kafkaSaslPassword: {
    env: "KAFKA_SASL_PASSWORD",
    group: "kafka",
    flag: "kafka-sasl-password",
    default: "",
    allowed: "any text",
    schema: z.string(),
    doc: "SASL password (a secret: never logged)",
    secret: true,
  },
  topicEvents: {
    env: "TOPIC_EVENTS",
    group: "topics",
    flag: "topic-events",
    default: "events",
    allowed: TOPIC_ALLOWED,
    schema: topic(),
    doc: "input topic of events",
  },
  topicAlerts: {
    env: "TOPIC_ALERTS",
    group: "topics",
    flag: "topic-alerts",
    default: "alerts",
    allowed: TOPIC_ALLOWED,
    schema: topic(),
    doc: "output topic of alerts",
  },
  topicDlq: {
    env: "TOPIC_DLQ",
    group: "topics",
    flag: "topic-dlq",
    default: "events.dlq",
    allowed: TOPIC_ALLOWED,
    schema: topic(),
    doc: "dead-letter topic of rejected events",
  },
  consumerGroup: {
    env: "CONSUMER_GROUP",
    group: "consumer",
    flag: "consumer-group",
    default: "anomaly-flow",
    allowed: "a non-empty group id",
    schema: text(),
    doc: "Kafka consumer group of `process`",
  },
  consumerSessionTimeoutMs: {
    env: "CONSUMER_SESSION_TIMEOUT_MS",
    group: "consumer",
    flag: "consumer-session-timeout-ms",
    default: "30000",
    allowed: "an integer in 6000..300000 (the broker's group session limits)",
    schema: int(6000, 300_000),
    doc:
      "how long the group waits for a silent (crashed) member before handing its partitions over",
  },
  contractFile: {
    env: "CONTRACT_FILE",
    group: "contract",
    flag: "contract-file",
    default: "",
    allowed: "empty (the built-in IoT contract) or a YAML or JSON contract file",
    schema: optionalText(),
    doc:
      "the event contract: fields, checks, entity key, time and features (README, Your own events)",
  },
  valueMin: {
    env: "VALUE_MIN",
    group: "events",
    flag: "value-min",
    default: "-100",
    allowed: "a number within ±1e15, below VALUE_MAX",
    schema: featureLimit(),
    doc: "built-in contract: lowest valid `value` (check range_value)",
  },
  valueMax: {
    env: "VALUE_MAX",
    group: "events",
    flag: "value-max",
    default: "100",
    allowed: "a number within ±1e15, above VALUE_MIN",
    schema: featureLimit(),
    doc: "built-in contract: highest valid `value`",
  },
  temperatureMin: {
    env: "TEMPERATURE_MIN",
    group: "events",
    flag: "temperature-min",
    default: "-20",
    allowed: "a number within ±1e15, below TEMPERATURE_MAX",
    schema: featureLimit(),
    doc: "built-in contract: lowest valid `temperature` (check range_temperature)",
  },
  temperatureMax: {
    env: "TEMPERATURE_MAX",
    group: "events",
    flag: "temperature-max",
    default: "80",
    allowed: "a number within ±1e15, above TEMPERATURE_MIN",
    schema: featureLimit(),
    doc: "built-in contract: highest valid `temperature`",
  },
  freshnessMaxLagSec: {
    env: "FRESHNESS_MAX_LAG_SEC",
    group: "events",
    flag: "freshness-max-lag-sec",
    default: "300",
    allowed: "a number >= 0",
    schema: num().pipe(z.number().min(0)),
    doc:
      "oldest accepted `ts`, in seconds before now (check freshness); with a contract, overrides its `time.freshness_lag_sec`",
  },
  quantileP: {
    env: "QUANTILE_P",
    group: "detection",
    flag: "quantile-p",
    default: String(THRESHOLD_DEFAULTS.quantileP),
    allowed: "a number > 0 and < 1",
    schema: open01(),
    doc: "quantile of past scores used as the threshold",
  },
  thresholdMode: {
    env: "THRESHOLD_MODE",
    group: "detection",
    flag: "threshold-mode",
    default: THRESHOLD_DEFAULTS.mode,
    allowed: `one of ${THRESHOLD_MODES.join(", ")}`,
    schema: oneOf(THRESHOLD_MODES),
    doc: "`quantile` (the seed's), `adaptive` or `context` (see README, Detection)",
  },
  thresholdMassRatio: {
    env: "THRESHOLD_MASS_RATIO",
    group: "detection",
    flag: "threshold-mass-ratio",
    default: String(THRESHOLD_DEFAULTS.massRatio),
    allowed: "a number > 1",
    schema: num().pipe(z.number().gt(1)),
    doc: "`adaptive` mode: anomaly when an event's mass is below median mass / this",
  },
  targetFalseAlertRate: {
    env: "TARGET_FALSE_ALERT_RATE",
    group: "detection",
    flag: "target-false-alert-rate",
    default: String(THRESHOLD_DEFAULTS.targetFalseAlertRate),
    allowed: "a number > 0 and < 1",
    schema: open01(),
    doc:
      "share of normal events allowed to alert, however many features they have (each of k at 1/k of it): sets the calibrated alert score's 0.5 and `context` mode",
  },
  baselineAlpha: {
    env: "BASELINE_ALPHA",
    group: "detection",
    flag: "baseline-alpha",
    default: String(BASELINE_DEFAULTS.alpha),
    allowed: "a number > 0 and < 1",
    schema: open01(),
    doc: "weight of the newest event in each entity's running level and noise",
  },
  baselineSeason: {
    env: "BASELINE_SEASON",
    group: "detection",
    flag: "baseline-season",
    default: BASELINE_DEFAULTS.season,
    allowed: `one of ${SEASONS.join(", ")}`,
    schema: z.string().trim().toLowerCase().pipe(oneOf(SEASONS)),
    doc:
      "`daily`: each entity's forecast includes its own profile by hour of day (in `TIME_ZONE`), so a daily cycle is not flagged; `weekly`: by hour of the week (weekends apart, 7× the state); either also judges each day's mean against the same weekday's; `none`: level and trend only",
  },
  timeZone: {
    env: "TIME_ZONE",
    group: "detection",
    flag: "time-zone",
    default: "UTC",
    allowed: ZONES_ALLOWED.replace(/^expected /, ""),
    schema: text().refine((zone) => zoneName(zone) !== undefined),
    doc:
      "the time zone whose hours, days and weeks the baselines' profiles (and a contract's `time.cycles`) follow, daylight saving included; a contract's `time.zone` takes precedence",
  },
  baselineExtremes: {
    env: "BASELINE_EXTREMES",
    group: "detection",
    flag: "baseline-extremes",
    default: BASELINE_DEFAULTS.extremes,
    allowed: `one of ${EXTREMES_MODES.join(", ")}`,
    schema: z.string().trim().toLowerCase().pipe(oneOf(EXTREMES_MODES)),
    doc:
      "`shape`: each entity's deviations judged by the skew and tail weight of its own (learned over about 3,000 of its events), so skewed or heavy-tailed noise (latencies, CPU, amounts) alerts near the target rate, and an entity whose values repeat the previous one a quarter of the time or more (counts, coarse or idle readings) judged as with `learn`; it also learns anomalies that are a few percent of an entity's events as its tail; `coarse` (the default before): as `shape` without the skew and tail weight, every finely varying reading judged as if its noise were Gaussian; `gaussian`: every deviation is judged in the entity's own noise as if Gaussian; `learn`: a spike size an entity keeps showing (7 sd or more, recurring) stops alerting for it, for streams whose bursts are routine",
  },
  maxEntities: {
    env: "MAX_ENTITIES",
    group: "detection",
    flag: "max-entities",
    default: String(BASELINE_DEFAULTS.maxEntities),
    allowed: "an integer in 1..10000000",
    schema: int(1, 10_000_000),
    doc: "entities (sensors) with a baseline per partition; the least recently seen is evicted",
  },
  hstNTrees: {
    env: "HST_N_TREES",
    group: "detection",
    flag: "hst-n-trees",
    default: String(FOREST_DEFAULTS.nTrees),
    allowed: "an integer in 1..1000",
    schema: int(1, 1000),
    doc: "Half-Space Trees: number of trees",
  },
  hstHeight: {
    env: "HST_HEIGHT",
    group: "detection",
    flag: "hst-height",
    default: String(FOREST_DEFAULTS.height),
    allowed: "an integer in 1..24",
    schema: int(1, 24),
    doc: "Half-Space Trees: tree height",
  },
  hstWindowSize: {
    env: "HST_WINDOW_SIZE",
    group: "detection",
    flag: "hst-window-size",
    default: String(FOREST_DEFAULTS.windowSize),
    allowed: "an integer in 1..1000000",
    schema: int(1, 1_000_000),
    doc: "Half-Space Trees: events per window",
  },
  hstSeed: {
    env: "HST_SEED",
    group: "detection",
    flag: "seed",
    default: String(FOREST_DEFAULTS.seed),
    allowed: "an integer in 0..4294967295",
    schema: int(0, 4294967295),
    doc: "seed of the forest (same seed and input, same scores)",
  },
  workers: {
    env: "WORKERS",
    group: "detection",
    flag: "workers",
    default: cores,
    defaultShown: "available cores",
    allowed: "an integer in 1..64",
    schema: int(1, 64),
    doc: "worker threads",
  },
  checkpointIntervalSec: {
    env: "CHECKPOINT_INTERVAL_SEC",
    group: "consumer",
    flag: "checkpoint-interval-sec",
    default: "30",
    allowed: "a number >= 0 (0: no checkpoints)",
    schema: num().pipe(z.number().min(0)),
    doc: "how often `process` checkpoints the model (and at shutdown)",
  },
  checkpointTopic: {
    env: "CHECKPOINT_TOPIC",
    group: "consumer",
    flag: "checkpoint-topic",
    default: "anomaly-flow.checkpoints",
    allowed: TOPIC_ALLOWED,
    schema: topic(),
    doc: "compacted topic of model checkpoints",
  },
  metricsHost: {
    env: "METRICS_HOST",
    group: "consumer",
    flag: "metrics-host",
    default: "0.0.0.0",
    allowed: "an address to bind (0.0.0.0: all, 127.0.0.1: this machine only)",
    schema: text(),
    doc: "bind address of the metrics and health endpoints",
  },
  maxEventBytes: {
    env: "MAX_EVENT_BYTES",
    group: "events",
    flag: "max-event-bytes",
    default: "1048576",
    allowed: "an integer in 1..104857600",
    schema: int(1, 104_857_600),
    doc: "largest event accepted, checked before JSON parsing (check schema)",
  },
  maxBatchBytes: {
    env: "MAX_BATCH_BYTES",
    group: "events",
    flag: "max-batch-bytes",
    default: "268435456",
    allowed: "an integer in 1048576..2147483647",
    schema: int(1_048_576, 2_147_483_647),
    doc: "most bytes one compressed batch may expand to; the records of a batch beyond it, " +
      "or that cannot be decompressed, are dead-lettered (check schema)",
  },
  metricsPort: {
    env: "METRICS_PORT",
    group: "consumer",
    flag: "metrics-port",
    default: "8000",
    allowed: "an integer in 0..65535 (0: any free port)",
    schema: int(0, 65535),
    doc: "port of /metrics, /healthz, /readyz",
  },
  alertsConsumerGroup: {
    env: "ALERTS_CONSUMER_GROUP",
    group: "notify",
    flag: "alerts-consumer-group",
    default: "anomaly-flow-alerts",
    allowed: "a non-empty group id",
    schema: text(),
    doc: "Kafka consumer group of `alerts`",
  },
  alertsMetricsPort: {
    env: "ALERTS_METRICS_PORT",
    group: "notify",
    flag: "alerts-metrics-port",
    default: "8001",
    allowed: "an integer in 0..65535 (0: any free port)",
    schema: int(0, 65535),
    doc: "port of the alert consumer's /metrics, /healthz, /readyz",
  },
  alertCooldownSec: {
    env: "ALERT_COOLDOWN_SEC",
    group: "notify",
    flag: "alert-cooldown-sec",
    default: "300",
    allowed: "a number >= 0 (0: notify every alert)",
    schema: num().pipe(z.number().min(0)),
    doc: "notifications per sensor: at most one per cooldown; the rest are counted and summarised",
  },
  slackWebhookUrl: {
    env: "SLACK_WEBHOOK_URL",
    group: "notify",
    flag: "slack-webhook-url",
    default: "",
    allowed: "empty (Slack off) or an http(s) URL",
    schema: optionalText().pipe(z.union([z.literal(""), z.url({ protocol: /^https?$/ })])),
    doc: "Slack incoming webhook (a secret: never logged)",
    secret: true,
  },
  smtpEnabled: {
    env: "SMTP_ENABLED",
    group: "email",
    flag: "smtp-enabled",
    default: "false",
    allowed: "true or false",
    schema: bool(),
    doc: "send alerts by e-mail",
  },
  smtpHost: {
    env: "SMTP_HOST",
    group: "email",
    flag: "smtp-host",
    default: "",
    allowed: "a host name (required when SMTP_ENABLED=true)",
    schema: optionalText(),
    doc: "SMTP server",
  },
  smtpPort: {
    env: "SMTP_PORT",
    group: "email",
    flag: "smtp-port",
    default: "587",
    allowed: "an integer in 1..65535 (587: STARTTLS required; 465: implicit TLS)",
    schema: int(1, 65535),
    doc: "SMTP port",
  },
  smtpUser: {
    env: "SMTP_USER",
    group: "email",
    flag: "smtp-user",
    default: "",
    allowed: "a user name, or empty for no AUTH",
    schema: optionalText(),
    doc: "SMTP login",
  },
  smtpPassword: {
    env: "SMTP_PASSWORD",
    group: "email",
    flag: "smtp-password",
    default: "",
    allowed: "any text",
    schema: z.string(),
    doc: "SMTP password (a secret: never logged)",
    secret: true,
  },
  smtpCaFile: {
    env: "SMTP_CA_FILE",
    group: "email",
    flag: "smtp-ca-file",
    default: "",
    allowed: "empty or a PEM file path",
    schema: optionalText(),
    doc: "extra CA to trust for the SMTP server's certificate",
  },
  emailFrom: {
    env: "EMAIL_FROM",
    group: "email",
    flag: "email-from",
    default: "",
    allowed: "an address (default: SMTP_USER, else anomaly-flow@localhost)",
    schema: optionalText(),
    doc: "sender of alert e-mails",
  },
  emailTo: {
    env: "EMAIL_TO",
    group: "email",
    flag: "email-to",
    default: "",
    allowed: "comma-separated addresses (required when SMTP_ENABLED=true)",
    schema: emails(),
    doc: "recipients of alert e-mails",
  },
  topicEventsPartitions: {
    env: "TOPIC_EVENTS_PARTITIONS",
    group: "topics",
    flag: "topic-events-partitions",
    default: String(PARTITION_DEFAULTS.events),
    allowed: "an integer in 1..10000",
    schema: int(1, 10_000),
    doc: "partitions of `TOPIC_EVENTS` when the product creates it",
  },
  genScenario: {
    env: "GEN_SCENARIO",
    group: "generator",
    flag: "scenario",
    default: "seed",
    allowed: "seed or multi",
    schema: oneOf(["seed", "multi"] as const),
    doc:
      "`generate`: the seed's 5 sensors, or `multi` (12 sensors at their own levels, one far off, a daily cycle, spikes, level shifts, flat lines; `injected` = spike, shift, flat)",
  },
  genProducers: {
    env: "GEN_PRODUCERS",
    group: "generator",
    flag: "producers",
    default: cores,
    defaultShown: "available cores",
    allowed: "an integer in 1..64",
    schema: int(1, 64),
    doc: "`generate`, load mode: producer threads",
  },
  genRate: {
    env: "GEN_RATE",
    group: "generator",
    flag: "rate",
    default: "20",
    allowed: "a number >= 0 (0: load mode, as fast as it goes)",
    schema: num().pipe(z.number().min(0).max(10_000_000)),
    doc: "`generate`: events per second",
  },
  genSensors: {
    env: "GEN_SENSORS",
    group: "generator",
    flag: "sensors",
    default: "5",
    allowed: "an integer in 1..100000",
    schema: int(1, 100_000),
    doc: "`generate`: simulated sensors",
  },
  genCount: {
    env: "GEN_COUNT",
    group: "generator",
    flag: "count",
    default: "0",
    allowed: "an integer >= 0 (0: no limit)",
    schema: int(0, Number.MAX_SAFE_INTEGER),
    doc: "`generate`: events to send",
  },
  genDuration: {
    env: "GEN_DURATION",
    group: "generator",
    flag: "duration",
    default: "0",
    allowed: "seconds >= 0 (0: no limit)",
    schema: num().pipe(z.number().min(0)),
    doc: "`generate`: how long to run",
  },
  genSeed: {
    env: "GEN_SEED",
    group: "generator",
    flag: "gen-seed",
    default: "1",
    allowed: "an integer in 0..4294967295",
    schema: int(0, 4294967295),
    doc: "`generate`: seed of the simulated stream (`generate --seed` is the same)",
  },
  genValueAnomalyRate: {
    env: "GEN_VALUE_ANOMALY_RATE",
    group: "generator",
    flag: "value-anomaly-rate",
    default: String(SEED_RATES.value),
    allowed: "a number in [0, 1]",
    schema: num().pipe(z.number().min(0).max(1)),
    doc: "`generate`: share of value anomalies",
  },
  genTemperatureAnomalyRate: {
    env: "GEN_TEMPERATURE_ANOMALY_RATE",
    group: "generator",
    flag: "temperature-anomaly-rate",
    default: String(SEED_RATES.temperature),
    allowed: "a number in [0, 1]",
    schema: num().pipe(z.number().min(0).max(1)),
    doc: "`generate`: share of temperature anomalies",
  },
  logLevel: {
    env: "LOG_LEVEL",
    group: "logging",
    flag: "log-level",
    default: "info",
    allowed: `one of ${LOG_LEVELS.join(", ")}`,
    schema: z.string().trim().toLowerCase().pipe(oneOf(LOG_LEVELS)),
    doc: "lowest level logged",
  },
  logFormat: {
    env: "LOG_FORMAT",
    group: "logging",
    flag: "log-format",
    default: "text",
    allowed: `one of ${LOG_FORMATS.join(", ")}`,
    schema: z.string().trim().toLowerCase().pipe(oneOf(LOG_FORMATS)),
    doc: "`text` (key=value) or `json` lines",
  },
} satisfies Record<string, Spec>;

type Settings = typeof SETTINGS;
/** The validated configuration: one typed value per entry of {@link SETTINGS}. */
export type Config = { [K in keyof Settings]: z.output<Settings[K]["schema"]> };

/** A setting that failed validation. `message` is the one line printed at start-up. */
export class ConfigError extends Error {
  /** Environment name of the setting. */
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** Where {@link loadConfig} reads from. */
export interface ConfigSources {
  /** Environment. Default: `Deno.env.toObject()`. */
  env?: Record<string, string | undefined>;
  /** Command-line arguments (flags override the environment). Default: none. */
  args?: string[];
  /** Extra flags the command accepts besides the settings' own (booleans or strings). */
  extraFlags?: Record<string, { type: "string" | "boolean"; short?: string }>;
  /** Flags that mean another setting's flag for this command (`{ seed: "gen-seed" }`). */
  aliases?: Record<string, string>;
}

/** The result of {@link loadConfig}: the configuration, positionals and extra flags. */
export interface LoadedConfig {
  config: Config;
  /** Environment names of the settings given (in the environment or as a flag). */
  given: Set<string>;
  positionals: string[];
  flags: Record<string, string | boolean | undefined>;
}

function quote(v: string): string {
  return JSON.stringify(v.length > 80 ? v.slice(0, 77) + "..." : v);
}

/**
 * Reads and validates every setting. Throws {@link ConfigError} on the first bad value, unknown
 * flag or inconsistent range.
 */
export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const env = sources.env ?? Deno.env.toObject();
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    ...sources.extraFlags,
  };
  for (const spec of Object.values(SETTINGS)) options[spec.flag] = { type: "string" };
  const aliases: Record<string, string> = { contract: "contract-file", ...sources.aliases };
  const args: string[] = [];
  const given = sources.args ?? [];
  for (let i = 0; i < given.length; i++) {
    const m = given[i].match(/^--([^=]+)(=.*)?$/);
    const name = m ? aliases[m[1]] ?? m[1] : "";
    // `--rate -5`: a negative number is the flag's value (for the setting to refuse, if it must).
    if (m && !m[2] && options[name]?.type === "string" && /^-\d/.test(given[i + 1] ?? "")) {
      args.push(`--${name}=${given[++i]}`);
    } else args.push(m ? `--${name}${m[2] ?? ""}` : given[i]);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ConfigError("flags", `invalid command line: ${(e as Error).message}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const config: Record<string, unknown> = {};
  const givenSettings = new Set<string>();
  for (const [key, spec] of Object.entries(SETTINGS) as [string, Spec][]) {
    const fromFlag = values[spec.flag];
    if (typeof fromFlag === "string" || env[spec.env] !== undefined) {
      givenSettings.add(spec.env);
    }
    const raw = typeof fromFlag === "string" ? fromFlag : env[spec.env] ?? spec.default;
    const result = spec.schema.safeParse(raw);
    if (!result.success) {
      const shown = spec.secret ? "(value hidden)" : quote(raw);
      throw new ConfigError(
        spec.env,
        `invalid setting ${spec.env} (--${spec.flag}) = ${shown}: expected ${spec.allowed}`,
      );
    }
    config[key] = result.data;
  }
  const c = config as Config;
  for (
    const [lo, hi] of [["valueMin", "valueMax"], ["temperatureMin", "temperatureMax"]] as const
  ) {
    if (!(c[lo] < c[hi])) {
      const spec = SETTINGS[lo];
      throw new ConfigError(
        spec.env,
        `invalid setting ${spec.env} (--${spec.flag}) = "${c[lo]}": expected ${spec.allowed} (${
          SETTINGS[hi].env
        }=${c[hi]})`,
      );
    }
  }
  if (c.kafkaSaslMechanism !== "none" && c.kafkaSaslUsername === "") {
    const spec = SETTINGS.kafkaSaslUsername;
    throw new ConfigError(
      spec.env,
      `invalid setting ${spec.env} (--${spec.flag}) = "": expected ${spec.allowed}`,
    );
  }
  if (c.smtpEnabled) {
    for (const key of ["smtpHost", "emailTo"] as const) {
      const value = c[key];
      if (value === "" || (Array.isArray(value) && value.length === 0)) {
        const spec = SETTINGS[key];
        throw new ConfigError(
          spec.env,
          `invalid setting ${spec.env} (--${spec.flag}) = "": expected ${spec.allowed}`,
        );
      }
    }
  }
  const flags: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(sources.extraFlags ?? {})) flags[name] = values[name];
  return { config: c, given: givenSettings, positionals: parsed.positionals, flags };
}

/** Markdown table of every setting (env, flag, default, meaning), for the README. */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map((s: Spec) =>
    `| \`${s.env}\` | \`--${s.flag}\` | ${
      s.defaultShown ?? `\`${s.default}\``
    } | ${s.doc}; ${s.allowed} |`
  );
  return ["| variable | flag | default | meaning; allowed |", "|---|---|---|---|", ...rows].join(
    "\n",
  );
}

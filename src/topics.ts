/**
 * The Kafka topics the product reads and writes, and their creation. Auto topic creation is off
 * on the project's broker: topics are created here, with explicit partition counts.
 *
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { readTopicLimits, type TopicLimits } from "./outbox.ts";
import type { Config } from "./config.ts";
import { PARTITION_DEFAULTS } from "./defaults.ts";
import { type KafkaConnection, securityOf } from "./kafka.ts";

/** A topic to create if it does not exist. */
export interface TopicSpec {
  /** Topic name. */
  topic: string;
  /** Partition count used when the topic is created. */
  numPartitions: number;
  /** Extra topic configuration (e.g. `cleanup.policy`). */
  configEntries?: { name: string; value: string }[];
}

/** The events topic as the product creates it (`TOPIC_EVENTS`, `TOPIC_EVENTS_PARTITIONS`). */
export function eventsTopic(config: Config): TopicSpec {
  return { topic: config.topicEvents, numPartitions: config.topicEventsPartitions };
}

/**
 * The product's topics as the configuration names them: `TOPIC_EVENTS` (`events`,
 * `TOPIC_EVENTS_PARTITIONS` = 4), `TOPIC_ALERTS` (`alerts`, 1) and `TOPIC_DLQ` (`events.dlq`,
 * 1, holding records of `MAX_EVENT_BYTES` plus their headers).
 */
export function projectTopics(config: Config): TopicSpec[] {
  return [
    eventsTopic(config),
    { topic: config.topicAlerts, numPartitions: PARTITION_DEFAULTS.alerts },
    {
      topic: config.topicDlq,
      numPartitions: PARTITION_DEFAULTS.dlq,
      configEntries: [{ name: "max.message.bytes", value: String(config.maxEventBytes + 65_536) }],
    },
  ];
}

/**
 * Creates the topics that do not exist yet (broker address or a full connection); returns those
 * created. Fails at once (no retries) when the brokers refuse the connection's credentials.
 */
export async function ensureTopics(
  brokers: string | KafkaConnection,
  topics: TopicSpec[],
): Promise<string[]> {
  const conn: KafkaConnection = typeof brokers === "string" ? { brokers: [brokers] } : brokers;
  const kafka = new Kafka({
    clientId: "anomaly-flow-admin",
    brokers: conn.brokers,
    ...securityOf(conn),
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 300 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({ ...t, replicationFactor: 1 })),
      });
    }
    return missing.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}

/** `max.message.bytes` of the topics the processor writes, as the broker has them. */
export async function outputLimits(kafka: Kafka, config: Config): Promise<TopicLimits> {
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

/** The topics `process` writes and reads (the checkpoint topic compacted), created when missing. */
export function processTopics(config: Config) {
  return [
    ...projectTopics(config),
    ...(config.checkpointIntervalSec > 0
      ? [{
        topic: config.checkpointTopic,
        numPartitions: 1,
        configEntries: [{ name: "cleanup.policy", value: "compact" }],
      }]
      : []),
  ];
}

/**
 * What a scored batch sends and counts: an alert per anomaly, a dead letter per rejected record,
 * and the counts the metrics get once it is committed. Pure: no I/O, the caller sends.
 *
 * - **Alert** (`TOPIC_ALERTS`, key = the entity): the seed's format plus `partition`, `offset`,
 *   `detected_at`, the calibrated `alert_score`, the forest's `raw_score` and `explain` (which
 *   features drove it: actual vs the entity's typical value), built with `JSON.stringify` from
 *   what the worker parsed (never by re-reading the record's bytes).
 * - **Dead letter** (`TOPIC_DLQ`): the original key and value bytes, unchanged (null stays null),
 *   the original headers plus `dq_check`, `dq_reason`, `source_topic`, `source_partition`,
 *   `source_offset`, `source_timestamp`.
 *
 * @module
 */
import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import { CHECKS } from "./event.ts";
import { FEATURES } from "./stage.ts";
import type { BatchOutcome } from "./pipeline.ts";
import type { BatchCounts } from "./partition.ts";

/** Where a batch came from. */
export interface BatchSource {
  topic: string;
  partition: number;
}

/** The alert of record `i` of a batch, in the seed's format plus `partition`, `offset`, `detected_at`. */
export function alertOf(
  out: BatchOutcome,
  i: number,
  source: { partition: number; offset: string },
  now = Date.now() / 1000,
): Record<string, unknown> {
  const temperature = out.features[2 * i + 1];
  return {
    type: "anomaly",
    sensor_id: out.keys[i],
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
    detected_at: now,
    alert_score: round(out.alertScore[i]),
    raw_score: out.score[i],
    explain: explainOf(out, i),
  };
}

const round = (x: number, digits = 6) => Number.isFinite(x) ? Number(x.toFixed(digits)) : null;

/**
 * Which features drove record `i`'s alert: each feature with a deviation from its entity's
 * level, largest first, with the actual value, the entity's typical value and the deviation (sd).
 */
export function explainOf(
  out: BatchOutcome,
  i: number,
): { feature: string; actual: number; typical: number | null; deviation: number | null }[] {
  const rows = FEATURES.map((feature, f) => ({
    feature,
    actual: out.features[FEATURES.length * i + f],
    typical: round(out.typical[FEATURES.length * i + f], 4),
    deviation: round(out.deviation[FEATURES.length * i + f], 2),
  })).filter((r) => !Number.isNaN(r.actual));
  return rows.sort((a, b) => Math.abs(b.deviation ?? 0) - Math.abs(a.deviation ?? 0));
}

/** The dead letter of a rejected record: original key and value, headers naming why and whence. */
export function deadLetterOf(
  message: KafkaMessage,
  check: string,
  reason: string,
  source: BatchSource,
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

/** What {@link batchOutputs} found in a batch. */
export interface BatchOutputs {
  alerts: Message[];
  dead: Message[];
  counts: BatchCounts;
  /** Per alert: the event's `ts` and its Kafka timestamp (s), for the latency histogram. */
  alertTimes: { ts: number; kafkaTs: number }[];
  /** `value` of each valid record, in order. */
  values: number[];
  /** Score of the last valid record (NaN when none). */
  lastScore: number;
}

/** Ground truth of the generator's `injected` header: 0 normal, 1 anomaly, -1 none. */
function truthOf(message: KafkaMessage): number {
  const injected = message.headers?.injected?.toString();
  if (injected === "none") return 0;
  return ["value", "temperature", "spike", "shift", "flat"].includes(injected ?? "") ? 1 : -1;
}

/** Alerts, dead letters and counts of records `[from, n)` of a scored batch. */
export function batchOutputs(
  out: BatchOutcome,
  messages: readonly KafkaMessage[],
  from: number,
  source: BatchSource,
): BatchOutputs {
  const o: BatchOutputs = {
    alerts: [],
    dead: [],
    counts: { perCheck: new Array<number>(CHECKS.length).fill(0), alerts: 0, truth: [0, 0, 0, 0] },
    alertTimes: [],
    values: [],
    lastScore: NaN,
  };
  const now = Date.now() / 1000;
  for (let i = from; i < out.n; i++) {
    const m = messages[i];
    const code = out.status[i];
    o.counts.perCheck[code]++;
    if (code !== 0) {
      o.dead.push(deadLetterOf(m, CHECKS[code], out.reasons[i] ?? CHECKS[code], source));
      continue;
    }
    o.values.push(out.features[2 * i]);
    o.lastScore = out.score[i];
    const truth = truthOf(m);
    if (truth >= 0) o.counts.truth[2 * truth + out.anomaly[i]]++;
    if (out.anomaly[i]) {
      const alert = alertOf(out, i, { partition: source.partition, offset: m.offset }, now);
      o.alerts.push({ key: out.keys[i], value: JSON.stringify(alert) });
      o.alertTimes.push({ ts: out.ts[i], kafkaTs: Number(m.timestamp) / 1000 });
    }
  }
  o.counts.alerts = o.alerts.length;
  return o;
}

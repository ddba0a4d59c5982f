/**
 * What a scored batch sends and counts: an alert per anomaly, a dead letter per rejected record,
 * and the counts the metrics get once it is committed. Pure: no I/O, the caller sends.
 *
 * - **Alert** (`TOPIC_ALERTS`, key = the entity): the seed's format plus `partition`, `offset`,
 *   `detected_at`, the calibrated `alert_score`, the forest's `raw_score`, `explain` (which
 *   features drove it: actual vs the entity's typical value) and `cause` (the judgement and
 *   feature that decided it, as counted by `anomaly_causes_total`), built with `JSON.stringify` from
 *   what the worker parsed (never by re-reading the record's bytes). With a contract from a file,
 *   `sensor_id` gives way to `contract`, `contract_version`, `entity_field` and `entity`, and
 *   `features` holds every feature of the contract.
 * - **Dead letter** (`TOPIC_DLQ`): the original key and value bytes, unchanged (null stays null),
 *   the original headers plus `dq_check`, `dq_reason`, `source_topic`, `source_partition`,
 *   `source_offset`, `source_timestamp`; with a contract from a file also `dq_rule` (the rule:
 *   `required`, `type`, `range` …), `dq_field` (the field, when one is concerned) and
 *   `dq_contract` (`name@version`).
 *
 * @module
 */
import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import { CHECKS } from "./event.ts";
import { ANOMALY_LABELS } from "./sensors.ts";
import { FEATURES } from "./stage.ts";
import type { BatchOutcome } from "./pipeline.ts";
import { BASES } from "./baseline.ts";
import { type Contract, SEED_CONTRACT } from "./contract/spec.ts";
import { type BatchCounts, causeKey } from "./partition.ts";

/** What the outputs of a batch are shaped by: the contract, its checks and features. */
export interface OutputShape {
  contract: Contract;
  checks: readonly string[];
  features: readonly string[];
}

/** The built-in contract's shape. */
export const SEED_SHAPE: OutputShape = {
  contract: SEED_CONTRACT,
  checks: CHECKS,
  features: FEATURES,
};

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
  shape: OutputShape = SEED_SHAPE,
): Record<string, unknown> & { cause: AlertCause } {
  const d = shape.features.length;
  const features: Record<string, number> = {};
  shape.features.forEach((name, f) => {
    const v = out.features[d * i + f];
    if (!Number.isNaN(v)) features[name] = v;
  });
  const { contract } = shape;
  const who = contract.builtin ? { sensor_id: out.keys[i] } : {
    contract: contract.name,
    contract_version: contract.version,
    entity_field: contract.key ?? null,
    entity: out.keys[i],
  };
  return {
    type: "anomaly",
    ...who,
    ts: out.ts[i],
    score: out.score[i],
    threshold: out.threshold[i],
    features,
    dq_issues: [],
    partition: source.partition,
    offset: source.offset,
    detected_at: now,
    alert_score: round(out.alertScore[i]),
    raw_score: out.score[i],
    explain: explainOf(out, i, shape.features),
    cause: causeOf(out, i, shape.features),
  };
}

/** What an `explain` entry's `by` says its deviation measures (absent: the value's own). */
export type ExplainBasis = "change" | "recent" | "drift" | "day" | "record";
/** The bases an `explain` entry names: all but the value's own distance and a flat line's. */
const EXPLAINED_BASES: ReadonlySet<string> = new Set<ExplainBasis>([
  "change",
  "recent",
  "drift",
  "day",
  "record",
]);

const round = (x: number, digits = 6) => Number.isFinite(x) ? Number(x.toFixed(digits)) : null;

/**
 * A reading in its own unit, for people: `digits` decimals, and under 1 as many significant
 * digits, so a small quantity (an error rate of 0.00012, a duration of 3e-7 s) keeps its figures
 * instead of rounding to 0.
 */
export function roundReading(x: number, digits = 4): number | null {
  if (!Number.isFinite(x)) return null;
  return Math.abs(x) < 1 ? Number(x.toPrecision(digits)) : Number(x.toFixed(digits));
}

/**
 * Which features drove record `i`'s alert: each feature with a deviation from its entity's
 * level, largest first, with the actual value, the entity's typical value and the deviation (sd),
 * `repeats` when the value repeated the previous one twice or more in a row (a flat line), and
 * `by` when the deviation is not the value's own distance from the typical one: `change` (from
 * the previous value, which `typical` then is), `recent` (the mean of the entity's last few
 * deviations), `drift` (the mean of its last few hundred), `day` (the mean of the day the
 * record closes, which `actual` then is, against the same weekday's typical mean) or `record`
 * (beyond the entity's largest or least value of the weeks before its day, which `typical` then
 * is).
 */
export function explainOf(
  out: BatchOutcome,
  i: number,
  features: readonly string[] = FEATURES,
): {
  feature: string;
  actual: number;
  typical: number | null;
  deviation: number | null;
  repeats?: number;
  by?: ExplainBasis;
}[] {
  const d = features.length;
  const rows = features.map((feature, f) => {
    const repeats = out.repeats?.[d * i + f] ?? 0;
    const by = BASES[out.basis?.[d * i + f] ?? 0];
    const judged = out.actual?.[d * i + f] ?? NaN;
    return {
      feature,
      actual: Number.isNaN(judged) ? out.features[d * i + f] : roundReading(judged)!,
      typical: roundReading(out.typical[d * i + f]),
      deviation: round(out.deviation[d * i + f], 2),
      // A flat line: the value repeated this many times in a row.
      ...(repeats >= 2 ? { repeats } : {}),
      ...(EXPLAINED_BASES.has(by) ? { by: by as ExplainBasis } : {}),
    };
  }).filter((r) => !Number.isNaN(r.actual));
  return rows.sort((a, b) => Math.abs(b.deviation ?? 0) - Math.abs(a.deviation ?? 0));
}

/** What decided an alert (`anomaly_causes_total`'s labels). */
export interface AlertCause {
  /**
   * The judgement: one of `BASES` (`level`, `change`, `recent`, `drift`, `flat`, `day`,
   * `record`) of the deciding feature's baseline, or `forest` when the forest's score decided
   * (`quantile` and `adaptive` modes, and an entity's first events before its baseline is warm).
   */
  basis: string;
  /** The feature whose deviation decided it; `all` when the forest did. */
  feature: string;
}

/** What decided record `i`'s alert (see {@link AlertCause}). */
export function causeOf(
  out: BatchOutcome,
  i: number,
  features: readonly string[] = FEATURES,
): AlertCause {
  const f = out.driver?.[i] ?? -1;
  if (f < 0 || f >= features.length) return { basis: "forest", feature: "all" };
  return { basis: BASES[out.basis?.[features.length * i + f] ?? 0], feature: features[f] };
}

/** What a contract from a file adds to a dead letter: the rule, the field and the contract. */
export interface RejectionDetail {
  rule: string;
  /** The field concerned ("" when none). */
  field: string;
  /** `name@version` of the contract. */
  contract: string;
}

/**
 * The dead letter of a rejected record: original key and value, headers naming why (and, with
 * `detail`, the rule, field and contract) and whence.
 */
export function deadLetterOf(
  message: KafkaMessage,
  check: string,
  reason: string,
  source: BatchSource,
  detail?: RejectionDetail,
): Message {
  const headers: IHeaders = { ...message.headers };
  headers["dq_check"] = check;
  headers["dq_reason"] = reason;
  if (detail) {
    headers["dq_rule"] = detail.rule;
    if (detail.field) headers["dq_field"] = detail.field;
    headers["dq_contract"] = detail.contract;
  }
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
  /** The first feature (`value` for the seed's) of each valid record, in order. */
  values: number[];
  /** Score of the last valid record (NaN when none). */
  lastScore: number;
}

/** Whether a header's bytes are `none` (the generator's normal events), read without decoding. */
function isNone(h: unknown): boolean {
  return h instanceof Uint8Array && h.length === 4 && h[0] === 0x6e && h[1] === 0x6f &&
    h[2] === 0x6e && h[3] === 0x65;
}

/** Ground truth of the generator's `injected` header: 0 normal, 1 anomaly, -1 none. */
function truthOf(message: KafkaMessage): number {
  const header = message.headers?.injected;
  // Most events of a generated stream are normal: their header is read without decoding it.
  if (isNone(header)) return 0;
  const injected = header?.toString();
  if (injected === "none") return 0;
  return ANOMALY_LABELS.has(injected ?? "") ? 1 : -1;
}

/** Alerts, dead letters and counts of records `[from, n)` of a scored batch. */
export function batchOutputs(
  out: BatchOutcome,
  messages: readonly KafkaMessage[],
  from: number,
  source: BatchSource,
  shape: OutputShape = SEED_SHAPE,
): BatchOutputs {
  const { checks, contract } = shape;
  const d = shape.features.length;
  const tag = contract.builtin ? undefined : `${contract.name}@${contract.version}`;
  const o: BatchOutputs = {
    alerts: [],
    dead: [],
    counts: {
      perCheck: new Array<number>(checks.length).fill(0),
      alerts: 0,
      truth: [0, 0, 0, 0],
      causes: new Map(),
    },
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
      const detail = tag === undefined
        ? undefined
        : { rule: out.rules?.[i] ?? checks[code], field: out.fields?.[i] ?? "", contract: tag };
      o.dead.push(deadLetterOf(m, checks[code], out.reasons[i] ?? checks[code], source, detail));
      continue;
    }
    o.values.push(out.features[d * i]);
    o.lastScore = out.score[i];
    const truth = truthOf(m);
    if (truth >= 0) o.counts.truth[2 * truth + out.anomaly[i]]++;
    if (out.anomaly[i]) {
      const alert = alertOf(out, i, { partition: source.partition, offset: m.offset }, now, shape);
      o.alerts.push({ key: out.keys[i], value: JSON.stringify(alert) });
      o.alertTimes.push({ ts: out.ts[i], kafkaTs: Number(m.timestamp) / 1000 });
      const key = causeKey(alert.cause.basis, alert.cause.feature);
      o.counts.causes.set(key, (o.counts.causes.get(key) ?? 0) + 1);
    }
  }
  o.counts.alerts = o.alerts.length;
  return o;
}

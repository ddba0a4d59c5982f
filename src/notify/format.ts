/**
 * How an alert reads: the seed's boxed console block, a Slack message, an e-mail (text and HTML).
 *
 * An alert's strings come from events, so whoever can write an event could write here: every
 * such value goes through `text.ts` first. The console shows control characters as `\uXXXX`
 * and keeps the box aligned for any value; Slack gets no mention, channel, user link or link from
 * a value; the e-mail's subject and text carry no control character and its HTML is escaped.
 *
 * @module
 */
import { z } from "zod";
import { cut, fitWidth, slackText, visible } from "./text.ts";

/**
 * An alert as the processor publishes it (extra fields allowed): the built-in contract's names
 * its entity `sensor_id`, a contract from a file `entity` (with `entity_field` and `contract`).
 * Both read through {@link entityOf}.
 */
export const AlertSchema = z.object({
  type: z.string(),
  sensor_id: z.string().optional(),
  entity: z.string().optional(),
  entity_field: z.string().nullable().optional(),
  contract: z.string().optional(),
  ts: z.number(),
  score: z.number(),
  threshold: z.number(),
  features: z.record(z.string(), z.number()),
  dq_issues: z.array(z.unknown()).default([]),
  partition: z.number().optional(),
  offset: z.string().optional(),
  alert_score: z.number().nullable().optional(),
  explain: z.array(z.object({
    feature: z.string(),
    actual: z.number(),
    typical: z.number().nullable(),
    deviation: z.number().nullable(),
    repeats: z.number().optional(),
    by: z.string().optional(),
  })).max(64).optional(),
  cause: z.object({ basis: z.string(), feature: z.string() }).optional(),
}).loose().refine((a) => a.entity !== undefined || a.sensor_id !== undefined, {
  message: "expected sensor_id or entity",
  path: ["entity"],
});

/** A parsed alert. */
export type Alert = z.output<typeof AlertSchema>;

/** `YYYY-MM-DD HH:MM:SS UTC` of Unix seconds (`ts=<n>` for a time no calendar holds). */
export function timestamp(ts: number): string {
  const date = new Date(ts * 1000);
  if (Number.isNaN(date.getTime())) return `ts=${ts}`;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** `name=value, …` of the alert's features, names made safe by `safe`. */
function features(alert: Alert, safe: (s: string) => string): string {
  return Object.entries(alert.features).map(([k, v]) => `${safe(k)}=${v}`).join(", ");
}

/**
 * `value 52.3 (typical 1.2, +12.4 sd)` of the feature that decided the alert (its `cause`; else
 * the largest deviation), saying what the deviation measures when it is not the value's own
 * distance (`by`); "" if none.
 */
function why(alert: Alert, safe: (s: string) => string): string {
  const shown = (e: NonNullable<Alert["explain"]>[number]) =>
    e.typical !== null && e.deviation !== null;
  const top = alert.explain?.find((e) => shown(e) && e.feature === alert.cause?.feature) ??
    alert.explain?.find(shown);
  if (!top) return "";
  const sign = top.deviation! >= 0 ? "+" : "";
  if (top.repeats !== undefined && top.repeats >= 2) {
    return `${
      safe(top.feature)
    } stuck at ${top.actual} (${top.repeats} repeats, ${top.deviation} sd)`;
  }
  const deviation = `${sign}${top.deviation} sd`;
  const name = `${safe(top.feature)} ${top.actual}`;
  switch (top.by) {
    case "change":
      return `${name} (from ${top.typical}, a jump of ${deviation})`;
    case "recent":
      return `${name} (typical ${top.typical}, recent level ${deviation})`;
    case "drift":
      return `${name} (typical ${top.typical}, drifting ${deviation})`;
    case "day":
      // The day's mean, against the typical mean of that weekday.
      return `${name} (day mean; weekday's ${top.typical}, ${deviation})`;
    case "record":
      // Beyond the entity's largest (or least) value of the weeks before.
      return `${name} (${
        top.deviation! >= 0 ? "highest" : "lowest"
      } in weeks ${top.typical}, ${deviation})`;
  }
  return `${name} (typical ${top.typical}, ${deviation})`;
}

/** The alert's entity: its `entity` (a contract's), or the seed's `sensor_id`. */
export function entityOf(alert: Alert): string {
  return alert.entity ?? alert.sensor_id ?? "";
}

/** Whose cooldown an alert counts in: the entity, within its contract when it names one. */
export function cooldownKeyOf(alert: Alert): string {
  return alert.contract === undefined
    ? entityOf(alert)
    : `${alert.contract}\u0000${entityOf(alert)}`;
}

const isSensor = (alert: Alert) => alert.entity === undefined;

/** The entity as shown: `sensor-1`, or `account_id=acc-7` for a contract's key. */
function who(alert: Alert): string {
  return alert.entity_field && !isSensor(alert)
    ? `${alert.entity_field}=${entityOf(alert)}`
    : entityOf(alert);
}

const noun = (alert: Alert) => isSensor(alert) ? "sensor" : "entity";
const label = (alert: Alert) => isSensor(alert) ? "Sensor" : "Entity";

/** Columns inside the box. */
const WIDTH = 62;

/** The seed's console block; every line is exactly `WIDTH + 2` terminal columns wide. */
export function consoleBlock(alert: Alert, suppressed = 0): string {
  const row = (text: string) => `║  ${fitWidth(visible(text), WIDTH - 2)}║`;
  const lines = [
    `╔${"═".repeat(WIDTH)}╗`,
    row("🚨 ANOMALY DETECTED"),
    `╠${"═".repeat(WIDTH)}╣`,
    row(`${label(alert).padEnd(11)}: ${who(alert)}`),
    row(`Timestamp  : ${timestamp(alert.ts)}`),
    row(`Score      : ${alert.score.toFixed(4)} (threshold: ${alert.threshold.toFixed(4)})`),
    row(`Features   : ${features(alert, visible)}`),
    ...(why(alert, visible) ? [row(`Why        : ${why(alert, visible)}`)] : []),
  ];
  if (suppressed > 0) {
    lines.push(
      row(`Suppressed : ${suppressed} more alerts of this ${noun(alert)} in cooldown`),
    );
  }
  lines.push(`╚${"═".repeat(WIDTH)}╝`);
  return lines.join("\n");
}

/** A Slack incoming-webhook payload; event values are made inert with `slackText`. */
export function slackMessage(alert: Alert, suppressed = 0): { text: string; blocks: unknown[] } {
  const summary =
    `:rotating_light: Anomaly on *${slackText(who(alert))}*: score ${alert.score.toFixed(4)} ` +
    `(threshold ${alert.threshold.toFixed(4)})`;
  const details = [
    `*Time:* ${timestamp(alert.ts)}`,
    `*Features:* ${features(alert, (k) => slackText(k, 60))}`,
    ...(why(alert, (k) => slackText(k, 60))
      ? [`*Why:* ${why(alert, (k) => slackText(k, 60))}`]
      : []),
    ...(suppressed > 0
      ? [`*Also:* ${suppressed} more alerts of this ${noun(alert)} were held back by the cooldown`]
      : []),
  ].join("\n");
  return {
    text: `${summary}\n${details}`,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: summary } },
      { type: "section", text: { type: "mrkdwn", text: details } },
    ],
  };
}

const escape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** An e-mail: subject, plain text and HTML; no control character from an event in any. */
export function emailMessage(
  alert: Alert,
  suppressed = 0,
): { subject: string; text: string; html: string } {
  const sensor = visible(who(alert));
  const subject = `[Anomaly Flow] anomaly on ${cut(sensor, 120)} (score ${alert.score.toFixed(4)})`;
  const rows: [string, string][] = [
    [label(alert), cut(sensor, 1000)],
    ["Time", timestamp(alert.ts)],
    ["Score", `${alert.score.toFixed(4)} (threshold ${alert.threshold.toFixed(4)})`],
    ["Features", features(alert, (k) => cut(visible(k), 200))],
    ...(why(alert, (k) => cut(visible(k), 200))
      ? [["Why", why(alert, (k) => cut(visible(k), 200))] as [string, string]]
      : []),
    ...(suppressed > 0
      ? [
        ["Suppressed", `${suppressed} more alerts of this ${noun(alert)} during the cooldown`] as [
          string,
          string,
        ],
      ]
      : []),
  ];
  const text = rows.map(([k, v]) => `${k.padEnd(10)}: ${v}`).join("\n") + "\n";
  const html = `<h2>Anomaly detected</h2><table>${
    rows.map(([k, v]) => `<tr><th align="left">${escape(k)}</th><td>${escape(v)}</td></tr>`).join(
      "",
    )
  }</table>`;
  return { subject, text, html };
}

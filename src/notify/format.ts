/**
 * How an alert reads: the seed's boxed console block, a Slack message, an e-mail (text and HTML).
 *
 * @module
 */
import { z } from "zod";

/** An alert as the processor publishes it (extra fields allowed). */
export const AlertSchema = z.object({
  type: z.string(),
  sensor_id: z.string(),
  ts: z.number(),
  score: z.number(),
  threshold: z.number(),
  features: z.record(z.string(), z.number()),
  dq_issues: z.array(z.unknown()).default([]),
  partition: z.number().optional(),
  offset: z.string().optional(),
}).loose();

/** A parsed alert. */
export type Alert = z.output<typeof AlertSchema>;

/** `YYYY-MM-DD HH:MM:SS` (UTC) of Unix seconds. */
export function timestamp(ts: number): string {
  return new Date(ts * 1000).toISOString().slice(0, 19).replace("T", " ");
}

function features(alert: Alert): string {
  return Object.entries(alert.features).map(([k, v]) => `${k}=${v}`).join(", ");
}

const WIDTH = 62;

/** The seed's console block. */
export function consoleBlock(alert: Alert, suppressed = 0): string {
  const row = (text: string) => `║  ${text.padEnd(WIDTH - 2)}║`;
  const lines = [
    `╔${"═".repeat(WIDTH)}╗`,
    row("🚨 ANOMALY DETECTED").replace("  ║", " ║"),
    `╠${"═".repeat(WIDTH)}╣`,
    row(`Sensor     : ${alert.sensor_id}`),
    row(`Timestamp  : ${timestamp(alert.ts)} UTC`),
    row(`Score      : ${alert.score.toFixed(4)} (threshold: ${alert.threshold.toFixed(4)})`),
    row(`Features   : ${features(alert)}`),
  ];
  if (suppressed > 0) {
    lines.push(row(`Suppressed : ${suppressed} more alerts of this sensor in cooldown`));
  }
  lines.push(`╚${"═".repeat(WIDTH)}╝`);
  return lines.join("\n");
}

/** A Slack incoming-webhook payload. */
export function slackMessage(alert: Alert, suppressed = 0): { text: string; blocks: unknown[] } {
  const summary =
    `:rotating_light: Anomaly on *${alert.sensor_id}*: score ${alert.score.toFixed(4)} ` +
    `(threshold ${alert.threshold.toFixed(4)})`;
  const details = [
    `*Time:* ${timestamp(alert.ts)} UTC`,
    `*Features:* ${features(alert)}`,
    ...(suppressed > 0
      ? [`*Also:* ${suppressed} more alerts of this sensor were held back by the cooldown`]
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

/** An e-mail: subject, plain text and HTML. */
export function emailMessage(
  alert: Alert,
  suppressed = 0,
): { subject: string; text: string; html: string } {
  const subject = `[Anomaly Flow] anomaly on ${alert.sensor_id} (score ${alert.score.toFixed(4)})`;
  const rows: [string, string][] = [
    ["Sensor", alert.sensor_id],
    ["Time", `${timestamp(alert.ts)} UTC`],
    ["Score", `${alert.score.toFixed(4)} (threshold ${alert.threshold.toFixed(4)})`],
    ["Features", features(alert)],
    ...(suppressed > 0
      ? [
        ["Suppressed", `${suppressed} more alerts of this sensor during the cooldown`] as [
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

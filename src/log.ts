/**
 * Logging through LogTape: one line per event on stderr, either the seed's `key=value` text
 * (`2026-01-02 10:00:00 [info] metrics_server_started port=8000`) or JSON lines
 * (`LOG_FORMAT=json`). The level comes from `LOG_LEVEL`.
 *
 * Properties whose name looks like a secret (password, secret, token, webhook, sasl, auth) are
 * printed as `[redacted]`, whatever the caller passed.
 *
 * ```ts
 * import { logger, setupLogging } from "./log.ts";
 * setupLogging({ level: "info", format: "text" });
 * logger().info("metrics_server_started", { port: 8000 });
 * ```
 *
 * @module
 */
import {
  configureSync,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";

/** Output formats of {@link setupLogging}. */
export const LOG_FORMATS = ["text", "json"] as const;
/** One of {@link LOG_FORMATS}. */
export type LogFormat = typeof LOG_FORMATS[number];
/** Levels accepted by `LOG_LEVEL`, lowest first. */
export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;

const SECRET_KEY = /pass(word)?|secret|token|webhook|sasl|auth|credential/i;

/** Value printed in place of a property whose name looks like a secret. */
export const REDACTED = "[redacted]";

function redact(properties: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(properties)) out[k] = SECRET_KEY.test(k) ? REDACTED : v;
  return out;
}

function eventName(record: LogRecord): string {
  return record.message.map((part) => String(part)).join("");
}

function textValue(v: unknown): string {
  if (v instanceof Error) v = v.message;
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Formats a record as the seed's text line: `YYYY-MM-DD HH:MM:SS [level] event k=v …`. */
export function formatText(record: LogRecord): string {
  const d = new Date(record.timestamp);
  const ts = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const props = Object.entries(redact(record.properties))
    .map(([k, v]) => `${k}=${textValue(v)}`).join(" ");
  return `${ts} [${record.level}] ${eventName(record)}${props ? " " + props : ""}\n`;
}

/** Formats a record as one JSON object: `{"ts","level","event",…properties}`. */
export function formatJson(record: LogRecord): string {
  const props = redact(record.properties);
  for (const [k, v] of Object.entries(props)) if (v instanceof Error) props[k] = v.message;
  return JSON.stringify({
    ts: new Date(record.timestamp).toISOString(),
    level: record.level,
    event: eventName(record),
    ...props,
  }) + "\n";
}

/** Options of {@link setupLogging}. */
export interface LoggingOptions {
  /** Lowest level written. Default: `"info"`. */
  level?: LogLevel;
  /** Line format. Default: `"text"`. */
  format?: LogFormat;
  /** Where lines go. Default: stderr (stdout stays free for `replay` output). */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();

/** Configures the `anomaly-flow` logger tree. Safe to call again (it replaces the setup). */
export function setupLogging(options: LoggingOptions = {}): void {
  const format = options.format === "json" ? formatJson : formatText;
  const write = options.write ?? ((line: string) => Deno.stderr.writeSync(encoder.encode(line)));
  configureSync({
    reset: true,
    sinks: { out: (record: LogRecord) => write(format(record)) },
    loggers: [
      { category: ["anomaly-flow"], lowestLevel: options.level ?? "info", sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}

/** The product's logger, or a child of it (`logger("kafka")`). */
export function logger(...category: string[]): Logger {
  return getLogger(["anomaly-flow", ...category]);
}

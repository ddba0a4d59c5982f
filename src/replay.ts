/**
 * `replay <file>`: the processor's core over a file, one JSON line out per input line:
 * `{"line", "outcome": "ok"|"invalid", "check", "reason", "score", "threshold", "anomaly",
 * "alert_score"}`; with `--report FILE.html`, a self-contained backtest report (`report.ts`). A
 * JSONL line's `injected` field (the generator's ground truth) is a label, not part of the event.
 *
 * Input: JSONL of seed events, or CSV `timestamp,value[,temperature]` (a header line is skipped;
 * `timestamp` in Unix seconds or ISO 8601; the sensor is `csv`). The clock of the time checks is
 * the event time (the latest accepted `ts`), so an old file replays as it ran. For the same input
 * order and seed, the scores are those `process` computes.
 *
 * @module
 */
import { loadConfig } from "./config.ts";
import { CHECKS } from "./event.ts";
import { logger, setupLogging } from "./log.ts";
import { createPipeline } from "./pipeline.ts";
import { type ReportRow, writeReport } from "./report.ts";
import { pipelineOptionsOf } from "./options.ts";

const encoder = new TextEncoder();
const BATCH = 1024;

/** Converts one CSV row `timestamp,value[,temperature]` to an event's JSON bytes (or the raw row). */
export function csvRowToEvent(row: string): Uint8Array {
  const [timestamp, value, temperature] = row.split(",").map((c) => c.trim());
  const num = (s: string | undefined) => (s === undefined || s === "" ? undefined : Number(s));
  const asNumber = Number(timestamp);
  const ts = Number.isFinite(asNumber) && timestamp !== ""
    ? asNumber
    : Date.parse(timestamp) / 1000;
  const event: Record<string, unknown> = {
    sensor_id: "csv",
    ts: Number.isNaN(ts) ? timestamp : ts,
  };
  if (num(value) !== undefined) event.value = Number.isNaN(num(value)) ? value : num(value);
  if (num(temperature) !== undefined) {
    event.temperature = Number.isNaN(num(temperature)) ? temperature : num(temperature);
  }
  return encoder.encode(JSON.stringify(event));
}

/**
 * A JSONL line with the generator's ground truth in an `injected` field: the event without it,
 * and the label (true for an injected anomaly). Other lines are returned as they are.
 */
export function splitLabel(line: string): { event: Uint8Array; label?: boolean } {
  if (!line.includes('"injected"')) return { event: encoder.encode(line) };
  try {
    const parsed = JSON.parse(line);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed) && "injected" in parsed) {
      const { injected, ...event } = parsed;
      return {
        event: encoder.encode(JSON.stringify(event)),
        label: injected === "value" || injected === "temperature" || injected === true,
      };
    }
  } catch {
    // not JSON: checked as it is
  }
  return { event: encoder.encode(line) };
}

/** Prints `rows/s` and percent done to stderr once a second, when stderr is a terminal. */
function progress(total: number): (done: number) => void {
  if (!Deno.stderr.isTerminal()) return () => {};
  const started = performance.now();
  let last = started;
  return (done) => {
    const now = performance.now();
    if (now - last < 1000 && done < total) return;
    last = now;
    const rate = Math.round(done / ((now - started) / 1000));
    const line = `replay: ${done.toLocaleString("en")} of ${total.toLocaleString("en")} rows ` +
      `(${Math.floor((100 * done) / Math.max(1, total))} %), ${rate.toLocaleString("en")} rows/s`;
    Deno.stderr.writeSync(encoder.encode(`\r${line}${done >= total ? "\n" : ""}`));
  };
}

/** The rows of a file: header skipped, the model's features, one event per row. */
function readRows(text: string, csv: boolean) {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let first = 0;
  if (
    csv && lines.length > 0 && Number.isNaN(Number(lines[0].split(",")[0])) &&
    Number.isNaN(Date.parse(lines[0].split(",")[0]))
  ) first = 1;
  // A CSV of `timestamp,value` has no temperature: the model sees the value only.
  const columns = csv ? lines[0]?.split(",").length ?? 0 : 0;
  const features = csv && columns < 3 ? ["value"] as const : undefined;
  return { lines, first, features };
}

/** Runs `replay`; returns the exit code. */
export async function runReplay(args: string[]): Promise<number> {
  const { config, positionals, flags } = loadConfig({
    args,
    extraFlags: { report: { type: "string" } },
  });
  setupLogging({ level: config.logLevel, format: config.logFormat });
  const [file] = positionals;
  const reportPath = flags.report as string | undefined;
  if (!file) {
    console.error(
      "usage: replay <file.jsonl|file.csv> [--report report.html] [--seed N] [--workers N]",
    );
    return 2;
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    console.error(`cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
  const csv = /\.csv$/i.test(file);
  const { lines, first, features } = readRows(text, csv);
  const pipeline = await createPipeline({
    ...pipelineOptionsOf(config),
    clock: "event",
    ...(features ? { features } : {}),
  });
  const rows: ReportRow[] = [];
  const tick = progress(lines.length - first);
  let anomalies = 0, invalid = 0;
  try {
    for (let start = first; start < lines.length; start += BATCH) {
      const chunk = lines.slice(start, start + BATCH).map((l) =>
        csv ? { event: csvRowToEvent(l) } : splitLabel(l)
      );
      const r = await pipeline.process(chunk.map((c) => c.event));
      const out: string[] = [];
      for (let i = 0; i < r.n; i++) {
        const ok = r.status[i] === 0;
        if (!ok) invalid++;
        if (r.anomaly[i]) anomalies++;
        out.push(JSON.stringify({
          line: start + i + 1,
          outcome: ok ? "ok" : "invalid",
          check: ok ? "all" : CHECKS[r.status[i]],
          reason: ok ? null : r.reasons[i],
          score: ok ? r.score[i] : null,
          threshold: ok && !Number.isNaN(r.threshold[i]) ? r.threshold[i] : null,
          anomaly: r.anomaly[i] === 1,
          alert_score: ok ? Number(r.alertScore[i].toFixed(6)) : null,
        }));
        if (reportPath) {
          rows.push({
            line: start + i + 1,
            entity: r.keys[i],
            ts: r.ts[i],
            value: r.features[2 * i],
            temperature: r.features[2 * i + 1],
            check: ok ? "all" : CHECKS[r.status[i]],
            alert: r.anomaly[i] === 1,
            alertScore: r.alertScore[i],
            label: chunk[i].label,
          });
        }
      }
      await Deno.stdout.write(encoder.encode(out.join("\n") + "\n"));
      tick(Math.min(lines.length, start + BATCH) - first);
    }
  } finally {
    await pipeline.close();
  }
  if (reportPath) {
    await writeReport(reportPath, file, rows);
    logger().info("replay_report_written", { path: reportPath, rows: rows.length });
  }
  logger().info("replay_done", { lines: lines.length - first, invalid, anomalies });
  return 0;
}

/**
 * `replay <file>`: the processor's core over a file, one JSON line out per input line:
 * `{"line", "outcome": "ok"|"invalid", "check", "reason", "score", "threshold", "anomaly"}`.
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

/** Runs `replay`; returns the exit code. */
export async function runReplay(args: string[]): Promise<number> {
  const { config, positionals } = loadConfig({ args });
  setupLogging({ level: config.logLevel, format: config.logFormat });
  const [file] = positionals;
  if (!file) {
    console.error("usage: replay <file.jsonl|file.csv> [--seed N] [--workers N]");
    return 2;
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    console.error(`cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const csv = /\.csv$/i.test(file);
  let first = 0;
  if (
    csv && lines.length > 0 && Number.isNaN(Number(lines[0].split(",")[0])) &&
    Number.isNaN(Date.parse(lines[0].split(",")[0]))
  ) first = 1;
  // A CSV of `timestamp,value` has no temperature: the model sees the value only.
  const columns = csv ? lines[0]?.split(",").length ?? 0 : 0;
  const features = csv && columns < 3 ? ["value"] as const : undefined;
  const pipeline = await createPipeline({
    ...pipelineOptionsOf(config),
    clock: "event",
    ...(features ? { features } : {}),
  });
  const out: string[] = [];
  let anomalies = 0, invalid = 0;
  try {
    for (let start = first; start < lines.length; start += BATCH) {
      const chunk = lines.slice(start, start + BATCH);
      const r = await pipeline.process(
        chunk.map((l) => csv ? csvRowToEvent(l) : encoder.encode(l)),
      );
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
      }
      await Deno.stdout.write(encoder.encode(out.join("\n") + "\n"));
      out.length = 0;
    }
  } finally {
    await pipeline.close();
  }
  logger().info("replay_done", { lines: lines.length - first, invalid, anomalies });
  return 0;
}

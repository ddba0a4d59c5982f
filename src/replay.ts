/**
 * `replay <file>`: the processor's core over a file, one JSON line out per input line:
 * `{"line", "outcome": "ok"|"invalid", "check", "reason", "score", "threshold", "anomaly",
 * "alert_score"}`; with `--report FILE.html`, a self-contained backtest report (`report.ts`). A
 * JSONL line's `injected` field (the generator's ground truth) is a label, not part of the event.
 *
 * Input: JSONL events of the contract (`CONTRACT_FILE`, default the seed's), or CSV. A CSV's
 * header names the fields (without a header: the contract's fields in order, or
 * `timestamp,value,temperature`). With a contract, each column is the field it names, typed as
 * the contract says; without one, the first column is the time (Unix seconds, milliseconds or
 * ISO 8601) and every other numeric column a feature named by its header, in the range of
 * `VALUE_MIN`/`VALUE_MAX` (`temperature`: `TEMPERATURE_*`), the entity `csv`. The clock of the time
 * checks is the event time (the latest accepted time), so an old file replays as it ran. For the
 * same input order and seed, the scores are those `process` computes.
 *
 * @module
 */
import { loadConfig } from "./config.ts";
import { logger, setupLogging } from "./log.ts";
import { createPipeline } from "./pipeline.ts";
import { createReportBuilder, writeReport } from "./report.ts";
import { causeOf } from "./outputs.ts";
import { contractOfConfig, pipelineOptionsOf } from "./options.ts";
import type { Contract } from "./contract/spec.ts";
import { csvContract, type CsvRanges } from "./contract/infer.ts";
import { ANOMALY_LABELS } from "./sensors.ts";
import { csvCells, csvHeader, csvRecord, defaultColumns, fieldNames } from "./csv.ts";
import { fileLines } from "./lines.ts";

const encoder = new TextEncoder();
const BATCH = 1024;
/** Rows a CSV without a contract is sampled on to tell numeric columns and the time unit. */
const SAMPLE_ROWS = 1000;

/** How the rows of a file become events. */
interface Input {
  /** Lines before the first row (a CSV's header). */
  first: number;
  /** The contract of the events (undefined: the built-in one). */
  contract?: Contract;
  /** A CSV's header cells that are not field names, and the names they were given. */
  renamed?: [string, string][];
  event(line: string): { event: Uint8Array; label?: boolean };
}

/**
 * How a CSV's rows become events: under `contract` (its fields by the header's names), or under
 * the CSV's own contract ({@link csvContract}) when there is none.
 */
export function csvInput(
  lines: readonly string[],
  contract: Contract | undefined,
  ranges: CsvRanges,
): Input {
  const header = csvHeader(lines[0]);
  const names = header && fieldNames(header);
  const first = header ? 1 : 0;
  // An empty file reads as the plain `timestamp,value` (and replays to nothing).
  const width = lines.length === 0 ? 2 : csvCells(lines[first] ?? lines[0]).length;
  const columns = names ??
    (contract ? contract.fields.map((f) => f.name) : defaultColumns(width));
  const use = contract ??
    csvContract(
      columns,
      lines.slice(first, first + SAMPLE_ROWS).map(csvCells),
      ranges,
    );
  const types = new Map(use.fields.map((f) => [f.name, f]));
  const numeric = (name: string) => {
    const f = types.get(name);
    if (!f) return true;
    return f.type === "number" || f.type === "integer" ||
      (f.type === "timestamp" && f.unit !== "iso8601");
  };
  const renamed = (header ?? []).flatMap((cell, i): [string, string][] =>
    cell.trim() === columns[i] ? [] : [[cell, columns[i]]]
  );
  return {
    first,
    contract: use,
    ...(renamed.length > 0 ? { renamed } : {}),
    event: (line) => ({
      event: encoder.encode(JSON.stringify(csvRecord(columns, csvCells(line), numeric))),
    }),
  };
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
        label: ANOMALY_LABELS.has(injected) || injected === true,
      };
    }
  } catch {
    // not JSON: checked as it is
  }
  return { event: encoder.encode(line) };
}

/** What a replay's rejections say, when one check rejected most rows (else undefined). */
export interface RejectionHint {
  check: string;
  rejected: number;
  rows: number;
  /** The first rejected row's reason. */
  example: string;
  /** What to change. */
  hint: string;
}

/**
 * When one check rejected more than half of `rows`, that check with what to do about it: most
 * often a file whose values lie outside the built-in contract's ranges (`VALUE_MIN`/`VALUE_MAX`,
 * -100..100 by default), replayed without a contract. `byCheck` counts the rejections per check,
 * `examples` holds each check's first reason, `contractFile` is `CONTRACT_FILE` ("" for none).
 */
export function rejectionHint(
  byCheck: ReadonlyMap<string, number>,
  examples: ReadonlyMap<string, string>,
  rows: number,
  contractFile: string,
  file: string,
): RejectionHint | undefined {
  let check = "", rejected = 0;
  for (const [c, n] of byCheck) if (n > rejected) [check, rejected] = [c, n];
  if (rejected * 2 <= rows) return undefined;
  const field = check.startsWith("range_") ? check.slice("range_".length) : "";
  const settings = field === "temperature"
    ? "TEMPERATURE_MIN/TEMPERATURE_MAX"
    : "VALUE_MIN/VALUE_MAX";
  const hint = field && contractFile === ""
    ? `the built-in ranges reject most rows: set ${settings} to the data's range, or draft a ` +
      `contract from the file (deno task contract infer ${file}) and replay with --contract`
    : field
    ? `the contract ${contractFile} rejects most values of ${field}: check its range there`
    : contractFile === ""
    ? `most rows fail ${check}: is the file in the built-in event's format? A contract ` +
      `describes your own (deno task contract infer ${file})`
    : `most rows fail ${check}: does the file match the contract ${contractFile}?`;
  return { check, rejected, rows, example: examples.get(check) ?? "", hint };
}

/**
 * Prints rows done, percent of the file's `size` bytes read and `rows/s` to stderr once a second,
 * when stderr is a terminal.
 */
function progress(size: number): (rows: number, bytes: number) => void {
  if (!Deno.stderr.isTerminal()) return () => {};
  const started = performance.now();
  let last = started;
  return (rows, bytes) => {
    const now = performance.now();
    if (now - last < 1000 && bytes < size) return;
    last = now;
    const rate = Math.round(rows / ((now - started) / 1000));
    const line = `replay: ${rows.toLocaleString("en")} rows ` +
      `(${Math.floor((100 * bytes) / Math.max(1, size))} % of the file), ` +
      `${rate.toLocaleString("en")} rows/s`;
    Deno.stderr.writeSync(encoder.encode(`\r${line}${bytes >= size ? "\n" : ""}`));
  };
}

/** The lines of `head`, then those `rest` yields, in arrays of `size`. */
async function* batches(
  head: readonly string[],
  rest: AsyncIterator<string[]>,
  size: number,
): AsyncGenerator<string[]> {
  let pending: readonly string[] = head;
  for (;;) {
    let at = 0;
    for (; pending.length - at >= size; at += size) yield pending.slice(at, at + size);
    const next = await rest.next();
    if (next.done) {
      if (at < pending.length) yield pending.slice(at);
      return;
    }
    pending = pending.slice(at).concat(next.value);
  }
}

/** `basis/feature` of an alert's cause, as `replay_done` and the report tally it. */
const causeText = (c: { basis: string; feature: string }) => `${c.basis}/${c.feature}`;

/** Runs `replay`; returns the exit code. */
export async function runReplay(args: string[]): Promise<number> {
  const loaded = loadConfig({ args, extraFlags: { report: { type: "string" } } });
  const { config, positionals, flags } = loaded;
  const contract = await contractOfConfig(loaded);
  setupLogging({ level: config.logLevel, format: config.logFormat });
  const [file] = positionals;
  const reportPath = flags.report as string | undefined;
  if (!file) {
    console.error(
      "usage: replay <file.jsonl|file.csv> [--contract FILE] [--report report.html] [--workers N]",
    );
    return 2;
  }
  // The file is read as a stream of lines: a backtest's export may be larger than one string.
  let size: number, reader: AsyncIterator<string[]>, bytesRead = 0;
  const head: string[] = [];
  try {
    const info = await Deno.stat(file);
    if (!info.isFile) throw new Error("not a file");
    size = info.size;
    reader = fileLines(file, (n) => bytesRead += n);
    // The head: a CSV's header and the rows its own contract is read from.
    while (head.length <= SAMPLE_ROWS) {
      const next = await reader.next();
      if (next.done) break;
      for (const line of next.value) head.push(line);
    }
  } catch (e) {
    console.error(`cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
  const input: Input = /\.csv$/i.test(file)
    ? csvInput(head, contract, config)
    : { first: 0, contract, event: splitLabel };
  if (reportPath) {
    // Before the replay, not after it: a report that cannot be written should not cost the run.
    try {
      (await Deno.open(reportPath, { write: true, create: true, truncate: true })).close();
    } catch (e) {
      console.error(`cannot write the report ${reportPath}: ${(e as Error).message}`);
      return 2;
    }
  }
  const { first } = input;
  if (input.renamed) {
    logger().info("csv_columns_renamed", {
      columns: input.renamed.map(([from, to]) => `${JSON.stringify(from)}→${to}`).join(", "),
    });
  }
  const pipeline = await createPipeline({
    ...pipelineOptionsOf(config, input.contract),
    clock: "event",
  });
  const { checks } = pipeline;
  const d = pipeline.features.length;
  // The report keeps its counts and a bounded sample of each entity's rows, not every row.
  const report = reportPath ? createReportBuilder() : undefined;
  const tick = progress(size);
  let anomalies = 0, invalid = 0, total = 0;
  const byCheck = new Map<string, number>(), examples = new Map<string, string>();
  const byCause = new Map<string, number>();
  try {
    for await (const batch of batches(head.slice(first), reader, BATCH)) {
      const start = first + total;
      total += batch.length;
      const chunk = batch.map(input.event);
      const r = await pipeline.process(chunk.map((c) => c.event));
      const out: string[] = [];
      for (let i = 0; i < r.n; i++) {
        const ok = r.status[i] === 0;
        if (!ok) {
          invalid++;
          const check = checks[r.status[i]];
          byCheck.set(check, (byCheck.get(check) ?? 0) + 1);
          if (!examples.has(check)) examples.set(check, r.reasons[i] ?? "");
        }
        const cause = r.anomaly[i] ? causeOf(r, i, pipeline.features) : undefined;
        const causeName = cause && causeText(cause);
        if (causeName) {
          anomalies++;
          byCause.set(causeName, (byCause.get(causeName) ?? 0) + 1);
        }
        out.push(JSON.stringify({
          line: start + i + 1,
          outcome: ok ? "ok" : "invalid",
          check: ok ? "all" : checks[r.status[i]],
          reason: ok ? null : r.reasons[i],
          score: ok ? r.score[i] : null,
          threshold: ok && !Number.isNaN(r.threshold[i]) ? r.threshold[i] : null,
          anomaly: r.anomaly[i] === 1,
          alert_score: ok ? Number(r.alertScore[i].toFixed(6)) : null,
          ...(cause ? { cause } : {}),
        }));
        if (report) {
          report.add({
            line: start + i + 1,
            entity: r.keys[i],
            ts: r.ts[i],
            value: r.features[d * i],
            temperature: d > 1 ? r.features[d * i + 1] : NaN,
            check: ok ? "all" : checks[r.status[i]],
            alert: r.anomaly[i] === 1,
            // The feature that decided the alert; when the forest did, the larger deviation.
            driver: (r.driver?.[i] ?? -1) >= 0
              ? r.driver![i]
              : d > 1 && Math.abs(r.deviation[d * i + 1]) > Math.abs(r.deviation[d * i])
              ? 1
              : 0,
            alertScore: r.alertScore[i],
            ...(causeName ? { cause: causeName } : {}),
            label: chunk[i].label,
          });
        }
      }
      await Deno.stdout.write(encoder.encode(out.join("\n") + "\n"));
      tick(total, bytesRead);
    }
  } finally {
    await pipeline.close();
  }
  if (reportPath && report) {
    await writeReport(reportPath, file, report, pipeline.features);
    logger().info("replay_report_written", { path: reportPath, rows: report.summary.records });
  }
  const tally = (counts: Map<string, number>) =>
    [...counts].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}:${n}`).join(",");
  logger().info("replay_done", {
    lines: total,
    invalid,
    anomalies,
    ...(invalid > 0 ? { invalid_by_check: tally(byCheck) } : {}),
    ...(anomalies > 0 ? { anomalies_by_cause: tally(byCause) } : {}),
  });
  const hint = rejectionHint(byCheck, examples, total, config.contractFile, file);
  if (hint) logger().warning("replay_mostly_rejected", { ...hint });
  return 0;
}

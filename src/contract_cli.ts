/**
 * `contract`: tools for event contracts (`deno task contract …`).
 *
 * ```sh
 * deno task contract check contracts/payments.yaml        # validate, print a summary
 * deno task contract json-schema contracts/payments.yaml  # the event's JSON Schema
 * deno task contract infer samples.jsonl --name payments  # draft a contract from sample events
 * ```
 *
 * A bad contract prints one line per problem (file and path inside it) and exits 2.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Document, isMap, isPair, isSeq } from "yaml";
import { loadContract } from "./contract/load.ts";
import { checkNamesOf, type Contract } from "./contract/spec.ts";
import { jsonSchemaOf } from "./contract/json_schema.ts";
import { inferContract } from "./contract/infer.ts";
import { fileLines } from "./lines.ts";
import {
  csvCells,
  csvHeader,
  csvRecord,
  defaultColumns,
  fieldNames,
  isNumericColumn,
} from "./csv.ts";

/** Lines of a sample `contract infer` reads at most. */
export const INFER_LINES = 100_000;

const USAGE = `usage: contract <check|json-schema> FILE
       contract infer SAMPLE.jsonl|SAMPLE.csv [--name NAME] [--max-enum N]`;

/** Most sample lines `infer` reads. */
const MAX_SAMPLE_LINES = 100_000;

/** The summary `check` prints. */
export function contractSummary(contract: Contract, file: string): string {
  const t = contract.time;
  const timeField = contract.fields.find((f) => f.name === t.field)!;
  const rules = (f: Contract["fields"][number]) =>
    [
      f.required ? "required" : "optional",
      f.nullable ? "nullable" : "",
      f.min !== undefined || f.max !== undefined ? `[${f.min ?? "-inf"}, ${f.max ?? "inf"}]` : "",
      f.enum ? `one of ${f.enum.join("|")}` : "",
      f.minLength !== undefined || f.maxLength !== undefined
        ? `length ${f.minLength ?? 0}..${f.maxLength ?? "any"}`
        : "",
      f.pattern ? `/${f.pattern}/` : "",
      f.unit ? f.unit : "",
      f.default !== undefined ? `default ${JSON.stringify(f.default)}` : "",
    ].filter(Boolean).join(", ");
  const width = Math.max(...contract.fields.map((f) => f.name.length));
  return [
    `contract ${contract.name} version ${contract.version}: valid (${file})`,
    `key:      ${contract.key ?? `none (every event is entity "${contract.name}")`}`,
    `time:     ${t.field} (${timeField.unit}), freshness ${
      t.freshnessLagSec === null ? "unchecked" : `${t.freshnessLagSec} s`
    }, future skew ${t.maxFutureSec} s${
      t.cycles?.length ? `, cycles for the forest: ${t.cycles.join(", ")}` : ""
    }`,
    `unknown fields: ${contract.unknownFields}`,
    `fields:`,
    ...contract.fields.map((f) => `  ${f.name.padEnd(width)}  ${f.type.padEnd(9)}  ${rules(f)}`),
    `features: ${
      contract.features.map((f) =>
        `${f.field} [${f.min}, ${f.max}]${f.scale === "log" ? " on a log scale" : ""}${
          f.alertOn ? `, alerting when ${f.alertOn}` : ""
        }${
          f.change || f.recent
            ? ` (+ ${
              [f.change ? "change" : "", f.recent ? "recent level" : ""].filter(Boolean).join(", ")
            })`
            : ""
        }`
      ).join(", ") || "none"
    }`,
    `checks:   ${checkNamesOf(contract).slice(1).join(", ")}`,
  ].join("\n");
}

/** Sample events of a JSONL or CSV file (CSV cells typed: numbers where a column is numeric). */
export function sampleRecords(text: string, csv: boolean): Record<string, unknown>[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "").slice(0, MAX_SAMPLE_LINES + 1);
  if (!csv) {
    const records: Record<string, unknown>[] = [];
    for (const line of lines) {
      try {
        const v = JSON.parse(line);
        if (v && typeof v === "object" && !Array.isArray(v)) {
          delete v.injected; // the generator's label, not a field
          records.push(v);
        }
      } catch {
        // not an event: left out of the sample
      }
    }
    return records;
  }
  const header = csvHeader(lines[0]);
  const rows = lines.slice(header ? 1 : 0).map(csvCells);
  // Header cells that are not field names are made ones, as `replay` does.
  const columns = header ? fieldNames(header) : defaultColumns(rows[0]?.length ?? 0);
  const numericColumns = new Set(columns.filter((_, i) => isNumericColumn(rows, i)));
  return rows.map((cells) => csvRecord(columns, cells, (c) => numericColumns.has(c)));
}

/** The draft contract as YAML, notes as comments, each field on one line. */
export function draftYaml(document: Record<string, unknown>, notes: string[], sample: string) {
  const doc = new Document(document);
  const fields = doc.get("fields");
  if (isMap(fields)) {
    for (const item of fields.items) if (isPair(item) && isMap(item.value)) item.value.flow = true;
  }
  const time = doc.get("time");
  if (isMap(time)) time.flow = true;
  const features = doc.get("features");
  if (features && typeof features === "object" && "flow" in features) {
    (features as { flow: boolean }).flow = true;
  }
  // A feature declared as a map (`{ field, scale: log }`) on one line.
  if (isSeq(features)) { for (const item of features.items) if (isMap(item)) item.flow = true; }
  doc.commentBefore = [
    ` Draft contract from ${sample}: read it, edit it, then`,
    `   deno task contract check <this file>`,
    ...notes.map((n) => `  - ${n}`),
  ].join("\n");
  return doc.toString({ lineWidth: 0 });
}

/** Runs `contract`; returns the exit code. */
export async function runContract(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { name: { type: "string" }, "max-enum": { type: "string" } },
      allowPositionals: true,
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [action, file] = parsed.positionals;
  if (!file || !["check", "json-schema", "infer"].includes(action)) {
    console.error(USAGE);
    return 2;
  }
  if (action === "infer") {
    // The sample is the file's first lines: a draft needs thousands of events, not millions.
    const lines: string[] = [];
    try {
      if (!(await Deno.stat(file)).isFile) throw new Error("not a file");
      for await (const read of fileLines(file)) {
        for (const line of read) lines.push(line);
        if (lines.length > INFER_LINES) break;
      }
    } catch (e) {
      console.error(`cannot read ${file}: ${(e as Error).message}`);
      return 2;
    }
    const more = lines.length > INFER_LINES;
    const text = lines.slice(0, INFER_LINES).join("\n");
    const maxEnum = Number(parsed.values["max-enum"] ?? 12);
    if (!Number.isInteger(maxEnum) || maxEnum < 0) {
      console.error(`invalid --max-enum ${parsed.values["max-enum"]}: expected an integer >= 0`);
      return 2;
    }
    try {
      const records = sampleRecords(text, /\.csv$/i.test(file));
      const { document, notes } = inferContract(records, { name: parsed.values.name, maxEnum });
      if (more) notes.unshift(`read the file's first ${INFER_LINES.toLocaleString("en")} lines`);
      console.log(draftYaml(document, notes, file));
      return 0;
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      console.error(`${file}: ${e.message}`);
      return 2;
    }
  }
  const contract = await loadContract(file);
  console.log(
    action === "check"
      ? contractSummary(contract, file)
      : JSON.stringify(jsonSchemaOf(contract), null, 2),
  );
  return 0;
}

/**
 * The backtest report of `replay FILE --report report.html`: one self-contained HTML file (no
 * network needed to open it) with, per entity, a chart of its feature values with the alerts
 * marked and a chart of its alert score against the alert line (0.5); the rejected records by
 * check; the alerts by cause; and a summary table (records, rejected by check, alerts, and
 * precision / recall when the file carries ground truth). Charts are drawn by uPlot (npm:uplot,
 * MIT), inlined.
 *
 * {@link createReportBuilder} takes the rows one at a time and keeps the counts and a bounded
 * sample of each entity's rows, so a report's memory does not grow with the file;
 * {@link writeReport} reads uPlot's files and writes the page.
 *
 * @module
 */

/** One replayed record, as the report needs it. */
export interface ReportRow {
  line: number;
  /** Entity key ("" for a rejected record). */
  entity: string;
  /** Event time, Unix seconds (NaN when unknown). */
  ts: number;
  /** The contract's first feature (`value` for the seed's) and second (NaN when none). */
  value: number;
  temperature: number;
  /** The check that rejected it, or "all" when valid. */
  check: string;
  alert: boolean;
  /**
   * Of an alert: the feature that decided it (0: the first, 1: the second; when the forest
   * decided, the larger deviation), where the chart marks it. Default: 0.
   */
  driver?: number;
  /** Of an alert: what decided it, `basis/feature` (the alert's `cause`, e.g. `level/value`). */
  cause?: string;
  alertScore: number;
  /** Ground truth when the file has it (`injected` of the generator's events). */
  label?: boolean;
}

/** The summary table's numbers. */
export interface ReportSummary {
  records: number;
  valid: number;
  rejected: Record<string, number>;
  alerts: number;
  /** Alerts by {@link ReportRow.cause} (those without one are not counted). */
  causes: Record<string, number>;
  entities: number;
  /** Present when every valid record has a label. */
  precision?: number;
  recall?: number;
}

/** One entity's chart columns: its sampled rows' values, the alerts on them, its alert score. */
export interface ChartSeries {
  entity: string;
  ts: number[];
  value: (number | null)[];
  /** The second feature's values; null when it has none. */
  temperature: (number | null)[] | null;
  /** At an alert, the value of the feature that drove it; else null. */
  alertValue: (number | null)[];
  score: (number | null)[];
}

/** What a report page shows: the summary and the charts. */
export interface ReportContent {
  summary: ReportSummary;
  charts: ChartSeries[];
}

/** Points per entity drawn at most, besides its alerts (which are always kept). */
const MAX_POINTS = 20_000;

/**
 * A report built a row at a time, in bounded memory: the summary's counts, and per entity (the
 * first `maxEntities`) a sample of its rows for the charts: every `stride`-th row and every alert,
 * the stride doubling whenever more than {@link MAX_POINTS} rows are kept (so between half and all
 * of that many are drawn, whatever the file's length).
 */
export function createReportBuilder(maxEntities = 24): ReportContent & { add(r: ReportRow): void } {
  const rejected: Record<string, number> = {}, causes: Record<string, number> = {};
  let records = 0, valid = 0, alerts = 0, tp = 0, fp = 0, fn = 0, labelled = 0;
  const entities = new Set<string>();
  const sampled = new Map<string, { seen: number; stride: number; kept: [number, ReportRow][] }>();
  return {
    add(r) {
      records++;
      if (r.check !== "all") {
        rejected[r.check] = (rejected[r.check] ?? 0) + 1;
        return;
      }
      valid++;
      entities.add(r.entity);
      if (r.alert) alerts++;
      if (r.alert && r.cause) causes[r.cause] = (causes[r.cause] ?? 0) + 1;
      if (r.label !== undefined) {
        labelled++;
        if (r.alert && r.label) tp++;
        else if (r.alert) fp++;
        else if (r.label) fn++;
      }
      let e = sampled.get(r.entity);
      if (!e) {
        if (sampled.size >= maxEntities) return;
        sampled.set(r.entity, e = { seen: 0, stride: 1, kept: [] });
      }
      const i = e.seen++;
      if (i % e.stride !== 0 && !r.alert) return;
      e.kept.push([i, r]);
      if (e.kept.length > MAX_POINTS) {
        const stride = e.stride *= 2;
        e.kept = e.kept.filter(([k, row]) => k % stride === 0 || row.alert);
      }
    },
    get summary(): ReportSummary {
      const s: ReportSummary = {
        records,
        valid,
        rejected: { ...rejected },
        alerts,
        causes: { ...causes },
        entities: entities.size,
      };
      if (labelled > 0 && labelled === valid) {
        s.precision = tp + fp > 0 ? tp / (tp + fp) : 1;
        s.recall = tp + fn > 0 ? tp / (tp + fn) : 1;
      }
      return s;
    },
    get charts(): ChartSeries[] {
      const num = (x: number) => Number.isFinite(x) ? x : null;
      return [...sampled].map(([entity, { kept }]) => {
        const rows = kept.map(([, r]) => r);
        return {
          entity,
          ts: rows.map((r) => r.ts),
          value: rows.map((r) => num(r.value)),
          temperature: rows.some((r) => Number.isFinite(r.temperature))
            ? rows.map((r) => num(r.temperature))
            : null,
          // An alert is marked on the line of the feature that drove it.
          alertValue: rows.map((r) =>
            r.alert ? num(r.driver === 1 ? r.temperature : r.value) : null
          ),
          score: rows.map((r) => num(r.alertScore)),
        };
      });
    },
  };
}

/** The report of `rows`, all in hand (pure). */
export function reportOf(rows: readonly ReportRow[], maxEntities = 24): ReportContent {
  const b = createReportBuilder(maxEntities);
  for (const r of rows) b.add(r);
  return { summary: b.summary, charts: b.charts };
}

/** The summary of `rows` (pure). */
export function summarize(rows: readonly ReportRow[]): ReportSummary {
  return reportOf(rows).summary;
}

/** Per entity, columns for the charts (sampled beyond {@link MAX_POINTS}, alerts kept). */
export function chartData(rows: readonly ReportRow[], maxEntities = 24): ChartSeries[] {
  return reportOf(rows, maxEntities).charts;
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** JSON that is safe inside a `<script>` element. */
const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, "\\u003c");

/** The page of `report` (of `file`), with uPlot's `js` and `css` inlined. */
export function reportHtml(
  file: string,
  report: ReportContent,
  uplot: { js: string; css: string },
  names: readonly string[] = ["value", "temperature"],
): string {
  const s = report.summary;
  const fmt = (x: number | undefined) => x === undefined ? "—" : x.toFixed(4);
  const tableRows = (counts: Record<string, number>) =>
    Object.entries(counts).sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `<tr><td>${escapeHtml(c)}</td><td class="n">${n}</td></tr>`).join("");
  const rejectedRows = tableRows(s.rejected), causeRows = tableRows(s.causes);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Anomaly Flow backtest: ${
    escapeHtml(file)
  }</title>
<style>${uplot.css}
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}td.n{text-align:right}
.chart{margin:8px 0 24px}</style></head>
<body><h1>Backtest of <code>${escapeHtml(file)}</code></h1>
<table id="summary">
<tr><th>records</th><td class="n" id="records">${s.records}</td></tr>
<tr><th>valid</th><td class="n" id="valid">${s.valid}</td></tr>
<tr><th>rejected</th><td class="n" id="rejected">${s.records - s.valid}</td></tr>
<tr><th>alerts</th><td class="n" id="alerts">${s.alerts}</td></tr>
<tr><th>entities</th><td class="n" id="entities">${s.entities}</td></tr>
<tr><th>precision</th><td class="n" id="precision">${fmt(s.precision)}</td></tr>
<tr><th>recall</th><td class="n" id="recall">${fmt(s.recall)}</td></tr>
</table>
<h2>Rejected records by check</h2>
<table id="checks"><tr><th>check</th><th>records</th></tr>${
    rejectedRows || '<tr><td colspan="2">none</td></tr>'
  }</table>
<h2>Alerts by cause (judgement / feature; <code>forest/all</code>: the forest's score decided)</h2>
<table id="causes"><tr><th>cause</th><th>alerts</th></tr>${
    causeRows || '<tr><td colspan="2">none</td></tr>'
  }</table>
<h2>Per entity: values with alerts (red, on the feature that drove each), alert score against the alert line (0.5)</h2>
<div id="charts"></div>
<script>${uplot.js}</script>
<script>
const DATA = ${scriptJson(report.charts)};
const NAMES = ${scriptJson([names[0] ?? "value", names[1] ?? "temperature"])};
const root = document.getElementById("charts");
for (const d of DATA) {
  const h = document.createElement("h3"); h.textContent = d.entity; root.appendChild(h);
  const a = document.createElement("div"); a.className = "chart"; root.appendChild(a);
  const series = [{}, { label: NAMES[0], stroke: "#1f77b4" }];
  const cols = [d.ts, d.value];
  if (d.temperature) { series.push({ label: NAMES[1], stroke: "#2ca02c" }); cols.push(d.temperature); }
  series.push({ label: "alert", stroke: "transparent", points: { show: true, size: 8, fill: "#d62728", stroke: "#d62728" } });
  cols.push(d.alertValue);
  new uPlot({ width: 1000, height: 260, series }, cols, a);
  const b = document.createElement("div"); b.className = "chart"; root.appendChild(b);
  new uPlot({ width: 1000, height: 160, scales: { y: { range: [0, 1] } },
    series: [{}, { label: "alert score", stroke: "#9467bd" }, { label: "alert line", stroke: "#d62728", dash: [6, 4] }] },
    [d.ts, d.score, d.ts.map(() => 0.5)], b);
}
document.body.dataset.charts = String(DATA.length);
</script></body></html>
`;
}

/** Writes `report` (of `file`) to `path`. */
export async function writeReport(
  path: string,
  file: string,
  report: ReportContent,
  names?: readonly string[],
) {
  await import("uplot"); // installs the package; its browser build is read below
  const read = (p: string) => Deno.readTextFile(new URL(import.meta.resolve(p)));
  const [js, css] = await Promise.all([
    read("uplot/dist/uPlot.iife.min.js"),
    read("uplot/dist/uPlot.min.css"),
  ]);
  await Deno.writeTextFile(path, reportHtml(file, report, { js, css }, names));
}

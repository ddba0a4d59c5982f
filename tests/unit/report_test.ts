import assert from "node:assert/strict";
import { splitLabel } from "../../src/replay.ts";
import {
  chartData,
  createReportBuilder,
  reportHtml,
  reportOf,
  type ReportRow,
  summarize,
} from "../../src/report.ts";

const row = (extra: Partial<ReportRow>): ReportRow => ({
  line: 1,
  entity: "s",
  ts: 1,
  value: 1,
  temperature: NaN,
  check: "all",
  alert: false,
  alertScore: 0.1,
  ...extra,
});

Deno.test("replay: a JSONL line's injected field is the label, not part of the event", () => {
  const a = splitLabel('{"sensor_id":"s","ts":1,"value":2,"injected":"value"}');
  assert.deepEqual(JSON.parse(new TextDecoder().decode(a.event)), {
    sensor_id: "s",
    ts: 1,
    value: 2,
  });
  assert.equal(a.label, true);
  assert.equal(splitLabel('{"sensor_id":"s","ts":1,"value":2,"injected":"none"}').label, false);
  const plain = splitLabel('{"sensor_id":"s","ts":1,"value":2}');
  assert.equal(plain.label, undefined);
  assert.equal(splitLabel('{"injected" broken').label, undefined, "not JSON: checked as it is");
});

Deno.test("report summary: records, rejected by check, alerts, precision and recall from labels", () => {
  const rows = [
    row({ alert: true, label: true, cause: "level/value" }),
    row({ alert: true, label: false, cause: "day/value" }),
    row({ alert: false, label: true }),
    row({ alert: false, label: false, entity: "t" }),
    row({ check: "schema", entity: "" }),
    row({ check: "schema", entity: "" }),
    row({ check: "freshness", entity: "" }),
  ];
  assert.deepEqual(summarize(rows), {
    records: 7,
    valid: 4,
    rejected: { schema: 2, freshness: 1 },
    alerts: 2,
    causes: { "level/value": 1, "day/value": 1 },
    entities: 2,
    precision: 0.5,
    recall: 0.5,
  });
  assert.equal(summarize([row({})]).precision, undefined, "no labels, no precision");
});

Deno.test("report page: event text is escaped, charts keep every alert when decimating", () => {
  const rows = Array.from({ length: 50_000 }, (_, i) => row({ ts: i, alert: i === 12_345 }));
  const [d] = chartData(rows);
  assert.ok(d.ts.length <= 25_001);
  assert.ok(d.ts.includes(12_345), "the alert is drawn");
  const html = reportHtml(
    "<img src=x onerror=alert(1)>.jsonl",
    reportOf([row({ entity: "</script><b>" })]),
    {
      js: "",
      css: "",
    },
  );
  assert.ok(!html.includes("<img src=x") && !html.includes("</script><b>"), "escaped");
});

Deno.test("report charts: an alert is marked on the line of the feature that drove it", () => {
  const [d] = chartData([
    row({ ts: 1, value: 5, temperature: 20 }),
    row({ ts: 2, value: 6, temperature: 45, alert: true, driver: 1 }),
    row({ ts: 3, value: 60, temperature: 21, alert: true, driver: 0 }),
    row({ ts: 4, value: 70, temperature: 22, alert: true }),
  ]);
  // The temperature spike is marked at 45 (not at the normal-looking value 6), the value spikes
  // at their values.
  assert.deepEqual(d.alertValue, [null, 45, 60, 70]);
});

Deno.test("a report built row by row keeps its memory bounded: a million rows drawn as a sample with every alert", () => {
  const b = createReportBuilder(2);
  const alertsAt = new Set([3, 500_002, 999_998]); // of s0, s1 and s2
  for (let i = 0; i < 1_000_000; i++) {
    b.add(row({ entity: `s${i % 3}`, ts: i, alert: alertsAt.has(i) }));
  }
  assert.equal(b.summary.records, 1_000_000);
  assert.equal(b.summary.entities, 3, "every entity is counted");
  assert.equal(b.summary.alerts, 3);
  const charts = b.charts;
  assert.deepEqual(charts.map((c) => c.entity), ["s0", "s1"], "the first 2 entities are drawn");
  for (const c of charts) {
    // Each entity has 333,334 or 333,333 rows; between half and all of 20,000 points are kept,
    // evenly spaced, plus the entity's alerts.
    const regular = c.ts.filter((_, k) => c.alertValue[k] === null);
    assert.ok(regular.length > 10_000 && regular.length <= 20_000, `${regular.length} points`);
    const steps = new Set(regular.slice(1).map((t, k) => t - regular[k]));
    assert.equal(steps.size, 1, "evenly spaced");
  }
  const drawnAlerts = charts.flatMap((c) => c.ts.filter((_, k) => c.alertValue[k] !== null));
  assert.deepEqual(drawnAlerts.sort((x, y) => x - y), [3, 500_002], "s0's and s1's alerts");
});

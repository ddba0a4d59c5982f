import assert from "node:assert/strict";
import { splitLabel } from "../../src/replay.ts";
import { chartData, reportHtml, type ReportRow, summarize } from "../../src/report.ts";

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
  const html = reportHtml("<img src=x onerror=alert(1)>.jsonl", [row({ entity: "</script><b>" })], {
    js: "",
    css: "",
  });
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

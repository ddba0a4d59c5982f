import assert from "node:assert/strict";
import { parse } from "yaml";
import { z } from "zod";
import { SETTINGS } from "../../src/config.ts";
import { DEFAULT_PORTS } from "../../scripts/stack.ts";

const root = new URL("../../", import.meta.url).pathname;
const read = (path: string) => Deno.readTextFile(`${root}${path}`);
// deno-lint-ignore no-explicit-any
const yaml = async (path: string): Promise<any> => parse(await read(path), { merge: true });

async function tool(cmd: string, args: string[], cwd = `${root}prometheus`) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  return {
    ok: out.success,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test("promtool: both Prometheus configs and the rules are clean; rule unit tests pass", async () => {
  for (const file of ["prometheus.yml", "prometheus.compose.yml"]) {
    const r = await tool("promtool", ["check", "config", file]);
    assert.ok(r.ok, r.text);
  }
  const rules = await tool("promtool", ["check", "rules", "alerts.yml"]);
  assert.ok(rules.ok && /SUCCESS: 8 rules found/.test(rules.text), rules.text);
  const tests = await tool("promtool", ["test", "rules", "alerts.test.yml"]);
  assert.ok(tests.ok && /SUCCESS/.test(tests.text), tests.text);
});

Deno.test("the seed's two rules are unchanged; every rule has a severity and a rule test", async () => {
  const rules = (await yaml("prometheus/alerts.yml")).groups[0].rules;
  const byName = Object.fromEntries(rules.map((r: { alert: string }) => [r.alert, r]));
  assert.equal(byName.HighAnomalyRate.expr, "rate(anomalies_total[1m]) > 0.1");
  assert.equal(byName.HighAnomalyRate.for, "30s");
  assert.equal(byName.HighAnomalyRate.labels.severity, "warning");
  assert.equal(
    byName.DataQualityErrors.expr,
    'increase(dq_records_total{outcome="invalid"}[1m]) > 0',
  );
  assert.equal(byName.DataQualityErrors.labels.severity, "critical");
  const tested = await read("prometheus/alerts.test.yml");
  for (
    const name of [
      "ProcessorDown",
      "ConsumerLagHigh",
      "DeadLetterRate",
      "NotificationFailures",
      "FlatLines",
      "AlertRateOverTarget",
      ...Object.keys(byName),
    ]
  ) {
    assert.ok(byName[name], `rule ${name}`);
    assert.match(byName[name].labels.severity, /^(warning|critical)$/);
    assert.ok(tested.includes(`alertname: ${name}`), `${name} has a promtool unit test`);
  }
});

Deno.test("amtool: Alertmanager config is clean, routes by severity, inhibits, keeps secrets in files", async () => {
  const r = await tool("amtool", ["check-config", "alertmanager.yml"]);
  assert.ok(r.ok, r.text);
  const am = await yaml("prometheus/alertmanager.yml");
  assert.deepEqual(am.route.routes.map((x: { matchers: string[] }) => x.matchers[0]), [
    'severity="critical"',
    'severity="warning"',
  ]);
  assert.deepEqual(am.inhibit_rules[0].source_matchers, ['severity="critical"']);
  assert.deepEqual(am.inhibit_rules[0].target_matchers, ['severity="warning"']);
  const text = await read("prometheus/alertmanager.yml");
  assert.ok(!/^\s*(api_url|auth_password|smtp_auth_password):/m.test(text), "no inline secret");
  assert.match(text, /api_url_file:/);
  assert.match(text, /auth_password_file:/);
});

const Target = z.object({
  refId: z.string(),
  expr: z.string().min(1),
  datasource: z.object({ type: z.literal("prometheus"), uid: z.string() }),
});
const Panel = z.object({
  id: z.number().int().positive(),
  type: z.enum(["stat", "timeseries", "bargauge", "heatmap", "gauge", "table"]),
  title: z.string().min(1),
  datasource: z.object({ type: z.literal("prometheus"), uid: z.string() }),
  gridPos: z.object({
    x: z.number().int().min(0),
    y: z.number().int().min(0),
    w: z.number().int().min(1).max(24),
    h: z.number().int().min(1),
  }),
  fieldConfig: z.object({
    defaults: z.record(z.string(), z.unknown()),
    overrides: z.array(z.unknown()),
  }),
  options: z.record(z.string(), z.unknown()),
  targets: z.array(Target).min(1),
});
/** The parts of Grafana 11's dashboard JSON model a provisioned dashboard must get right. */
const Dashboard = z.object({
  uid: z.string().regex(/^[a-zA-Z0-9_-]{1,40}$/),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(36).max(41),
  version: z.number().int(),
  time: z.object({ from: z.string(), to: z.string() }),
  refresh: z.string(),
  templating: z.object({ list: z.array(z.unknown()) }),
  annotations: z.object({ list: z.array(z.unknown()) }),
  panels: z.array(Panel).min(1),
});

Deno.test("the Grafana dashboard keeps to the Grafana 11 model and has every panel asked for", async () => {
  const dash = Dashboard.parse(JSON.parse(await read("grafana/dashboards/anomaly-flow.json")));
  const ds = await yaml("grafana/provisioning/datasources/prometheus.yml");
  const uid = ds.datasources[0].uid;
  const ids = new Set<number>();
  const cells = new Set<string>();
  for (const p of dash.panels) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} unique`);
    ids.add(p.id);
    assert.equal(p.datasource.uid, uid, `${p.title}: provisioned datasource`);
    for (const t of p.targets) assert.equal(t.datasource.uid, uid);
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel`);
        cells.add(`${x},${y}`);
      }
    }
  }
  const titles = dash.panels.map((p) => p.title);
  for (
    const t of [
      "Events Processed",
      "Anomalies Detected",
      "Processing Rate",
      "Anomaly Score vs threshold",
      "DQ Errors by check",
      "Value Distribution",
      "Consumer lag",
      "Dead-letter rate",
      "Event-to-alert latency",
      "Detection precision / recall",
    ]
  ) assert.ok(titles.includes(t), `panel ${t}`);
  const provider = await yaml("grafana/provisioning/dashboards/anomaly-flow.yml");
  assert.equal(provider.providers[0].type, "file");
});

Deno.test("compose.yaml matches the local stack: ports, topics, mounted files, pinned images", async () => {
  const compose = await yaml("compose.yaml");
  const s = compose.services;
  for (const [name, svc] of Object.entries(s) as [string, { image?: string }][]) {
    assert.ok(
      svc.image && !/:latest$/.test(svc.image) && /:[\w.]+$/.test(svc.image),
      `${name} image pinned: ${svc.image}`,
    );
  }
  const published = (svc: { ports: string[] }) => svc.ports.map((p) => Number(p.split(":")[0]));
  assert.deepEqual(published(s.processor), [DEFAULT_PORTS.processor]);
  assert.deepEqual(published(s.alerts), [DEFAULT_PORTS.alerts]);
  assert.deepEqual(published(s.prometheus), [DEFAULT_PORTS.prometheus]);
  assert.deepEqual(published(s.alertmanager), [DEFAULT_PORTS.alertmanager]);
  assert.deepEqual(published(s.kafka), [9092]);
  assert.equal(String(s.processor.environment.METRICS_PORT), String(DEFAULT_PORTS.processor));
  assert.equal(String(s.alerts.environment.ALERTS_METRICS_PORT), String(DEFAULT_PORTS.alerts));
  assert.equal(s.processor.environment.TOPIC_EVENTS, SETTINGS.topicEvents.default);
  assert.equal(s.processor.environment.TOPIC_ALERTS, SETTINGS.topicAlerts.default);
  assert.equal(s.processor.environment.TOPIC_DLQ, SETTINGS.topicDlq.default);
  assert.equal(s.alerts.environment.TOPIC_ALERTS, SETTINGS.topicAlerts.default);
  for (const svc of Object.values(s) as { volumes?: string[] }[]) {
    for (const v of svc.volumes ?? []) {
      const [src] = v.split(":");
      if (src.startsWith("./")) await Deno.stat(`${root}${src.slice(2)}`); // exists
    }
  }
  assert.match(s.prometheus.command[0], /prometheus\.compose\.yml$/);
  // The compose Prometheus scrapes the same jobs on the same ports as the local one.
  const local = await yaml("prometheus/prometheus.yml");
  const docker = await yaml("prometheus/prometheus.compose.yml");
  const jobs = (
    c: { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] },
  ) =>
    c.scrape_configs.map((
      j,
    ) => [j.job_name, j.static_configs[0].targets.map((t) => t.split(":")[1])]);
  assert.deepEqual(jobs(docker), jobs(local));
  assert.deepEqual(docker.rule_files, local.rule_files);
});

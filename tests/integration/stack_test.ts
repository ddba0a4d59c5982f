import assert from "node:assert/strict";
import { alive } from "../../scripts/kafka.ts";
import { opsCommands, renderOpsConfig, type StackPorts } from "../../scripts/stack.ts";
import { testBroker, testTopic } from "../helpers/kafka.ts";
import { startHttp } from "../helpers/peers.ts";
import { freePort, startService, waitFor } from "../helpers/processor.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}src/main.ts`;

async function descendants(pid: number): Promise<number[]> {
  const out = new TextDecoder().decode(
    (await new Deno.Command("ps", { args: ["-eo", "pid=,ppid="], stdout: "piped" }).output())
      .stdout,
  );
  const children = new Map<number, number[]>();
  for (const line of out.trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const all: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (all.push(c), walk(c)));
  walk(pid);
  return all;
}

Deno.test("deno task stack brings up Kafka, Prometheus, Alertmanager and the product; Ctrl-C leaves no process", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "anomaly-flow-stack-" });
  const ports = {
    processor: freePort(),
    alerts: freePort(),
    prometheus: freePort(),
    alertmanager: freePort(),
  };
  const stack = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}scripts/stack.ts`],
    env: {
      STACK_MODE: "local",
      // Under Linux's ephemeral range (32768–60999): a client socket of another test can
      // hold any port in it (39092 was, once, and the broker could not bind).
      KAFKA_PORT: "29192",
      KAFKA_CONTROLLER_PORT: "29194",
      KAFKA_DATA_DIR: dataDir,
      KAFKA_HEAP: "256m",
      METRICS_PORT: String(ports.processor),
      ALERTS_METRICS_PORT: String(ports.alerts),
      PROMETHEUS_PORT: String(ports.prometheus),
      ALERTMANAGER_PORT: String(ports.alertmanager),
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const drain = (s: ReadableStream<Uint8Array>) =>
    (async () => {
      for await (const c of s.pipeThrough(new TextDecoderStream())) output.push(c);
    })();
  const drained = Promise.all([drain(stack.stdout), drain(stack.stderr)]);
  try {
    const ok =
      (url: string) => async () => (await fetch(url).then((r) => (r.body?.cancel(), r.ok)));
    await waitFor(ok(`http://127.0.0.1:${ports.processor}/readyz`), 90_000, "processor ready");
    await waitFor(ok(`http://127.0.0.1:${ports.alerts}/readyz`), 60_000, "alert consumer ready");
    await waitFor(ok(`http://127.0.0.1:${ports.prometheus}/-/ready`), 60_000, "prometheus ready");
    await waitFor(
      ok(`http://127.0.0.1:${ports.alertmanager}/-/ready`),
      60_000,
      "alertmanager ready",
    );
    assert.match(
      output.join(""),
      new RegExp(`http://localhost:${ports.prometheus}`),
      "URLs printed",
    );
    // Started next to a just-started broker: what is retried and passes is no error line.
    const errors = output.join("").split("\n").filter((l) => /\[error\]/.test(l));
    assert.deepEqual(errors, [], "no error-level line when everything is fine");
  } finally {
    const pids = await descendants(stack.pid);
    const brokerPid = Number(await Deno.readTextFile(`${dataDir}/broker.pid`).catch(() => "0"));
    // The stack stops by itself when one of its processes dies: its output says why.
    try {
      stack.kill("SIGINT");
    } catch { /* already exited */ }
    const status = await stack.status;
    await drained;
    assert.equal(status.code, 0, output.join(""));
    assert.ok(pids.length >= 5, `stack started its processes (${pids.length})`);
    const left = [...pids, brokerPid].filter((p) => p > 0 && alive(p));
    assert.deepEqual(left, [], "no process left behind");
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name:
    "end to end: Prometheus scrapes, DataQualityErrors reaches Alertmanager, dashboard queries have data, HighAnomalyRate fires and resolves",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using events = await testTopic("e2e-events", 2);
    await using alerts = await testTopic("e2e-alerts");
    await using dlq = await testTopic("e2e-dlq");
    const env = {
      TOPIC_EVENTS: events.name,
      TOPIC_ALERTS: alerts.name,
      TOPIC_DLQ: dlq.name,
      CONSUMER_GROUP: `g-${events.name}`,
      ALERTS_CONSUMER_GROUP: `ga-${events.name}`,
    };
    const processor = await startService("process", env);
    const consumer = await startService("alerts", env);
    const dir = await Deno.makeTempDir({ prefix: "anomaly-flow-e2e-" });
    const ports: StackPorts = {
      processor: processor.port,
      alerts: consumer.port,
      prometheus: freePort(),
      alertmanager: freePort(),
    };
    await using slack = startHttp();
    await renderOpsConfig(dir, ports);
    await Deno.writeTextFile(`${dir}/secrets/slack_webhook_url`, slack.url);
    const ops = opsCommands(dir, ports).map((o) =>
      new Deno.Command(o.cmd, { args: o.args, cwd: o.cwd, stdout: "null", stderr: "null" }).spawn()
    );
    let generator: Deno.ChildProcess | undefined;
    const generate = (valueRate: number) => {
      generator?.kill("SIGTERM");
      generator = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          MAIN,
          "generate",
          "--rate",
          "20",
          "--value-anomaly-rate",
          String(valueRate),
          "--temperature-anomaly-rate",
          "0.001",
        ],
        env: { KAFKA_BROKER: testBroker(), TOPIC_EVENTS: events.name },
        stdout: "null",
        stderr: "null",
      }).spawn();
    };
    const prom = `http://127.0.0.1:${ports.prometheus}`;
    // deno-lint-ignore no-explicit-any
    const api = async (path: string): Promise<any> =>
      (await (await fetch(`${prom}${path}`)).json()).data;
    const firing = async (name: string) =>
      (await api("/api/v1/alerts")).alerts.some((
        a: { labels: { alertname: string }; state: string },
      ) => a.labels.alertname === name && a.state === "firing");
    const started = Date.now();
    try {
      generate(0.002);
      await waitFor(
        async () =>
          (await api("/api/v1/targets")).activeTargets.some((
            t: { labels: { job: string }; health: string },
          ) => t.labels.job === "anomaly-flow-processor" && t.health === "up"),
        60_000,
        "processor target up",
      );
      await waitFor(
        () => firing("DataQualityErrors"),
        90_000,
        "DataQualityErrors firing in Prometheus",
      );
      await waitFor(
        async () => {
          const list = await (await fetch(`http://127.0.0.1:${ports.alertmanager}/api/v2/alerts`))
            .json();
          return list.some((a: { labels: { alertname: string } }) =>
            a.labels.alertname === "DataQualityErrors"
          );
        },
        90_000,
        "DataQualityErrors listed by Alertmanager",
      );
      const dqSeconds = (Date.now() - started) / 1000;
      await waitFor(
        () => slack.bodies.some((b) => JSON.stringify(b).includes("DataQualityErrors")),
        60_000,
        "Alertmanager's Slack notification",
      );
      console.log(`e2e_data_quality_alert_seconds=${dqSeconds.toFixed(1)}`);

      // After ≥ 60 s of traffic, every dashboard panel's queries return data.
      const wait = 65_000 - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const dashboard = JSON.parse(
        await Deno.readTextFile(`${ROOT}grafana/dashboards/anomaly-flow.json`),
      );
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          const r = await api(`/api/v1/query?query=${encodeURIComponent(target.expr)}`);
          assert.ok(r.result.length > 0, `panel "${panel.title}": ${target.expr} returned no data`);
        }
      }
      assert.ok(!(await firing("HighAnomalyRate")), "no HighAnomalyRate at 0.2 % anomalies");

      generate(0.1);
      await waitFor(
        () => firing("HighAnomalyRate"),
        150_000,
        "HighAnomalyRate firing at 10 % anomalies",
      );
      const fired = Date.now();
      generate(0.002);
      await waitFor(
        async () => !(await firing("HighAnomalyRate")),
        180_000,
        "HighAnomalyRate resolved",
      );
      console.log(
        `e2e_high_anomaly_rate_resolved_after_seconds=${((Date.now() - fired) / 1000).toFixed(1)}`,
      );
    } catch (e) {
      // What the product said last: the cause when one of its processes stopped early.
      for (const [name, p] of [["process", processor], ["alerts", consumer]] as const) {
        console.log(`--- ${name} log, last lines:\n${p.lines.slice(-40).join("\n")}`);
      }
      throw e;
    } finally {
      const stop = (child: Deno.ChildProcess) => {
        try {
          child.kill("SIGTERM");
        } catch { /* already ended: its status says how */ }
      };
      if (generator) stop(generator);
      await generator?.status;
      for (const o of ops) {
        stop(o);
        await o.status;
      }
      stop(processor.child);
      stop(consumer.child);
      await processor.status;
      await consumer.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

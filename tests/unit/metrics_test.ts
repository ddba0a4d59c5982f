import assert from "node:assert/strict";
import { ConfigError } from "../../src/config.ts";
import { createProcessorMetrics, serveMetrics } from "../../src/metrics.ts";

async function promtool(text: string): Promise<{ ok: boolean; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { ok: out.success, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("the seed's six metrics keep their names, types and labels", async () => {
  const m = createProcessorMetrics();
  m.processed.inc(3);
  m.dq.inc({ outcome: "ok", check: "all" }, 2);
  m.dq.inc({ outcome: "invalid", check: "range_value" });
  m.anomalies.inc();
  m.lastScore.set(0.99);
  m.threshold.set(0.98);
  m.eventValue.observeAll([1.5]);
  const text = await m.registry.metrics();
  for (
    const [name, type] of [
      ["processed_records_total", "counter"],
      ["dq_records_total", "counter"],
      ["anomalies_total", "counter"],
      ["last_anomaly_score", "gauge"],
      ["anomaly_threshold", "gauge"],
      ["event_value", "histogram"],
    ]
  ) {
    assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, "m"), `${name} is a ${type}`);
  }
  assert.match(text, /^dq_records_total\{outcome="ok",check="all"\} 2$/m);
  assert.match(text, /^dq_records_total\{outcome="invalid",check="range_value"\} 1$/m);
  assert.match(text, /^processed_records_total 3$/m);
});

Deno.test("every metric name passes promtool check metrics", async () => {
  const m = createProcessorMetrics();
  m.deadLetters.inc({ check: "schema" });
  m.lag.set({ topic: "events", partition: "0" }, 5);
  m.batchDuration.observe(0.01);
  m.alertLatency.observe({ from: "event_ts" }, 0.02);
  m.workers.set(2);
  m.targetRate.set(5e-6);
  m.causes.inc({ basis: "day", feature: "value" });
  const r = await promtool(await m.registry.metrics());
  assert.ok(r.ok, r.output);
  assert.equal(r.output.trim(), "", `promtool found problems:\n${r.output}`);
});

Deno.test("/metrics, /healthz and /readyz answer; readyz says why it is not ready", async () => {
  const m = createProcessorMetrics();
  let ready = false;
  const server = serveMetrics({
    port: 0,
    hostname: "127.0.0.1",
    registry: m.registry,
    health: { ready: () => ready, reason: () => "consumer not in group" },
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    assert.match(await (await fetch(`${base}/metrics`)).text(), /processed_records_total/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await (await fetch(`${base}/healthz`)).body?.cancel();
    const r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /consumer not in group/);
    ready = true;
    const r2 = await fetch(`${base}/readyz`);
    assert.equal(r2.status, 200);
    await r2.body?.cancel();
  } finally {
    await server.shutdown();
  }
});

Deno.test("a metrics port already taken stops start-up with the setting to change, not a stack trace", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    assert.throws(
      () =>
        serveMetrics({
          port,
          hostname: "127.0.0.1",
          registry: createProcessorMetrics().registry,
          health: { ready: () => true, reason: () => "" },
          setting: "ALERTS_METRICS_PORT",
        }),
      (e: unknown) =>
        e instanceof ConfigError && e.setting === "ALERTS_METRICS_PORT" &&
        e.message.startsWith(`cannot serve metrics on 127.0.0.1:${port}: `) &&
        e.message.endsWith("set ALERTS_METRICS_PORT to a free port (0: any free port)"),
    );
    // Through the command: exit 2 and the message alone.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../src/main.ts", import.meta.url).pathname, "process"],
      env: {
        NO_COLOR: "1",
        METRICS_PORT: String(port),
        METRICS_HOST: "127.0.0.1",
        KAFKA_BROKER: "127.0.0.1:1",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, err);
    assert.match(err, /set METRICS_PORT to a free port/);
    assert.doesNotMatch(err, /\bat \S+\.ts:\d+/, "no stack trace");
  } finally {
    taken.close();
  }
});

/** The README's metric table: name → type and labels. */
async function readmeMetrics(): Promise<Map<string, { type: string; labels: string[] }>> {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Metrics"));
  const table = section.slice(0, section.indexOf("\n## "));
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const row of table.split("\n").filter((l) => /^\| `/.test(l))) {
    const [names, type, labels] = row.split("|").slice(1, 4).map((c) => c.trim());
    const labelList = [...labels.matchAll(/`(\w+)`/g)].map((m) => m[1]);
    for (const m of names.matchAll(/`(\w+)`/g)) out.set(m[1], { type, labels: labelList });
  }
  return out;
}

Deno.test("every metric the README's table names exists with its type and labels, and none is missing from it", async () => {
  const documented = await readmeMetrics();
  assert.ok(documented.size >= 15, `${documented.size} metrics in the README's table`);
  const m = createProcessorMetrics();
  // One sample per labelled metric, so its label names show.
  m.dq.inc({ outcome: "ok", check: "all" });
  m.deadLetters.inc({ check: "schema" });
  m.truncated.inc({ topic: "t" });
  m.entities.set({ partition: "0" }, 3);
  m.lag.set({ topic: "t", partition: "0" }, 1);
  m.alertLatency.observe({ from: "event_ts" }, 0.1);
  m.labelled.inc({ truth: "normal", flagged: "false" });
  m.causes.inc({ basis: "level", feature: "value" });
  const text = await m.registry.metrics();
  const exposed = new Map(
    [...text.matchAll(/^# TYPE (\w+) (\w+)$/gm)].map((x) => [x[1], x[2]]),
  );
  for (const [name, { type, labels }] of documented) {
    assert.equal(exposed.get(name), type, `${name} is exposed as a ${type}`);
    const series = type === "histogram" ? `${name}_bucket` : name;
    const sample = text.split("\n").find((l) =>
      l.startsWith(`${series}{`) || l.startsWith(`${series} `)
    );
    assert.ok(sample !== undefined, `${name} has a sample`);
    const got = [...(sample!.match(/\{(.*)\}/)?.[1] ?? "").matchAll(/(\w+)="/g)]
      .map((x) => x[1]).filter((l) => l !== "le");
    assert.deepEqual(got, labels, `${name}'s labels`);
  }
  const undocumented = [...exposed.keys()].filter((n) => !documented.has(n));
  assert.deepEqual(undocumented, [], "every exposed metric is in the README's table");
});

import assert from "node:assert/strict";
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
  m.eventValue.observe(1.5);
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

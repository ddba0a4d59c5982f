/**
 * The example contracts through `replay`, as a user runs it: each sample's faults end in the
 * check the contract names for them, its spikes are flagged, its normal events are not; the same
 * events as CSV give the same outcomes; a bad contract stops every command with exit 2.
 */
import assert from "node:assert/strict";
import { loadContract } from "../../src/contract/load.ts";
import { EXPECTED } from "../helpers/contracts.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const ROOT = new URL("../../contracts/", import.meta.url).pathname;

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { LOG_LEVEL: "warning", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** The `injected` label of each sample line ("(bad)" for a line that is no event). */
function labelsOf(text: string): string[] {
  return text.split("\n").slice(0, -1).map((l) => {
    try {
      const v = JSON.parse(l);
      return typeof v?.injected === "string" ? v.injected : "(bad)";
    } catch {
      return "(bad)";
    }
  });
}

for (const name of Object.keys(EXPECTED)) {
  Deno.test(`replay ${name}: faults in their checks, spikes flagged, normal events not`, async () => {
    const sample = `${ROOT}samples/${name}.jsonl`;
    const labels = labelsOf(await Deno.readTextFile(sample));
    const r = await run(["replay", sample, "--contract", `${ROOT}${name}.yaml`, "--workers", "2"]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(rows.length, labels.length);
    let tp = 0, fn = 0, fp = 0;
    rows.forEach((row, i) => {
      const label = labels[i];
      const want = label === "(bad)" ? "schema" : EXPECTED[name][label] ?? "all";
      assert.equal(row.check, want, `line ${i + 1} (${label}): ${row.reason}`);
      if (label === "spike") row.anomaly ? tp++ : fn++;
      else if (row.anomaly) fp++;
    });
    const recall = tp / (tp + fn), precision = tp / Math.max(1, tp + fp);
    assert.ok(recall >= 0.7, `${name}: recall ${recall} (${tp} of ${tp + fn} spikes)`);
    assert.ok(precision >= 0.9, `${name}: precision ${precision} (${fp} false alerts)`);
  });
}

Deno.test("replay CSV with a contract: the header names the fields, the outcomes are those of the same events as JSONL", async () => {
  const contract = await loadContract(`${ROOT}pipeline-metrics.yaml`);
  const names = contract.fields.map((f) => f.name);
  const lines = (await Deno.readTextFile(`${ROOT}samples/pipeline-metrics.jsonl`)).split("\n")
    .filter((l) => l.startsWith("{") && l.endsWith("}"))
    .map((l) => JSON.parse(l))
    // CSV has no way to write an unknown key or a string in a number column apart from text.
    .filter((e) => !("unexpected_field" in e) && e.injected !== "bad_type");
  const dir = await Deno.makeTempDir();
  try {
    // Columns in another order than the contract's: the header decides.
    const header = [...names].reverse();
    const csv = [header.join(","), ...lines.map((e) => header.map((h) => e[h] ?? "").join(","))];
    await Deno.writeTextFile(`${dir}/m.csv`, csv.join("\n") + "\n");
    await Deno.writeTextFile(
      `${dir}/m.jsonl`,
      lines.map(({ injected: _, ...e }) => JSON.stringify(e)).join("\n") + "\n",
    );
    const args = ["--contract", `${ROOT}pipeline-metrics.yaml`];
    const fromCsv = await run(["replay", `${dir}/m.csv`, ...args]);
    const fromJsonl = await run(["replay", `${dir}/m.jsonl`, ...args]);
    assert.equal(fromCsv.code, 0, fromCsv.stderr);
    const strip = (t: string) =>
      t.trim().split("\n").map((l) => {
        // The CSV's header takes a line: rows are compared in order, not by line number.
        const { reason: _, line: __, ...rest } = JSON.parse(l);
        return rest;
      });
    assert.deepEqual(strip(fromCsv.stdout), strip(fromJsonl.stdout));
    assert.ok(
      strip(fromCsv.stdout).some((r) => r.check === "required"),
      "an empty cell is missing",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay CSV without a contract: every numeric column after the time is a feature named by its header", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rows = ["time,load,latency,host"];
    for (let i = 0; i < 400; i++) {
      const t = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
      rows.push(`${t},${(50 + (i % 7)).toFixed(1)},${(20 + (i % 5)).toFixed(1)},web-1`);
    }
    rows.push(`${new Date(Date.UTC(2026, 0, 2)).toISOString()},250,21,web-1`); // beyond VALUE_MAX
    await Deno.writeTextFile(`${dir}/ops.csv`, rows.join("\n") + "\n");
    const r = await run(["replay", `${dir}/ops.csv`, "--report", `${dir}/r.html`]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(out.length, 401, "the header is not a row");
    assert.ok(out.slice(0, 400).every((o) => o.check === "all"));
    assert.equal(out[400].check, "range_load");
    const html = await Deno.readTextFile(`${dir}/r.html`);
    assert.match(html, /const NAMES = \["load","latency"\]/, "the report names the features");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay CSV of an idle counter: its routine bursts stop alerting, a larger one alerts; a finely varying reading's bursts all alert", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A burst of 40 every 60 rows (5 minutes apart), then one of 400; between bursts an idle
    // counter reads 0, a fine reading 10 with a little noise.
    let x = 7;
    const noise = () => ((x = (x * 16807) % 2147483647) / 2147483647 - 0.5) * 0.4;
    const write = async (name: string, between: () => number) => {
      const rows = ["time,value"];
      for (let i = 0; i < 3001; i++) {
        const t = new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString();
        const v = i === 3000 ? 400 : i % 60 === 59 ? 40 : between();
        rows.push(`${t},${v.toFixed(3)}`);
      }
      await Deno.writeTextFile(`${dir}/${name}.csv`, rows.join("\n") + "\n");
    };
    await write("idle", () => 0);
    await write("fine", () => 10 + noise());
    const alerts = async (name: string, env: Record<string, string> = {}) => {
      const r = await run(["replay", `${dir}/${name}.csv`], { VALUE_MAX: "500", ...env });
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      // Bursts after the forest's first window (no alert before it).
      const bursts = out.filter((_, i) => i % 60 === 59 && i > 250 && i < 3000);
      return {
        bursts: bursts.filter((o) => o.anomaly).length,
        of: bursts.length,
        larger: out[3000].anomaly === true,
      };
    };
    const idle = await alerts("idle");
    assert.ok(idle.bursts <= 2, `an idle counter's routine bursts stop alerting: ${idle.bursts}`);
    assert.ok(idle.larger, "a burst ten times the usual alerts");
    const gaussian = await alerts("idle", { BASELINE_EXTREMES: "gaussian" });
    assert.ok(
      gaussian.bursts >= gaussian.of - 2,
      `with gaussian: ${gaussian.bursts} of ${gaussian.of}`,
    );
    const fine = await alerts("fine");
    assert.ok(fine.bursts >= fine.of - 2, `a fine reading's bursts: ${fine.bursts} of ${fine.of}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad contract stops every command with one line per problem and exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      bad,
      [
        "name: shop",
        "version: 1",
        "key: shopper",
        "time: { field: ts }",
        "fields:",
        "  ts: { type: timestamp }",
        '  amount: { type: number, min: "ten", max: 5 }',
        "features: [amount]",
      ].join("\n"),
    );
    for (const command of ["process", "replay", "generate", "alerts", "contract"]) {
      const args = command === "contract"
        ? ["contract", "check", bad]
        : command === "replay"
        ? ["replay", `${ROOT}samples/payments.jsonl`]
        : [command];
      const r = await run(args, { CONTRACT_FILE: bad, KAFKA_BROKER: "127.0.0.1:1" });
      assert.equal(r.code, 2, `${command}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`${bad}: fields\\.amount\\.min: expected a number, got "ten"`),
      );
      assert.ok(!/^\s+at /m.test(r.stderr), `${command}: no stack trace`);
    }
    const conflict = await run(["replay", `${ROOT}samples/payments.jsonl`], {
      CONTRACT_FILE: `${ROOT}payments.yaml`,
      VALUE_MAX: "5",
    });
    assert.equal(conflict.code, 2);
    assert.match(conflict.stderr, /VALUE_MAX .*built-in contract/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("contract check, json-schema and infer from the command line", async () => {
  const check = await run(["contract", "check", `${ROOT}payments.yaml`]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /contract payments version 1: valid/);
  assert.match(check.stdout, /checks: +schema, required, .*enum_currency.*range_amount, freshness/);
  const iot = await run(["contract", "check", `${ROOT}iot-sensor.yaml`]);
  assert.match(
    iot.stdout,
    /features: value \[-100, 100\] \(\+ change, recent level\), temperature/,
  );
  const schema = await run(["contract", "json-schema", `${ROOT}payments.yaml`]);
  const parsed = JSON.parse(schema.stdout);
  assert.equal(parsed.properties.currency.enum.length, 5);
  assert.deepEqual(parsed.required, ["transaction_id", "account_id", "amount", "currency", "ts"]);
  const dir = await Deno.makeTempDir();
  try {
    const infer = await run([
      "contract",
      "infer",
      `${ROOT}samples/payments.jsonl`,
      "--name",
      "pay",
    ]);
    assert.equal(infer.code, 0, infer.stderr);
    await Deno.writeTextFile(`${dir}/pay.yaml`, infer.stdout);
    const again = await run(["contract", "check", `${dir}/pay.yaml`]);
    assert.equal(again.code, 0, again.stderr + infer.stdout);
    assert.match(again.stdout, /key: +account_id/);
    assert.match(again.stdout, /time: +ts \(iso8601\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a contract pattern that backtracks badly cannot stall the processor: a hostile value is judged like any other", async () => {
  const dir = await Deno.makeTempDir();
  const contract = `${dir}/tags.yaml`;
  await Deno.writeTextFile(
    contract,
    [
      "name: tags",
      "version: 1",
      "key: device",
      "unknown_fields: reject",
      "time: { field: ts }",
      "fields:",
      '  device: { type: string, pattern: "^(a+)+$" }',
      "  ts: { type: timestamp }",
      "  level: { type: number, min: 0, max: 100 }",
      "features: [{ field: level }]",
    ].join("\n") + "\n",
  );
  const events = `${dir}/events.jsonl`;
  // JavaScript's own engine backtracks 2⁴⁰ times on the second line: days of one worker's time.
  const lines = [
    { device: "aaa", ts: 1767225600, level: 5 },
    { device: "a".repeat(40) + "!", ts: 1767225601, level: 5 },
    { device: "aaaa", ts: 1767225602, level: 6 },
  ].map((e) => JSON.stringify(e));
  await Deno.writeTextFile(events, lines.join("\n") + "\n");
  // Stopped after 60 s, which only a stalled worker takes.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "replay", events, "--contract", contract],
    env: { LOG_LEVEL: "warning" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `replay stalled or failed: ${stderr}`);
  const rows = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => r.check), ["all", "pattern_device", "all"]);
  await Deno.remove(dir, { recursive: true });
});

import assert from "node:assert/strict";
import { rejectionHint } from "../../src/replay.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** `replay` with `args`, as a user runs it, logging JSON lines. */
const replay = (...args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "replay", ...args],
    env: { NO_COLOR: "1", LOG_FORMAT: "json" },
    stdout: "piped",
    stderr: "piped",
  }).output();

Deno.test("a CSV outside the built-in ranges: replay says which check and how to fix it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const csv = `${dir}/rides.csv`;
    const rows = ["timestamp,value"];
    for (let i = 0; i < 200; i++) {
      rows.push(`${new Date(Date.UTC(2014, 6, 1) + i * 300_000).toISOString()},${9000 + i}`);
    }
    await Deno.writeTextFile(csv, rows.join("\n") + "\n");
    const out = await replay(csv);
    assert.equal(out.code, 0);
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 200, "one line out per row, rejected or not");
    assert.ok(lines.every((l) => l.check === "range_value"));
    const logs = new TextDecoder().decode(out.stderr).trim().split("\n").map((l) => JSON.parse(l));
    const done = logs.find((l) => l.event === "replay_done");
    assert.equal(done.invalid_by_check, "range_value:200");
    const warning = logs.find((l) => l.event === "replay_mostly_rejected");
    assert.ok(warning, "a warning says most rows were rejected");
    assert.equal(warning.level, "warning");
    assert.equal(warning.rejected, 200);
    assert.equal(warning.example, "value 9000 outside [-100, 100]");
    assert.match(warning.hint, /set VALUE_MIN\/VALUE_MAX to the data's range/);
    assert.match(warning.hint, new RegExp(`contract infer ${csv}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a CSV with a few cells that are not numbers: those rows rejected with their reason, the rest judged; one with none stops with a message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const csv = `${dir}/dropouts.csv`;
    const rows = ["timestamp,value"];
    for (let i = 0; i < 200; i++) {
      const value = i === 50 ? "NaN" : i === 120 ? "n/a" : String(10 + (i % 7) / 10);
      rows.push(`${new Date(Date.UTC(2014, 6, 1) + i * 300_000).toISOString()},${value}`);
    }
    await Deno.writeTextFile(csv, rows.join("\n") + "\n");
    const out = await replay(csv);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 200, "one line out per row");
    const rejected = lines.filter((l) => l.outcome === "invalid");
    assert.deepEqual(rejected.map((l) => [l.line, l.check]), [[52, "schema"], [122, "schema"]]);
    assert.match(rejected[0].reason, /field value: expected number.*"NaN"/);
    assert.ok(lines.filter((l) => l.outcome === "ok").every((l) => typeof l.score === "number"));

    const text = `${dir}/states.csv`;
    await Deno.writeTextFile(text, "timestamp,state\n2014-07-01T00:00:00Z,on\n");
    const refused = await replay(text);
    assert.equal(refused.code, 2);
    const err = new TextDecoder().decode(refused.stderr);
    assert.match(err, /the CSV's columns: no column after the time column "timestamp" is numeric/);
    assert.doesNotMatch(err, /\bat \S+\.ts:\d+/, "no stack trace");

    // Header cells that are not field names are made ones, and the log says how.
    const named = `${dir}/named.csv`;
    const namedRows = ["Time (UTC),CPU %"];
    for (let i = 0; i < 50; i++) {
      namedRows.push(`${new Date(Date.UTC(2014, 6, 1) + i * 300_000).toISOString()},${i % 9}`);
    }
    await Deno.writeTextFile(named, namedRows.join("\n") + "\n");
    const renamed = await replay(named);
    assert.equal(renamed.code, 0, new TextDecoder().decode(renamed.stderr));
    const outLines = new TextDecoder().decode(renamed.stdout).trim().split("\n");
    assert.equal(outLines.length, 50);
    assert.ok(outLines.every((l) => JSON.parse(l).outcome === "ok"));
    const logs = new TextDecoder().decode(renamed.stderr).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(
      logs.find((l) => l.event === "csv_columns_renamed")?.columns,
      '"Time (UTC)"→Time_UTC, "CPU %"→CPU',
    );

    // An empty file, or a header alone, replays to nothing.
    for (const [name, text] of [["empty.csv", ""], ["header.csv", "timestamp,value\n"]]) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      const none = await replay(`${dir}/${name}`);
      assert.equal(none.code, 0, `${name}: ${new TextDecoder().decode(none.stderr)}`);
      assert.equal(new TextDecoder().decode(none.stdout), "");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a report that cannot be written stops replay before it runs, with a message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const csv = `${dir}/a.csv`;
    await Deno.writeTextFile(csv, "timestamp,value\n2014-07-01T00:00:00Z,1\n");
    const out = await replay(csv, "--report", `${dir}/missing/report.html`);
    assert.equal(out.code, 2);
    assert.equal(new TextDecoder().decode(out.stdout), "", "no row was replayed");
    const err = new TextDecoder().decode(out.stderr);
    assert.match(err, new RegExp(`cannot write the report ${dir}/missing/report\\.html`));
    assert.doesNotMatch(err, /\bat \S+\.ts:\d+/, "no stack trace");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the hint names what to change for the check that rejected most rows", () => {
  const by = (entries: [string, number][]) => new Map(entries);
  const examples = new Map([["range_temperature", "temperature 95 outside [-20, 80]"]]);
  // Half or fewer rejected: no hint.
  assert.equal(rejectionHint(by([["range_value", 50]]), examples, 100, "", "f.csv"), undefined);
  const t = rejectionHint(
    by([["range_value", 10], ["range_temperature", 60]]),
    examples,
    100,
    "",
    "f.csv",
  )!;
  assert.equal(t.check, "range_temperature");
  assert.equal(t.example, "temperature 95 outside [-20, 80]");
  assert.match(t.hint, /TEMPERATURE_MIN\/TEMPERATURE_MAX/);
  const own = rejectionHint(by([["range_amount", 90]]), examples, 100, "pay.yaml", "f.csv")!;
  assert.match(own.hint, /the contract pay\.yaml rejects most values of amount/);
  const schema = rejectionHint(by([["schema", 90]]), examples, 100, "", "f.jsonl")!;
  assert.match(schema.hint, /most rows fail schema: is the file in the built-in event's format/);
});

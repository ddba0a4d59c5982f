import assert from "node:assert/strict";
import { ensurePackages, type Machine } from "../../scripts/prereqs.ts";

/** A machine that lacks `lacking` commands until apt-get installs their packages. */
function machine(lacking: string[], root: boolean) {
  const installed = new Set<string>();
  const runs: string[][] = [];
  const lines: string[] = [];
  const owner: Record<string, string> = {
    kcat: "kcat",
    promtool: "prometheus",
    prometheus: "prometheus",
    amtool: "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
  };
  const m: Machine = {
    has: (cmd) => Promise.resolve(!lacking.includes(cmd) || installed.has(owner[cmd])),
    root: () => root,
    run(cmd, args) {
      runs.push([cmd, ...args]);
      if (args[0] === "install") { for (const p of args.slice(3)) installed.add(p); }
      return Promise.resolve(true);
    },
    say: (line) => lines.push(line),
  };
  return { m, runs, lines };
}

Deno.test("a missing kcat or promtool is installed with apt-get when running as root, said in one line", async () => {
  const { m, runs, lines } = machine(["kcat", "promtool"], true);
  await ensurePackages("test", m);
  assert.deepEqual(runs, [
    ["apt-get", "update", "-qq"],
    ["apt-get", "install", "-y", "-qq", "prometheus", "kcat"],
  ]);
  assert.deepEqual(lines, ["test: installing prometheus, kcat (apt-get, Debian packages)"]);
});

Deno.test("without root, start-up stops with the exact command to run; nothing is installed", async () => {
  const { m, runs } = machine(["amtool"], false);
  await assert.rejects(
    ensurePackages("stack", m),
    /^Error: stack: missing prometheus-alertmanager: run `sudo apt-get install -y prometheus-alertmanager` first$/,
  );
  assert.deepEqual(runs, []);
});

Deno.test("nothing missing: nothing run", async () => {
  const { m, runs, lines } = machine([], false);
  await ensurePackages("test", m);
  assert.deepEqual([runs, lines], [[], []]);
});

Deno.test("the stack asks only for what it runs", async () => {
  const { m, runs } = machine(["chromium"], true);
  await ensurePackages("stack", m, ["prometheus", "prometheus-alertmanager", "kcat"]);
  assert.deepEqual(runs, []);
});

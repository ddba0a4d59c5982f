/**
 * Every command the README shows in a code block is valid: the task exists, a `kafka` or `bench`
 * sub-command is known, and the flags parse for that command (as its settings say).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";

const root = new URL("../../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));
const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;

/** The commands of the README's `sh` code blocks, without comments. */
function commands(): string[] {
  const out: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split("\n")) {
      const cmd = line.replace(/\s+#.*$/, "").trim();
      if (/^(npx --yes deno@[\d.]+ |deno )task /.test(cmd)) out.push(cmd);
    }
  }
  return out;
}

Deno.test("every deno task the README shows exists, with sub-commands and flags that parse", () => {
  const shown = commands();
  assert.ok(shown.length >= 8, `${shown.length} task commands found in the README`);
  for (const cmd of shown) {
    const [name, ...args] = cmd.replace(/^.*?task /, "").split(/\s+/);
    assert.ok(name in tasks, `deno task ${name} exists (${cmd})`);
    if (name === "kafka") {
      assert.ok(["fetch", "start", "status", "stop"].includes(args[0]), cmd);
      continue;
    }
    if (name === "bench") {
      for (const a of args) {
        assert.ok(
          [
            "detector",
            "pipeline",
            "generator",
            "nab",
            "multi",
            "calibration",
            "creep",
            "soak",
            "backlog",
            "nab_baselines",
          ].includes(a),
          cmd,
        );
      }
      continue;
    }
    if (name === "contract") {
      assert.ok(["check", "json-schema", "infer"].includes(args[0]) && args[1], cmd);
      continue;
    }
    if (["process", "generate", "alerts", "replay", "test-email"].includes(name)) {
      // Each command's own flags, as it declares them to loadConfig.
      const aliases = name === "generate" ? { seed: "gen-seed" } : undefined;
      const extraFlags = name === "replay" ? { report: { type: "string" as const } } : undefined;
      assert.doesNotThrow(() => loadConfig({ args, aliases, extraFlags, env: {} }), cmd);
    }
  }
});

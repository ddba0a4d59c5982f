import assert from "node:assert/strict";
import { SETTINGS } from "../../src/config.ts";
import { commandHelp, HELP_COMMANDS, wantsHelp } from "../../src/help.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("`replay --help` prints its usage and settings and runs nothing", async () => {
  // No file is given: a run would fail on it; the help answers instead, with exit 0.
  const r = await run(["replay", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^usage: anomaly-flow replay FILE/);
  assert.match(r.stdout, /--report PATH/);
  assert.match(
    r.stdout,
    /--target-false-alert-rate {2}\(TARGET_FALSE_ALERT_RATE, default 0\.00006\)/,
  );
  assert.match(r.stdout, /--contract-file, or --contract/);
  // Replay reads no Kafka setting, so its help lists none.
  assert.doesNotMatch(r.stdout, /--kafka-broker/);
});

Deno.test("an unknown flag exits 2 and points to the command's help", async () => {
  const r = await run(["replay", "events.jsonl", "--treshold-mode", "context"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown option '--treshold-mode'/);
  assert.match(r.stderr, /"anomaly-flow replay --help" lists its flags/);
});

Deno.test("every setting is in the help of a command, each command's once at most", () => {
  const listed = new Map<string, number>();
  for (const command of HELP_COMMANDS) {
    const text = commandHelp(command);
    for (const spec of Object.values(SETTINGS)) {
      const hits = text.split(`(${spec.env},`).length - 1;
      assert.ok(hits <= 1, `${spec.env} listed ${hits} times by ${command}`);
      listed.set(spec.env, (listed.get(spec.env) ?? 0) + hits);
    }
  }
  const missing = Object.values(SETTINGS).filter((s) => !listed.get(s.env)).map((s) => s.env);
  assert.deepEqual(missing, [], "settings no command's help lists");
  // What each command is run with is listed for it.
  assert.match(commandHelp("process"), /\(KAFKA_BROKER,[\s\S]*\(METRICS_PORT,/);
  assert.match(commandHelp("alerts"), /\(SLACK_WEBHOOK_URL,[\s\S]*\(SMTP_PASSWORD,/);
  assert.match(commandHelp("generate"), /\(GEN_RATE,/);
  assert.match(commandHelp("test-email"), /\(SMTP_HOST,/);
});

Deno.test("help text fits 100 columns and shows no secret's value", () => {
  for (const command of HELP_COMMANDS) {
    for (const line of commandHelp(command).split("\n")) {
      assert.ok(line.length <= 100, `${command}: ${line.length} columns: ${line}`);
    }
  }
  // Secrets default to empty; the help says "empty", never a value.
  assert.match(commandHelp("alerts"), /\(SMTP_PASSWORD, default empty\)/);
});

Deno.test("--help and -h ask for help unless they follow --", () => {
  assert.equal(wantsHelp(["x.csv", "--help"]), true);
  assert.equal(wantsHelp(["-h"]), true);
  assert.equal(wantsHelp(["x.csv", "--", "--help"]), false);
  assert.equal(wantsHelp(["x.csv", "--workers", "2"]), false);
  assert.throws(() => commandHelp("proces"), /no help for command "proces": expected one of/);
});

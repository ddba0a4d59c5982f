/**
 * The `anomaly-flow` command: `process`, `generate`, `alerts`, `replay`, `test-email`.
 *
 * ```sh
 * deno run -A src/main.ts process --workers 2
 * deno run -A src/main.ts replay events.jsonl --seed 7
 * ```
 *
 * @module
 */
import { ConfigError } from "./config.ts";
import { KafkaStartError } from "./kafka.ts";
import { ContractError } from "./contract/spec.ts";
import { commandHelp, wantsHelp } from "./help.ts";

/** A sub-command: takes its arguments, returns the exit code. */
export type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  process: async () => (await import("./process.ts")).runProcess,
  generate: async () => (await import("./generate.ts")).runGenerate,
  alerts: async () => (await import("./alerts.ts")).runAlerts,
  replay: async () => (await import("./replay.ts")).runReplay,
  "test-email": async () => (await import("./alerts.ts")).runTestEmail,
  contract: async () => (await import("./contract_cli.ts")).runContract,
};

const USAGE = `usage: anomaly-flow <command> [flags]

commands:
  process     consume events, check, score, publish alerts and dead letters, serve metrics
  generate    simulated IoT sensors producing events with injected faults
  alerts      print alerts and notify Slack / email
  replay      run the same checks and detector over a JSONL or CSV file (--report r.html)
  test-email  send one test e-mail with the SMTP settings
  contract    check FILE | json-schema FILE | infer SAMPLE: tools for event contracts

Settings come from the environment and flags: "anomaly-flow <command> --help" lists a
command's; README.md, Configuration, explains them.`;

/** Runs the command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    console.error(`unknown command "${name}": expected one of ${Object.keys(COMMANDS).join(", ")}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    console.log(commandHelp(name));
    return 0;
  }
  try {
    return await (await load())(rest);
  } catch (e) {
    if (e instanceof ConfigError && e.setting === "flags") {
      console.error(`${e.message}\n"anomaly-flow ${name} --help" lists its flags.`);
      return 2;
    }
    if (e instanceof ConfigError || e instanceof KafkaStartError || e instanceof ContractError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

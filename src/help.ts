/**
 * `anomaly-flow <command> --help`: what a command takes and every setting it reads, each with
 * its flag, its environment variable, its default and what it allows (from `config.ts`'s
 * settings, so the help cannot drift from what is checked at start-up). Pure text; `main.ts`
 * prints it.
 *
 * @module
 */
import { SETTING_GROUPS, type SettingGroup, SETTINGS, type Spec } from "./config.ts";

/** What one command takes besides the settings, and which groups of settings it reads. */
interface CommandHelp {
  /** The usage lines, after `usage: anomaly-flow `. */
  usage: string[];
  /** One sentence on what it does. */
  summary: string;
  /** Its own flags and arguments, `[flag, meaning]`. */
  own?: [string, string][];
  /** The groups of settings it reads, in the order listed. */
  groups: SettingGroup[];
}

const HELP: Record<string, CommandHelp> = {
  process: {
    usage: ["process [flags]"],
    summary: "Consumes events from Kafka, checks and scores them, publishes alerts and dead " +
      "letters, serves Prometheus metrics.",
    groups: ["kafka", "topics", "consumer", "contract", "events", "detection", "logging"],
  },
  replay: {
    usage: ["replay FILE.jsonl|FILE.csv [--report report.html] [flags]"],
    summary: "Runs the same checks and detector over a file (a backtest): one JSON line per " +
      "row on standard output, with the check that rejected it or its score and alert.",
    own: [
      ["FILE", "events as JSON lines, or a CSV (e.g. timestamp,value)"],
      [
        "--report PATH",
        "also write a self-contained HTML report: per entity its values, " +
        "alerts and alert score; the rejected rows by check; a summary",
      ],
    ],
    groups: ["contract", "events", "detection", "logging"],
  },
  generate: {
    usage: ["generate [flags]"],
    summary: "Sends simulated, labelled events to the events topic (the built-in sensors, or " +
      "events of a contract with --contract).",
    own: [["--seed N", "the same as --gen-seed"]],
    groups: ["kafka", "topics", "generator", "contract", "logging"],
  },
  alerts: {
    usage: ["alerts [flags]"],
    summary: "Reads the alerts topic and tells people: a box on the console, Slack, e-mail.",
    groups: ["kafka", "topics", "notify", "email", "logging"],
  },
  "test-email": {
    usage: ["test-email [flags]"],
    summary: "Sends one test e-mail with the SMTP settings; says whether it was accepted and, " +
      "if not, why.",
    groups: ["email", "logging"],
  },
  contract: {
    usage: [
      "contract check FILE",
      "contract json-schema FILE",
      "contract infer SAMPLE.jsonl|SAMPLE.csv [--name NAME] [--max-enum N]",
    ],
    summary: "Tools for event contracts: check one, print its JSON Schema, or draft one " +
      "from sample events.",
    own: [
      ["check FILE", "validate a contract; exit 2 with what is wrong"],
      ["json-schema FILE", "print the JSON Schema of the contract's events"],
      ["infer SAMPLE", "print a draft contract inferred from sample events"],
      ["--name NAME", "the drafted contract's name (default my-events)"],
      ["--max-enum N", "a text field of at most N common values becomes an enum (default 12)"],
    ],
    groups: [],
  },
};

/** Width the help is wrapped to. */
const WIDTH = 100;

/** Other names of a setting's flag, by the setting's flag (`--contract` is `--contract-file`). */
const ALSO: Record<string, string> = { "contract-file": "--contract" };

/** `text` wrapped at word boundaries to {@link WIDTH}, each line after `indent` spaces. */
export function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(" ".repeat(indent) + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(" ".repeat(indent) + line);
  return lines;
}

/** The commands with a help text. */
export const HELP_COMMANDS: readonly string[] = Object.keys(HELP);

/** True when `args` ask for help (`--help` or `-h` before a `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

/** The `--help` text of `command`; throws a `RangeError` naming it for an unknown one. */
export function commandHelp(command: string): string {
  const help = HELP[command];
  if (!help) {
    throw new RangeError(
      `no help for command "${command}": expected one of ${HELP_COMMANDS.join(", ")}`,
    );
  }
  const lines = help.usage.map((u, i) => `${i === 0 ? "usage:" : "      "} anomaly-flow ${u}`);
  lines.push("", ...wrap(help.summary, 0));
  if (help.own) {
    lines.push("");
    for (const [name, meaning] of help.own) {
      const [first, ...rest] = wrap(meaning, 23);
      lines.push(`  ${name.padEnd(20)} ${first.trimStart()}`, ...rest);
    }
  }
  if (help.groups.length > 0) {
    lines.push(
      "",
      ...wrap(
        "Settings: each a flag or an environment variable (a flag wins); a bad value stops " +
          "start-up naming it and what is allowed.",
        0,
      ),
    );
  }
  for (const group of help.groups) {
    lines.push("", `${SETTING_GROUPS[group]}:`);
    for (const spec of Object.values(SETTINGS) as Spec[]) {
      if (spec.group !== group) continue;
      const shown = spec.defaultShown ?? (spec.default === "" ? "empty" : spec.default);
      const also = ALSO[spec.flag] ? `, or ${ALSO[spec.flag]}` : "";
      lines.push(
        `  --${spec.flag}${also}  (${spec.env}, default ${shown})`,
        ...wrap(`${spec.doc}; ${spec.allowed}`, 6),
      );
    }
  }
  return lines.join("\n");
}

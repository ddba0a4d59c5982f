/**
 * What `deno task test` and `deno task stack` need from the machine besides Deno, Java and
 * Maven: the Debian packages `prometheus` (prometheus, promtool), `prometheus-alertmanager`
 * (prometheus-alertmanager, amtool), `kcat` and `chromium` (the report's browser test). A missing one is installed with apt-get when we can (running
 * as root), saying so in one line; otherwise start-up stops with the exact command to run.
 * Nothing is skipped silently.
 *
 * @module
 */

/** Each package and the commands it provides. */
export const PACKAGES: Record<string, string[]> = {
  prometheus: ["prometheus", "promtool"],
  "prometheus-alertmanager": ["prometheus-alertmanager", "amtool"],
  kcat: ["kcat"],
  chromium: ["chromium"],
};

/** How {@link ensurePackages} reaches the machine (tests pass fakes). */
export interface Machine {
  /** True when `cmd` is on the PATH. */
  has(cmd: string): Promise<boolean>;
  /** True when running as root. */
  root(): boolean;
  /** Runs a command; resolves with whether it succeeded. */
  run(cmd: string, args: string[], env?: Record<string, string>): Promise<boolean>;
  /** Prints one line. */
  say(line: string): void;
}

/** The packages of `wanted` (default: all of {@link PACKAGES}) with a command missing. */
export async function missingPackages(
  machine: Machine,
  wanted: string[] = Object.keys(PACKAGES),
): Promise<string[]> {
  const missing: string[] = [];
  for (const [pkg, cmds] of Object.entries(PACKAGES).filter(([p]) => wanted.includes(p))) {
    for (const cmd of cmds) {
      if (!(await machine.has(cmd))) {
        missing.push(pkg);
        break;
      }
    }
  }
  return missing;
}

/** The machine this runs on. */
export const thisMachine: Machine = {
  async has(cmd) {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v ${cmd}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  },
  root: () => Deno.uid?.() === 0,
  async run(cmd, args, env) {
    const out = await new Deno.Command(cmd, { args, env, stdout: "null", stderr: "inherit" })
      .output();
    return out.success;
  },
  say: (line) => console.log(line),
};

/**
 * Installs the missing packages with apt-get (as root), or throws an `Error` whose message is the
 * one line naming the command to run. `who` names the caller in that line.
 */
export async function ensurePackages(
  who: string,
  machine: Machine = thisMachine,
  wanted: string[] = Object.keys(PACKAGES),
): Promise<void> {
  const missing = await missingPackages(machine, wanted);
  if (missing.length === 0) return;
  const command = `apt-get install -y ${missing.join(" ")}`;
  if (!machine.root()) {
    throw new Error(`${who}: missing ${missing.join(", ")}: run \`sudo ${command}\` first`);
  }
  machine.say(`${who}: installing ${missing.join(", ")} (apt-get, Debian packages)`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const ok = await machine.run("apt-get", ["update", "-qq"], env) &&
    await machine.run("apt-get", ["install", "-y", "-qq", ...missing], env);
  const still = await missingPackages(machine, wanted);
  if (!ok || still.length > 0) {
    throw new Error(
      `${who}: \`${command}\` failed; ${still.join(", ") || "nothing"} still missing`,
    );
  }
}

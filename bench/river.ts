/**
 * River (PyPI `river`), the reference Half-Space Trees, in a virtualenv under `.local/`.
 *
 * @module
 */
const ROOT = new URL("..", import.meta.url).pathname;
/** River version the comparison pins. */
export const RIVER_VERSION = "0.26.1";

/** Creates `.local/venv-river` with River if missing; returns its python. */
export async function ensureRiver(): Promise<string> {
  const venv = `${ROOT}.local/venv-river`;
  const python = `${venv}/bin/python`;
  if (await hasRiver(python)) return python;
  for (
    const [cmd, args] of [
      ["python3", ["-m", "venv", venv]],
      [`${venv}/bin/pip`, ["install", "-q", `river==${RIVER_VERSION}`]],
    ] as const
  ) {
    const out = await new Deno.Command(cmd, {
      args: [...args],
      stdout: "inherit",
      stderr: "inherit",
    })
      .output();
    if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  }
  return python;
}

/** Whether `python` exists and imports the pinned River (`Command.output` throws at once when the
 * binary is missing, so a rejected promise is not enough to catch). */
async function hasRiver(python: string): Promise<boolean> {
  try {
    const probe = await new Deno.Command(python, {
      args: ["-c", `import river; assert river.__version__ == "${RIVER_VERSION}"`],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

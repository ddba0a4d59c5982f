/**
 * `deno task readme`: rewrites the README's configuration table from src/config.ts, so the
 * documented names, flags and defaults are the ones the code validates.
 *
 * @module
 */
import { settingsTable } from "../src/config.ts";

const path = new URL("../README.md", import.meta.url);
const readme = await Deno.readTextFile(path);
const start = readme.indexOf("<!-- settings:start");
const end = readme.indexOf("<!-- settings:end -->");
if (start < 0 || end < start) {
  throw new Error("README.md lacks the settings:start / settings:end markers");
}
const open = readme.indexOf("\n", start) + 1;
await Deno.writeTextFile(path, readme.slice(0, open) + settingsTable() + "\n" + readme.slice(end));

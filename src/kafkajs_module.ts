/**
 * Replacing one of kafkajs 2.2.4's CommonJS modules in its module cache: the modules that take it
 * (`require` it when they load) then get the replacement. Used by `kafkajs_records.ts` (the
 * record encoder, taken by the produce requests) and `kafkajs_decode.ts` (the record decoder,
 * taken by the batch decoder); each must run before the modules that take its module load, and
 * refuses to run after (they would keep kafkajs's own).
 *
 * @module
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Where a replacement keeps the module's original exports (so a second install is a no-op). */
const ORIGINAL = Symbol.for("anomaly-flow.kafkajs-module-original");

/**
 * Replaces the exports of kafkajs module `path` with `make(original)` and returns the original
 * exports; when `path` was replaced before, returns the original kept then (idempotent). Throws,
 * naming `by` and the module, when one of `takenBy` (the modules that take `path` as they load)
 * is loaded already; `before` says what must not have happened yet ("any client produces").
 */
export function replaceKafkajsModule<T extends object>(
  path: string,
  takenBy: readonly string[],
  by: string,
  before: string,
  make: (original: T) => T,
): T {
  const resolved = require.resolve(path);
  const current = require(resolved) as T & { [ORIGINAL]?: T };
  if (current[ORIGINAL]) return current[ORIGINAL];
  const loaded = takenBy.filter((m) => require.cache[require.resolve(m)] !== undefined);
  if (loaded.length > 0) {
    throw new Error(
      `${by} was imported after kafkajs loaded ${loaded[0]}: import it before ${before}`,
    );
  }
  require.cache[resolved]!.exports = Object.assign(make(current), { [ORIGINAL]: current });
  return current;
}

/** The exports of kafkajs module `path` as the modules that take it now get them. */
export function kafkajsModule<T>(path: string): T {
  return require(require.resolve(path));
}

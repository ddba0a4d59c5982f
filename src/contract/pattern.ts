/**
 * A contract's `pattern`, run in linear time: compiled by RE2JS (the JavaScript port of RE2), so
 * matching a value takes time proportional to its length whatever the pattern.
 *
 * Event bytes are untrusted and a pattern runs on every event's field: with JavaScript's own
 * engine, which backtracks, a pattern like `^(a+)+$` took 43 s on a value of 31 characters and
 * would take days on one of 40, so a few bytes could stall a worker. RE2JS answers that value in
 * about 1 ms (and a 100,000-character one in 5 ms). A pattern is written as a JavaScript regular
 * expression (`\u0041`, `\u{1F600}`, named groups are translated); lookaround and backreferences,
 * which no linear-time engine runs, are refused when the contract is checked, as are repeat
 * counts over 1,000 (RE2's limit). A match is a search, as `RegExp.prototype.test`: anchor with
 * `^…$` to match the whole value.
 *
 * @module
 */
import { RE2JS } from "re2js";

/** A compiled pattern. */
export interface Pattern {
  /** Whether `value` contains a match (anchors included). */
  test(value: string): boolean;
}

/**
 * Compiles `source` (JavaScript syntax). Throws a `SyntaxError` naming what RE2 cannot run, with
 * what patterns allow.
 */
export function compilePattern(source: string): Pattern {
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(source));
  } catch (e) {
    const message = (e as Error).message.replace(/^error parsing regexp: /, "");
    throw new SyntaxError(
      `${message} (patterns run in linear time, in RE2's syntax: no lookaround, no ` +
        "backreferences, repeat counts up to 1000)",
    );
  }
  // Values repeat (an account's id, a category): their answers are kept, up to MEMO_SIZE values
  // of at most MEMO_LENGTH characters, then forgotten all at once.
  const memo = new Map<string, boolean>();
  return {
    test(value: string): boolean {
      if (value.length > MEMO_LENGTH) return re.test(value);
      let hit = memo.get(value);
      if (hit === undefined) {
        if (memo.size === MEMO_SIZE) memo.clear();
        hit = re.test(value);
        memo.set(value, hit);
      }
      return hit;
    },
  };
}

/** Most values whose answers a pattern keeps. */
const MEMO_SIZE = 4096;
/** Longest value whose answer is kept, in UTF-16 units. */
const MEMO_LENGTH = 64;

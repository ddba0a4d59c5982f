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
 * A pattern that is a simple chain ({@link simpleChain}: anchored at both ends, single characters
 * or classes each repeated a bounded number of times, at most one of them without bound) runs on
 * JavaScript's engine instead, about 20 times faster: backtracking over such a chain is bounded by
 * the product of its repeat ranges, whatever the value. Identifiers (`^acc-[0-9]{4,12}$`) are such
 * chains; anything else, or in doubt, goes to RE2JS.
 *
 * @module
 */
import { RE2JS } from "re2js";

/** A compiled pattern. */
export interface Pattern {
  /** Whether `value` contains a match (anchors included). */
  test(value: string): boolean;
}

/** Most backtracking paths a {@link simpleChain} may have (the product of its repeat ranges). */
const CHAIN_PATHS = 64;
/** Escapes that stand for one character or one ASCII class, the same in both engines. */
const CHAIN_ESCAPES = /^\\[dDwW\\/.\-^$|?*+(){}[\]]/;

/**
 * Whether `source` is a chain JavaScript's backtracking engine runs in time linear in the value:
 * `^`, then atoms — a literal character, `\d \D \w \W`, an escaped metacharacter or a class of
 * literal characters and ranges — each with no quantifier or with `?`, `*`, `+`, `{n}`, `{n,}`,
 * `{n,m}`, then `$`; no group, alternation, `.`, `\s`, Unicode property or lazy quantifier; at
 * most one unbounded quantifier, and the product of the bounded ones' ranges at most
 * {@link CHAIN_PATHS}. (`.` and `\s` are left out as the two engines read them differently.)
 */
export function simpleChain(source: string): boolean {
  if (!source.startsWith("^") || !source.endsWith("$") || source.endsWith("\\$")) return false;
  const body = source.slice(1, -1);
  let at = 0, unbounded = 0, paths = 1;
  while (at < body.length) {
    const c = body[at];
    if (c === "\\") {
      if (!CHAIN_ESCAPES.test(body.slice(at, at + 2))) return false;
      at += 2;
    } else if (c === "[") {
      const end = body.indexOf("]", at + 1);
      if (end < 0) return false;
      const inside = body.slice(at + 1, end);
      // Literal characters, ranges and \d \w escapes only; no nested class, no \p, no \s.
      if (!/^\^?(?:[^\\\[\]]|\\[dDwW\\\-\]\[^])+$/.test(inside)) return false;
      at = end + 1;
    } else if ("()|.*+?{}$^]".includes(c)) return false;
    else at += 1;
    // The atom's quantifier, if any.
    const q = /^(?:\?|\*|\+|\{(\d{1,4})(,(\d{1,4})?)?\})/.exec(body.slice(at));
    if (!q) continue;
    at += q[0].length;
    if (body[at] === "?") return false; // lazy
    if (q[0] === "*" || q[0] === "+" || (q[2] !== undefined && q[3] === undefined)) unbounded++;
    else if (q[0] === "?") paths *= 2;
    else if (q[3] !== undefined) {
      if (Number(q[3]) < Number(q[1])) return false;
      paths *= Number(q[3]) - Number(q[1]) + 1;
    }
    if (unbounded > 1 || paths > CHAIN_PATHS) return false;
  }
  return true;
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
  if (simpleChain(source)) {
    try {
      const js = new RegExp(source, "u");
      return { test: (value: string) => js.test(value) };
    } catch {
      // Not valid in JavaScript's own syntax: RE2JS's reading stands.
    }
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

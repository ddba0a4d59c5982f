/**
 * Untrusted text made safe for the places an alert is shown: a terminal, Slack's `mrkdwn`, an
 * e-mail subject. Every value that comes from an event (the entity key, a feature's name, any
 * string field) passes through here before it reaches a person; nothing here throws.
 *
 * - {@link visible}: control characters (C0 with newline and tab, DEL, C1) and the Unicode
 *   bidirectional overrides are written as `\uXXXX` escapes, so they can neither move the
 *   cursor, recolour the terminal, forge a line nor reorder what is shown.
 * - {@link displayWidth} / {@link fitWidth}: terminal columns of a string (wide East Asian
 *   characters and emoji count 2, combining marks and zero-width characters 0), and a string cut
 *   to a number of columns with an ellipsis, never inside a grapheme.
 * - {@link slackText}: a value made inert for Slack: `&`, `<`, `>` escaped as Slack documents
 *   (no mention, channel, user or link syntax survives), and URL-shaped text broken with a
 *   zero-width space so Slack's automatic linking does not turn it into a link.
 *
 * @module
 */
import stringWidth from "string-width";

/** Characters never emitted as they are: C0 (incl. `\n`, `\t`), DEL, C1, bidi controls. */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every control or bidi-control character written as a visible `\uXXXX` escape. */
export function visible(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });

/** Terminal columns `s` takes (npm:string-width: East Asian width, emoji, zero-width marks). */
export function displayWidth(s: string): number {
  return stringWidth(s, { countAnsiEscapeCodes: true });
}

/**
 * `s` cut to at most `columns` terminal columns, ending in `…` when cut, then padded with spaces
 * to exactly `columns`. Cuts between graphemes only.
 */
export function fitWidth(s: string, columns: number): string {
  if (displayWidth(s) <= columns) return s + " ".repeat(columns - displayWidth(s));
  let out = "", width = 0;
  for (const { segment } of segmenter.segment(s)) {
    const w = displayWidth(segment);
    if (width + w > columns - 1) break;
    out += segment;
    width += w;
  }
  return out + "…" + " ".repeat(columns - 1 - width);
}

/** `s` cut to at most `max` characters (code points), ending in `…` when cut. */
export function cut(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join("") + "…";
}

const ZWSP = "\u200b";

/**
 * A value for Slack `mrkdwn` (and the `text` fallback) that shows as itself and does nothing:
 * control characters made {@link visible}, `&` `<` `>` escaped as Slack documents, and the
 * shapes Slack links on its own (`scheme://`, `www.`, `name.tld`, `user@host`) broken with a
 * zero-width space so no link or mention is made. Cut to `max` characters (default 200).
 */
export function slackText(s: string, max = 200): string {
  return cut(visible(s), max)
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/([:.@])/g, `$1${ZWSP}`);
}

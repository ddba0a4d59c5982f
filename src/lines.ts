/**
 * A file's lines, read as a stream: a file larger than one string can hold (V8 caps a string near
 * 512 MiB) is read a chunk at a time, and its lines are handed on as each read completes.
 *
 * @module
 */

/**
 * Longest line kept whole, in UTF-16 units (128 Mi, over the largest `MAX_EVENT_BYTES`, 100 MiB):
 * a line beyond it keeps only its first `MAX_LINE_CHARS`, still refused as too large, instead of
 * growing past what a string can hold (a line of 600 MB stopped `replay`).
 */
export const MAX_LINE_CHARS = 2 ** 27;

/**
 * The lines of `file` without their `\n` (a last line without one included, no empty line after a
 * final `\n`), read as a stream and handed on as the lines each read completes; `read` is told of
 * each read's bytes. A long line's chunks are joined once, when it ends (joining them at each read
 * took 18 s for one line of 60 MB); a line longer than {@link MAX_LINE_CHARS} is cut to it.
 */
export async function* fileLines(
  file: string,
  read: (bytes: number) => void = () => {},
): AsyncGenerator<string[]> {
  using handle = await Deno.open(file);
  const decoder = new TextDecoder();
  let parts: string[] = [], pending = 0;
  const keep = (text: string) => {
    if (pending >= MAX_LINE_CHARS) return;
    const cut = text.length > MAX_LINE_CHARS - pending
      ? text.slice(0, MAX_LINE_CHARS - pending)
      : text;
    parts.push(cut);
    pending += cut.length;
  };
  for await (const bytes of handle.readable) {
    read(bytes.length);
    const text = decoder.decode(bytes, { stream: true });
    const last = text.lastIndexOf("\n");
    if (last < 0) {
      keep(text);
      continue;
    }
    const first = text.indexOf("\n");
    keep(text.slice(0, first));
    const lines = [parts.join(""), ...text.slice(first + 1, last + 1).split("\n").slice(0, -1)];
    parts = [];
    pending = 0;
    keep(text.slice(last + 1));
    yield lines;
  }
  keep(decoder.decode());
  const rest = parts.join("");
  if (rest !== "") yield [rest];
}

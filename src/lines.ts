/**
 * A file's lines, read as a stream: a file larger than one string can hold (V8 caps a string near
 * 512 MiB) is read a chunk at a time, and its lines are handed on as each read completes.
 *
 * @module
 */

/**
 * The lines of `file` without their `\n` (a last line without one included, no empty line after a
 * final `\n`), read as a stream and handed on as the lines each read completes; `read` is told of
 * each read's bytes.
 */
export async function* fileLines(
  file: string,
  read: (bytes: number) => void = () => {},
): AsyncGenerator<string[]> {
  using handle = await Deno.open(file);
  const decoder = new TextDecoder();
  let rest = "";
  for await (const bytes of handle.readable) {
    read(bytes.length);
    const lines = (rest + decoder.decode(bytes, { stream: true })).split("\n");
    rest = lines.pop()!;
    if (lines.length > 0) yield lines;
  }
  rest += decoder.decode();
  if (rest !== "") yield [rest];
}

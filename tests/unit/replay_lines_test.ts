import assert from "node:assert/strict";
import { fileLines } from "../../src/lines.ts";

async function linesOf(text: string | Uint8Array): Promise<string[]> {
  const file = await Deno.makeTempFile();
  try {
    if (typeof text === "string") await Deno.writeTextFile(file, text);
    else await Deno.writeFile(file, text);
    const out: string[] = [];
    for await (const lines of fileLines(file)) for (const line of lines) out.push(line);
    return out;
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("a file's lines read as a stream are its lines: no empty line after a final newline, blank lines kept", async () => {
  assert.deepEqual(await linesOf(""), []);
  assert.deepEqual(await linesOf("a"), ["a"]);
  assert.deepEqual(await linesOf("a\n"), ["a"]);
  assert.deepEqual(await linesOf("a\n\nb"), ["a", "", "b"]);
  assert.deepEqual(await linesOf("a\r\nb\r\n"), ["a\r", "b\r"], "\\r is left to the row's reader");
});

Deno.test("lines and multi-byte characters cut across the stream's chunks come out whole", async () => {
  // Lines of 1 to 300 characters, some ending in "é" (2 bytes) or "€" (3 bytes), past several
  // chunk boundaries of the file stream.
  const lines = Array.from(
    { length: 5000 },
    (_, i) => "x".repeat(1 + (i * 37) % 300) + ["", "é", "€"][i % 3],
  );
  const text = lines.join("\n");
  assert.ok(new TextEncoder().encode(text).length > 4 * 65536);
  assert.deepEqual(await linesOf(text), lines);
  // A UTF-8 byte order mark is not part of the first line.
  const bom = new Uint8Array([
    0xef,
    0xbb,
    0xbf,
    ...new TextEncoder().encode("timestamp,value\n1,2"),
  ]);
  assert.deepEqual(await linesOf(bom), ["timestamp,value", "1,2"]);
  // A million one-character lines: handed on a read at a time, never one call per line.
  const many = await linesOf("1\n".repeat(1_000_000));
  assert.equal(many.length, 1_000_000);
});

Deno.test("a line of many chunks comes out whole, between lines that end in the same chunk as it", async () => {
  // One line of 5 MB (about 80 chunks of the file stream) between short ones.
  const long = "y".repeat(5 * 2 ** 20);
  assert.deepEqual(await linesOf(`a\nb\n${long}\nc\nd`), ["a", "b", long, "c", "d"]);
  assert.deepEqual(await linesOf(`${long}`), [long]);
  assert.deepEqual(await linesOf(`${long}\n\n`), [long, ""]);
});

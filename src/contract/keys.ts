/**
 * Top-level keys of a JSON object text, read without building the object again: used to find
 * duplicate keys, which `JSON.parse` silently merges (the last one wins).
 *
 * @module
 */

/**
 * Keys of the top-level object of a JSON text, in order, duplicates included. The text must
 * already have parsed as a JSON object.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  scanKeys(text, keys);
  return keys;
}

/** How many keys {@link topLevelKeys} finds, counted without building them. */
export function countTopLevelKeys(text: string): number {
  return scanKeys(text);
}

/** Counts the top-level keys of a JSON object text; appends them to `keys` when given. */
function scanKeys(text: string, keys?: string[]): number {
  let count = 0, depth = 0, expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 /* \ */ ? 2 : 1;
      if (depth === 1 && expectKey) {
        count++;
        keys?.push(JSON.parse(text.slice(i, j + 1)));
      }
      expectKey = false;
      i = j;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      expectKey = depth === 1;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    } else if (c === 44 /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return count;
}

/**
 * CSV input of `replay` and `contract infer`: lines split into cells (RFC 4180 quoting within a
 * line: `"a,b"`, `"say ""hi"""`), a header detected, and cells turned into an event's values.
 *
 * @module
 */

/** The cells of one CSV line; a quoted cell may hold commas and doubled quotes. */
export function csvCells(line: string): string[] {
  if (!line.includes('"')) return line.split(",").map((c) => c.trim());
  const cells: string[] = [];
  let cell = "", quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell.trim() === "") {
      quoted = true;
      cell = "";
    } else if (c === ",") {
      cells.push(cell.trim());
      cell = "";
    } else cell += c;
  }
  cells.push(quoted ? cell : cell.trim());
  return cells;
}

/** True when `cell` reads as a finite number. */
export const isNumeric = (cell: string) => cell.trim() !== "" && Number.isFinite(Number(cell));

/**
 * Share of a column's non-empty cells that must be numbers for it to be numeric: a reading with a
 * few `NaN`, `N/A` or `-` cells (a sensor's dropouts) is still a reading, and its rows with such a
 * cell are rejected one by one, with their reason, rather than the column being taken for text.
 */
export const NUMERIC_SHARE = 0.9;

/**
 * How many of column `i`'s cells in `rows` are filled (not empty), how many of those are not
 * numbers, and the first of them.
 */
export function columnCells(
  rows: readonly (readonly string[])[],
  i: number,
): { filled: number; other: number; example?: string } {
  let filled = 0, other = 0, example: string | undefined;
  for (const cells of rows) {
    const cell = cells[i] ?? "";
    if (cell === "") continue;
    filled++;
    if (isNumeric(cell)) continue;
    other++;
    example ??= cell;
  }
  return { filled, other, example };
}

/**
 * True when column `i` of `rows` has a number and at least {@link NUMERIC_SHARE} of its non-empty
 * cells are numbers.
 */
export function isNumericColumn(rows: readonly (readonly string[])[], i: number): boolean {
  const { filled, other } = columnCells(rows, i);
  const numbers = filled - other;
  return numbers > 0 && numbers >= NUMERIC_SHARE * filled;
}

/** True when `cell` reads as a time (a number, or text `Date.parse` reads). */
const isTime = (cell: string) => isNumeric(cell) || !Number.isNaN(Date.parse(cell));

/**
 * The header of a CSV: its first line's cells when the first cell is not a time (a data row
 * starts with its timestamp), else undefined.
 */
export function csvHeader(first: string | undefined): string[] | undefined {
  if (first === undefined) return undefined;
  const cells = csvCells(first);
  return isTime(cells[0] ?? "") ? undefined : cells;
}

/** Names of the columns of a CSV without a header: the seed's, then `column_4` … */
export function defaultColumns(count: number): string[] {
  const seed = ["timestamp", "value", "temperature"];
  return Array.from({ length: count }, (_, i) => seed[i] ?? `column_${i + 1}`);
}

/** What a field name may be (a contract's rule): letters, digits or `_`, not first a digit. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Names that are an object's own machinery, never a field. */
const RESERVED = new Set(["__proto__", "constructor", "prototype"]);

/**
 * The field names of a CSV header: each cell as it is when it is a valid field name, else made
 * one (`CPU %` → `CPU`, `temp-1` → `temp_1`, `1st` → `c_1st`, an empty cell → `column_3`), and a
 * name seen before numbered (`value`, `value_2`).
 */
export function fieldNames(header: readonly string[]): string[] {
  const taken = new Set<string>();
  return header.map((cell, i) => {
    let name = cell.trim();
    if (!FIELD_NAME.test(name) || RESERVED.has(name)) {
      name = name.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
      if (name === "") name = `column_${i + 1}`;
      else if (/^[0-9]/.test(name)) name = `c_${name}`;
      if (RESERVED.has(name)) name = `${name}_field`;
      name = name.slice(0, 63);
    }
    const base = name;
    for (let k = 2; taken.has(name); k++) name = `${base.slice(0, 58)}_${k}`;
    taken.add(name);
    return name;
  });
}

/**
 * An event of one CSV row: `columns[i]` → cell `i`, a numeric cell as a number when `numeric`
 * says so for its column (else text), an empty cell left out.
 */
export function csvRecord(
  columns: readonly string[],
  cells: readonly string[],
  numeric: (column: string) => boolean,
): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  const n = Math.max(columns.length, cells.length);
  for (let i = 0; i < n; i++) {
    const cell = cells[i] ?? "";
    if (cell === "") continue;
    const name = columns[i] ?? `column_${i + 1}`;
    record[name] = numeric(name) && isNumeric(cell) ? Number(cell) : cell;
  }
  return record;
}

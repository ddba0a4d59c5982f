/**
 * Benchmark output: one `name=value` line per figure on stdout.
 *
 * @module
 */

/** Prints `name=value`. */
export function report(name: string, value: string | number): void {
  console.log(`${name}=${value}`);
}

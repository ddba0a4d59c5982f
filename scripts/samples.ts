/**
 * Writes the example contracts' sample files, `contracts/samples/<name>.jsonl`: 3,000 labelled
 * events of each contract (`contract/generate.ts`, seed 7, 6 entities), the label in an
 * `injected` field (which `replay` reads as ground truth), and a few records no generator
 * makes (not JSON, an array, an empty line). A unit test checks the files equal this output.
 *
 * ```sh
 * deno run -A scripts/samples.ts
 * ```
 *
 * @module
 */
import { loadContract } from "../src/contract/load.ts";
import { contractEvents } from "../src/contract/generate.ts";

/** The example contracts with samples. */
export const EXAMPLES = ["iot-sensor", "payments", "pipeline-metrics"] as const;

/** The sample of contract file `path`, as text. */
export async function sampleText(path: string, count = 3000): Promise<string> {
  const contract = await loadContract(path);
  const stream = contractEvents(contract, { seed: 7, entities: 6 });
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const { event, injected } = stream.next().value!;
    lines.push(JSON.stringify({ ...event, injected }));
  }
  // Records no generator writes: each must reach the dead-letter topic as `schema`.
  lines.splice(500, 0, "not json {", "[1, 2, 3]", '{"truncated": ');
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const root = new URL("../contracts/", import.meta.url);
  for (const name of EXAMPLES) {
    const text = await sampleText(new URL(`${name}.yaml`, root).pathname);
    await Deno.writeTextFile(new URL(`samples/${name}.jsonl`, root), text);
    console.log(`contracts/samples/${name}.jsonl: ${text.split("\n").length - 1} lines`);
  }
}

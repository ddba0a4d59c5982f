/**
 * Reading a contract file: YAML or JSON text (YAML 1.2 reads JSON too; duplicate keys are an
 * error), validated by `spec.ts`. Every problem names the file and where in it:
 *
 * ```text
 * contracts/payments.yaml: line 4, column 3: Map keys must be unique
 * contracts/payments.yaml: fields.amount.min: expected a number, got "ten"
 * ```
 *
 * @module
 */
import { LineCounter, parseDocument } from "yaml";
import { type Contract, ContractError, parseContract } from "./spec.ts";

/** Largest contract file read, in bytes. */
export const MAX_CONTRACT_BYTES = 1 << 20;

/** Parses and validates contract `text`; `source` (the file's path) names it in every problem. */
export function contractFromText(text: string, source: string): Contract {
  const lines = new LineCounter();
  const document = parseDocument(text, {
    uniqueKeys: true,
    prettyErrors: false,
    lineCounter: lines,
  });
  if (document.errors.length > 0) {
    throw new ContractError(document.errors.map((e) => {
      const at = lines.linePos(e.pos[0]);
      return `${source}: line ${at.line}, column ${at.col}: ${e.message.split("\n")[0]}`;
    }));
  }
  return parseContract(document.toJS({ maxAliasCount: 100 }), source);
}

/** Reads, parses and validates the contract file at `path`. */
export async function loadContract(path: string): Promise<Contract> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (info.size > MAX_CONTRACT_BYTES) {
      throw new ContractError([
        `${path}: ${info.size} bytes, more than a contract's ${MAX_CONTRACT_BYTES}`,
      ]);
    }
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof ContractError) throw e;
    throw new ContractError([`${path}: cannot read the contract file (${(e as Error).message})`]);
  }
  return contractFromText(text, path);
}

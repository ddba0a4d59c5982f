/**
 * The messages between the main thread and a stage worker (workers/stage.ts), and the pure work
 * a worker does on them. Records cross threads as bytes and typed arrays: one buffer of
 * concatenated values plus offsets per slice, typed arrays back.
 *
 * A worker holds its shard of the trees once and one set of masses per model (`model`: the
 * Kafka partition whose events the model learns; 0 for `replay`).
 *
 * @module
 */
import { asciiText, type Checker, createCheckOutput } from "./contract/compile.ts";
import type { Contract } from "./contract/spec.ts";
import type { ForestOptions, MassState, Shard } from "./hst/mod.ts";

/** Features of the built-in contract's model, in order: `value`, `temperature` (NaN when absent). */
export const FEATURES = ["value", "temperature"] as const;

/** Main → worker. */
export type StageRequest =
  | {
    type: "init";
    forest: ForestOptions;
    shard: Shard;
    /** The contract the worker compiles its checks from. */
    contract: Contract;
    maxEventBytes: number;
  }
  | { type: "open"; id: number; model: number; masses?: MassState }
  | { type: "drop"; id: number; model: number }
  | { type: "export"; id: number; model: number }
  | { type: "check"; id: number; bytes: Uint8Array; offsets: Uint32Array }
  | { type: "score"; id: number; model: number; features: Float64Array; n: number };

/** Worker → main. */
export type StageReply =
  | { type: "ready" }
  | { type: "done"; id: number }
  | { type: "checked"; id: number; result: CheckedSlice }
  | { type: "scored"; id: number; masses: Float64Array<ArrayBuffer> }
  | { type: "exported"; id: number; state: MassState }
  | { type: "error"; id: number; message: string };

/**
 * Per record of a slice: check code (0 = passed), time (Unix seconds), features (the contract's,
 * in order), the entity key ("" for a rejected record), and why each rejected one failed.
 */
export interface CheckedSlice {
  status: Uint8Array<ArrayBuffer>;
  keys: string[];
  ts: Float64Array<ArrayBuffer>;
  features: Float64Array<ArrayBuffer>;
  /** `[index, reason, field, rule]` of each failed record (field "" when none). */
  reasons: [number, string, string, string][];
}

/** Concatenates record values into one buffer with `n + 1` offsets (a null value is empty). */
export function packRecords(values: readonly (Uint8Array | null | undefined)[]): {
  bytes: Uint8Array<ArrayBuffer>;
  offsets: Uint32Array<ArrayBuffer>;
} {
  const offsets = new Uint32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    total += values[i]?.length ?? 0;
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v) bytes.set(v, offsets[i]);
  }
  return { bytes, offsets };
}

/** Runs a compiled contract's checks over a packed slice. */
export function checkSlice(
  bytes: Uint8Array,
  offsets: Uint32Array,
  checker: Checker,
): CheckedSlice {
  const n = offsets.length - 1;
  const d = checker.features.length;
  const status = new Uint8Array(n);
  const ts = new Float64Array(n).fill(NaN);
  const features = new Float64Array(d * n).fill(NaN);
  const reasons: [number, string, string, string][] = [];
  const keys = new Array<string>(n).fill("");
  const out = createCheckOutput();
  // An ASCII slice (most JSON) is decoded once; each record's text is a slice of it.
  const whole = asciiText(bytes);
  for (let i = 0; i < n; i++) {
    const from = offsets[i], to = offsets[i + 1];
    const text = whole?.slice(from, to);
    const code = checker.check(bytes.subarray(from, to), features, d * i, out, text);
    if (code !== 0) {
      status[i] = code;
      reasons.push([i, out.reason, out.field, out.rule]);
      continue;
    }
    ts[i] = out.ts;
    keys[i] = out.key;
  }
  return { status, keys, ts, features, reasons };
}

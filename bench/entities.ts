/**
 * Many-entities benchmark (`deno task bench entities`): what each entity (a sensor, an account:
 * the contract's key) costs the processor in memory, checkpoint and time. The seed's sensor events
 * through the pipeline (one worker, event clock, default settings), 3 events per entity,
 * round-robin over the entities, with `BENCH_ENTITIES` (100,000, the default `MAX_ENTITIES`); the
 * same number of events over 12 entities; then 1.5 × as many entities, to show eviction bounding
 * the memory (round-robin over more entities than are kept, every visit is to an evicted one).
 *
 * Runs in a child process with `--expose-gc`, so memory is measured after a full collection.
 *
 * Lines: `entities_count=`, `entities_heap_bytes_per_entity=` (V8 heap and array buffers after
 * the run, over an empty pipeline's, per entity kept), `entities_checkpoint_bytes_per_entity=`
 * (the gzip'd checkpoint; these
 * entities are young, so many of their hourly slots are still unset and compress well),
 * `entities_mature_checkpoint_bytes_per_entity=` (1,000 entities of 300 events 5 minutes apart,
 * every hourly slot set),, `entities_checkpoint_encode_ms=`, `entities_us_per_event=` and
 * `entities_us_per_event_12=` and their ratio `entities_cpu_vs_12=`; over the limit:
 * `entities_over_limit_kept=`, `entities_over_limit_evicted=`, `entities_over_limit_heap_ratio=`
 * (its memory over that at the limit).
 *
 * @module
 */
import { encodeCheckpoint } from "../src/checkpoint.ts";
import { createPipeline } from "../src/pipeline.ts";
import { report } from "./report.ts";

const START_TS = 1767225600;
const PER_ENTITY = 3;
const BATCH = 1_000;

/**
 * Heap and array buffers after full collections, bytes: collected until the figure stops
 * falling (array buffers are freed after the collection that finds them dead).
 */
async function memory(): Promise<number> {
  const gc = (globalThis as unknown as { gc: () => void }).gc;
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    const m = Deno.memoryUsage();
    const now = m.heapUsed + m.external;
    if (now > last - 1e5) return Math.min(now, last);
    last = now;
  }
  return last;
}

/** One run: `events` events round-robin over `entities`; its time, memory and checkpoint. */
async function run(entities: number, events: number, everySec = 60) {
  const enc = new TextEncoder();
  const p = await createPipeline({ workers: 1, clock: "event" });
  const empty = await memory();
  let ms = 0;
  try {
    for (let i = 0; i < events; i += BATCH) {
      const values: Uint8Array[] = [];
      for (let k = i; k < Math.min(events, i + BATCH); k++) {
        const e = k % entities, round = Math.floor(k / entities);
        values.push(enc.encode(JSON.stringify({
          sensor_id: `sensor-${e}`,
          ts: START_TS + everySec * round + (e % 60),
          value: Number(Math.sin(k).toFixed(3)),
          temperature: 15 + (e % 10) + (k % 7) / 10,
          status: "OK",
        })));
      }
      const t0 = performance.now();
      await p.process(values);
      ms += performance.now() - t0;
    }
    const heap = await memory() - empty;
    const kept = p.entitiesOf(0);
    const state = await p.snapshot(0);
    const t0 = performance.now();
    const checkpoint = await encodeCheckpoint({
      topic: "bench",
      partition: 0,
      offset: String(events),
      state,
      takenAt: Date.now(),
    });
    const encodeMs = performance.now() - t0;
    return {
      kept,
      heap,
      usPerEvent: (1000 * ms) / events,
      checkpoint: checkpoint.length,
      encodeMs,
    };
  } finally {
    await p.close();
  }
}

/** The benchmark's body, in the child process. */
async function measure(): Promise<void> {
  const n = Number(Deno.env.get("BENCH_ENTITIES") ?? 100_000);
  const many = await run(n, PER_ENTITY * n);
  const few = await run(12, PER_ENTITY * n);
  report("entities_count", many.kept.size);
  report("entities_heap_bytes_per_entity", Math.round(many.heap / many.kept.size));
  report("entities_checkpoint_bytes_per_entity", Math.round(many.checkpoint / many.kept.size));
  report("entities_checkpoint_encode_ms", Math.round(many.encodeMs));
  report("entities_us_per_event", many.usPerEvent.toFixed(2));
  report("entities_us_per_event_12", few.usPerEvent.toFixed(2));
  report("entities_cpu_vs_12", (many.usPerEvent / few.usPerEvent).toFixed(3));
  const mature = await run(1_000, 300_000, 300);
  report(
    "entities_mature_checkpoint_bytes_per_entity",
    Math.round(mature.checkpoint / mature.kept.size),
  );
  const over = await run(Math.round(1.5 * n), PER_ENTITY * Math.round(1.5 * n));
  report("entities_over_limit_kept", over.kept.size);
  report("entities_over_limit_evicted", over.kept.evicted);
  report("entities_over_limit_heap_ratio", (over.heap / many.heap).toFixed(3));
}

/** Runs the many-entities benchmark in a child with `--expose-gc`; prints `name=value` lines. */
export async function benchEntities(): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", new URL(import.meta.url).pathname, "--child"],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await child.status;
  if (!status.success) throw new Error(`bench entities: child exited with ${status.code}`);
}

if (import.meta.main && Deno.args.includes("--child")) await measure();

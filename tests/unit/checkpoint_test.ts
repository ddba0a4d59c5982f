import assert from "node:assert/strict";
import { CHUNK_BYTES, decodeCheckpoint, encodeCheckpoint } from "../../src/checkpoint.ts";
import { createPipeline } from "../../src/pipeline.ts";
import { sensorEvents } from "../../src/sensors.ts";

Deno.test("a checkpoint of the default forest encodes compactly and decodes to the same state", async () => {
  const now = 1_767_347_851;
  const values: Uint8Array[] = [];
  for (const { event } of sensorEvents({ seed: 2 })) {
    if (values.length === 3000) break;
    values.push(new TextEncoder().encode(JSON.stringify({ ...event, ts: now })));
  }
  const pipeline = await createPipeline({ workers: 2, now: () => now });
  try {
    await pipeline.process(values);
    const state = await pipeline.snapshot();
    const checkpoint = {
      topic: "events",
      offsets: { 0: "1500", 3: "1500" },
      state,
      takenAt: Date.now(),
    };
    const bytes = await encodeCheckpoint(checkpoint);
    const back = await decodeCheckpoint(new Uint8Array(bytes));
    assert.deepEqual(back, checkpoint);
    console.log(`checkpoint_bytes=${bytes.length} entries=${state.masses.entries.length / 4}`);
    assert.ok(bytes.length < 4 * CHUNK_BYTES, `${bytes.length} bytes: a few chunks at most`);
  } finally {
    await pipeline.close();
  }
});

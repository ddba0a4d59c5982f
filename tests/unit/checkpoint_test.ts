import assert from "node:assert/strict";
import { CHUNK_BYTES, decodeCheckpoint, encodeCheckpoint } from "../../src/checkpoint.ts";
import { createPipeline } from "../../src/pipeline.ts";
import { sensorEvents } from "../../src/sensors.ts";

function withoutTemperature(value: Uint8Array): Uint8Array {
  const { temperature: _, ...event } = JSON.parse(new TextDecoder().decode(value));
  return new TextEncoder().encode(JSON.stringify(event));
}

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
    await pipeline.process(
      values.slice(0, 123).map((v, i) =>
        // A window with a missing feature: NaN must survive the encoding.
        i === 122 ? withoutTemperature(v) : v
      ),
    );
    const state = await pipeline.snapshot();
    assert.ok(state.masses.events.some(Number.isNaN), "the window holds a missing feature");
    const checkpoint = {
      topic: "events",
      partition: 3,
      offset: "3123",
      state,
      takenAt: Date.now(),
    };
    const bytes = await encodeCheckpoint(checkpoint);
    const back = await decodeCheckpoint(new Uint8Array(bytes));
    assert.deepEqual(back, checkpoint);
    console.log(`checkpoint_bytes=${bytes.length} entries=${state.masses.entries.length / 3}`);
    assert.ok(bytes.length < 4 * CHUNK_BYTES, `${bytes.length} bytes: a few chunks at most`);
  } finally {
    await pipeline.close();
  }
});

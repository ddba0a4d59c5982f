import assert from "node:assert/strict";
import fc from "fast-check";
import { createPipeline } from "../../src/pipeline.ts";
import { parseContract } from "../../src/contract/spec.ts";
import { alertOf } from "../../src/outputs.ts";
import { readAlert } from "../../src/alerts.ts";
import { consoleBlock, emailMessage, slackMessage } from "../../src/notify/format.ts";
import { createProcessorMetrics } from "../../src/metrics.ts";

const enc = new TextEncoder();

Deno.test("every alert the pipeline raises, for random contracts and events, is read by `alerts` and written in every channel", async () => {
  let alerts = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        features: fc.integer({ min: 1, max: 3 }),
        optional: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        log: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        side: fc.array(fc.constantFrom("both", "high", "low"), { minLength: 3, maxLength: 3 }),
        keyed: fc.boolean(),
        change: fc.boolean(),
        entities: fc.integer({ min: 1, max: 5 }),
        seed: fc.integer({ min: 1, max: 1e6 }),
        n: fc.integer({ min: 300, max: 1200 }),
      }),
      async (g) => {
        const fields: Record<string, unknown> = {
          id: { type: "string" },
          ts: { type: "timestamp" },
        };
        const features: unknown[] = [];
        for (let f = 0; f < g.features; f++) {
          fields[`f${f}`] = { type: "number", required: !g.optional[f], min: 0, max: 1000 };
          features.push({
            field: `f${f}`,
            ...(g.log[f] ? { scale: "log" } : {}),
            alert_on: g.side[f],
            change: g.change,
          });
        }
        const contract = parseContract({
          name: "random",
          version: 1,
          ...(g.keyed ? { key: "id" } : {}),
          time: { field: "ts", freshness_lag_sec: null },
          fields,
          features,
        }, "random.yaml");
        const p = await createPipeline({ contract, clock: "event", workers: 1 });
        const metrics = createProcessorMetrics();
        const shape = { contract, checks: p.checks, features: p.features };
        // Readings around 50, a tenth of an optional feature's missing, 2 % spikes up or down.
        let x = g.seed;
        const u = () => (x = (x * 16807) % 2147483647) / 2147483647;
        const records = Array.from({ length: g.n }, (_, i) => {
          const e: Record<string, unknown> = { id: `e${i % g.entities}`, ts: 1767225600 + 60 * i };
          for (let f = 0; f < g.features; f++) {
            if (g.optional[f] && u() < 0.1) continue;
            const spike = u() < 0.02 ? (u() < 0.5 ? 400 : -49) : 0;
            e[`f${f}`] = Math.max(0, Number((50 + 5 * (u() - 0.5) + spike).toFixed(3)));
          }
          return enc.encode(JSON.stringify(e));
        });
        try {
          for (let i = 0; i < records.length; i += 250) {
            const out = await p.process(records.slice(i, i + 250));
            const values: number[] = [];
            for (let k = 0; k < out.n; k++) {
              assert.equal(out.status[k], 0, out.reasons[k]);
              values.push(out.features[p.features.length * k]);
              if (!out.anomaly[k]) continue;
              alerts++;
              const alert = alertOf(out, k, { partition: 0, offset: String(i + k) }, 0, shape);
              const read = readAlert(enc.encode(JSON.stringify(alert)), 1 << 20);
              assert.ok(read.ok, `${!read.ok && read.reason}: ${JSON.stringify(alert)}`);
              const block = consoleBlock(read.alert);
              // Keyed, the box names the entity by its key; without a key there is one entity.
              if (g.keyed) assert.ok(block.includes(`id=e${(i + k) % g.entities}`), block);
              assert.ok(slackMessage(read.alert).text.length > 0);
              assert.ok(emailMessage(read.alert).subject.startsWith("[Anomaly Flow]"));
            }
            metrics.eventValue.observeAll(values);
          }
          assert.match(await metrics.registry.metrics(), /^event_value_count \d+$/m);
        } finally {
          await p.close();
        }
      },
    ),
    { numRuns: 40 },
  );
  assert.ok(alerts > 100, `${alerts} alerts raised: the property was exercised`);
});

/**
 * Server-metrics benchmark (`deno task bench servers`): a stream of someone else's events run as a
 * user would run it, from a drafted contract. 20 hosts report six metrics a minute for four days
 * (115,200 events): CPU with a daily cycle, memory, network input, latency and disk I/O (each
 * varying by factors around its host's level) and a Poisson count of errors (mean 0.5). About 100
 * anomalies are labelled: CPU +35 points, latency × 12, errors +25, network input stuck at 0 for 30
 * minutes, memory +8 for 20. The contract is drafted by `contract infer` from the stream's first
 * 20,000 events (labels removed) and used as drafted; every event then goes through the pipeline.
 *
 * Lines, over seeds 1–3 together: `servers_events=`, `servers_anomalies=`,
 * `servers_log_features=` (features the draft judges on a log scale), `servers_false_alerts=` and
 * `servers_false_alert_ratio=` (alerts on normal events per normal event, over the default target
 * rate), `servers_precision=`, `servers_anomalies_alerted=` (share with an alert),
 * `servers_anomalies_dead_lettered=` (share whose events the draft's checks rejected instead) and
 * `servers_normal_dead_lettered=` (normal events the draft's checks rejected).
 *
 * @module
 */
import { inferContract } from "../src/contract/infer.ts";
import { parseContract } from "../src/contract/spec.ts";
import { THRESHOLD_DEFAULTS } from "../src/defaults.ts";
import { createPipeline } from "../src/pipeline.ts";
import { createRandom } from "../src/random.ts";
import { poisson } from "./calibration.ts";
import { report } from "./report.ts";

/** Kinds of the labelled anomalies, and how many readings each lasts after its first. */
const KINDS = { cpu_spike: 0, latency: 0, errors: 0, net_flat: 30, mem_step: 20 } as const;
type Kind = keyof typeof KINDS;

/** One reading of a host, and the anomaly it belongs to (`none`). */
interface Reading {
  event: Record<string, unknown>;
  injected: Kind | "none";
}

/**
 * The stream of generator seed `seed` (see the module doc): `hosts` hosts, a reading a minute for
 * `days` days from 2026-11-02, an anomaly starting at a host's reading with chance `chance` after
 * the first day.
 */
export function serverReadings(seed: number, hosts = 20, days = 4, chance = 0.0012): Reading[] {
  const rng = createRandom(seed, 1);
  const start = Date.UTC(2026, 10, 2) / 1000, out: Reading[] = [];
  const kinds = Object.keys(KINDS) as Kind[];
  const open = new Map<number, { kind: Kind; until: number }>();
  for (let m = 0; m < days * 1440; m++) {
    const day = (1 - Math.cos((2 * Math.PI * (m % 1440)) / 1440)) / 2; // 0 at midnight, 1 at noon
    for (let h = 0; h < hosts; h++) {
      let a = open.get(h);
      if (a && m > a.until) (open.delete(h), a = undefined);
      if (!a && m > 1440 && rng.next() < chance) {
        const kind = kinds[Math.floor(rng.next() * kinds.length)];
        open.set(h, a = { kind, until: m + KINDS[kind] });
      }
      const kind = a?.kind;
      const cpu = 20 + 2 * h + 15 * day * (1 + h / 20) + 2 * rng.normal() +
        (kind === "cpu_spike" ? 35 : 0);
      const mem = 40 + h + 0.5 * rng.normal() + (kind === "mem_step" ? 8 : 0);
      const net = kind === "net_flat"
        ? 0
        : (100 + 10 * h) * Math.exp(0.3 * day + 0.2 * rng.normal());
      const latency = (20 + h) * Math.exp(0.25 * rng.normal()) * (kind === "latency" ? 12 : 1);
      const errors = poisson(rng, 0.5) + (kind === "errors" ? 25 : 0);
      const disk = 50 * Math.exp(0.5 * rng.normal());
      out.push({
        event: {
          host: `host-${h}`,
          ts: new Date((start + 60 * m) * 1000).toISOString(),
          cpu: Number(Math.min(100, Math.max(0, cpu)).toFixed(2)),
          mem: Number(mem.toFixed(2)),
          net_in: Number(net.toFixed(1)),
          latency_ms: Number(latency.toFixed(2)),
          errors,
          disk_io: Number(disk.toFixed(1)),
        },
        injected: kind ?? "none",
      });
    }
  }
  return out;
}

/** What one seed's stream gave through its drafted contract. */
interface Counts {
  events: number;
  anomalies: number;
  alerted: number;
  deadLettered: number;
  falseAlerts: number;
  trueAlerts: number;
  normal: number;
  normalDeadLettered: number;
  logFeatures: number;
}

/** Counts of nothing yet. */
function noCounts(): Counts {
  return {
    events: 0,
    anomalies: 0,
    alerted: 0,
    deadLettered: 0,
    falseAlerts: 0,
    trueAlerts: 0,
    normal: 0,
    normalDeadLettered: 0,
    logFeatures: 0,
  };
}

/** Runs seed `seed`'s stream through a contract drafted from its first `sampleSize` events. */
async function runSeed(seed: number, sampleSize = 20_000): Promise<Counts> {
  const readings = serverReadings(seed);
  const { document } = inferContract(readings.slice(0, sampleSize).map((r) => r.event));
  const contract = parseContract(document, "servers.yaml");
  const pipeline = await createPipeline({ workers: 1, clock: "event", contract });
  const encoder = new TextEncoder();
  // Each anomaly: the readings of one host in a row that carry it.
  const anomalyOf = new Int32Array(readings.length).fill(-1), alerted: boolean[] = [];
  const dead: boolean[] = [], current = new Map<string, number>();
  readings.forEach((r, i) => {
    const host = String(r.event.host);
    if (r.injected === "none") return void current.delete(host);
    if (!current.has(host)) {
      (current.set(host, alerted.length), alerted.push(false), dead.push(false));
    }
    anomalyOf[i] = current.get(host)!;
  });
  const c = noCounts();
  c.events = readings.length;
  c.anomalies = alerted.length;
  c.logFeatures = contract.features.filter((f) => f.scale === "log").length;
  try {
    for (let i = 0; i < readings.length; i += 1000) {
      const batch = readings.slice(i, i + 1000);
      const out = await pipeline.process(batch.map((r) => encoder.encode(JSON.stringify(r.event))));
      for (let k = 0; k < out.n; k++) {
        const j = anomalyOf[i + k], rejected = out.status[k] !== 0, flagged = out.anomaly[k] === 1;
        if (j < 0) {
          c.normal++;
          if (rejected) c.normalDeadLettered++;
          if (flagged) c.falseAlerts++;
          continue;
        }
        if (flagged) (c.trueAlerts++, alerted[j] = true);
        if (rejected) dead[j] = true;
      }
    }
  } finally {
    await pipeline.close();
  }
  c.alerted = alerted.filter(Boolean).length;
  c.deadLettered = dead.filter((d, j) => d && !alerted[j]).length;
  return c;
}

/** Runs the server-metrics benchmark; prints `name=value` lines. */
export async function benchServers(): Promise<void> {
  const total = noCounts();
  for (const seed of [1, 2, 3]) {
    const c = await runSeed(seed);
    for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += c[key];
  }
  const rate = THRESHOLD_DEFAULTS.targetFalseAlertRate;
  report("servers_events", total.events);
  report("servers_anomalies", total.anomalies);
  report("servers_log_features", total.logFeatures);
  report("servers_false_alerts", total.falseAlerts);
  report("servers_false_alert_ratio", (total.falseAlerts / total.normal / rate).toFixed(2));
  report(
    "servers_precision",
    (total.trueAlerts / Math.max(1, total.trueAlerts + total.falseAlerts)).toFixed(4),
  );
  report("servers_anomalies_alerted", (total.alerted / total.anomalies).toFixed(4));
  report("servers_anomalies_dead_lettered", (total.deadLettered / total.anomalies).toFixed(4));
  report("servers_normal_dead_lettered", total.normalDeadLettered);
}

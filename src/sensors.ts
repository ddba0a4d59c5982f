/**
 * The simulated IoT sensors' event model: a pure, seeded function yielding the seed's events
 * together with what was injected into each. The generator (`generate`) sends them to Kafka with
 * the injection in a header; the benchmarks and tests use the same stream as labelled data.
 *
 * Normal behaviour per sensor: a baseline (`value` in [-5, 5], `temperature` in [20, 28]), a slow
 * drift (sine, period 5–15 min, amplitude 2 and 1) and Gaussian noise (σ 1 and 0.5). Injections,
 * one at most per event, with the seed's rates: `value` 2 % (offset ±25 or ±50), `temperature` 1 %
 * (offset ±20 or ±30), `missing_value` 0.5 %, `out_of_range` 0.5 % (`value = 9999`), `stale`
 * 0.5 % (`ts` three days old).
 *
 * @module
 */
import { createRandom } from "./random.ts";

/** What the generator did to an event. */
export const INJECTIONS = [
  "none",
  "value",
  "temperature",
  "missing_value",
  "out_of_range",
  "stale",
] as const;
/** One of {@link INJECTIONS}. */
export type Injection = typeof INJECTIONS[number];

/**
 * The `injected` labels that mark an anomaly (the seed's, the multi-entity scenario's and the
 * contract generator's); `none` is normal, any other label a data-quality fault.
 */
export const ANOMALY_LABELS: ReadonlySet<string> = new Set([
  "value",
  "temperature",
  "spike",
  "shift",
  "flat",
]);

/** Probability of each injection (the rest is `none`). */
export type InjectionRates = Record<Exclude<Injection, "none">, number>;

/** The seed's injection table. */
export const SEED_RATES: InjectionRates = {
  value: 0.02,
  temperature: 0.01,
  missing_value: 0.005,
  out_of_range: 0.005,
  stale: 0.005,
};

/** Options of {@link sensorEvents}. */
export interface SensorOptions {
  /** Seed of the whole stream. Default: 1. */
  seed?: number;
  /** Number of sensors (`sensor-0` …), taking turns. Default: 5. */
  sensors?: number;
  /** Events per second of event time (spacing of `ts`). Default: 20. */
  rate?: number;
  /** `ts` of the first event, Unix seconds. Default: 1767347851 (the seed's example). */
  startTs?: number;
  /** Injection probabilities. Default: {@link SEED_RATES}. */
  rates?: InjectionRates;
}

/** A seed event as produced on the wire (fields may be missing or wrong when injected). */
export interface SensorEvent {
  sensor_id: string;
  ts: number;
  value?: number;
  temperature?: number;
  status: "OK" | "WARN" | "FAIL";
}

/** An event and what was injected into it. */
export interface LabelledEvent {
  event: SensorEvent;
  injected: Injection;
}

const STALE_SEC = 3 * 24 * 3600;
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The endless, deterministic stream of events for `options` (same options, same stream). */
export function* sensorEvents(options: SensorOptions = {}): Generator<LabelledEvent> {
  const seed = options.seed ?? 1;
  const sensors = options.sensors ?? 5;
  const rate = options.rate ?? 20;
  const startTs = options.startTs ?? 1767347851;
  const rates = options.rates ?? SEED_RATES;
  if (!Number.isInteger(sensors) || sensors < 1) {
    throw new RangeError(`sensors must be a positive integer, got ${sensors}`);
  }
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new RangeError(`rate must be a positive number, got ${rate}`);
  }
  const total = Object.values(rates).reduce((a, b) => a + b, 0);
  if (Object.values(rates).some((r) => !(r >= 0)) || total > 1) {
    throw new RangeError(
      `rates must be >= 0 and add up to at most 1, got ${JSON.stringify(rates)}`,
    );
  }
  const setup = createRandom(seed, 0);
  const profile = Array.from({ length: sensors }, () => ({
    value: setup.uniform(-5, 5),
    temperature: setup.uniform(20, 28),
    period: setup.uniform(300, 900),
    phase: setup.uniform(0, 2 * Math.PI),
  }));
  const rng = createRandom(seed, 1);
  const order = Object.entries(rates) as [Exclude<Injection, "none">, number][];
  for (let i = 0;; i++) {
    const s = i % sensors;
    const p = profile[s];
    const t = startTs + i / rate;
    const drift = Math.sin((2 * Math.PI * t) / p.period + p.phase);
    let value = p.value + 2 * drift + rng.normal();
    let temperature = p.temperature + drift + 0.5 * rng.normal();
    const u = rng.next();
    const sign = rng.next() < 0.5 ? -1 : 1;
    const big = rng.next() < 0.5;
    const st = rng.next();
    let injected: Injection = "none";
    let acc = 0;
    for (const [name, r] of order) {
      acc += r;
      if (u < acc) {
        injected = name;
        break;
      }
    }
    if (injected === "value") value += sign * (big ? 50 : 25);
    if (injected === "temperature") temperature += sign * (big ? 30 : 20);
    const event: SensorEvent = {
      sensor_id: `sensor-${s}`,
      ts: round(injected === "stale" ? t - STALE_SEC : t, 3),
      value: injected === "out_of_range" ? 9999 : round(value, 4),
      temperature: round(temperature, 1),
      status: st < 0.97 ? "OK" : st < 0.99 ? "WARN" : "FAIL",
    };
    if (injected === "missing_value") delete event.value;
    yield { event, injected };
  }
}

/** Labelled detection data: the first `n` events that reach the model (no DQ injection). */
export interface LabelledFeatures {
  /** `value, temperature` per event, row-major. */
  features: Float64Array;
  /** 1 where a value or temperature anomaly was injected. */
  labels: Uint8Array;
  n: number;
}

/** The first `n` model-bound events of the stream as features and labels. */
export function labelledFeatures(n: number, options: SensorOptions = {}): LabelledFeatures {
  const features = new Float64Array(2 * n);
  const labels = new Uint8Array(n);
  let i = 0;
  for (const { event, injected } of sensorEvents(options)) {
    if (i === n) break;
    if (injected !== "none" && injected !== "value" && injected !== "temperature") continue;
    features[2 * i] = event.value!;
    features[2 * i + 1] = event.temperature!;
    labels[i] = injected === "none" ? 0 : 1;
    i++;
  }
  return { features, labels, n };
}

/** The events of a scenario: the seed's stream, or the multi-entity one. */
export function scenarioEvents(
  scenario: "seed" | "multi",
  options: SensorOptions,
): Iterator<{ event: SensorEvent; injected: string }> {
  if (scenario === "seed") return sensorEvents(options);
  return (function* () {
    const sensors = Math.max(12, options.sensors ?? 12);
    for (const e of multiEntityEvents({ seed: options.seed, sensors })) {
      // Only the labelled events of an injection are anomalies (a shift's first 5).
      yield { event: e.event, injected: e.labelled ? e.injected : "none" };
    }
  })();
}

/** What {@link multiEntityEvents} injected into an event (`none` for a normal one). */
export type EntityInjection = "none" | "spike" | "shift" | "flat";

/** Options of {@link multiEntityEvents}. */
export interface MultiEntityOptions {
  /** Seed of the stream. Default: 1. */
  seed?: number;
  /** Sensors, taking turns; the last one runs far above all others. Default: 12. */
  sensors?: number;
  /** Seconds of event time between two events of one sensor. Default: 60. */
  everySec?: number;
  /** `ts` of the first event. Default: 1767225600 (a midnight, UTC). */
  startTs?: number;
  /** Size of spikes and level shifts, in the sensor's own noise units. Default: 5. */
  size?: number;
  /** Per sensor and event, chance that an injection starts. Default: 0.004. */
  chance?: number;
}

/** One event of {@link multiEntityEvents}, with what was injected and the truth behind it. */
export interface EntityEvent {
  event: SensorEvent;
  injected: EntityInjection;
  /** Whether the event is an anomaly to catch (a shift's first 5 events, every other injection). */
  labelled: boolean;
  /**
   * The sensor's noiseless `value` and `temperature` at this time (its level plus the daily
   * cycle), before noise and injections.
   */
  expected: readonly [number, number];
  /** The sd of the sensor's noise on `value` and on `temperature`. */
  noise: readonly [number, number];
}

/**
 * A labelled multi-entity stream for detection benchmarks: sensors with different levels (the
 * last far from all others) and noise, a daily cycle of their temperature, and injections of a
 * few noise units — a spike (1 event), a level shift (30 events, labelled on its first 5) and a
 * flat line (20 events stuck at the sensor's level, inside the normal range).
 */
export function* multiEntityEvents(
  options: MultiEntityOptions = {},
): Generator<EntityEvent> {
  const sensors = options.sensors ?? 12, every = options.everySec ?? 60;
  const start = options.startTs ?? 1767225600, size = options.size ?? 5;
  const chance = options.chance ?? 0.004;
  const setup = createRandom(options.seed ?? 1, 7);
  const profile = Array.from({ length: sensors }, (_, s) => ({
    level: s === sensors - 1 ? 33 : setup.uniform(15, 24),
    noise: setup.uniform(0.2, 0.6),
    value: setup.uniform(-5, 5),
    valueNoise: setup.uniform(0.5, 1.5),
  }));
  const state = profile.map(() => ({ kind: "none" as EntityInjection, left: 0, age: 0, sign: 1 }));
  const rng = createRandom(options.seed ?? 1, 8);
  for (let i = 0;; i++) {
    const s = i % sensors, p = profile[s], st = state[s];
    const t = start + Math.floor(i / sensors) * every;
    const day = Math.sin((2 * Math.PI * (t % 86400)) / 86400);
    const expected = [p.value, p.level + 3 * p.noise * day] as const;
    let temperature = expected[1] + p.noise * rng.normal();
    const value = p.value + p.valueNoise * rng.normal();
    if (st.left === 0 && rng.next() < chance) {
      const u = rng.next();
      // One direction per injection: a shift stays on one side for all its events.
      const sign = (s + Math.floor(i / 97)) % 2 ? 1 : -1;
      Object.assign(st, { kind: u < 0.4 ? "spike" : u < 0.7 ? "shift" : "flat", age: 0, sign });
      st.left = st.kind === "spike" ? 1 : st.kind === "shift" ? 30 : 20;
    }
    let injected: EntityInjection = "none", labelled = false;
    if (st.left > 0) {
      injected = st.kind;
      if (st.kind === "spike" || st.kind === "shift") temperature += st.sign * size * p.noise;
      if (st.kind === "flat") temperature = p.level;
      labelled = st.kind !== "shift" || st.age < 5;
      st.age++;
      st.left--;
    }
    const event: SensorEvent = {
      sensor_id: `sensor-${s}`,
      ts: t,
      value: round(value, 4),
      temperature: round(temperature, 3),
      status: "OK",
    };
    yield { event, injected, labelled, expected, noise: [p.valueNoise, p.noise] };
  }
}

/**
 * A histogram without labels of a value observed on every valid event (`event_value`), registered
 * in a prom-client registry and written out exactly as prom-client writes a histogram (cumulative
 * `_bucket` lines with `le`, then `+Inf`, `_sum` and `_count`).
 *
 * Why not prom-client's `Histogram` (15.1.3):
 * - its `observe` checks and hashes the label set and searches the buckets on every call: about 3 %
 *   of the processor's main-thread samples;
 * - it throws on a value that is not a finite number: an event whose first feature is an absent
 *   optional field (its value NaN) made the batch's publishing throw, which stopped the processor
 *   (and, its offsets not committed, would stop it again after each restart);
 * - its bucket search answers −1 for a value above every bound, and then counts the value in the
 *   bucket whose bound is −1, one of `event_value`'s: every value above 100 was shown at or below
 *   −1.
 *
 * Here {@link ValueHistogram.observeAll} counts a batch's values into a typed array; a value that
 * is not finite (no value) is not counted, one above every bound only in `+Inf`.
 *
 * @module
 */
import type { Histogram, Registry } from "prom-client";

/** One line of a scrape, as prom-client's registry reads it. */
export interface HistogramSample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** What a scrape reads of a {@link ValueHistogram}, in prom-client's form. */
export interface HistogramData {
  name: string;
  help: string;
  type: "histogram";
  values: HistogramSample[];
  aggregator: "sum";
}

/** A histogram of one value, without labels (see the module doc). */
export interface ValueHistogram {
  /** Metric name (prom-client's `name`). */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Always `"histogram"`. */
  readonly type: "histogram";
  /** Bucket upper bounds, ascending (`+Inf` is implied). */
  readonly buckets: readonly number[];
  /** Counts each finite value of `values` (a value that is not finite is no value). */
  observeAll(values: ArrayLike<number>): void;
  /** What a scrape writes, in prom-client's form (the registry calls it). */
  get(): Promise<HistogramData>;
  /** Forgets every count (the registry's `resetMetrics`). */
  reset(): void;
}

/** Options of {@link createValueHistogram}. */
export interface ValueHistogramOptions {
  name: string;
  help: string;
  /** Upper bounds of the buckets: finite, strictly ascending, at least one. */
  buckets: readonly number[];
  /** Registries to register it in. Default: none. */
  registers?: readonly Registry[];
}

/** Creates a {@link ValueHistogram} and registers it in `registers`. */
export function createValueHistogram(options: ValueHistogramOptions): ValueHistogram {
  const { name, help } = options;
  const bounds = Float64Array.from(options.buckets);
  if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || b <= bounds[i - 1])) {
    throw new RangeError(
      `histogram ${name}: buckets must be finite and strictly ascending, got ${options.buckets}`,
    );
  }
  // counts[k]: values in (bounds[k − 1], bounds[k]]; counts[bounds.length]: above the last bound.
  const counts = new Float64Array(bounds.length + 1);
  let sum = 0;
  const add = (v: number) => {
    let k = 0;
    while (k < bounds.length && v > bounds[k]) k++;
    counts[k]++;
    sum += v;
  };
  const histogram: ValueHistogram = {
    name,
    help,
    type: "histogram",
    buckets: Array.from(bounds),
    observeAll(values) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (Number.isFinite(v)) add(v);
      }
    },
    get() {
      const values: HistogramSample[] = [];
      let below = 0;
      bounds.forEach((le, k) => {
        below += counts[k];
        values.push({ labels: { le }, value: below, metricName: `${name}_bucket` });
      });
      const count = below + counts[bounds.length];
      values.push(
        { labels: { le: "+Inf" }, value: count, metricName: `${name}_bucket` },
        { labels: {}, value: sum, metricName: `${name}_sum` },
        { labels: {}, value: count, metricName: `${name}_count` },
      );
      return Promise.resolve({ name, help, type: "histogram", values, aggregator: "sum" });
    },
    reset() {
      counts.fill(0);
      sum = 0;
    },
  };
  // The registry reads `name`, `get()` and `reset()` of what it holds; its type names
  // prom-client's own metric classes only.
  for (const r of options.registers ?? []) r.registerMetric(histogram as unknown as Histogram);
  return histogram;
}

/**
 * Streaming quantile with the P² algorithm (Jain & Chlamtac, 1985), as River's `stats.Quantile`:
 * five markers, O(1) memory and time per value. The first five values are stored; until then
 * `get()` is the sorted value at `floor(min(n − 1, n·q))`. From the sixth value on the markers
 * move by the piecewise-parabolic (P²) formula, or linearly when that would break their order.
 *
 * @module
 */

/** A running estimate of one quantile. */
export interface Quantile {
  /** The quantile estimated, in (0, 1). */
  readonly q: number;
  /** Values seen. */
  readonly n: number;
  /** Adds a value. */
  update(x: number): void;
  /** The current estimate; NaN before the first value. */
  get(): number;
  /** The estimator's whole state (for checkpoints). */
  state(): QuantileState;
}

/** Everything a P² estimator holds. */
export interface QuantileState {
  q: number;
  n: number;
  heights: number[];
  position: number[];
  desired: number[];
  sorted: boolean;
}

/**
 * A P² estimator of the `q` quantile, empty or resumed from `from`. Throws when `q` is not in
 * (0, 1).
 */
export function createQuantile(q: number, from?: QuantileState): Quantile {
  if (!(q > 0 && q < 1)) throw new RangeError(`q must be in (0, 1), got ${q}`);
  const heights: number[] = from ? [...from.heights] : [];
  const position = from ? [...from.position] : [1, 2, 3, 4, 5];
  const desired = from ? [...from.desired] : [1, 1 + 2 * q, 1 + 4 * q, 3 + 2 * q, 5];
  const increment = [0, q / 2, q, (1 + q) / 2, 1];
  let n = from?.n ?? 0;
  let sorted = from?.sorted ?? false;

  const parabolic = (i: number, d: number): number => {
    const [qm1, qi, qp1] = [heights[i - 1], heights[i], heights[i + 1]];
    const [nm1, ni, np1] = [position[i - 1], position[i], position[i + 1]];
    return qi + (d / (np1 - nm1)) *
        ((ni - nm1 + d) * (qp1 - qi) / (np1 - ni) + (np1 - ni - d) * (qi - qm1) / (ni - nm1));
  };

  return {
    q,
    get n() {
      return n;
    },
    update(x: number) {
      n++;
      if (heights.length < 5) {
        heights.push(x);
        return;
      }
      if (!sorted) {
        heights.sort((a, b) => a - b);
        sorted = true;
      }
      let k: number;
      if (x < heights[0]) {
        heights[0] = x;
        k = 1;
      } else {
        k = 4;
        for (let i = 1; i < 5; i++) {
          if (heights[i - 1] <= x && x < heights[i]) {
            k = i;
            break;
          }
        }
        if (k === 4 && heights[4] < x) heights[4] = x;
      }
      for (let i = k; i < 5; i++) position[i]++;
      for (let i = 0; i < 5; i++) desired[i] += increment[i];
      for (let i = 1; i < 4; i++) {
        const d = desired[i] - position[i];
        if (
          (d >= 1 && position[i + 1] - position[i] > 1) ||
          (d <= -1 && position[i - 1] - position[i] < -1)
        ) {
          const s = Math.sign(d);
          const candidate = parabolic(i, s);
          heights[i] = heights[i - 1] < candidate && candidate < heights[i + 1]
            ? candidate
            : heights[i] + s * (heights[i + s] - heights[i]) / (position[i + s] - position[i]);
          position[i] += s;
        }
      }
    },
    state: () => ({
      q,
      n,
      heights: [...heights],
      position: [...position],
      desired: [...desired],
      sorted,
    }),
    get() {
      if (heights.length === 0) return NaN;
      if (sorted) return heights[2];
      const values = [...heights].sort((a, b) => a - b);
      return values[Math.floor(Math.min(values.length - 1, values.length * q))];
    },
  };
}

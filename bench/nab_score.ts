/**
 * A scorer for the Numenta Anomaly Benchmark, written from NAB's rules (../shared/nab/README.md):
 *
 * - every row of a file gets a score in [0, 1]; a row is a detection when score ≥ threshold;
 * - the first `min(floor(0.15 · rows), 750)` rows are probationary: not scored;
 * - inside a window only the earliest detection counts, weighted by the scaled sigmoid
 *   `2/(1+e^(5y)) − 1` of its position `y = −(rows of the window from it to the end)/width`;
 *   a window without a detection costs the FN weight;
 * - a detection outside every window costs the FP weight times the same sigmoid of its distance
 *   past the end of the previous window, in window widths (−1, the full cost, beyond 3 widths or
 *   before any window);
 * - normalised score = 100 · (raw − null) / (perfect − null), summed over the files of the corpus
 *   (null detects nothing; perfect detects every window at its first row);
 * - one threshold for the whole corpus and profile: {@link bestThreshold} sweeps every distinct
 *   score exactly, in one pass over the rows sorted by score.
 *
 * @module
 */

/** NAB's cost weights of one application profile. */
export interface Profile {
  tpWeight: number;
  fnWeight: number;
  fpWeight: number;
}

/** NAB's three profiles (profiles.json). */
export const PROFILES: Record<"standard" | "reward_low_FP_rate" | "reward_low_FN_rate", Profile> = {
  standard: { tpWeight: 1, fnWeight: 1, fpWeight: 0.11 },
  reward_low_FP_rate: { tpWeight: 1, fnWeight: 1, fpWeight: 0.22 },
  reward_low_FN_rate: { tpWeight: 1, fnWeight: 2, fpWeight: 0.11 },
};

/** The suffix of each profile's figures (`nab_standard=`, `nab_low_fp=`, `nab_low_fn=`). */
export const PROFILE_SUFFIX: Record<keyof typeof PROFILES, string> = {
  standard: "standard",
  reward_low_FP_rate: "low_fp",
  reward_low_FN_rate: "low_fn",
};

/** The scaled sigmoid of a position `y` (in window widths): +0.987 at a window's start, −1 far past it. */
export function scaledSigmoid(y: number): number {
  if (y > 3) return -1;
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

/** One file prepared for scoring: per row, its window (or −1) and its sigmoid weight. */
export interface NabFile {
  name: string;
  /** Per row: index of the window holding it, −1 outside every window. */
  window: Int32Array;
  /** Per row: the scaled sigmoid of its position (see the module doc). */
  weight: Float64Array;
  /** Per row: scored (false in the probationary period). */
  scored: Uint8Array;
  windows: number;
}

/** `YYYY-MM-DD HH:MM:SS` of a NAB timestamp (fractional seconds dropped). */
function stamp(t: string): string {
  return t.trim().slice(0, 19).replace("T", " ");
}

/** Prepares a file: its rows' timestamps and its labelled windows `[start, end]`. */
export function prepareFile(
  name: string,
  timestamps: readonly string[],
  windows: readonly (readonly [string, string])[],
): NabFile {
  const n = timestamps.length;
  const ts = timestamps.map(stamp);
  const f: NabFile = {
    name,
    window: new Int32Array(n).fill(-1),
    weight: new Float64Array(n).fill(-1),
    scored: new Uint8Array(n).fill(1),
    windows: windows.length,
  };
  const probation = Math.min(Math.floor(0.15 * n), 750);
  for (let i = 0; i < probation; i++) f.scored[i] = 0;
  const spans = windows.map(([a, b]) => {
    const start = ts.findIndex((t) => t >= stamp(a));
    let end = -1;
    for (let i = n - 1; i >= 0; i--) if (ts[i] <= stamp(b)) (end = i, i = -1);
    return [start, end] as const;
  });
  spans.forEach(([start, end], w) => {
    const width = end - start + 1;
    for (let i = start; i <= end; i++) {
      f.window[i] = w;
      f.weight[i] = scaledSigmoid(-(end - i + 1) / width);
    }
    const next = w + 1 < spans.length ? spans[w + 1][0] : n;
    for (let i = end + 1; i < next; i++) f.weight[i] = scaledSigmoid((i - end) / width);
  });
  return f;
}

/**
 * Raw, null and perfect scores of a file whose detections are `detected` (per row), with the row
 * of each window's first detection (−1 for none) and the count of detections outside every window.
 */
export function scoreFile(
  f: NabFile,
  detected: ArrayLike<boolean | number>,
  p: Profile,
): { raw: number; nullScore: number; perfect: number; first: number[]; falseAlerts: number } {
  const first = new Array<number>(f.windows).fill(-1);
  let raw = 0, falseAlerts = 0;
  for (let i = 0; i < f.window.length; i++) {
    if (!f.scored[i] || !detected[i]) continue;
    const w = f.window[i];
    if (w < 0) (raw += p.fpWeight * f.weight[i], falseAlerts++);
    else if (first[w] < 0) first[w] = i;
  }
  const startWeight = scaledSigmoid(-1);
  for (let w = 0; w < f.windows; w++) {
    raw += first[w] < 0 ? -p.fnWeight : p.tpWeight * f.weight[first[w]];
  }
  return {
    raw,
    nullScore: -p.fnWeight * f.windows,
    perfect: p.tpWeight * startWeight * f.windows,
    first,
    falseAlerts,
  };
}

/** The normalised corpus score (0 = null detector, 100 = perfect) of per-file detections. */
export function corpusScore(
  files: readonly NabFile[],
  detections: readonly ArrayLike<boolean | number>[],
  p: Profile,
): number {
  let raw = 0, nul = 0, perfect = 0;
  files.forEach((f, k) => {
    const s = scoreFile(f, detections[k], p);
    raw += s.raw;
    nul += s.nullScore;
    perfect += s.perfect;
  });
  return 100 * (raw - nul) / (perfect - nul);
}

/**
 * The threshold that maximises the corpus score of per-row `scores` (rows score ≥ threshold
 * detect), and that score. Exact over every distinct score value: rows are added in descending
 * score order, keeping each window's earliest detection and the false-positive cost.
 */
export function bestThreshold(
  files: readonly NabFile[],
  scores: readonly ArrayLike<number>[],
  p: Profile,
): { threshold: number; score: number } {
  const rows: { file: number; row: number; score: number }[] = [];
  let nul = 0, perfect = 0;
  files.forEach((f, k) => {
    for (let i = 0; i < f.window.length; i++) {
      if (f.scored[i]) rows.push({ file: k, row: i, score: scores[k][i] });
    }
    nul += -p.fnWeight * f.windows;
    perfect += p.tpWeight * scaledSigmoid(-1) * f.windows;
  });
  rows.sort((a, b) => b.score - a.score);
  const first = files.map((f) => new Array<number>(f.windows).fill(-1));
  let raw = nul, best = { threshold: Infinity, score: 0 };
  for (let j = 0; j < rows.length; j++) {
    const { file, row } = rows[j];
    const f = files[file], w = f.window[row];
    if (w < 0) raw += p.fpWeight * f.weight[row];
    else if (first[file][w] < 0 || row < first[file][w]) {
      const before = first[file][w] < 0 ? -p.fnWeight : p.tpWeight * f.weight[first[file][w]];
      first[file][w] = row;
      raw += p.tpWeight * f.weight[row] - before;
    }
    if (j + 1 < rows.length && rows[j + 1].score === rows[j].score) continue;
    const score = 100 * (raw - nul) / (perfect - nul);
    if (score > best.score) best = { threshold: rows[j].score, score };
  }
  return best;
}

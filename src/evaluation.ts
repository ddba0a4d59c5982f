/**
 * Detection quality on labelled data: ROC AUC of scores, precision and recall of decisions.
 *
 * @module
 */

/**
 * ROC AUC of `scores` against binary `labels` (1 = anomaly), ties counted half (Mann–Whitney).
 * NaN when either class is empty.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) {
    throw new RangeError(`labels has ${labels.length} entries, scores ${n}`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0, rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] === 1) {
        pos++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  return pos === 0 || neg === 0 ? NaN : (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Counts of a binary decision against labels. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** tp / (tp + fp); NaN when nothing was flagged. */
  precision: number;
  /** tp / (tp + fn); NaN when there is no positive label. */
  recall: number;
}

/** Precision and recall of `flags` (1 = flagged) against `labels` (1 = anomaly). */
export function confusion(flags: ArrayLike<number>, labels: ArrayLike<number>): Confusion {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < flags.length; i++) {
    if (flags[i]) labels[i] ? tp++ : fp++;
    else labels[i] ? fn++ : tn++;
  }
  return { tp, fp, fn, tn, precision: tp / (tp + fp), recall: tp / (tp + fn) };
}

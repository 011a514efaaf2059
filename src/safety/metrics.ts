/** Binary-classifier metrics for guards: TPR, FPR, precision, F1 at a threshold, and AUROC. */

/** Metrics at one threshold. Rates in [0, 1]. */
export interface BinaryMetrics {
  threshold: number;
  positives: number;
  negatives: number;
  tpr: number;
  fpr: number;
  precision: number;
  f1: number;
  /** Area under the ROC curve (rank statistic; ties count half). */
  auroc: number;
}

/** AUROC by the Mann–Whitney U statistic. NaN when a class is empty. */
export function auroc(scores: readonly number[], labels: readonly (0 | 1)[]): number {
  const idx = scores.map((s, i) => [s, labels[i]] as const).sort((a, b) => a[0] - b[0]);
  let rank = 1;
  let sumPos = 0;
  let nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && idx[j][0] === idx[i][0]) j++;
    const avg = (rank + rank + (j - i) - 1) / 2;
    for (let k = i; k < j; k++) if (idx[k][1] === 1) {
      sumPos += avg;
      nPos++;
    }
    rank += j - i;
    i = j;
  }
  const nNeg = idx.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (sumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Metrics of `scores` (higher = more unsafe) against `labels` (1 = unsafe), flagging `score > threshold`. */
export function binaryMetrics(scores: readonly number[], labels: readonly (0 | 1)[], threshold: number): BinaryMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  scores.forEach((s, i) => {
    const flagged = s > threshold;
    if (labels[i] === 1) flagged ? tp++ : fn++;
    else flagged ? fp++ : tn++;
  });
  const tpr = tp + fn ? tp / (tp + fn) : 0;
  const fpr = fp + tn ? fp / (fp + tn) : 0;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const f1 = precision + tpr ? (2 * precision * tpr) / (precision + tpr) : 0;
  return { threshold, positives: tp + fn, negatives: fp + tn, tpr, fpr, precision, f1, auroc: auroc(scores, labels) };
}

/** TPR at the lowest threshold whose FPR ≤ `maxFpr` (Prompt Guard reports recall at 1 % FPR). */
export function tprAtFpr(scores: readonly number[], labels: readonly (0 | 1)[], maxFpr: number): { tpr: number; threshold: number } {
  const neg = scores.filter((_, i) => labels[i] === 0).sort((a, b) => b - a);
  const k = Math.floor(neg.length * maxFpr);
  const threshold = neg[k] ?? 0;
  return { tpr: binaryMetrics(scores, labels, threshold).tpr, threshold };
}

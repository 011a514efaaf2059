/**
 * k-fold cross-validation of learned routers on replay records: folds fixed by a seed (records
 * shuffled with mulberry32(seed), fold = position mod k); every record is scored by the router
 * trained on the other k − 1 folds, so the out-of-fold scores cover the whole dataset.
 */
import type { ReplayRecord } from "./dataset.js";
import { seededRandom, shuffleInPlace } from "../core/random.js";

/** Fold index (0..k−1) of each of `n` items, deterministic in `seed`. Throws `RangeError` for k < 2 or k > n. */
export function foldAssignment(n: number, k: number, seed: number): number[] {
  if (k < 2 || k > n) throw new RangeError(`k-fold needs 2 ≤ k ≤ n (k=${k}, n=${n})`);
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), seededRandom(seed));
  const folds = new Array<number>(n);
  order.forEach((item, pos) => (folds[item] = pos % k));
  return folds;
}

/**
 * Out-of-fold predictions: for each fold, `train` on the other folds' records and `predict`
 * the fold's records with the result. Returns one prediction per record, in record order.
 */
export function crossValidate<M, P>(
  records: readonly ReplayRecord[],
  k: number,
  seed: number,
  train: (trainRecords: ReplayRecord[], fold: number) => M,
  predict: (model: M, record: ReplayRecord) => P,
  onFold?: (fold: number) => void,
): P[] {
  const folds = foldAssignment(records.length, k, seed);
  const out = new Array<P>(records.length);
  for (let f = 0; f < k; f++) {
    const model = train(records.filter((_, i) => folds[i] !== f), f);
    records.forEach((r, i) => {
      if (folds[i] === f) out[i] = predict(model, r);
    });
    onFold?.(f);
  }
  return out;
}

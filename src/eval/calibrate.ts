/**
 * Threshold calibration (RouteLLM's `calibrate_threshold`): the threshold is the
 * (1 − share) quantile of the router's scores on a calibration set, so that a fraction `share`
 * of those prompts score above it and go to the strong model (the route strategy sends a
 * request to the strong model when score > threshold). A budget in USD per 1,000 requests is
 * first turned into the share that spends it on average: share = (B/1000 − c_weak)/(c_strong −
 * c_weak), clamped to [0, 1], with c the models' mean USD per request on the calibration set.
 */
import { TandemError } from "../core/errors.js";
import { quantileSorted } from "./metrics.js";

/** The threshold sending fraction `strongShare` ∈ [0, 1] of `scores` to the strong model, rounded to 5 decimals as RouteLLM. */
export function calibrateThreshold(scores: readonly number[], strongShare: number): number {
  if (!(strongShare >= 0 && strongShare <= 1)) throw new TandemError("invalid_request", `strong share must be in [0, 1], got ${strongShare}`);
  if (scores.length === 0) throw new TandemError("invalid_request", "no scores to calibrate on");
  const sorted = [...scores].sort((a, b) => a - b);
  return Math.round(quantileSorted(sorted, 1 - strongShare) * 1e5) / 1e5;
}

/** Strong share that spends `budgetPer1k` USD per 1,000 requests given mean USD per request of the weak and strong model. */
export function shareForBudget(budgetPer1k: number, weakCost: number, strongCost: number): number {
  if (!(strongCost > weakCost)) throw new TandemError("invalid_request", `budget calibration needs the strong model dearer than the weak (${strongCost} ≤ ${weakCost} USD/request)`);
  return Math.min(1, Math.max(0, (budgetPer1k / 1000 - weakCost) / (strongCost - weakCost)));
}

/**
 * The routing papers' metrics, computed as their own code computes them.
 *
 * These are pure functions of curve points; who served each query at each point is decided by
 * the strategies themselves (served.ts), not here.
 *
 * RouteLLM (Ong et al. 2024, `routellm/evals/{benchmarks,evaluate}.py`):
 * - thresholds: the 11 edges of 10 equal-count quantile bins of the router's scores
 *   (`pd.qcut(scores, 10, retbins=True)`, linear interpolation). RouteLLM's evaluation sends a
 *   query strong when `score >= threshold` (`>` at the last edge); Tandem's `route` strategy, which
 *   serves every evaluated point, uses `score > threshold` at all of them (see docs/routing.md for
 *   what that moves: queries whose score ties an edge);
 * - APGR = (AUC_router − AUC_weak) / (AUC_strong − AUC_weak), AUCs by the trapezoid rule over the
 *   strong-call share (as a fraction) of the points sorted by that share;
 * - CPT(x) = strong-call share at which accuracy reaches acc_weak + x·(acc_strong − acc_weak), by
 *   linear interpolation of the curve (`np.interp`). We take the first crossing along increasing
 *   share, which equals `np.interp` whenever accuracy rises with share (np.interp's result is
 *   undefined for non-monotone curves);
 * - the oracle ("optimal") accuracy at share s: weak correct + min(s·n, #queries the strong model
 *   wins), generalised here to graded scores by taking the largest gains first.
 *
 * RouterBench (Hu et al. 2024, `calc_AIQ`): AIQ = area under the non-decreasing convex hull of
 * the (cost, quality) points, extended flat to the largest cost, divided by that cost.
 *
 * Units: accuracies/qualities are fractions in [0, 1] (RouteLLM prints percent; ratios are
 * unchanged), shares are fractions of queries, costs are USD.
 */

/** One operating point of a strategy's cost–quality curve. */
export interface CurvePoint {
  /** Router threshold, λ, or escalation threshold that produced the point. */
  threshold: number;
  /** Fraction of queries that called the strong model (for multi-model: the most expensive one). */
  strongShare: number;
  /** Mean score in [0, 1]. */
  accuracy: number;
  /** Mean USD per query. */
  cost: number;
}

/** Value at quantile q ∈ [0, 1] of ascending-sorted values, with linear interpolation (numpy's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** RouteLLM's thresholds: the `bins + 1` edges of equal-count quantile bins of `scores`. */
export function quantileThresholds(scores: readonly number[], bins = 10): number[] {
  const sorted = [...scores].sort((a, b) => a - b);
  return Array.from({ length: bins + 1 }, (_, i) => quantileSorted(sorted, i / bins));
}

function sortedByShare(points: readonly CurvePoint[]): CurvePoint[] {
  return [...points].sort((a, b) => a.strongShare - b.strongShare);
}

/** Trapezoid area of accuracy over strong share (`np.trapz(acc, share)`), points sorted by share. */
export function areaUnderCurve(points: readonly CurvePoint[]): number {
  const p = sortedByShare(points);
  let area = 0;
  for (let i = 1; i < p.length; i++) area += ((p[i].accuracy + p[i - 1].accuracy) / 2) * (p[i].strongShare - p[i - 1].strongShare);
  return area;
}

/**
 * APGR (average performance gap recovered), RouteLLM: (AUC − AUC_weak)/(AUC_strong − AUC_weak),
 * where AUC_weak and AUC_strong are the constant curves at `weakAcc`/`strongAcc` over the same
 * share range. Returns NaN when `strongAcc === weakAcc` or the curve spans no share range.
 */
export function apgr(points: readonly CurvePoint[], weakAcc: number, strongAcc: number): number {
  const p = sortedByShare(points);
  if (p.length < 2) return NaN;
  const span = p[p.length - 1].strongShare - p[0].strongShare;
  const weakAuc = weakAcc * span;
  const strongAuc = strongAcc * span;
  return (areaUnderCurve(p) - weakAuc) / (strongAuc - weakAuc);
}

/**
 * CPT(x) (call-performance threshold), RouteLLM: the strong-call share needed to recover the
 * fraction `x` (e.g. 0.5) of the weak→strong accuracy gap, interpolating linearly along the
 * curve sorted by share. Below the curve's first accuracy: its share; never reached: the last
 * point's share (as np.interp clamps).
 */
export function cpt(points: readonly CurvePoint[], x: number, weakAcc: number, strongAcc: number): number {
  const p = sortedByShare(points);
  if (p.length === 0) return NaN;
  const target = weakAcc + x * (strongAcc - weakAcc);
  if (target <= p[0].accuracy) return p[0].strongShare;
  for (let i = 1; i < p.length; i++) {
    const a = p[i - 1];
    const b = p[i];
    if (b.accuracy >= target && a.accuracy < target) {
      return a.strongShare + ((target - a.accuracy) / (b.accuracy - a.accuracy)) * (b.strongShare - a.strongShare);
    }
  }
  return p[p.length - 1].strongShare;
}

/** RouteLLM metric set of one curve: APGR, AUC and CPT at 20/50/80 % (shares as fractions). */
export interface RouteMetrics {
  apgr: number;
  auc: number;
  cpt20: number;
  cpt50: number;
  cpt80: number;
}

/** All RouteLLM metrics of a curve. */
export function routeMetrics(points: readonly CurvePoint[], weakAcc: number, strongAcc: number): RouteMetrics {
  return {
    apgr: apgr(points, weakAcc, strongAcc),
    auc: areaUnderCurve(points),
    cpt20: cpt(points, 0.2, weakAcc, strongAcc),
    cpt50: cpt(points, 0.5, weakAcc, strongAcc),
    cpt80: cpt(points, 0.8, weakAcc, strongAcc),
  };
}

/**
 * The oracle's accuracy when a fraction `share` of queries may call the strong model: weak
 * scores plus the largest strong-minus-weak gains that fit (RouteLLM `get_optimal_accuracy`,
 * fractional calls allowed as there).
 */
export function oracleAccuracy(weak: readonly number[], strong: readonly number[], share: number): number {
  const n = weak.length;
  const gains = weak.map((w, i) => strong[i] - w).filter((g) => g > 0).sort((a, b) => b - a);
  let budget = share * n;
  let total = weak.reduce((s, w) => s + w, 0);
  for (const g of gains) {
    if (budget <= 0) break;
    const take = Math.min(1, budget);
    total += g * take;
    budget -= take;
  }
  return total / n;
}

/**
 * The oracle's strong-call order: queries sorted by strong-minus-weak gain, largest first
 * (ties by index), so the first ⌊s·n⌋ are the oracle's strong calls at share s.
 */
export function oracleOrder(weak: readonly number[], strong: readonly number[]): number[] {
  return weak.map((_, i) => i).sort((a, b) => strong[b] - weak[b] - (strong[a] - weak[a]) || a - b);
}

/** A (cost, quality) point for AIQ; cost in USD (total or per query, consistently). */
export interface CostQualityPoint {
  cost: number;
  quality: number;
}

/**
 * The non-decreasing upper convex hull of (cost, quality) points (RouterBench's
 * `get_non_descreasing_convex_hull_of`): the upper hull by cost, cut after its highest point.
 */
export function nonDecreasingHull(points: readonly CostQualityPoint[]): CostQualityPoint[] {
  const p = [...points].sort((a, b) => a.cost - b.cost || b.quality - a.quality);
  const hull: CostQualityPoint[] = [];
  for (const q of p) {
    if (hull.length && hull[hull.length - 1].cost === q.cost) continue; // same cost, lower quality
    while (hull.length >= 2) {
      const a = hull[hull.length - 2];
      const b = hull[hull.length - 1];
      // drop b when it lies on or below the segment a→q
      const cross = (b.cost - a.cost) * (q.quality - a.quality) - (b.quality - a.quality) * (q.cost - a.cost);
      if (cross >= 0) hull.pop();
      else break;
    }
    hull.push(q);
  }
  let best = 0;
  for (let i = 1; i < hull.length; i++) if (hull[i].quality > hull[best].quality) best = i;
  return hull.slice(0, best + 1);
}

/**
 * AIQ (average improvement in quality), RouterBench: the area under the non-decreasing hull of
 * `points`, extended flat to `maxCost`, over `[first hull cost, maxCost]`, divided by `maxCost`.
 * `maxCost` defaults to the largest cost among the points; to compare strategies pass the same
 * value to all (RouterBench uses the largest cost over all compared routers).
 */
export function aiq(points: readonly CostQualityPoint[], maxCost?: number): number {
  if (points.length === 0) return NaN;
  const hull = nonDecreasingHull(points);
  const xMax = maxCost ?? Math.max(...points.map((p) => p.cost));
  if (!(xMax > 0)) return NaN;
  const ext = [...hull];
  if (ext[ext.length - 1].cost < xMax) ext.push({ cost: xMax, quality: ext[ext.length - 1].quality });
  let area = 0;
  for (let i = 1; i < ext.length; i++) area += ((ext[i].quality + ext[i - 1].quality) / 2) * (ext[i].cost - ext[i - 1].cost);
  return area / xMax;
}

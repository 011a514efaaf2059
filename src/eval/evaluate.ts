/**
 * Replays strategies over recorded outcomes: for each query and each operating point
 * (router threshold, escalation threshold or λ), which model(s) served it, the score obtained
 * and the USD spent — the per-query `decisions` — and the resulting cost–quality curves with the
 * papers' metrics. No model is called: the outcome of every model on every query is recorded.
 */
import { outcomeOf, type ReplayRecord } from "./dataset.js";
import { aiq, oracleOrder, quantileThresholds, routeMetrics, selectsStrong, type CurvePoint, type RouteMetrics } from "./metrics.js";
import { majorityAnswer } from "./import-mot.js";

/** One query at one operating point. */
export interface DecisionRow {
  /** Name of the strategy (e.g. "route:tfidf-lr", "random", "oracle"). */
  strategy: string;
  id: string;
  /** Index of the operating point within the strategy (thresholds may repeat). */
  point: number;
  /** Router threshold, escalation threshold, oracle share or λ of the operating point. */
  threshold: number;
  /** Models called, in order; the last one served the answer. */
  models: string[];
  /** Score of the served answer, in [0, 1]. */
  score: number;
  /** USD spent on this query (all calls). */
  cost: number;
  /** True when the strong model was called. */
  strong: boolean;
}

/** The curve and metrics of one strategy. */
export interface StrategyResult {
  name: string;
  kind: "route" | "random" | "oracle" | "cascade" | "multi-route" | "single";
  points: CurvePoint[];
  /** RouteLLM metrics (binary settings). */
  metrics?: RouteMetrics;
  /** RouterBench AIQ (multi-model settings), with the report's common max cost. */
  aiq?: number;
  note?: string;
}

/** Accuracy and mean USD per query of one model alone. */
export interface ModelSummary {
  model: string;
  accuracy: number;
  cost: number;
}

/** Accuracy and mean cost of `model` alone on `records`. */
export function summarizeModel(records: readonly ReplayRecord[], model: string): ModelSummary {
  let acc = 0;
  let cost = 0;
  for (const r of records) {
    const o = outcomeOf(r, model);
    acc += o.score;
    cost += o.cost;
  }
  return { model, accuracy: acc / records.length, cost: cost / records.length };
}

/** Curve point of a group of decision rows at one operating point. */
function pointOf(rows: readonly DecisionRow[], threshold: number): CurvePoint {
  let strong = 0;
  let score = 0;
  let cost = 0;
  for (const r of rows) {
    if (r.strong) strong++;
    score += r.score;
    cost += r.cost;
  }
  return { threshold, strongShare: strong / rows.length, accuracy: score / rows.length, cost: cost / rows.length };
}

/** Groups rows by operating point (`point`, in first-seen order) and returns their curve points. */
export function curveFromDecisions(rows: readonly DecisionRow[]): CurvePoint[] {
  const groups = new Map<number, DecisionRow[]>();
  for (const r of rows) {
    let g = groups.get(r.point);
    if (!g) groups.set(r.point, (g = []));
    g.push(r);
  }
  return [...groups.values()].map((g) => pointOf(g, g[0].threshold));
}

/**
 * A binary route strategy replayed with router `scores` (one per record) at RouteLLM's 11
 * quantile thresholds (or `thresholds`). Returns the decisions and the result with APGR/CPT.
 */
export function evaluateBinaryRoute(
  records: readonly ReplayRecord[],
  weak: string,
  strong: string,
  scores: readonly number[],
  name: string,
  kind: StrategyResult["kind"] = "route",
  thresholds?: readonly number[],
): { result: StrategyResult; decisions: DecisionRow[] } {
  const ts = thresholds ?? quantileThresholds(scores);
  const decisions: DecisionRow[] = [];
  ts.forEach((t, k) => {
    const last = k === ts.length - 1;
    records.forEach((r, i) => {
      const toStrong = selectsStrong(scores[i], t, last);
      const m = toStrong ? strong : weak;
      const o = outcomeOf(r, m);
      decisions.push({ strategy: name, id: r.id, point: k, threshold: t, models: [m], score: o.score, cost: o.cost, strong: toStrong });
    });
  });
  return { result: finishBinary(records, weak, strong, name, kind, decisions), decisions };
}

function finishBinary(records: readonly ReplayRecord[], weak: string, strong: string, name: string, kind: StrategyResult["kind"], decisions: DecisionRow[]): StrategyResult {
  const points = curveFromDecisions(decisions);
  const w = summarizeModel(records, weak).accuracy;
  const s = summarizeModel(records, strong).accuracy;
  return { name, kind, points, metrics: routeMetrics(points, w, s) };
}

/**
 * The oracle (RouteLLM's "optimal"): at strong-call share s ∈ {0, 0.1, …, 1}, the ⌊s·n + ½⌋
 * queries with the largest strong-minus-weak gain go strong (an integer number of calls; RouteLLM
 * allows a fractional one, a difference below 1/n).
 */
export function evaluateOracle(records: readonly ReplayRecord[], weak: string, strong: string, steps = 10): { result: StrategyResult; decisions: DecisionRow[] } {
  const w = records.map((r) => outcomeOf(r, weak).score);
  const s = records.map((r) => outcomeOf(r, strong).score);
  const order = oracleOrder(w, s);
  const rank = new Array<number>(records.length);
  order.forEach((i, pos) => (rank[i] = pos));
  const decisions: DecisionRow[] = [];
  for (let k = 0; k <= steps; k++) {
    const share = k / steps;
    const m = Math.round(share * records.length);
    records.forEach((r, i) => {
      const toStrong = rank[i] < m;
      const model = toStrong ? strong : weak;
      const o = outcomeOf(r, model);
      decisions.push({ strategy: "oracle", id: r.id, point: k, threshold: share, models: [model], score: o.score, cost: o.cost, strong: toStrong });
    });
  }
  return { result: finishBinary(records, weak, strong, "oracle", "oracle", decisions), decisions };
}

/** Majority share of a record's recorded samples for `model` (count of the top answer / samples, nulls included). */
export function majorityShare(record: ReplayRecord, model: string): number {
  const samples = outcomeOf(record, model).samples ?? [];
  if (samples.length === 0) return 1;
  return majorityAnswer(samples.map((x) => x.answer)).count / samples.length;
}

/**
 * A self-consistency cascade (MoT's "vote", FrugalGPT-style): the weak model answers with its
 * recorded samples; when the majority answer's share is below the threshold the query escalates
 * to the strong model. Cost = weak call + strong call when escalated. Served score = the weak
 * majority's score, or the strong model's.
 */
export function evaluateVoteCascade(
  records: readonly ReplayRecord[],
  weak: string,
  strong: string,
  thresholds: readonly number[],
  name = "cascade:vote",
): { result: StrategyResult; decisions: DecisionRow[] } {
  const decisions: DecisionRow[] = [];
  for (const [k, t] of thresholds.entries()) {
    for (const r of records) {
      const wo = outcomeOf(r, weak);
      const escalate = majorityShare(r, weak) < t;
      if (escalate) {
        const so = outcomeOf(r, strong);
        decisions.push({ strategy: name, id: r.id, point: k, threshold: t, models: [weak, strong], score: so.score, cost: wo.cost + so.cost, strong: true });
      } else decisions.push({ strategy: name, id: r.id, point: k, threshold: t, models: [weak], score: wo.score, cost: wo.cost, strong: false });
    }
  }
  return { result: finishBinary(records, weak, strong, name, "cascade", decisions), decisions };
}

/** Default λ grid of the multi-model sweep: 0 and 48 log-spaced values in [1e-3, 1e2]. */
export const DEFAULT_LAMBDAS: number[] = [0, ...Array.from({ length: 48 }, (_, i) => Math.pow(10, -3 + (5 * i) / 47))];

/**
 * A multi-model route strategy: per query, `predicted[i][m]` scores of `models`, and the model
 * maximising predicted − λ·cost/maxCost (costs = `routerCosts`, mean USD per query) is served.
 * `strong` (for the strong share) is the most expensive model.
 */
export function evaluateMultiRoute(
  records: readonly ReplayRecord[],
  models: readonly string[],
  predicted: readonly number[][],
  routerCosts: readonly number[],
  name: string,
  kind: StrategyResult["kind"] = "multi-route",
  lambdas: readonly number[] = DEFAULT_LAMBDAS,
): { result: StrategyResult; decisions: DecisionRow[] } {
  const maxCost = Math.max(...routerCosts, 1e-12);
  const rel = routerCosts.map((c) => c / maxCost);
  const strongIdx = routerCosts.indexOf(Math.max(...routerCosts));
  const decisions: DecisionRow[] = [];
  for (const [k, lambda] of lambdas.entries()) {
    records.forEach((r, i) => {
      let best = 0;
      let bestV = -Infinity;
      for (let m = 0; m < models.length; m++) {
        const v = predicted[i][m] - lambda * rel[m];
        if (v > bestV + 1e-12 || (Math.abs(v - bestV) <= 1e-12 && rel[m] < rel[best])) {
          best = m;
          bestV = v;
        }
      }
      const o = outcomeOf(r, models[best]);
      decisions.push({ strategy: name, id: r.id, point: k, threshold: lambda, models: [models[best]], score: o.score, cost: o.cost, strong: best === strongIdx });
    });
  }
  return { result: { name, kind, points: curveFromDecisions(decisions) }, decisions };
}

/** Adds AIQ to multi-model results, all normalised by the same `maxCost` (USD per query). */
export function withAiq(results: StrategyResult[], maxCost: number): StrategyResult[] {
  return results.map((r) => ({ ...r, aiq: aiq(r.points.map((p) => ({ cost: p.cost, quality: p.accuracy })), maxCost) }));
}

/**
 * Cost (mean USD per query) at which a curve first reaches `accuracy` (linear interpolation
 * along increasing cost over the non-decreasing hull), or null when it never does.
 */
export function costAtAccuracy(points: readonly CurvePoint[], accuracy: number): number | null {
  const p = [...points].sort((a, b) => a.cost - b.cost);
  let best: CurvePoint | undefined;
  for (const q of p) {
    if (q.accuracy >= accuracy) {
      if (!best) return q.cost;
      return best.cost + ((accuracy - best.accuracy) / (q.accuracy - best.accuracy)) * (q.cost - best.cost);
    }
    if (!best || q.accuracy > best.accuracy) best = q;
  }
  return null;
}

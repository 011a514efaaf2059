/**
 * Evaluates strategies on recorded outcomes by serving them: for each query and each operating
 * point (router threshold, escalation threshold or λ), the real strategy (route, cascade; the
 * multi-model router's choice) runs over replay models of the recorded outcomes (served.ts), and
 * what it served — which model(s), the recorded score of the served answer, the USD spent — is a
 * row of the per-query `decisions`; the cost–quality curves and the papers' metrics are computed
 * from those rows. No model is called: the outcome of every model on every query is recorded.
 */
import { TandemError } from "../core/errors.js";
import type { ReplayModel } from "../providers/replay.js";
import type { MultiPredictorKind } from "../strategies/route/multi-model.js";
import type { Router } from "../strategies/route/router.js";
import { outcomeOf, type ReplayRecord } from "./dataset.js";
import { aiq, oracleOrder, quantileThresholds, routeMetrics, type CurvePoint, type RouteMetrics } from "./metrics.js";
import { oracleRouter, oracleThresholds, scoresOf, serveCascadeSweep, serveMultiSweep, serveRouteSweep } from "./served.js";

/** One query at one operating point. */
export interface DecisionRow {
  /** Name of the strategy (e.g. "route:tfidf-lr", "random", "oracle"). */
  strategy: string;
  id: string;
  /** Index of the operating point within the strategy (thresholds may repeat). */
  point: number;
  /** Router threshold (the oracle's: 1 − strong calls/n), escalation threshold or λ of the operating point. */
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
 * The `route` strategy with `router` served over the replay models at RouteLLM's 11 quantile
 * thresholds of the router's scores (or `thresholds`): see served.ts. Returns the decisions and
 * the result with APGR/CPT. Errors: `invalid_request` for a record without an outcome.
 */
export async function evaluateBinaryRoute(
  records: readonly ReplayRecord[],
  replay: ReadonlyMap<string, ReplayModel>,
  options: { weak: string; strong: string; router: Router; name: string; kind?: StrategyResult["kind"]; thresholds?: readonly number[] },
): Promise<{ result: StrategyResult; decisions: DecisionRow[] }> {
  const ts = options.thresholds ?? quantileThresholds(scoresOf(options.router, records));
  const decisions = await serveRouteSweep(records, { weak: leaf(replay, options.weak), strong: leaf(replay, options.strong), router: options.router, thresholds: ts, name: options.name });
  return { result: finishBinary(records, options.weak, options.strong, options.name, options.kind ?? "route", decisions), decisions };
}

function leaf(replay: ReadonlyMap<string, ReplayModel>, model: string): ReplayModel {
  const m = replay.get(model);
  if (!m) throw new TandemError("invalid_request", `No replay model for '${model}'`);
  return m;
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
 * allows a fractional one, a difference below 1/n) — served by the `route` strategy with the
 * hindsight {@link oracleRouter}; a row's threshold is that router's (1 − calls/n).
 */
export async function evaluateOracle(records: readonly ReplayRecord[], replay: ReadonlyMap<string, ReplayModel>, weak: string, strong: string, steps = 10): Promise<{ result: StrategyResult; decisions: DecisionRow[] }> {
  const w = records.map((r) => outcomeOf(r, weak).score);
  const s = records.map((r) => outcomeOf(r, strong).score);
  return evaluateBinaryRoute(records, replay, { weak, strong, router: oracleRouter(records, oracleOrder(w, s)), name: "oracle", kind: "oracle", thresholds: oracleThresholds(records.length, steps) });
}

/**
 * A self-consistency cascade (MoT's "vote", FrugalGPT-style), served by the `cascade` strategy
 * (signal `self-consistency`) over the replay models: the weak model's recorded samples are its
 * votes (as many as the records recorded, the same number for all), and the query escalates to
 * the strong model when the majority's share is below the threshold. Throws
 * `TandemError("invalid_request")` when the weak outcomes recorded fewer than 2 samples or
 * different numbers of them.
 */
export async function evaluateVoteCascade(
  records: readonly ReplayRecord[],
  replay: ReadonlyMap<string, ReplayModel>,
  weak: string,
  strong: string,
  thresholds: readonly number[],
  name = "cascade:vote",
): Promise<{ result: StrategyResult; decisions: DecisionRow[] }> {
  const counts = new Set(records.map((r) => outcomeOf(r, weak).samples?.length ?? 0));
  const samples = [...counts][0] ?? 0;
  if (counts.size !== 1 || samples < 2) {
    throw new TandemError("invalid_request", `--strategy cascade (self-consistency) needs ≥ 2 recorded samples of '${weak}' per record, the same number for all; found ${[...counts].join(", ")}`);
  }
  const decisions = await serveCascadeSweep(records, { weak: leaf(replay, weak), strong: leaf(replay, strong), samples, thresholds, name });
  return { result: finishBinary(records, weak, strong, name, "cascade", decisions), decisions };
}

/** Default λ grid of the multi-model sweep: 0 and 48 log-spaced values in [1e-3, 1e2]. */
export const DEFAULT_LAMBDAS: number[] = [0, ...Array.from({ length: 48 }, (_, i) => Math.pow(10, -3 + (5 * i) / 47))];

/**
 * Multi-model routing: per query, `predicted[i][m]` scores of `models`; `MultiModelRouter`'s
 * choice (predicted − λ·cost/maxCost maximised, costs = `routerCosts`, mean USD per query) picks
 * the model whose replay model serves it (served.ts). `strong` (for the strong share) is the
 * most expensive model.
 */
export async function evaluateMultiRoute(
  records: readonly ReplayRecord[],
  replay: ReadonlyMap<string, ReplayModel>,
  options: { models: readonly string[]; predicted: readonly number[][]; routerCosts: readonly number[]; predictorKind: MultiPredictorKind; name: string; kind?: StrategyResult["kind"]; lambdas?: readonly number[] },
): Promise<{ result: StrategyResult; decisions: DecisionRow[] }> {
  const decisions = await serveMultiSweep(records, {
    models: options.models,
    replay,
    predicted: options.predicted,
    costs: options.routerCosts,
    predictorKind: options.predictorKind,
    lambdas: options.lambdas ?? DEFAULT_LAMBDAS,
    name: options.name,
  });
  return { result: { name: options.name, kind: options.kind ?? "multi-route", points: curveFromDecisions(decisions) }, decisions };
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

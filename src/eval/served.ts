/**
 * Evaluation through the served code: the real `route` and `cascade` strategies
 * (src/strategies/route, src/strategies/cascade) — and the multi-model router's own choice rule —
 * run over {@link ReplayModel}s of the recorded outcomes, one request per query and operating
 * point. Who serves a query, what it costs and whether it escalated are read off the
 * `GenerateResult` the strategy returns (`info.servedBy`, `info.calls`, `info.costUsd`,
 * `info.escalated`); its correctness is the recorded score of the answer that was served
 * ({@link ReplayModel.recordedScore}). Nothing here decides who serves.
 *
 * Requests: one user message holding the record id (the replay models match by id, so duplicate
 * prompts stay apart). Router scores are computed once per query — from the prompt text, or
 * out-of-fold under cross-validation — and handed to the strategy by a {@link RecordedScoreRouter},
 * so the threshold comparison (`score > threshold`) and the served model are the strategy's.
 */
import { TandemError } from "../core/errors.js";
import type { GenerateRequest, GenerateResult, Model } from "../core/model.js";
import { ReplayModel } from "../providers/replay.js";
import { cascade } from "../strategies/cascade/index.js";
import { route, routerScore } from "../strategies/route/index.js";
import { MultiModelRouter, type MultiPredictorKind, type ScorePredictor } from "../strategies/route/multi-model.js";
import type { Router, RouterInput } from "../strategies/route/router.js";
import type { ReplayRecord } from "./dataset.js";
import type { DecisionRow } from "./evaluate.js";

/**
 * A router that returns scores computed beforehand (e.g. out-of-fold), keyed by the text it is
 * given (the record id of a replay request). `kind` names the router that produced them, so
 * decisions read `router:<kind>`. Throws `TandemError("invalid_request")` for an unknown key.
 */
export class RecordedScoreRouter implements Router {
  constructor(
    readonly kind: string,
    private readonly scores: ReadonlyMap<string, number>,
  ) {}

  /** From one score per record, in record order. */
  static of(kind: string, records: readonly ReplayRecord[], scores: readonly number[]): RecordedScoreRouter {
    return new RecordedScoreRouter(kind, new Map(records.map((r, i) => [r.id, scores[i]])));
  }

  score(input: RouterInput): number {
    const s = this.scores.get(input.prompt);
    if (s === undefined) throw new TandemError("invalid_request", `No recorded router score for '${input.prompt.slice(0, 60)}'`);
    return s;
  }
}

/** Predictions computed beforehand, keyed like {@link RecordedScoreRouter}, as a multi-model router's predictor. */
class RecordedPredictor implements ScorePredictor {
  constructor(private readonly predictions: ReadonlyMap<string, number[]>) {}
  predict(text: string): number[] {
    const p = this.predictions.get(text);
    if (!p) throw new TandemError("invalid_request", `No recorded predictions for '${text.slice(0, 60)}'`);
    return p;
  }
  toJSON(): unknown {
    throw new TandemError("invalid_request", "Recorded predictions are not a router file");
  }
}

/** The request that replays `record`: its id as the one user message. */
export function replayRequest(record: Pick<ReplayRecord, "id">): GenerateRequest {
  return { messages: [{ role: "user", content: record.id }] };
}

/** Replay models (matched by record id) of `models` over `records`, by model name. */
export function replayModels(records: readonly ReplayRecord[], models: readonly string[]): Map<string, ReplayModel> {
  return new Map(models.map((m) => [m, new ReplayModel(m, records, { matchBy: "id" })]));
}

/** What a served request is recorded as, beside the operating point. */
interface Served {
  models: string[];
  score: number;
  cost: number;
  servedBy: string;
  escalated: boolean;
}

/**
 * Reads a served result: called models (consecutive repeats merged, e.g. self-consistency
 * samples), the recorded score of the served answer, USD spent. `byId` maps the leaf ids the
 * strategy can serve to their replay models. Throws `TandemError("internal_error")` when the
 * served text is not a recorded answer of the serving model.
 */
function read(request: GenerateRequest, result: GenerateResult, byId: ReadonlyMap<string, ReplayModel>): Served {
  const leaf = byId.get(result.info.servedBy);
  const score = leaf?.recordedScore(request.messages, result.text);
  if (score === undefined) throw new TandemError("internal_error", `Served answer of '${result.info.servedBy}' for '${String(request.messages[0]?.content)}' is not a recorded answer`);
  const models: string[] = [];
  for (const c of result.info.calls) if (models[models.length - 1] !== c.model) models.push(c.model);
  return { models, score, cost: result.info.costUsd, servedBy: result.info.servedBy, escalated: result.info.escalated };
}

/** Serves every record through `model` (one request each, in order). */
async function serveAll(model: Model, records: readonly ReplayRecord[], byId: ReadonlyMap<string, ReplayModel>): Promise<Served[]> {
  const out: Served[] = [];
  for (const r of records) {
    const request = replayRequest(r);
    out.push(read(request, await model.generate(request), byId));
  }
  return out;
}

/** The router's score of each record's replay request (the strategy's own `routerScore`). */
export function scoresOf(router: Router, records: readonly ReplayRecord[]): number[] {
  return records.map((r) => routerScore(router, replayRequest(r)));
}

/**
 * A threshold sweep of the `route` strategy: for each threshold, `route({ weak, strong, router,
 * threshold })` serves every record. Rows: `strong` = the strategy escalated (score > threshold).
 * Throws the strategy's `invalid_policy` for a threshold outside [0, 1].
 */
export async function serveRouteSweep(
  records: readonly ReplayRecord[],
  options: { weak: ReplayModel; strong: ReplayModel; router: Router; thresholds: readonly number[]; name: string; onPoint?: (k: number) => void },
): Promise<DecisionRow[]> {
  const byId = new Map([options.weak, options.strong].map((m) => [m.id, m]));
  const rows: DecisionRow[] = [];
  for (const [k, threshold] of options.thresholds.entries()) {
    const model = route({ weak: options.weak, strong: options.strong, router: options.router, threshold });
    const served = await serveAll(model, records, byId);
    served.forEach((s, i) => rows.push({ strategy: options.name, id: records[i].id, point: k, threshold, models: s.models, score: s.score, cost: s.cost, strong: s.escalated }));
    options.onPoint?.(k);
  }
  return rows;
}

/**
 * The oracle (RouteLLM's "optimal") as a router: record at rank r of `order` (largest
 * strong-minus-weak gain first) scores 1 − (r + ½)/n, and threshold 1 − m/n sends exactly the
 * first m ranks strong through the route strategy's `score > threshold`.
 */
export function oracleRouter(records: readonly ReplayRecord[], order: readonly number[]): RecordedScoreRouter {
  const n = records.length;
  const scores = new Array<number>(n);
  order.forEach((i, rank) => (scores[i] = 1 - (rank + 0.5) / n));
  return RecordedScoreRouter.of("oracle", records, scores);
}

/** Thresholds of {@link oracleRouter} for strong shares 0, 1/steps, …, 1 (⌊s·n + ½⌋ strong calls each). */
export function oracleThresholds(n: number, steps = 10): number[] {
  return Array.from({ length: steps + 1 }, (_, k) => 1 - Math.round((k / steps) * n) / n);
}

/**
 * A threshold sweep of the `cascade` strategy with the `self-consistency` signal: the weak
 * replay model serves `samples` recorded samples (seeds 0 … samples − 1), the strategy votes
 * and escalates when the majority's share is below the threshold. Rows: `strong` = escalated.
 */
export async function serveCascadeSweep(
  records: readonly ReplayRecord[],
  options: { weak: ReplayModel; strong: ReplayModel; samples: number; thresholds: readonly number[]; name: string },
): Promise<DecisionRow[]> {
  const byId = new Map([options.weak, options.strong].map((m) => [m.id, m]));
  const rows: DecisionRow[] = [];
  for (const [k, threshold] of options.thresholds.entries()) {
    const model = cascade({ weak: options.weak, strong: options.strong, signal: "self-consistency", threshold, samples: options.samples });
    const served = await serveAll(model, records, byId);
    served.forEach((s, i) => rows.push({ strategy: options.name, id: records[i].id, point: k, threshold, models: s.models, score: s.score, cost: s.cost, strong: s.escalated }));
  }
  return rows;
}

/**
 * A λ sweep of multi-model routing: `MultiModelRouter.choose` (the router's own rule: argmax
 * predicted − λ·cost/max cost, ties to the cheaper) picks the model from `predicted[i]` (in
 * `models` order), whose replay model serves the record. `strong` = the most expensive model
 * (by `costs`) served. There is no multi-model strategy kind yet, so the choice is the router's
 * and the serving the replay model's.
 */
export async function serveMultiSweep(
  records: readonly ReplayRecord[],
  options: { models: readonly string[]; replay: ReadonlyMap<string, ReplayModel>; predicted: readonly number[][]; costs: readonly number[]; predictorKind: MultiPredictorKind; lambdas: readonly number[]; name: string },
): Promise<DecisionRow[]> {
  const predictions = new Map(records.map((r, i) => [r.id, [...options.predicted[i]]]));
  const router = new MultiModelRouter(options.predictorKind, new RecordedPredictor(predictions), [...options.models], [...options.costs]);
  const strongModel = options.models[options.costs.indexOf(Math.max(...options.costs))];
  const byId = new Map([...options.replay.values()].map((m) => [m.id, m]));
  const rows: DecisionRow[] = [];
  for (const [k, lambda] of options.lambdas.entries()) {
    for (const r of records) {
      const request = replayRequest(r);
      const choice = router.choose({ prompt: r.id }, lambda);
      const leaf = options.replay.get(choice.model);
      if (!leaf) throw new TandemError("invalid_request", `No replay model for '${choice.model}'`);
      const s = read(request, await leaf.generate(request), byId);
      rows.push({ strategy: options.name, id: r.id, point: k, threshold: lambda, models: s.models, score: s.score, cost: s.cost, strong: choice.model === strongModel });
    }
  }
  return rows;
}

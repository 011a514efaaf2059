/**
 * One evaluation run, as `tandem eval` and the bench do it: pick the records, get router scores
 * (from a router file, or out-of-fold by k-fold cross-validation of a router kind), serve the
 * strategy — the real `route` / `cascade` over replay models of the recorded outcomes
 * (served.ts) — beside the random and oracle baselines (also served by `route`), and assemble
 * the report.
 */
import { TandemError } from "../core/errors.js";
import { loadRouterFile } from "../strategies/route/registry.js";
import { MultiModelRouter } from "../strategies/route/multi-model.js";
import { RandomRouter } from "../strategies/route/routers/random.js";
import type { Router, RouterFile } from "../strategies/route/router.js";
import { readFileSync } from "node:fs";
import { crossValidate } from "./cross-validation.js";
import { commonModels, filterSplit, outcomeOf, promptText, type ReplayRecord } from "./dataset.js";
import {
  evaluateBinaryRoute,
  evaluateMultiRoute,
  evaluateOracle,
  evaluateVoteCascade,
  summarizeModel,
  withAiq,
  type DecisionRow,
  type StrategyResult,
} from "./evaluate.js";
import { routeMetrics } from "./metrics.js";
import { evaluateMotCascade } from "./mot-cascade.js";
import type { EvalReport } from "./report.js";
import { RecordedScoreRouter, replayModels } from "./served.js";
import { trainBinaryRouter, trainMultiModelRouter } from "./train-router.js";
import type { MultiPredictorKind } from "../strategies/route/multi-model.js";

/** Strategies `tandem eval --strategy` accepts. */
export const EVAL_STRATEGIES = ["random", "oracle", "route", "cascade"] as const;

/** Options of {@link runEval}. */
export interface RunEvalOptions {
  /** Label of the dataset in the report (usually its path). */
  dataset: string;
  records: readonly ReplayRecord[];
  split?: string;
  strategy: string;
  /** Path of a router.json (binary kinds, or `multi-model` with `models`). */
  router?: string;
  /** Router kind to cross-validate instead of a router file (e.g. "tfidf-lr", "multi-knn"). */
  routerKind?: string;
  /** Number of folds for `routerKind` (default 5). */
  folds?: number;
  /** Seed of folds, training and the random baseline (default 0). */
  seed?: number;
  weak?: string;
  strong?: string;
  /** Multi-model routing over these models (RouterBench setting). */
  models?: string[];
  /** Escalation thresholds of the cascade (default MoT's date list). */
  thresholds?: number[];
  /** Serve the random and oracle baselines beside the strategy (binary setting). Default true. */
  baselines?: boolean;
  /** Called as work advances (done, total), for a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

/** Picks weak/strong: given, or the cheaper/dearer of a two-model dataset. */
function resolvePair(records: readonly ReplayRecord[], weak?: string, strong?: string): { weak: string; strong: string } {
  if (weak && strong) return { weak, strong };
  const models = commonModels(records);
  if (models.length !== 2) throw new TandemError("invalid_request", `Pass --weak and --strong (or --models): the dataset records ${models.length} models (${models.join(", ")})`);
  const [a, b] = models.map((m) => summarizeModel(records, m));
  return a.cost <= b.cost ? { weak: a.model, strong: b.model } : { weak: b.model, strong: a.model };
}

/**
 * Runs one evaluation. Rejects with `TandemError("invalid_request")` for an unknown strategy, a
 * route strategy without `router`/`routerKind`, an empty split, missing outcomes, or a cascade
 * on data without recorded samples.
 */
export async function runEval(options: RunEvalOptions): Promise<{ report: EvalReport; decisions: DecisionRow[] }> {
  if (!(EVAL_STRATEGIES as readonly string[]).includes(options.strategy)) {
    throw new TandemError("invalid_request", `Unknown strategy '${options.strategy}'; known: ${EVAL_STRATEGIES.join(", ")}`);
  }
  const records = filterSplit(options.records, options.split);
  if (records.length === 0) throw new TandemError("invalid_request", `No records${options.split ? ` in split '${options.split}'` : ""} of ${options.dataset}`);
  const seed = options.seed ?? 0;
  const folds = options.folds ?? 5;
  if (options.strategy === "route" && !options.router && !options.routerKind) {
    throw new TandemError("invalid_request", "--strategy route needs --router FILE or --router-kind KIND (cross-validated)");
  }
  const settings: Record<string, unknown> = { strategy: options.strategy, seed };
  if (options.router) settings.router = options.router;
  if (options.routerKind) Object.assign(settings, { routerKind: options.routerKind, crossValidation: { k: folds, seed } });

  if (options.models && options.models.length > 0) return await runMulti(options, records, seed, folds, settings);

  // MoT cascade on MoT-imported data
  if (options.strategy === "cascade" && records[0].outcomes[`${options.weak ?? "gpt-3.5-turbo"}/pot1`]) {
    const mot = await evaluateMotCascade(records, { weak: options.weak, strong: options.strong, thresholds: options.thresholds });
    const { decisions, ...rest } = mot;
    const vote: StrategyResult = { name: "mot-1d-vote", kind: "cascade", points: mot.vote, metrics: routeMetrics(mot.vote, mot.weakAlone.accuracy, mot.strongAlone.accuracy) };
    const verify: StrategyResult = { name: "mot-1d-verify", kind: "cascade", points: [mot.verify] };
    options.onProgress?.(1, 1);
    return {
      report: { dataset: options.dataset, split: options.split, n: records.length, setting: "mot", weak: mot.weakAlone, strong: mot.strongAlone, strategies: [vote, verify], mot: rest, settings: { ...settings, k: mot.k, combinations: 8 } },
      decisions,
    };
  }

  const { weak, strong } = resolvePair(records, options.weak, options.strong);
  const replay = replayModels(records, [weak, strong]);
  const strategies: StrategyResult[] = [];
  const decisions: DecisionRow[] = [];
  const add = (x: { result: StrategyResult; decisions: DecisionRow[] }) => {
    strategies.push(x.result);
    for (const d of x.decisions) decisions.push(d);
  };
  if (options.strategy === "route") {
    let scores: number[];
    let name: string;
    let kind: string;
    if (options.router) {
      const router = loadRouterFile(options.router);
      name = `route:${router.kind}`;
      kind = router.kind;
      scores = records.map((r) => router.score({ prompt: promptText(r) }));
    } else {
      name = `route:${options.routerKind} (${folds}-fold CV)`;
      kind = options.routerKind!;
      scores = crossValidate(records, folds, seed, (tr) => trainBinaryRouter(options.routerKind!, tr, { weak, strong, seed }), (m: Router, r) => m.score({ prompt: promptText(r) }), (f) => options.onProgress?.(f + 1, folds));
    }
    add(await evaluateBinaryRoute(records, replay, { weak, strong, router: RecordedScoreRouter.of(kind, records, scores), name }));
  } else if (options.strategy === "cascade") {
    add(await evaluateVoteCascade(records, replay, weak, strong, options.thresholds ?? [0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1]));
  }
  // The random baseline: the route strategy with the random router, which scores the request (the record id).
  if (options.baselines !== false || options.strategy === "random" || options.strategy === "oracle") {
    add(await evaluateBinaryRoute(records, replay, { weak, strong, router: new RandomRouter(seed), name: "random", kind: "random" }));
    add(await evaluateOracle(records, replay, weak, strong));
  }
  options.onProgress?.(1, 1);
  return {
    report: { dataset: options.dataset, split: options.split, n: records.length, setting: "binary", weak: summarizeModel(records, weak), strong: summarizeModel(records, strong), strategies, settings: { ...settings, weak, strong } },
    decisions,
  };
}

async function runMulti(options: RunEvalOptions, records: ReplayRecord[], seed: number, folds: number, settings: Record<string, unknown>): Promise<{ report: EvalReport; decisions: DecisionRow[] }> {
  const models = options.models!;
  const summaries = models.map((m) => summarizeModel(records, m));
  const meanCosts = summaries.map((s) => s.cost);
  const maxCost = Math.max(...meanCosts);
  const replay = replayModels(records, models);
  const strategies: StrategyResult[] = [];
  const decisions: DecisionRow[] = [];
  if (options.strategy === "route") {
    let predicted: number[][];
    let costs: number[];
    let name: string;
    let predictorKind: MultiPredictorKind;
    if (options.router) {
      const file = JSON.parse(readFileSync(options.router, "utf8")) as RouterFile;
      const router = MultiModelRouter.fromJSON(file);
      const idx = models.map((m) => router.models.indexOf(m));
      if (idx.some((i) => i < 0)) throw new TandemError("invalid_request", `Router ${options.router} routes ${router.models.join(", ")}, not all of ${models.join(", ")}`);
      predicted = records.map((r) => {
        const p = router.predict({ prompt: promptText(r) });
        return idx.map((i) => p[i]);
      });
      costs = idx.map((i) => router.costs[i]);
      name = `route:multi-${router.predictorKind}`;
      predictorKind = router.predictorKind;
    } else {
      name = `route:${options.routerKind} (${folds}-fold CV)`;
      predicted = crossValidate(records, folds, seed, (tr) => trainMultiModelRouter(options.routerKind!, tr, models, { seed }), (m, r) => m.predict({ prompt: promptText(r) }), (f) => options.onProgress?.(f + 1, folds));
      costs = meanCosts;
      predictorKind = options.routerKind!.replace(/^multi-/, "") as MultiPredictorKind;
    }
    const x = await evaluateMultiRoute(records, replay, { models, predicted, routerCosts: costs, predictorKind, name });
    strategies.push(x.result);
    for (const d of x.decisions) decisions.push(d);
  }
  // RouterBench's zero router: random mixing of single models = the hull of their points.
  strategies.push({ name: "random (zero router)", kind: "random", points: summaries.map((s, i) => ({ threshold: i, strongShare: s.cost === maxCost ? 1 : 0, accuracy: s.accuracy, cost: s.cost })), note: "AIQ of the convex hull of the single-model points (random mixing)" });
  // The oracle: the router's choice rule with the recorded scores as predictions.
  const oracle = await evaluateMultiRoute(records, replay, { models, predicted: records.map((r) => models.map((m) => outcomeOf(r, m).score)), routerCosts: meanCosts, predictorKind: "knn", name: "oracle", kind: "oracle" });
  strategies.push(oracle.result);
  for (const d of oracle.decisions) decisions.push(d);
  options.onProgress?.(1, 1);
  return {
    report: { dataset: options.dataset, split: options.split, n: records.length, setting: "multi", models: summaries, strategies: withAiq(strategies, maxCost), aiqMaxCost: maxCost, settings: { ...settings, models } },
    decisions,
  };
}

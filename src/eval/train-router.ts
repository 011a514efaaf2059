/**
 * Training routers from replay records: the labels, and one entry point per router kind, used
 * by `tandem router train`, by cross-validation and by the bench.
 *
 * Binary label of a query (RouteLLM): how much the strong model beats the weak one,
 * max(0, score_strong − score_weak) — 1 when the strong model is right and the weak wrong, 0 on
 * ties (both right or both wrong: the weak model is good enough, or no model is).
 */
import { TandemError } from "../core/errors.js";
import { writeModelFile, type TrainRun } from "../core/training.js";
import type { Router, RouterFile } from "../strategies/route/router.js";
import { HeuristicRouter } from "../strategies/route/routers/heuristic.js";
import { KnnRouter } from "../strategies/route/routers/knn.js";
import { MfRouter } from "../strategies/route/routers/mf.js";
import { RandomRouter } from "../strategies/route/routers/random.js";
import { TfidfLrRouter, type RouterExample } from "../strategies/route/routers/tfidf-lr.js";
import { MultiModelRouter, type MultiPredictorKind } from "../strategies/route/multi-model.js";
import { commonModels, outcomeOf, promptText, type ReplayRecord } from "./dataset.js";

/** A router that can be written to `router.json`. */
export type TrainedRouter = Router & { toJSON(): RouterFile };

/** Binary router kinds `tandem router train --kind` accepts. */
export const BINARY_ROUTER_KINDS = ["random", "heuristic", "tfidf-lr", "knn", "mf"] as const;
/** Multi-model router kinds (`--kind multi-knn` etc.). */
export const MULTI_ROUTER_KINDS = ["multi-lr", "multi-knn", "multi-mf"] as const;

/** The binary training label of a record: max(0, strong − weak). */
export function strongWinLabel(record: ReplayRecord, weak: string, strong: string): number {
  return Math.max(0, outcomeOf(record, strong).score - outcomeOf(record, weak).score);
}

/** Labelled prompts for a (weak, strong) pair. */
export function binaryExamples(records: readonly ReplayRecord[], weak: string, strong: string): RouterExample[] {
  return records.map((r) => ({ prompt: promptText(r), label: strongWinLabel(r, weak, strong) }));
}

/** Options common to the trainers. */
export interface TrainOptions {
  weak: string;
  strong: string;
  /** Seed of shuffles and initialisation (default 0). */
  seed?: number;
}

/**
 * Trains a binary router of `kind` on `records`. `random` and `heuristic` need no data (the
 * random router takes `seed`). Throws `TandemError("invalid_request")` for an unknown kind or a
 * missing outcome.
 */
export function trainBinaryRouter(kind: string, records: readonly ReplayRecord[], options: TrainOptions): TrainedRouter {
  const seed = options.seed ?? 0;
  switch (kind) {
    case "random":
      return new RandomRouter(seed);
    case "heuristic":
      return new HeuristicRouter();
    case "tfidf-lr":
      return TfidfLrRouter.train(binaryExamples(records, options.weak, options.strong), { seed });
    case "knn":
      return KnnRouter.train(binaryExamples(records, options.weak, options.strong));
    case "mf":
      return MfRouter.train(
        records.map((r) => ({ prompt: promptText(r), weak: outcomeOf(r, options.weak).score, strong: outcomeOf(r, options.strong).score })),
        { seed },
      );
    default:
      throw new TandemError("invalid_request", `Unknown router kind '${kind}'; trainable kinds: ${[...BINARY_ROUTER_KINDS, ...MULTI_ROUTER_KINDS].join(", ")}`);
  }
}

/** Options of {@link trainRouterRun}. */
export interface RouterTrainOptions {
  /** Router kind: one of {@link BINARY_ROUTER_KINDS} or {@link MULTI_ROUTER_KINDS}. */
  kind: string;
  /** Binary kinds: the weak and strong model of the records. */
  weak?: string;
  strong?: string;
  /** Multi-model kinds: the models to choose among. @default every model the records have in common */
  models?: readonly string[];
  seed?: number;
  /** Where to write router.json; `null` = don't write. */
  out: string | null;
  /** Provenance written into the file (`trainedOn`), e.g. the dataset path and split. */
  trainedOn?: Record<string, unknown>;
}

/**
 * Trains a router on `records` and writes its file — the trainers' one shape ({@link TrainRun},
 * core/training.ts), as `tandem router train` uses it. The report says what it was trained on.
 * Throws `TandemError("invalid_request")` like {@link trainBinaryRouter}; binary kinds need
 * `weak` and `strong`.
 */
export function trainRouterRun(records: readonly ReplayRecord[], options: RouterTrainOptions): TrainRun<RouterFile, { kind: string; records: number; models: string[] }> {
  const t0 = performance.now();
  let file: RouterFile;
  let models: string[];
  if (options.kind.startsWith("multi-")) {
    models = [...(options.models ?? commonModels([...records]))];
    file = trainMultiModelRouter(options.kind, records, models, { seed: options.seed }).toJSON();
  } else {
    if (!options.weak || !options.strong) throw new TandemError("invalid_request", `Router kind '${options.kind}' needs a weak and a strong model`);
    models = [options.weak, options.strong];
    file = { ...trainBinaryRouter(options.kind, records, { weak: options.weak, strong: options.strong, seed: options.seed }).toJSON(), ...(options.trainedOn ? { trainedOn: { ...options.trainedOn, n: records.length, weak: options.weak, strong: options.strong } } : {}) } as RouterFile;
  }
  const trainMs = performance.now() - t0;
  return { file, out: writeModelFile(options.out, file), trainExamples: records.length, trainMs, report: { kind: options.kind, records: records.length, models } };
}

/**
 * Trains a multi-model router (`multi-lr`, `multi-knn`, `multi-mf`) over `models`, with each
 * model's mean recorded USD cost per query. Throws like {@link trainBinaryRouter}.
 */
export function trainMultiModelRouter(kind: string, records: readonly ReplayRecord[], models: readonly string[], options: { seed?: number } = {}): MultiModelRouter {
  const predictor = kind.replace(/^multi-/, "") as MultiPredictorKind;
  if (!["lr", "knn", "mf"].includes(predictor)) throw new TandemError("invalid_request", `Unknown multi-model router kind '${kind}'; known: ${MULTI_ROUTER_KINDS.join(", ")}`);
  const prompts = records.map(promptText);
  const scores = records.map((r) => models.map((m) => outcomeOf(r, m).score));
  const costs = models.map((m) => records.reduce((s, r) => s + outcomeOf(r, m).cost, 0) / Math.max(records.length, 1));
  return MultiModelRouter.train(predictor, prompts, scores, [...models], costs, { seed: options.seed ?? 0 });
}

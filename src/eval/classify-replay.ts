/**
 * Classification routing measured on recorded outcomes: the `classify` pipeline stage
 * (src/strategies/pipeline/classify.ts) served over replay models, with a label per query (the
 * MMLU subject, the data set…) and a route table learnt from the training folds.
 *
 * Protocol (k-fold cross-validation by prompt, folds fixed by seed as in cross-validation.ts, so
 * the folds are the learned routers' own in bench/routing.ts):
 * 1. On the training folds, a text classifier learns prompt → label (TfidfTextClassifier, "lr" or
 *    "knn"; or "given": the true label, the upper bound of routing by label), and each label gets
 *    its weak and strong accuracy there; gap(label) = acc_strong − acc_weak (training folds only).
 * 2. The route table at ε: label → the cheapest model whose training accuracy is within ε of
 *    the label's best, i.e. (two models) strong when gap(label) > ε, weak otherwise; labels
 *    unseen in training take the training folds' overall gap. ε = 0 is "per label, the best
 *    model"; sweeping ε traces a cost–quality curve.
 * 3. Each held-out query is served by `classify({ classifier, routes: table(ε), default: weak })`
 *    over the replay models (the prediction, made once per query out of fold, is handed to the
 *    strategy keyed by record id); correctness is the recorded score of the served answer.
 * 4. The curve's ε values are RouteLLM's 11 quantile edges of the queries' gap(predicted label)
 *    plus ε = −1 (strong for every label: the gaps take few distinct values, so the lowest edge
 *    ties many queries, which `gap > ε` would keep weak at every point and the curve would stop
 *    short of share 1); APGR and CPT are computed exactly as for the routers (metrics.ts).
 *
 * No query's own outcome or label is used to route it: tables and classifiers see the training
 * folds only.
 */
import { TandemError } from "../core/errors.js";
import type { GenerateResult } from "../core/model.js";
import type { ReplayModel } from "../providers/replay.js";
import { TfidfTextClassifier, type LabelPrediction, type TextClassifier, type TfidfClassifierOptions } from "../strategies/pipeline/classifier.js";
import { classify } from "../strategies/pipeline/classify.js";
import { foldAssignment } from "./cross-validation.js";
import { outcomeOf, promptText, type ReplayRecord } from "./dataset.js";
import { curveFromDecisions, summarizeModel, type DecisionRow, type StrategyResult } from "./evaluate.js";
import { quantileThresholds, routeMetrics } from "./metrics.js";
import { replayModels, replayRequest } from "./served.js";

/** Options of {@link evaluateClassifyRouting}. */
export interface ClassifyReplayOptions {
  /** Name of the strategy in the results, e.g. "classify:tfidf-lr (label = subject)". */
  name: string;
  weak: string;
  strong: string;
  /** The label of a record. Default: its `group` (the MMLU subject); throws `invalid_request` for a record without one. */
  labelOf?: (record: ReplayRecord) => string;
  /** How labels are predicted: a TF-IDF classifier ("lr" | "knn"), or "given" (the true label: the upper bound). Default "lr". */
  method?: "lr" | "knn" | "given";
  /** Options of the TF-IDF classifier (epochs, buckets, k…; `method` and `seed` are set from here). */
  classifierOptions?: Omit<TfidfClassifierOptions, "method" | "seed">;
  /** Folds (default 5) and seed of folds and training (default 0). */
  folds?: number;
  seed?: number;
  /** Extra operating points to report on their own (not part of the curve), as ε values. Default [0, 0.05]. */
  epsilons?: readonly number[];
}

/** One operating point of the route table: ε, its accuracy, cost and strong share. */
export interface ClassifyOperatingPoint {
  epsilon: number;
  /** Mean score in [0, 1]. */
  accuracy: number;
  /** Mean USD per query. */
  cost: number;
  /** Share of queries served by the strong model. */
  strongShare: number;
  /** Mean cost / the strong model alone's. */
  costVsStrong: number;
  /** (accuracy − weak) / (strong − weak): the share of the gap recovered at this one point. */
  gapRecovered: number;
}

/** What {@link evaluateClassifyRouting} measured. */
export interface ClassifyReplayResult {
  /** The curve over ε and its RouteLLM metrics (APGR, CPT). */
  result: StrategyResult;
  /** Out-of-fold top-1 accuracy of the label classifier (1 for "given"). */
  classifierAccuracy: number;
  /** Distinct labels. */
  labels: number;
  /** The reported operating points (`epsilons`). */
  operatingPoints: ClassifyOperatingPoint[];
  decisions: DecisionRow[];
}

/** Predictions made beforehand, keyed by record id (the replay request's text), as a classifier. */
class RecordedClassifier implements TextClassifier {
  constructor(
    readonly kind: string,
    readonly labels: readonly string[],
    private readonly predictions: ReadonlyMap<string, LabelPrediction>,
  ) {}
  classify(input: { prompt: string }): LabelPrediction {
    const p = this.predictions.get(input.prompt);
    if (!p) throw new TandemError("invalid_request", `No recorded label prediction for '${input.prompt.slice(0, 60)}'`);
    return p;
  }
}

/** Per-label training accuracy of weak and strong, and the gap. */
function labelGaps(records: readonly ReplayRecord[], labelOf: (r: ReplayRecord) => string, weak: string, strong: string): { gap: Map<string, number>; overall: number } {
  const sums = new Map<string, { n: number; w: number; s: number }>();
  let w = 0;
  let s = 0;
  for (const r of records) {
    const l = labelOf(r);
    let e = sums.get(l);
    if (!e) sums.set(l, (e = { n: 0, w: 0, s: 0 }));
    const ow = outcomeOf(r, weak).score;
    const os = outcomeOf(r, strong).score;
    e.n++;
    e.w += ow;
    e.s += os;
    w += ow;
    s += os;
  }
  return { gap: new Map([...sums].map(([l, e]) => [l, (e.s - e.w) / e.n])), overall: (s - w) / Math.max(1, records.length) };
}

/**
 * Measures classification routing (see the module comment). Errors: `invalid_request` for a
 * record without a label or an outcome of `weak`/`strong`; `RangeError` for bad folds.
 */
export async function evaluateClassifyRouting(records: readonly ReplayRecord[], options: ClassifyReplayOptions): Promise<ClassifyReplayResult> {
  const { weak, strong } = options;
  const k = options.folds ?? 5;
  const seed = options.seed ?? 0;
  const method = options.method ?? "lr";
  const labelOf =
    options.labelOf ??
    ((r: ReplayRecord) => {
      if (!r.group) throw new TandemError("invalid_request", `Record '${r.id}' has no group (label)`);
      return r.group;
    });
  const folds = foldAssignment(records.length, k, seed);
  const replay = replayModels(records, [weak, strong]);
  const weakModel = replay.get(weak)!;
  const strongModel = replay.get(strong)!;

  // 1. out-of-fold predictions and training-fold gaps
  const predictions = new Map<string, LabelPrediction>();
  const score = new Array<number>(records.length);
  const tables: Array<{ gap: Map<string, number>; overall: number }> = [];
  let correct = 0;
  const allLabels = new Set(records.map(labelOf));
  for (let f = 0; f < k; f++) {
    const train = records.filter((_, i) => folds[i] !== f);
    const table = labelGaps(train, labelOf, weak, strong);
    tables.push(table);
    const classifier = method === "given" ? undefined : TfidfTextClassifier.train(train.map((r) => ({ prompt: promptText(r), label: labelOf(r) })), { ...options.classifierOptions, method, seed });
    records.forEach((r, i) => {
      if (folds[i] !== f) return;
      const p: LabelPrediction = classifier ? classifier.classify({ prompt: promptText(r) }) : { label: labelOf(r), probability: 1 };
      predictions.set(r.id, p);
      if (p.label === labelOf(r)) correct++;
      score[i] = table.gap.get(p.label) ?? table.overall;
    });
  }
  const kind = method === "given" ? "given-label" : method === "lr" ? "tfidf-lr" : "knn";
  const classifier = new RecordedClassifier(kind, [...allLabels], predictions);

  // 2–3. serve every held-out query through `classify` with its fold's table at ε
  const byId = new Map<string, ReplayModel>([weakModel, strongModel].map((m) => [m.id, m]));
  const serveAt = async (epsilon: number, point: number): Promise<DecisionRow[]> => {
    const models = tables.map((t) => {
      const routes = Object.fromEntries([...t.gap].map(([l, g]) => [l, g > epsilon ? strongModel : weakModel]));
      // labels unseen in this fold's training data take the overall gap
      for (const l of allLabels) if (!(l in routes)) routes[l] = t.overall > epsilon ? strongModel : weakModel;
      return classify({ id: options.name, classifier, routes, default: weakModel });
    });
    const rows: DecisionRow[] = [];
    for (const [i, r] of records.entries()) {
      const request = replayRequest(r);
      const result: GenerateResult = await models[folds[i]].generate(request);
      const leaf = byId.get(result.info.servedBy);
      const s = leaf?.recordedScore(request.messages, result.text);
      if (s === undefined) throw new TandemError("internal_error", `Served answer of '${result.info.servedBy}' for '${r.id}' is not a recorded answer`);
      rows.push({ strategy: options.name, id: r.id, point, threshold: epsilon, models: result.info.calls.map((c) => c.model), score: s, cost: result.info.costUsd, strong: result.info.servedBy === strong });
    }
    return rows;
  };

  const decisions: DecisionRow[] = [];
  // RouteLLM's 11 quantile edges, plus ε = −1 (every label strong): label gaps take few distinct
  // values, so the lowest edge ties many queries and `gap > ε` would leave them weak at every point
  const epsilons = [...quantileThresholds(score), -1];
  for (const [p, epsilon] of epsilons.entries()) decisions.push(...(await serveAt(epsilon, p)));
  const points = curveFromDecisions(decisions);
  const w = summarizeModel(records, weak);
  const s = summarizeModel(records, strong);
  const operatingPoints: ClassifyOperatingPoint[] = [];
  for (const epsilon of options.epsilons ?? [0, 0.05]) {
    const [pt] = curveFromDecisions(await serveAt(epsilon, -1));
    operatingPoints.push({ epsilon, accuracy: pt.accuracy, cost: pt.cost, strongShare: pt.strongShare, costVsStrong: pt.cost / s.cost, gapRecovered: (pt.accuracy - w.accuracy) / (s.accuracy - w.accuracy) });
  }
  return {
    result: { name: options.name, kind: "route", points, metrics: routeMetrics(points, w.accuracy, s.accuracy) },
    classifierAccuracy: correct / records.length,
    labels: allLabels.size,
    operatingPoints,
    decisions,
  };
}

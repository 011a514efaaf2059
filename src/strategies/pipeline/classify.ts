/**
 * The `classify` pipeline stage — the semantic-router pattern (e.g. aurelio-labs'
 * semantic-router; RouterBench's per-task routing): before generation a classifier (a trained
 * TF-IDF classifier, or a small model prompted with the label set; classifier.ts) assigns the
 * request a label, and a route table sends each label to a model, with a `default` for labels
 * without a route and for predictions below `minProbability`.
 *
 * Unlike `route` (one score, one threshold, weak/strong), the table can name any number of
 * models; the usual table is "per label, the cheapest model whose accuracy on that label is
 * within ε of the best" (see src/eval/classify-replay.ts, which measures it on recorded
 * outcomes).
 */
import { TandemError, toTandemError, withCalls } from "../../core/errors.js";
import { combinedLocation, maxWorstCase, sumWorstCases, worstCaseOf, type Decision, type GenerateRequest, type Model, type Price } from "../../core/model.js";
import { lastUserText } from "../../core/wire.js";
import { decision, mapStreamInfo, strategyInfo, withCallsBefore } from "../info.js";
import type { LabelPrediction, TextClassifier } from "./classifier.js";

/** Options of {@link classify}. */
export interface ClassifyOptions {
  /** Served model name. Default "classify". */
  id?: string;
  classifier: TextClassifier;
  /** The route table: label → model. Labels absent here go to `default`. */
  routes: Readonly<Record<string, Model>>;
  /** The model for labels without a route, fallback labels and low-probability predictions. */
  default: Model;
  /** Predictions with probability below this (in [0, 1]) go to `default`. Default 0 (always follow the table). */
  minProbability?: number;
  /**
   * Worst case of one classifier call (USD and tokens), added to every request's bound; for an
   * SLM classifier, its model's bound on the request. Default: nothing (a local TF-IDF classifier costs nothing).
   */
  classifierModel?: Model;
}

/** A classify decision: a {@link Decision} that also carries the predicted label. */
export interface ClassifyDecision extends Decision {
  /** The label the classifier assigned (the fallback label after a parse failure). */
  label: string;
}

const priceSum = (p: Price) => p.inputPerMillion + p.outputPerMillion;

/**
 * Creates a classify-and-route model (see the module comment). The decision (`strategy:
 * "classify"`, `signal: "classifier:<kind>"`, `score` = the label's probability, `threshold` =
 * `minProbability`, plus `label`) is recorded before the served model's; an SLM classifier's call
 * comes first in `calls` (role "classifier"). `escalated` is true when the chosen model is the
 * dearest of the table (by input + output price) and dearer than the cheapest. The strategy's
 * price (its strong path) is the dearest model's; its location `cloud` if any target or the
 * classifier's model is.
 * Errors: `invalid_policy` for an empty route table or a `minProbability` outside [0, 1]; the
 * classifier's and the chosen model's errors propagate (a failing SLM classifier fails the request;
 * a failing target's error carries the classifier's call).
 */
export function classify(options: ClassifyOptions): Model {
  const id = options.id ?? "classify";
  const targets = [...new Set([...Object.values(options.routes), options.default])];
  if (Object.keys(options.routes).length === 0) throw new TandemError("invalid_policy", `classify '${id}': the route table is empty`);
  const minProbability = options.minProbability ?? 0;
  if (!(minProbability >= 0 && minProbability <= 1)) throw new TandemError("invalid_policy", `classify '${id}': minProbability must be in [0, 1], got ${minProbability}`);
  const dearest = targets.reduce((a, b) => (priceSum(b.price) > priceSum(a.price) ? b : a));
  const cheapest = Math.min(...targets.map((t) => priceSum(t.price)));
  const price = dearest.price;

  async function decide(request: GenerateRequest, signal?: AbortSignal): Promise<{ target: Model; decided: ClassifyDecision; prediction: LabelPrediction }> {
    const prediction = await options.classifier.classify({ prompt: lastUserText(request.messages), messages: request.messages }, signal);
    if (!(prediction.probability >= 0 && prediction.probability <= 1)) throw new TandemError("internal_error", `Classifier '${options.classifier.kind}' returned probability ${prediction.probability}`);
    const routed = options.routes[prediction.label];
    const confident = prediction.probability >= minProbability;
    const target = routed && confident && prediction.fallbackReason === undefined ? routed : options.default;
    const why = prediction.fallbackReason
      ? `fallback label (${prediction.fallbackReason}) → default`
      : !routed
        ? `no route for this label → default`
        : !confident
          ? `probability below ${minProbability} → default`
          : `route table`;
    const decided: ClassifyDecision = {
      ...decision({
        strategy: "classify",
        name: id,
        signal: `classifier:${options.classifier.kind}`,
        score: prediction.probability,
        threshold: minProbability,
        chosen: target.id,
        escalated: target === dearest && priceSum(target.price) > cheapest,
        reason: `label '${prediction.label}' (p ${prediction.probability.toFixed(3)}): ${why}: ${target.id}`,
      }),
      label: prediction.label,
    };
    return { target, decided, prediction };
  }

  const withClassifier = (info: Parameters<typeof withCallsBefore>[0], prediction: LabelPrediction) => (prediction.calls?.length ? withCallsBefore(info, prediction.calls) : info);

  return {
    id,
    location: combinedLocation([...targets, ...(options.classifierModel ? [options.classifierModel] : [])]),
    price,
    /** The classifier's call (if a model) plus the dearest branch. */
    worstCase: (perCall) =>
      sumWorstCases([...(options.classifierModel ? [worstCaseOf(options.classifierModel, perCall)] : []), maxWorstCase(targets.map((t) => worstCaseOf(t, perCall)))]),
    async generate(request, signal) {
      const { target, decided, prediction } = await decide(request, signal);
      const result = await target.generate(request, signal).catch((error: unknown) => {
        throw prediction.calls?.length ? withCalls(toTandemError(error), prediction.calls) : error;
      });
      const info = strategyInfo(result, decided, price);
      return { ...result, info: withClassifier(info, prediction) };
    },
    async *stream(request, signal) {
      const { target, decided, prediction } = await decide(request, signal);
      yield* mapStreamInfo(target.stream(request, signal), (r) => withClassifier(strategyInfo(r, decided, price), prediction));
    },
  };
}

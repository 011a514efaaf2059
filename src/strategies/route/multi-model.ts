/**
 * Multi-model routing for N models with costs (RouterBench, Hu et al. 2024, §4 "predictive
 * routers"): a predictor estimates every model's score on the prompt, and the router picks the
 * model maximising predicted score − λ·cost, where cost is the model's mean USD per query over
 * the training data divided by the most expensive model's (so λ is in score units per
 * "most-expensive-model query"; λ = 0 picks the best predicted model, λ → ∞ the cheapest).
 * Sweeping λ traces the router's cost–quality curve.
 *
 * Predictors: `lr` (one TF-IDF logistic regression per model), `knn` (similarity-weighted
 * neighbour scores, RouterBench's KNN router with TF-IDF instead of embeddings), `mf` (the
 * matrix factorisation of routers/mf.ts).
 */
import { TandemError } from "../../core/errors.js";
import type { RouterFile, RouterInput } from "./router.js";
import { KnnIndex, type KnnJSON } from "./routers/knn.js";
import { LogisticModel, type LogisticJSON } from "./routers/logistic.js";
import { MfModel, type MfJSON } from "./routers/mf.js";
import { TfidfVectorizer, type TfidfJSON } from "./routers/text-features.js";

/** Predictor kinds of the multi-model router. */
export type MultiPredictorKind = "lr" | "knn" | "mf";

/** Predicts each model's score on a prompt. */
export interface ScorePredictor {
  predict(text: string): number[];
  toJSON(): unknown;
}

class LrPredictor implements ScorePredictor {
  constructor(
    readonly vectorizer: TfidfVectorizer,
    readonly models: LogisticModel[],
  ) {}
  predict(text: string): number[] {
    const x = this.vectorizer.transform(text);
    return this.models.map((m) => m.predict(x));
  }
  toJSON() {
    return { vectorizer: this.vectorizer.toJSON(), models: this.models.map((m) => m.toJSON()) };
  }
}

/** The chosen model of one routing decision. */
export interface MultiModelChoice {
  model: string;
  index: number;
  /** Predicted score of every model, in `models` order. */
  predicted: number[];
}

/** Multi-model router; see the module comment. */
export class MultiModelRouter {
  readonly kind = "multi-model";
  private readonly relCost: number[];
  constructor(
    readonly predictorKind: MultiPredictorKind,
    readonly predictor: ScorePredictor,
    readonly models: string[],
    /** Mean USD per query of each model on the training data. */
    readonly costs: number[],
  ) {
    const max = Math.max(...costs, 1e-12);
    this.relCost = costs.map((c) => c / max);
  }

  /** Predicted score of each model. */
  predict(input: RouterInput): number[] {
    return this.predictor.predict(input.prompt);
  }

  /** The model maximising predicted − λ·relative cost (ties: the cheaper, then the first). */
  chooseFromPredictions(predicted: readonly number[], lambda: number): number {
    let best = 0;
    let bestValue = -Infinity;
    for (let m = 0; m < this.models.length; m++) {
      const v = predicted[m] - lambda * this.relCost[m];
      if (v > bestValue + 1e-12 || (Math.abs(v - bestValue) <= 1e-12 && this.relCost[m] < this.relCost[best])) {
        best = m;
        bestValue = v;
      }
    }
    return best;
  }

  /** Routes one request at trade-off `lambda` (≥ 0). */
  choose(input: RouterInput, lambda: number): MultiModelChoice {
    const predicted = this.predict(input);
    const index = this.chooseFromPredictions(predicted, lambda);
    return { model: this.models[index], index, predicted };
  }

  /** Trains a predictor of `kind` on prompts and per-model scores (`scores[i][m]`). */
  static train(kind: MultiPredictorKind, prompts: readonly string[], scores: number[][], models: string[], costs: number[], options: { seed?: number } = {}): MultiModelRouter {
    if (prompts.length === 0) throw new RangeError("multi-model: no training examples");
    let predictor: ScorePredictor;
    if (kind === "lr") {
      const vectorizer = TfidfVectorizer.fit(prompts);
      const xs = prompts.map((p) => vectorizer.transform(p));
      predictor = new LrPredictor(vectorizer, models.map((_, m) => LogisticModel.train(xs, scores.map((s) => s[m]), { seed: options.seed })));
    } else if (kind === "knn") {
      predictor = KnnIndex.build(prompts, scores);
    } else {
      predictor = MfModel.train(prompts, scores, models, { seed: options.seed });
    }
    return new MultiModelRouter(kind, predictor, models, costs);
  }

  toJSON(): RouterFile {
    return { kind: "multi-model", version: 1, predictor: this.predictorKind, models: this.models, costs: this.costs, model: this.predictor.toJSON() };
  }

  /** Loads a `multi-model` router file. Throws `TandemError("invalid_policy")` on a bad file. */
  static fromJSON(file: RouterFile): MultiModelRouter {
    const kind = file.predictor as MultiPredictorKind;
    const models = file.models as string[];
    const costs = file.costs as number[];
    if (file.kind !== "multi-model" || !Array.isArray(models) || !Array.isArray(costs)) throw new TandemError("invalid_policy", "Not a multi-model router file");
    let predictor: ScorePredictor;
    if (kind === "lr") {
      const j = file.model as { vectorizer: TfidfJSON; models: LogisticJSON[] };
      predictor = new LrPredictor(TfidfVectorizer.fromJSON(j.vectorizer), j.models.map((m) => LogisticModel.fromJSON(m)));
    } else if (kind === "knn") predictor = KnnIndex.fromJSON(file.model as KnnJSON);
    else if (kind === "mf") predictor = MfModel.fromJSON(file.model as MfJSON);
    else throw new TandemError("invalid_policy", `Unknown multi-model predictor '${String(kind)}'`);
    return new MultiModelRouter(kind, predictor, models, costs);
  }
}

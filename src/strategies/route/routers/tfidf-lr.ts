/**
 * The `tfidf-lr` router: logistic regression on hashed word uni+bigram TF-IDF features of the
 * prompt (text-features.ts), trained on recorded outcomes to predict that the strong model wins
 * (RouteLLM's label: strong better than weak; ties count as "weak is good enough"). A
 * bag-of-words stand-in for RouteLLM's embedding-based classifiers that needs no embedding
 * service. Deterministic given the seed; trains in about a second on 14k prompts.
 */
import type { Router, RouterFile, RouterInput } from "../router.js";
import { LogisticModel, type LogisticJSON, type LogisticOptions } from "./logistic.js";
import { TfidfVectorizer, type TfidfJSON } from "./text-features.js";

/** A labelled prompt: `label` ∈ [0, 1] = how much the strong model is needed (1 = strong wins). */
export interface RouterExample {
  prompt: string;
  label: number;
}

/** Options of {@link TfidfLrRouter.train}. */
export interface TfidfLrOptions extends LogisticOptions {
  buckets?: number;
  ngram?: number;
  minDf?: number;
}

/** TF-IDF + logistic-regression router; `score` = P(strong model needed). */
export class TfidfLrRouter implements Router {
  readonly kind = "tfidf-lr";
  constructor(
    readonly vectorizer: TfidfVectorizer,
    readonly model: LogisticModel,
  ) {}

  score(input: RouterInput): number {
    return this.model.predict(this.vectorizer.transform(input.prompt));
  }

  /** Trains on labelled prompts. Throws `RangeError` when `examples` is empty. */
  static train(examples: readonly RouterExample[], options: TfidfLrOptions = {}): TfidfLrRouter {
    if (examples.length === 0) throw new RangeError("tfidf-lr: no training examples");
    const vectorizer = TfidfVectorizer.fit(examples.map((e) => e.prompt), options);
    const xs = examples.map((e) => vectorizer.transform(e.prompt));
    return new TfidfLrRouter(vectorizer, LogisticModel.train(xs, examples.map((e) => e.label), options));
  }

  toJSON(): RouterFile {
    return { kind: "tfidf-lr", version: 1, vectorizer: this.vectorizer.toJSON(), model: this.model.toJSON() };
  }

  static fromJSON(file: RouterFile): TfidfLrRouter {
    return new TfidfLrRouter(TfidfVectorizer.fromJSON(file.vectorizer as TfidfJSON), LogisticModel.fromJSON(file.model as LogisticJSON));
  }
}

/**
 * Text classifiers for the `classify` pipeline stage (the semantic-router pattern: a label per
 * request, a route table from label to model). Two families:
 *
 * - {@link TfidfTextClassifier}: a trained classifier on the learned routers' own parts
 *   (src/strategies/route/routers/): hashed word n-gram TF-IDF features (text-features.ts) with
 *   either one-vs-rest logistic regression (logistic.ts; the OvR probabilities renormalised to
 *   sum to 1) or similarity-weighted k-nearest-neighbour voting (knn.ts's `KnnIndex` with one
 *   one-hot column per label, RouterBench's KNN router as a classifier). Trained from labelled
 *   prompts, serialized as JSON (`classifier.json`), deterministic given the seed.
 * - {@link slmClassifier}: a small (local) model prompted with the label set, either under a
 *   JSON-schema grammar (a forced tool call whose `label` is an enum: the llama-cpp provider
 *   generates it under node-llama-cpp's grammar, so even a nonsense model answers a valid label)
 *   or free text read by a strict parser; anything that is not exactly one label is a parse
 *   failure and yields the fallback label with probability 0.
 */
import { readFileSync } from "node:fs";
import { TandemError } from "../../core/errors.js";
import type { Model, ModelCall } from "../../core/model.js";
import type { RouterInput } from "../route/router.js";
import { KnnIndex, type KnnJSON, type KnnOptions } from "../route/routers/knn.js";
import { LogisticModel, type LogisticJSON, type LogisticOptions } from "../route/routers/logistic.js";
import { TfidfVectorizer, type TfidfJSON } from "../route/routers/text-features.js";

/** What a classifier says about one request. */
export interface LabelPrediction {
  /** The predicted label (one of the classifier's labels, or its fallback). */
  label: string;
  /** Probability in [0, 1] of `label` (0 when the label is a fallback after a parse failure). */
  probability: number;
  /** Probability of every label, when the classifier has them (sums to 1). */
  probabilities?: Record<string, number>;
  /** Model calls the classifier made (an SLM classifier's one call), for cost accounting. */
  calls?: ModelCall[];
  /** Why the label is the fallback, when it is (e.g. "unparsable answer 'xyz'"). */
  fallbackReason?: string;
}

/** A text classifier: assigns one of `labels` to a request. */
export interface TextClassifier {
  /** Kind name, recorded in decisions as `classifier:<kind>`, e.g. "tfidf-lr", "knn", "slm". */
  readonly kind: string;
  /** The label set. */
  readonly labels: readonly string[];
  /** Classifies one request (its last user message in `prompt`). Errors: the SLM's, for an SLM classifier. */
  classify(input: RouterInput, signal?: AbortSignal): LabelPrediction | Promise<LabelPrediction>;
}

/** A labelled prompt for {@link TfidfTextClassifier.train}. */
export interface LabelledPrompt {
  prompt: string;
  label: string;
}

/** Options of {@link TfidfTextClassifier.train}: the method (default "lr") and its parts' options. */
export interface TfidfClassifierOptions extends LogisticOptions, KnnOptions {
  method?: "lr" | "knn";
}

/** Serialized {@link TfidfTextClassifier} (`classifier.json`). */
export interface TextClassifierFile {
  kind: "text-classifier";
  version: 1;
  method: "lr" | "knn";
  labels: string[];
  /** method "lr": the vectorizer and one logistic model per label (OvR). */
  vectorizer?: TfidfJSON;
  models?: LogisticJSON[];
  /** method "knn": the index (one one-hot column per label). */
  index?: KnnJSON;
}

/** The label of the largest probability (ties: the first label). */
function argmax(labels: readonly string[], p: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return labels.length ? best : -1;
}

/** TF-IDF text classifier (one-vs-rest logistic regression or kNN); see the module comment. */
export class TfidfTextClassifier implements TextClassifier {
  readonly kind: string;
  private constructor(
    readonly method: "lr" | "knn",
    readonly labels: readonly string[],
    private readonly lr?: { vectorizer: TfidfVectorizer; models: LogisticModel[] },
    private readonly knn?: KnnIndex,
  ) {
    this.kind = method === "lr" ? "tfidf-lr" : "knn";
  }

  /** Probability of each label, in `labels` order (sums to 1). */
  predict(text: string): number[] {
    if (this.knn) return this.knn.predict(text);
    const x = this.lr!.vectorizer.transform(text);
    const p = this.lr!.models.map((m) => m.predict(x));
    const sum = p.reduce((s, v) => s + v, 0);
    return sum > 0 ? p.map((v) => v / sum) : p.map(() => 1 / p.length);
  }

  classify(input: RouterInput): LabelPrediction {
    const p = this.predict(input.prompt);
    const best = argmax(this.labels, p);
    return { label: this.labels[best], probability: p[best], probabilities: Object.fromEntries(this.labels.map((l, i) => [l, p[i]])) };
  }

  /**
   * Trains on labelled prompts; labels are the distinct `label` values, sorted. "lr": one
   * logistic model per label on a shared vectorizer (default 8 epochs, seed 0); "knn": k = 40
   * neighbours (knn.ts). Throws `RangeError` for no examples or fewer than two labels.
   */
  static train(examples: readonly LabelledPrompt[], options: TfidfClassifierOptions = {}): TfidfTextClassifier {
    if (examples.length === 0) throw new RangeError("text classifier: no training examples");
    const labels = [...new Set(examples.map((e) => e.label))].sort();
    if (labels.length < 2) throw new RangeError(`text classifier: needs at least two labels, got ${labels.length}`);
    const column = new Map(labels.map((l, i) => [l, i]));
    const prompts = examples.map((e) => e.prompt);
    const method = options.method ?? "lr";
    if (method === "knn") {
      const oneHot = examples.map((e) => labels.map((_, i) => (column.get(e.label) === i ? 1 : 0)));
      return new TfidfTextClassifier("knn", labels, undefined, KnnIndex.build(prompts, oneHot, options));
    }
    const vectorizer = TfidfVectorizer.fit(prompts, options);
    const xs = prompts.map((p) => vectorizer.transform(p));
    const models = labels.map((l) => LogisticModel.train(xs, examples.map((e) => (e.label === l ? 1 : 0)), options));
    return new TfidfTextClassifier("lr", labels, { vectorizer, models });
  }

  toJSON(): TextClassifierFile {
    return this.knn
      ? { kind: "text-classifier", version: 1, method: "knn", labels: [...this.labels], index: this.knn.toJSON() }
      : { kind: "text-classifier", version: 1, method: "lr", labels: [...this.labels], vectorizer: this.lr!.vectorizer.toJSON(), models: this.lr!.models.map((m) => m.toJSON()) };
  }

  /** Loads a serialized classifier. Throws `TandemError("invalid_policy")` on a malformed file. */
  static fromJSON(file: unknown): TfidfTextClassifier {
    const f = file as Partial<TextClassifierFile>;
    if (f?.kind !== "text-classifier" || !Array.isArray(f.labels) || f.labels.length < 2) throw new TandemError("invalid_policy", "Not a text-classifier file (needs kind 'text-classifier' and at least two labels)");
    if (f.method === "knn" && f.index) return new TfidfTextClassifier("knn", f.labels, undefined, KnnIndex.fromJSON(f.index));
    if (f.method === "lr" && f.vectorizer && Array.isArray(f.models) && f.models.length === f.labels.length) {
      return new TfidfTextClassifier("lr", f.labels, { vectorizer: TfidfVectorizer.fromJSON(f.vectorizer), models: f.models.map((m) => LogisticModel.fromJSON(m)) });
    }
    throw new TandemError("invalid_policy", `text-classifier file: method '${String(f.method)}' without its weights`);
  }

  /** Reads `classifier.json`. Throws `TandemError("invalid_policy")` for an unreadable or malformed file. */
  static fromFile(path: string): TfidfTextClassifier {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new TandemError("invalid_policy", `Cannot read classifier file ${path}: ${(error as Error).message}`, { cause: error });
    }
    return TfidfTextClassifier.fromJSON(json);
  }
}

/** Options of {@link slmClassifier}. */
export interface SlmClassifierOptions {
  /** The small model that labels the request (usually a local llama-cpp model). */
  model: Model;
  /** The label set (at least two, distinct). */
  labels: readonly string[];
  /** Optional one-line description per label, shown in the prompt. */
  descriptions?: Readonly<Record<string, string>>;
  /** The label given when the answer cannot be parsed (default: the first label). Need not be in `labels`. */
  fallback?: string;
  /**
   * "grammar" (default): a forced tool call `classify({ label })` whose `label` is an enum — a
   * llama-cpp model generates it under a JSON-schema grammar, so the label is always valid;
   * "text": free text, read by the strict parser ({@link parseLabel}).
   */
  mode?: "grammar" | "text";
  /** Completion limit of the call, tokens. Default 64 (grammar: the JSON scaffolding costs tokens on a small vocabulary) / 8 (text). */
  maxTokens?: number;
}

/**
 * The strict parser of a free-text label answer: the first line, trimmed of whitespace, quotes,
 * backticks, a trailing period and a leading "label:", must equal one label (case-insensitive).
 * Returns the label as spelled in `labels`, or undefined.
 */
export function parseLabel(answer: string, labels: readonly string[]): string | undefined {
  const first = answer.trim().split(/\r?\n/)[0] ?? "";
  const cleaned = first
    .trim()
    .replace(/^label\s*:\s*/i, "")
    .replace(/^["'`*\s]+|["'`*\s.]+$/g, "")
    .toLowerCase();
  return labels.find((l) => l.toLowerCase() === cleaned);
}

/**
 * A classifier that asks a small model for the label (see the module comment). Probability: 1
 * for a label read from the grammar-constrained call (the grammar leaves no other choice, so it
 * is not a calibrated confidence); in "text" mode, exp(Σ log-probabilities) of the answer's
 * tokens when the model returns log-probabilities, else 1; 0 for the fallback label.
 * Errors: `invalid_policy` for fewer than two or duplicate labels; the model's errors propagate.
 */
export function slmClassifier(options: SlmClassifierOptions): TextClassifier {
  const labels = [...options.labels];
  if (labels.length < 2 || new Set(labels).size !== labels.length) throw new TandemError("invalid_policy", "slm classifier: needs at least two distinct labels");
  const fallback = options.fallback ?? labels[0];
  const mode = options.mode ?? "grammar";
  const list = labels.map((l) => (options.descriptions?.[l] ? `- ${l}: ${options.descriptions[l]}` : `- ${l}`)).join("\n");
  const system = `Classify the user's request into exactly one of these labels:\n${list}\nAnswer with the label only.`;
  const tool = { type: "function" as const, function: { name: "classify", description: "The label of the request", parameters: { type: "object", properties: { label: { enum: labels } }, required: ["label"] } } };
  return {
    kind: "slm",
    labels,
    async classify(input, signal) {
      const messages = [
        { role: "system" as const, content: system },
        { role: "user" as const, content: input.prompt },
      ];
      const r =
        mode === "grammar"
          ? await options.model.generate({ messages, temperature: 0, maxTokens: options.maxTokens ?? 64, tools: [tool], toolChoice: { type: "function", function: { name: "classify" } } }, signal)
          : await options.model.generate({ messages, temperature: 0, maxTokens: options.maxTokens ?? 8, logprobs: true }, signal);
      const calls = r.info.calls.map((c) => ({ ...c, role: "classifier" }));
      let raw = r.text;
      let label: string | undefined;
      if (mode === "grammar") {
        raw = r.toolCalls?.[0]?.function.arguments ?? r.text;
        try {
          const parsed = JSON.parse(raw) as { label?: unknown };
          label = typeof parsed?.label === "string" && labels.includes(parsed.label) ? parsed.label : undefined;
        } catch {
          label = undefined;
        }
      } else label = parseLabel(raw, labels);
      if (label === undefined) return { label: fallback, probability: 0, calls, fallbackReason: `unparsable answer ${JSON.stringify(raw.slice(0, 60))}` };
      const logprob = mode === "text" && r.logprobs?.length ? r.logprobs.reduce((s, t) => s + t.logprob, 0) : 0;
      return { label, probability: Math.exp(logprob), calls };
    },
  };
}

/**
 * Tandem's small harmful-request classifier. Two model-file formats load:
 * - version 2 (`kind: "linear-text"`, task "harm", the shipped models/guard.json): logistic
 *   regression over character 3–5-grams of the de-obfuscated, entity-masked text, word 1–2-grams,
 *   structural features and (since issue #16, `features.roles`) harm-role and question-form
 *   indicators (src/safety/linear.ts, harm-roles.ts), class- and source-balanced, Platt-calibrated
 *   on a validation split, with the threshold chosen on that validation split; the file carries
 *   its training-data hash and its validation and test metrics.
 * - version 1 (`kind: "logreg-ngrams"`): word 1–2-grams + char 4-grams of the raw text, no
 *   calibration (older files).
 *
 * Data (../shared/data/safety, see `safetySplit`): unsafe = HarmBench behaviors (no copyright)
 * and XSTest's unsafe prompts; safe = harmless instructions, XSTest's safe prompts, WildGuardTest's
 * harmless prompts, NotInject and ordinary prompts carrying private data (presidio texts).
 *
 * This module holds the classifier itself and no file access, so it also runs in a browser
 * (`tandem/browser`); `classifier.ts` adds the loaders that read model files from disk.
 */
import { seededRandom, seededShuffle } from "../core/random.js";
import { foldForClassifier } from "../core/normalize.js";
import { LinearTextModel, type LinearTextModelFile } from "./linear.js";

/** A guard model file: version 2 (`linear-text`) or the older version 1 (`logreg-ngrams`). */
export type GuardClassifierFile = LinearTextModelFile | GuardClassifierFileV1;

/** Serialized version-1 classifier (`kind: "logreg-ngrams"`). */
export interface GuardClassifierFileV1 {
  kind: "logreg-ngrams";
  version: 1;
  bias: number;
  /** feature → weight (rounded to 1e-4; zero weights omitted). */
  weights: Record<string, number>;
  /** Suggested threshold on the probability (chosen on the training split for ≤ 5 % FPR). */
  threshold: number;
  provenance: Record<string, unknown>;
}

/** A labeled prompt. `label` 1 = unsafe (should be refused), 0 = safe. */
export interface SafetyExample {
  text: string;
  label: 0 | 1;
  /** Origin: "harmbench", "harmless", "xstest". */
  source: string;
  /** XSTest type / HarmBench category, when known. */
  type?: string;
}

/** Binary n-gram features of a text. */
export function guardFeatures(text: string): string[] {
  const lower = text.toLowerCase();
  const words = lower.match(/[\p{L}\p{N}']+/gu) ?? [];
  const feats = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    feats.add("w:" + words[i]);
    if (i + 1 < words.length) feats.add("b:" + words[i] + " " + words[i + 1]);
  }
  for (const w of words) {
    const padded = ` ${w} `;
    for (let i = 0; i + 4 <= padded.length; i++) feats.add("c:" + padded.slice(i, i + 4));
  }
  return [...feats];
}

/** A loaded or trained guard classifier. */
export class GuardClassifier {
  private constructor(
    private readonly v1: { weights: Map<string, number>; bias: number } | undefined,
    private readonly v2: LinearTextModel | undefined,
    /** Suggested decision threshold on `score`. */
    readonly threshold: number,
  ) {}

  /** Loads a serialized classifier (version 1 or 2). Throws `Error` on an unknown `kind`. */
  static fromJSON(file: GuardClassifierFile): GuardClassifier {
    if (file.kind === "linear-text") return new GuardClassifier(undefined, LinearTextModel.fromJSON(file), file.threshold);
    if (file.kind !== "logreg-ngrams") throw new Error(`not a guard model file (kind: ${String((file as { kind?: unknown }).kind)})`);
    return new GuardClassifier({ weights: new Map(Object.entries(file.weights)), bias: file.bias }, undefined, file.threshold);
  }

  /** Wraps a trained linear model (task "harm") with its threshold. */
  static fromLinear(model: LinearTextModel): GuardClassifier {
    return new GuardClassifier(undefined, model, model.threshold);
  }

  /**
   * Probability in [0, 1] that `text` is a harmful request (or harmful content). Version 2 reads
   * the de-obfuscated text (`foldForClassifier`: NFKC, invisible characters removed, look-alike
   * letters, leetspeak and spelled-out words folded), so "h0w t0 m4k3 a b 0 m b" scores like its
   * plain form; version 1 takes the larger of the raw and the folded reading. Linear in the text
   * length.
   */
  score(text: string): number {
    if (this.v2) return this.v2.score(text);
    const raw = this.scoreRaw(text);
    const folded = foldForClassifier(text);
    return folded === text.toLowerCase() ? raw : Math.max(raw, this.scoreRaw(folded));
  }

  /** Probability of `text` as written: version 1 without normalisation; version 2 always reads the folded text (same as `score`). */
  scoreRaw(text: string): number {
    if (this.v2) return this.v2.score(text);
    let z = this.v1!.bias;
    for (const f of guardFeatures(text)) z += this.v1!.weights.get(f) ?? 0;
    return 1 / (1 + Math.exp(-z));
  }

  /**
   * Trains a version-2 model (deterministic for a seed) on `examples` (per-example `weight`s
   * honoured, else class-balanced), Platt-calibrated on `options.validation` (identity when
   * absent), threshold 0.5 unless set by the caller (see `trainGuard`). Options as
   * `LinearTextModel.train`.
   */
  static train(
    examples: readonly SafetyExample[],
    options: { epochs?: number; seed?: number; minCount?: number; l2?: number; lr?: number; prune?: number; validation?: readonly SafetyExample[]; weights?: readonly number[]; provenance?: Record<string, unknown> } = {},
  ): { classifier: GuardClassifier; file: LinearTextModelFile } {
    const pos = examples.filter((e) => e.label === 1).length;
    const neg = examples.length - pos;
    const cw = [examples.length / (2 * Math.max(1, neg)), examples.length / (2 * Math.max(1, pos))];
    const rows = examples.map((e, i) => ({ text: e.text, label: e.label, weight: options.weights?.[i] ?? cw[e.label] }));
    const t = LinearTextModel.train(rows, options.validation ?? [], options);
    const file: LinearTextModelFile = {
      kind: "linear-text",
      version: 2,
      task: "harm",
      features: { fold: true, mask: true, charNgrams: [3, 5], wordNgrams: 2, structural: true },
      bias: t.bias,
      weights: t.weights,
      calibration: { method: "platt", ...t.calibration, fittedOn: options.validation?.length ? `validation split (${options.validation.length} prompts)` : "none (identity)" },
      threshold: 0.5,
      thresholdRule: "default 0.5",
      dataHash: "",
      metrics: {},
      provenance: { algorithm: "logistic regression, char 3-5grams (folded, entity-masked) + word 1-2grams + structural, Adam, class/source-balanced, Platt", epochs: options.epochs ?? 12, seed: options.seed ?? 7, minCount: options.minCount ?? 2, l2: options.l2 ?? 1e-5, trainExamples: examples.length, ...options.provenance },
    };
    return { classifier: GuardClassifier.fromLinear(t.model), file };
  }

  /**
   * Trains a version-1 model (word 1–2-grams + char 4-grams; Adam, lr 0.05, L2 1e-4, batch 64,
   * `epochs` passes, class-balanced loss. Features seen in fewer than `minCount` examples are dropped.
   */
  static trainV1(examples: readonly SafetyExample[], options: { epochs?: number; seed?: number; minCount?: number; l2?: number; provenance?: Record<string, unknown> } = {}): { classifier: GuardClassifier; file: GuardClassifierFileV1 } {
    const epochs = options.epochs ?? 12;
    const seed = options.seed ?? 7;
    const minCount = options.minCount ?? 2;
    const l2 = options.l2 ?? 1e-4;
    const feats = examples.map((e) => guardFeatures(e.text));
    const df = new Map<string, number>();
    for (const fs_ of feats) for (const f of fs_) df.set(f, (df.get(f) ?? 0) + 1);
    const vocab = [...df.entries()].filter(([, c]) => c >= minCount).map(([f]) => f).sort();
    const index = new Map(vocab.map((f, i) => [f, i]));
    const rows = feats.map((fs_) => Int32Array.from(fs_.flatMap((f) => (index.has(f) ? [index.get(f)!] : []))));
    const pos = examples.filter((e) => e.label === 1).length;
    const neg = examples.length - pos;
    const cw = [examples.length / (2 * Math.max(1, neg)), examples.length / (2 * Math.max(1, pos))];
    const d = vocab.length;
    const w = new Float64Array(d + 1); // last = bias
    const m = new Float64Array(d + 1);
    const v = new Float64Array(d + 1);
    const lr = 0.05;
    const b1 = 0.9;
    const b2 = 0.999;
    let t = 0;
    const order = examples.map((_, i) => i);
    const batch = 64;
    const rand = seededRandom(seed);
    for (let epoch = 0; epoch < epochs; epoch++) {
      const shuffled = seededShuffle(order, Math.floor(rand() * 1e9));
      for (let start = 0; start < shuffled.length; start += batch) {
        const grad = new Map<number, number>();
        const ids = shuffled.slice(start, start + batch);
        for (const i of ids) {
          let z = w[d];
          for (const f of rows[i]) z += w[f];
          const p = 1 / (1 + Math.exp(-z));
          const g = (p - examples[i].label) * cw[examples[i].label] / ids.length;
          for (const f of rows[i]) grad.set(f, (grad.get(f) ?? 0) + g);
          grad.set(d, (grad.get(d) ?? 0) + g);
        }
        t++;
        for (const [f, g0] of grad) {
          const g = g0 + (f === d ? 0 : l2 * w[f]);
          m[f] = b1 * m[f] + (1 - b1) * g;
          v[f] = b2 * v[f] + (1 - b2) * g * g;
          const mh = m[f] / (1 - b1 ** t);
          const vh = v[f] / (1 - b2 ** t);
          w[f] -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
        }
      }
    }
    const weights: Record<string, number> = {};
    vocab.forEach((f, i) => {
      const r = Math.round(w[i] * 1e4) / 1e4;
      if (r !== 0) weights[f] = r;
    });
    const bias = Math.round(w[d] * 1e4) / 1e4;
    const classifier = new GuardClassifier({ weights: new Map(Object.entries(weights)), bias }, undefined, 0.5);
    // Threshold: the lowest score keeping the training FPR ≤ 5 %.
    const negScores = examples.filter((e) => e.label === 0).map((e) => classifier.score(e.text)).sort((a, b) => b - a);
    const threshold = Math.max(0.5, negScores[Math.floor(negScores.length * 0.05)] ?? 0.5);
    const file: GuardClassifierFileV1 = {
      kind: "logreg-ngrams",
      version: 1,
      bias,
      weights,
      threshold: Math.round(threshold * 1e4) / 1e4,
      provenance: { algorithm: "logistic regression, word 1-2grams + char 4-grams, Adam, class-balanced", epochs, seed, minCount, l2, trainExamples: examples.length, ...options.provenance },
    };
    return { classifier: new GuardClassifier({ weights: new Map(Object.entries(weights)), bias }, undefined, file.threshold), file };
  }
}

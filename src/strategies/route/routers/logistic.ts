/**
 * Sparse L2-regularised logistic regression trained by AdaGrad SGD over shuffled epochs
 * (deterministic given the seed). Labels may be soft (in [0, 1]); the loss is cross-entropy.
 * The building block of the `tfidf-lr` router and of the multi-model `lr` predictor.
 */
import { seededRandom } from "../../../core/random.js";
import { sigmoid, type SparseVector } from "./text-features.js";

/** Training options: epochs (default 8), AdaGrad step (0.5), L2 strength per update (1e-5), seed (0). */
export interface LogisticOptions {
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
}

/** Serialized weights: sparse (bucket, weight) pairs plus the bias. */
export interface LogisticJSON {
  bias: number;
  index: number[];
  weight: number[];
}

/** A trained sparse logistic model: P(y = 1 | x) = σ(bias + w·x). */
export class LogisticModel {
  constructor(
    readonly weights: Map<number, number>,
    readonly bias: number,
  ) {}

  /** Probability in [0, 1]. */
  predict(x: SparseVector): number {
    let z = this.bias;
    for (let k = 0; k < x.index.length; k++) z += (this.weights.get(x.index[k]) ?? 0) * x.value[k];
    return sigmoid(z);
  }

  /** Fits on vectors `xs` with labels `ys` ∈ [0, 1]. */
  static train(xs: readonly SparseVector[], ys: readonly number[], options: LogisticOptions = {}): LogisticModel {
    const epochs = options.epochs ?? 8;
    const lr = options.learningRate ?? 0.5;
    const l2 = options.l2 ?? 1e-5;
    const random = seededRandom(options.seed ?? 0);
    let size = 1;
    for (const x of xs) for (let k = 0; k < x.index.length; k++) if (x.index[k] >= size) size = x.index[k] + 1;
    const w = new Float64Array(size);
    const g2 = new Float64Array(size);
    const mean = ys.reduce((s, y) => s + y, 0) / Math.max(ys.length, 1);
    let bias = Math.log((mean + 1e-3) / (1 - mean + 1e-3));
    let biasG2 = 0;
    const order = xs.map((_, i) => i);
    for (let e = 0; e < epochs; e++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const i of order) {
        const x = xs[i];
        let z = bias;
        for (let k = 0; k < x.index.length; k++) z += w[x.index[k]] * x.value[k];
        const g = sigmoid(z) - ys[i];
        biasG2 += g * g;
        bias -= (lr / Math.sqrt(biasG2 + 1e-8)) * g;
        for (let k = 0; k < x.index.length; k++) {
          const f = x.index[k];
          const gf = g * x.value[k] + l2 * w[f];
          g2[f] += gf * gf;
          w[f] -= (lr / Math.sqrt(g2[f] + 1e-8)) * gf;
        }
      }
    }
    const weights = new Map<number, number>();
    for (let f = 0; f < size; f++) if (w[f] !== 0) weights.set(f, w[f]);
    return new LogisticModel(weights, bias);
  }

  toJSON(): LogisticJSON {
    const index = [...this.weights.keys()].filter((f) => Math.abs(this.weights.get(f)!) > 1e-6).sort((a, b) => a - b);
    return { bias: this.bias, index, weight: index.map((f) => Math.round(this.weights.get(f)! * 1e6) / 1e6) };
  }

  static fromJSON(json: LogisticJSON): LogisticModel {
    const w = new Map<number, number>();
    json.index.forEach((f, i) => w.set(f, json.weight[i]));
    return new LogisticModel(w, json.bias);
  }
}

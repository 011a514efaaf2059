/**
 * The `mf` router: matrix factorisation over query features × model embeddings, RouteLLM's best
 * router (Ong et al. 2024, §4: δ(m, q) = w₂ᵀ(v_m ⊙ (W₁ e(q)))). RouteLLM's query embedding e(q)
 * comes from OpenAI's embedding API; here it is a fixed signed random projection (dimension
 * `embedDim`) of the prompt's TF-IDF vector, which preserves cosine similarities
 * (Johnson–Lindenstrauss) and needs no service. W₁ (dim × embedDim), the model embeddings v_m,
 * w₂ and a per-model bias b_m are learned.
 *
 * Difference from RouteLLM, stated plainly: RouteLLM trains δ on pairwise preference labels
 * (Bradley–Terry, P(strong wins) = σ(δ(strong) − δ(weak))); on correctness data we train every
 * model's P(correct | q) = σ(δ(m, q) + b_m) with cross-entropy (ties carry information here), and
 * the binary score is P(strong correct)·(1 − P(weak correct)), the probability the strong model
 * wins under independence. Adam, deterministic given the seed.
 */
import type { Router, RouterFile, RouterInput } from "../router.js";
import { hashString } from "./random.js";
import { seededRandom } from "../../../core/random.js";
import { TfidfVectorizer, sigmoid, type SparseVector, type TfidfJSON } from "./text-features.js";

/** Options: dim (default 16), embedDim (128), epochs (10), learningRate (3e-3), l2 (1e-5), seed (0), and the vectorizer's. */
export interface MfOptions {
  dim?: number;
  embedDim?: number;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  buckets?: number;
  ngram?: number;
  minDf?: number;
}

/** Serialized factorisation. */
export interface MfJSON {
  vectorizer: TfidfJSON;
  models: string[];
  dim: number;
  embedDim: number;
  /** W₁, row-major dim × embedDim. */
  proj: number[];
  /** v, row-major models × dim. */
  modelEmbed: number[];
  w2: number[];
  bias: number[];
}

/** Fixed signed random projection of a sparse vector to `dim` dimensions (deterministic per bucket). */
export function randomProjection(x: SparseVector, dim: number, cache: Map<number, Float32Array>): Float64Array {
  const out = new Float64Array(dim);
  const scale = 1 / Math.sqrt(dim);
  for (let k = 0; k < x.index.length; k++) {
    const f = x.index[k];
    let r = cache.get(f);
    if (!r) {
      r = new Float32Array(dim);
      for (let j = 0; j < dim; j += 32) {
        const bits = hashString(String(f), 0x9e3779b9 + j);
        for (let b = 0; b < 32 && j + b < dim; b++) r[j + b] = (bits >>> b) & 1 ? scale : -scale;
      }
      cache.set(f, r);
    }
    const v = x.value[k];
    for (let j = 0; j < dim; j++) out[j] += v * r[j];
  }
  return out;
}

/** A trained factorisation predicting each model's probability of a correct answer. */
export class MfModel {
  private readonly cache = new Map<number, Float32Array>();
  constructor(
    readonly vectorizer: TfidfVectorizer,
    readonly models: string[],
    readonly dim: number,
    readonly embedDim: number,
    readonly proj: Float64Array,
    readonly modelEmbed: Float64Array,
    readonly w2: Float64Array,
    readonly bias: Float64Array,
  ) {}

  /** P(correct) per model (in `models` order). */
  predict(text: string): number[] {
    const e = randomProjection(this.vectorizer.transform(text), this.embedDim, this.cache);
    const h = this.hidden(e);
    return this.models.map((_, m) => sigmoid(this.logit(h, m)));
  }

  private hidden(e: Float64Array): Float64Array {
    const { dim, embedDim, proj } = this;
    const h = new Float64Array(dim);
    for (let j = 0; j < dim; j++) {
      let s = 0;
      const row = j * embedDim;
      for (let k = 0; k < embedDim; k++) s += proj[row + k] * e[k];
      h[j] = s;
    }
    return h;
  }

  private logit(h: Float64Array, m: number): number {
    let z = this.bias[m];
    for (let j = 0; j < this.dim; j++) z += this.w2[j] * this.modelEmbed[m * this.dim + j] * h[j];
    return z;
  }

  /**
   * Trains on prompts and their per-model scores (`scores[i][m]` ∈ [0, 1] for `models[m]`).
   * Throws `RangeError` on empty input.
   */
  static train(prompts: readonly string[], scores: readonly number[][], models: string[], options: MfOptions = {}): MfModel {
    if (prompts.length === 0) throw new RangeError("mf: no training examples");
    const dim = options.dim ?? 16;
    const embedDim = options.embedDim ?? 128;
    const epochs = options.epochs ?? 10;
    const lr = options.learningRate ?? 3e-3;
    const l2 = options.l2 ?? 1e-5;
    const random = seededRandom(options.seed ?? 0);
    const vectorizer = TfidfVectorizer.fit(prompts, options);
    const M = models.length;
    const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    const proj = Float64Array.from({ length: dim * embedDim }, () => gauss() / Math.sqrt(embedDim));
    const modelEmbed = Float64Array.from({ length: M * dim }, () => 1 + 0.1 * gauss());
    const w2 = Float64Array.from({ length: dim }, () => gauss() / Math.sqrt(dim));
    const bias = Float64Array.from({ length: M }, (_, m) => {
      const p = scores.reduce((s, r) => s + r[m], 0) / scores.length;
      return Math.log((p + 1e-3) / (1 - p + 1e-3));
    });
    const model = new MfModel(vectorizer, models, dim, embedDim, proj, modelEmbed, w2, bias);
    const embeds = prompts.map((p) => randomProjection(vectorizer.transform(p), embedDim, model.cache));
    // Adam state per parameter block
    const params = [proj, modelEmbed, w2, bias];
    const m1 = params.map((p) => new Float64Array(p.length));
    const m2 = params.map((p) => new Float64Array(p.length));
    const grads = params.map((p) => new Float64Array(p.length));
    const b1 = 0.9;
    const b2 = 0.999;
    let step = 0;
    const order = prompts.map((_, i) => i);
    const batch = 32;
    for (let ep = 0; ep < epochs; ep++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (let start = 0; start < order.length; start += batch) {
        for (const g of grads) g.fill(0);
        const end = Math.min(start + batch, order.length);
        for (let t = start; t < end; t++) {
          const i = order[t];
          const e = embeds[i];
          const h = model.hidden(e);
          const gh = new Float64Array(dim);
          for (let m = 0; m < M; m++) {
            const g = sigmoid(model.logit(h, m)) - scores[i][m];
            grads[3][m] += g;
            for (let j = 0; j < dim; j++) {
              const v = modelEmbed[m * dim + j];
              grads[2][j] += g * v * h[j];
              grads[1][m * dim + j] += g * w2[j] * h[j];
              gh[j] += g * w2[j] * v;
            }
          }
          for (let j = 0; j < dim; j++) {
            const gj = gh[j];
            if (gj === 0) continue;
            const row = j * embedDim;
            for (let k = 0; k < embedDim; k++) grads[0][row + k] += gj * e[k];
          }
        }
        step++;
        const n = end - start;
        const c1 = 1 - Math.pow(b1, step);
        const c2 = 1 - Math.pow(b2, step);
        params.forEach((p, b) => {
          const g = grads[b];
          for (let q = 0; q < p.length; q++) {
            const gq = g[q] / n + (b < 3 ? l2 * p[q] : 0);
            m1[b][q] = b1 * m1[b][q] + (1 - b1) * gq;
            m2[b][q] = b2 * m2[b][q] + (1 - b2) * gq * gq;
            p[q] -= (lr * (m1[b][q] / c1)) / (Math.sqrt(m2[b][q] / c2) + 1e-8);
          }
        });
      }
    }
    return model;
  }

  toJSON(): MfJSON {
    const r = (a: Float64Array) => Array.from(a, (v) => Math.round(v * 1e6) / 1e6);
    return { vectorizer: this.vectorizer.toJSON(), models: this.models, dim: this.dim, embedDim: this.embedDim, proj: r(this.proj), modelEmbed: r(this.modelEmbed), w2: r(this.w2), bias: r(this.bias) };
  }

  static fromJSON(json: MfJSON): MfModel {
    return new MfModel(TfidfVectorizer.fromJSON(json.vectorizer), json.models, json.dim, json.embedDim, Float64Array.from(json.proj), Float64Array.from(json.modelEmbed), Float64Array.from(json.w2), Float64Array.from(json.bias));
  }
}

/** Binary MF router over a (weak, strong) pair of the factorisation's models. */
export class MfRouter implements Router {
  readonly kind = "mf";
  private readonly w: number;
  private readonly s: number;
  constructor(
    readonly model: MfModel,
    readonly weak: string,
    readonly strong: string,
  ) {
    this.w = model.models.indexOf(weak);
    this.s = model.models.indexOf(strong);
    if (this.w < 0 || this.s < 0) throw new RangeError(`mf: models ${weak}/${strong} not in ${model.models.join(", ")}`);
  }

  /** P(strong correct)·(1 − P(weak correct)). */
  score(input: RouterInput): number {
    const p = this.model.predict(input.prompt);
    return p[this.s] * (1 - p[this.w]);
  }

  /** Trains on prompts with the weak and strong scores. */
  static train(examples: ReadonlyArray<{ prompt: string; weak: number; strong: number }>, options: MfOptions = {}): MfRouter {
    const model = MfModel.train(examples.map((e) => e.prompt), examples.map((e) => [e.weak, e.strong]), ["weak", "strong"], options);
    return new MfRouter(model, "weak", "strong");
  }

  toJSON(): RouterFile {
    return { kind: "mf", version: 1, weak: this.weak, strong: this.strong, model: this.model.toJSON() };
  }

  static fromJSON(file: RouterFile): MfRouter {
    return new MfRouter(MfModel.fromJSON(file.model as MfJSON), String(file.weak), String(file.strong));
  }
}

/**
 * The `knn` router: k-nearest-neighbour, similarity-weighted voting over the training prompts
 * (RouteLLM's similarity-weighted ranking and RouterBench's KNN router, with TF-IDF cosine
 * similarity in place of an embedding service). The score of a prompt is
 * (Σ sim·label + α·prior) / (Σ sim + α) over its k most similar training prompts, α = 0.1.
 *
 * `KnnIndex` holds one label column per target (one for the binary router; one per model for
 * the multi-model router). Terms in more than `maxDf` of the training prompts are ignored in the
 * similarity (they carry no neighbourhood information and dominate the cost).
 */
import type { Router, RouterFile, RouterInput } from "../router.js";
import type { RouterExample } from "./tfidf-lr.js";
import { TfidfVectorizer, type SparseVector, type TfidfJSON } from "./text-features.js";

/** Options of the kNN index: k (default 40), maxDf fraction (0.3), and the vectorizer's. */
export interface KnnOptions {
  k?: number;
  maxDf?: number;
  buckets?: number;
  ngram?: number;
  minDf?: number;
}

/** Serialized index. */
export interface KnnJSON {
  vectorizer: TfidfJSON;
  k: number;
  maxDf: number;
  /** Per training prompt: kept bucket indices and their values (rounded to 1e-4). */
  docs: Array<[number[], number[]]>;
  /** Per training prompt: one label per column. */
  labels: number[][];
}

/** A searchable set of labelled training prompts. */
export class KnnIndex {
  private readonly postings = new Map<number, { docs: number[]; vals: number[] }>();
  private readonly prior: number[];
  private sims = new Float64Array(0);
  constructor(
    readonly vectorizer: TfidfVectorizer,
    readonly docs: SparseVector[],
    readonly labels: number[][],
    readonly k = 40,
    readonly maxDf = 0.3,
  ) {
    const df = new Map<number, number>();
    for (const d of docs) for (const f of d.index) df.set(f, (df.get(f) ?? 0) + 1);
    const limit = Math.max(1, maxDf * docs.length);
    docs.forEach((d, i) => {
      for (let j = 0; j < d.index.length; j++) {
        const f = d.index[j];
        if ((df.get(f) ?? 0) > limit) continue;
        let p = this.postings.get(f);
        if (!p) this.postings.set(f, (p = { docs: [], vals: [] }));
        p.docs.push(i);
        p.vals.push(d.value[j]);
      }
    });
    const cols = labels[0]?.length ?? 0;
    this.prior = Array.from({ length: cols }, (_, c) => labels.reduce((s, l) => s + l[c], 0) / Math.max(labels.length, 1));
  }

  /** Builds an index from prompts and their label rows. */
  static build(prompts: readonly string[], labels: number[][], options: KnnOptions = {}): KnnIndex {
    const vectorizer = TfidfVectorizer.fit(prompts, options);
    return new KnnIndex(vectorizer, prompts.map((p) => vectorizer.transform(p)), labels, options.k ?? 40, options.maxDf ?? 0.3);
  }

  /** Similarity-weighted label means of the k nearest training prompts, one per column. */
  predict(text: string): number[] {
    const x = this.vectorizer.transform(text);
    const n = this.docs.length;
    if (this.sims.length !== n) this.sims = new Float64Array(n);
    const sims = this.sims;
    const touched: number[] = [];
    for (let j = 0; j < x.index.length; j++) {
      const p = this.postings.get(x.index[j]);
      if (!p) continue;
      const v = x.value[j];
      for (let t = 0; t < p.docs.length; t++) {
        const d = p.docs[t];
        if (sims[d] === 0) touched.push(d);
        sims[d] += v * p.vals[t];
      }
    }
    // top-k by similarity (ties: lower index first) with a size-k min-heap
    const k = Math.min(this.k, touched.length);
    const heap: number[] = [];
    const less = (a: number, b: number) => sims[a] < sims[b] || (sims[a] === sims[b] && a > b);
    for (const d of touched) {
      if (heap.length < k) {
        heap.push(d);
        for (let i = heap.length - 1; i > 0; ) {
          const parent = (i - 1) >> 1;
          if (less(heap[i], heap[parent])) {
            [heap[i], heap[parent]] = [heap[parent], heap[i]];
            i = parent;
          } else break;
        }
      } else if (k > 0 && less(heap[0], d)) {
        heap[0] = d;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < k && less(heap[l], heap[m])) m = l;
          if (r < k && less(heap[r], heap[m])) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m], heap[i]];
          i = m;
        }
      }
    }
    const alpha = 0.1;
    const out = this.prior.map((prior, c) => {
      let num = alpha * prior;
      let den = alpha;
      for (const i of heap) {
        num += sims[i] * this.labels[i][c];
        den += sims[i];
      }
      return num / den;
    });
    for (const d of touched) sims[d] = 0;
    return out;
  }

  toJSON(): KnnJSON {
    return {
      vectorizer: this.vectorizer.toJSON(),
      k: this.k,
      maxDf: this.maxDf,
      docs: this.docs.map((d) => [Array.from(d.index), Array.from(d.value, (v) => Math.round(v * 1e4) / 1e4)]),
      labels: this.labels,
    };
  }

  static fromJSON(json: KnnJSON): KnnIndex {
    const docs = json.docs.map(([i, v]) => ({ index: Int32Array.from(i), value: Float64Array.from(v) }));
    return new KnnIndex(TfidfVectorizer.fromJSON(json.vectorizer), docs, json.labels, json.k, json.maxDf);
  }
}

/** Binary kNN router: `score` = similarity-weighted share of neighbours where the strong model won. */
export class KnnRouter implements Router {
  readonly kind = "knn";
  constructor(readonly index: KnnIndex) {}

  score(input: RouterInput): number {
    return this.index.predict(input.prompt)[0];
  }

  /** Trains on labelled prompts. Throws `RangeError` when `examples` is empty. */
  static train(examples: readonly RouterExample[], options: KnnOptions = {}): KnnRouter {
    if (examples.length === 0) throw new RangeError("knn: no training examples");
    return new KnnRouter(KnnIndex.build(examples.map((e) => e.prompt), examples.map((e) => [e.label]), options));
  }

  toJSON(): RouterFile {
    return { kind: "knn", version: 1, index: this.index.toJSON() };
  }

  static fromJSON(file: RouterFile): KnnRouter {
    return new KnnRouter(KnnIndex.fromJSON(file.index as KnnJSON));
  }
}

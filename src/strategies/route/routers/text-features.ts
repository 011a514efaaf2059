/**
 * Prompt-text features for the learned routers, with no embedding service: hashed word n-grams
 * weighted by TF-IDF (sublinear tf = 1 + ln(count), smooth idf = ln((1 + N)/(1 + df)) + 1, as
 * scikit-learn's TfidfVectorizer), L2-normalised. Terms are lower-cased runs of letters or
 * digits; n-grams up to `ngram` words are hashed (FNV-1a, see random.ts) into `buckets` slots.
 * Buckets seen in fewer than `minDf` training prompts are dropped (their idf is not stored).
 */
import { hashString } from "./random.js";

/** A sparse vector: parallel arrays of bucket indices (ascending) and values. */
export interface SparseVector {
  index: Int32Array;
  value: Float64Array;
}

/** Lower-cased word tokens of a text (runs of letters/digits). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Hashed n-gram counts of a text: bucket → count. N-gram hashes combine the words' hashes. */
export function hashedNgrams(text: string, buckets: number, ngram: number): Map<number, number> {
  const tokens = tokenize(text);
  const hashes = tokens.map((t) => hashString(t, 1));
  const counts = new Map<number, number>();
  for (let n = 1; n <= ngram; n++) {
    for (let i = 0; i + n <= hashes.length; i++) {
      let h = hashes[i];
      for (let j = 1; j < n; j++) {
        h = Math.imul(h ^ 0x9e3779b9, 0x85ebca6b) ^ hashes[i + j];
        h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
        h ^= h >>> 16;
      }
      const b = (h >>> 0) % buckets;
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
  }
  return counts;
}

/** Serialized vectorizer. */
export interface TfidfJSON {
  buckets: number;
  ngram: number;
  /** Number of training prompts. */
  docs: number;
  /** Kept buckets, ascending, and their idf. */
  index: number[];
  idf: number[];
}

/** Hashed-n-gram TF-IDF vectorizer; see the module comment. */
export class TfidfVectorizer {
  private readonly idfMap: Map<number, number>;
  constructor(
    readonly buckets: number,
    readonly ngram: number,
    readonly docs: number,
    idf: Map<number, number>,
  ) {
    this.idfMap = idf;
  }

  /** Fits document frequencies on `texts`. Defaults: 2^18 buckets, uni+bigrams, minDf 2. */
  static fit(texts: readonly string[], options: { buckets?: number; ngram?: number; minDf?: number } = {}): TfidfVectorizer {
    const buckets = options.buckets ?? 1 << 18;
    const ngram = options.ngram ?? 2;
    const minDf = options.minDf ?? 2;
    const df = new Map<number, number>();
    for (const t of texts) for (const b of hashedNgrams(t, buckets, ngram).keys()) df.set(b, (df.get(b) ?? 0) + 1);
    const idf = new Map<number, number>();
    const n = texts.length;
    for (const [b, d] of df) if (d >= minDf) idf.set(b, Math.log((1 + n) / (1 + d)) + 1);
    return new TfidfVectorizer(buckets, ngram, n, idf);
  }

  /** Number of kept buckets. */
  get size(): number {
    return this.idfMap.size;
  }

  /** idf of a bucket, or undefined when dropped. */
  idf(bucket: number): number | undefined {
    return this.idfMap.get(bucket);
  }

  /** L2-normalised TF-IDF vector of a text (empty when no kept term occurs). */
  transform(text: string): SparseVector {
    const counts = hashedNgrams(text, this.buckets, this.ngram);
    const entries: Array<[number, number]> = [];
    for (const [b, c] of counts) {
      const idf = this.idfMap.get(b);
      if (idf !== undefined) entries.push([b, (1 + Math.log(c)) * idf]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    let norm = 0;
    for (const [, v] of entries) norm += v * v;
    norm = Math.sqrt(norm) || 1;
    return { index: Int32Array.from(entries.map((e) => e[0])), value: Float64Array.from(entries.map((e) => e[1] / norm)) };
  }

  toJSON(): TfidfJSON {
    const index = [...this.idfMap.keys()].sort((a, b) => a - b);
    return { buckets: this.buckets, ngram: this.ngram, docs: this.docs, index, idf: index.map((b) => Math.round(this.idfMap.get(b)! * 1e5) / 1e5) };
  }

  static fromJSON(json: TfidfJSON): TfidfVectorizer {
    const idf = new Map<number, number>();
    json.index.forEach((b, i) => idf.set(b, json.idf[i]));
    return new TfidfVectorizer(json.buckets, json.ngram, json.docs, idf);
  }
}


/** Logistic sigmoid. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

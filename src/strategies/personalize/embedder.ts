/**
 * How personalization turns a memory or a query into a vector. Two kinds:
 *
 * - {@link hashingEmbedder} (default): the hashing trick (Weinberger et al. 2009, "Feature
 *   Hashing for Large Scale Multitask Learning") over word unigrams and character 4-grams of each
 *   word (fastText-style subwords, Bojanowski et al. 2017), signed, L2-normalized. No model, no
 *   download, deterministic, microseconds per text; lexical only — "allergic"/"allergy" meet
 *   through shared 4-grams, "cook" and "peanuts" do not (the extractor adds topic words to each
 *   memory for that; see extractor.ts).
 * - {@link edgeEmbedder}: any {@link EmbeddingModel} that runs on the device (e.g.
 *   `llamaCppEmbeddings` on a GGUF embedding model). A `cloud` embedding model is refused:
 *   embedding a memory would send it off the device.
 */
import type { EmbeddingModel } from "../../core/embedding.js";
import { normalizeL2 } from "../../core/embedding.js";
import { TandemError } from "../../core/errors.js";

/** Embeds texts into unit-length vectors of one length. */
export interface MemoryEmbedder {
  /** e.g. "hashing-256". Stored vectors from another embedder (other length) are skipped by the store. */
  readonly id: string;
  /** One vector per text, in order. Errors: the model's (`aborted` when `signal` fires). */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  close?(): Promise<void>;
}

/** Words that carry no topic (English function words and chat filler). */
const STOPWORDS = new Set(
  "a an the and or but if then so to of in on at by for with from as is am are was were be been being i me my mine you your yours we our it its this that these those what which who whom whose when where why how do does did doing have has had can could would should will shall may might must not no yes please tell give some any about into over under again just very really also there here than too up down out off".split(" "),
);

/** Lower-case word tokens (Unicode letters and digits), stop words removed, a trailing plural "s" cut. */
export function contentWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    let w = m[0];
    if (w.length > 40 || STOPWORDS.has(w)) continue;
    if (w.length > 4 && w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);
    out.push(w);
  }
  return out;
}

/** FNV-1a, 32-bit. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The hashing-trick embedder (see module doc). `dimensions` (default 256) buckets; a word adds
 * ±1 to its bucket, each of its character 4-grams (with `<`/`>` word boundaries) ±`subwordWeight`
 * (default 0.35). Time O(characters) per text; at most the first 4,000 characters are read.
 */
export function hashingEmbedder(options: { dimensions?: number; subwordWeight?: number } = {}): MemoryEmbedder {
  const dims = options.dimensions ?? 256;
  const sub = options.subwordWeight ?? 0.35;
  if (!Number.isInteger(dims) || dims < 8) throw new RangeError(`hashingEmbedder: dimensions must be an integer ≥ 8, got ${dims}`);
  const add = (v: Float32Array, feature: string, weight: number) => {
    const h = fnv1a(feature);
    v[h % dims] += h & 0x80000000 ? -weight : weight;
  };
  const one = (text: string) => {
    const v = new Float32Array(dims);
    for (const w of contentWords(text.slice(0, 4000))) {
      add(v, `w:${w}`, 1);
      const padded = `<${w}>`;
      for (let i = 0; i + 4 <= padded.length; i++) add(v, `g:${padded.slice(i, i + 4)}`, sub);
    }
    return normalizeL2(v);
  };
  return {
    id: `hashing-${dims}`,
    embed: async (texts) => texts.map(one),
  };
}

/**
 * A device-local {@link EmbeddingModel} as a memory embedder (vectors L2-normalized again).
 * Errors: `invalid_policy` when `model.location` is `cloud` (memories never leave the device to be embedded).
 */
export function edgeEmbedder(model: EmbeddingModel): MemoryEmbedder {
  if (model.location !== "edge") throw new TandemError("invalid_policy", `personalize: embedding model '${model.id}' runs in the cloud; memories are embedded on the device only`);
  return {
    id: model.id,
    async embed(texts, signal) {
      if (texts.length === 0) return [];
      const r = await model.embed({ inputs: [...texts] }, signal);
      return r.vectors.map((v) => normalizeL2(Float32Array.from(v)));
    },
    close: () => model.close?.() ?? Promise.resolve(),
  };
}

/**
 * A small PII tagger of ours: a greedy left-to-right averaged perceptron over BIO labels with
 * hand-built features (word, word shape, capitalization, prefixes/suffixes, neighbouring words
 * and shapes, previous labels, gazetteer tags) — the classic Collins (2002) structured perceptron
 * with the averaging trick, as in Honnibal's "A good part-of-speech tagger in about 200 lines of Python". Training is deterministic (seeded shuffles), runs in seconds on one CPU core,
 * and the serialized model is a plain JSON file (`models/privacy-tagger.json`).
 *
 * Version 2 adds character features (prefixes/suffixes up to 4, shape of the word and its
 * neighbours, hyphen/apostrophe/@/# marks) and name/place gazetteer tags of the word and its
 * neighbours (`gazetteer.ts`; the lists are stored in the model file).
 *
 * Version 3 adds the gazetteer tags two tokens away, the tag trigram (previous, this, next
 * word) and the mark glued before a word ("@", "#", "-") paired with its tag and its shape —
 * for names in tweets and in lists whose capitalisation says little.
 *
 * Tagging scores features through a hash table of typed arrays (`feature-hash.ts`: feature
 * hashes composed from per-token part hashes, no feature strings built, per-word sums memoised
 * within a text):
 * ≈ 0.5–1 ms per KB of text on one core, about 7× faster than the string-feature path, with
 * the same labels. The file format is unchanged (versions 1, 2 and 3 load as before; the table is
 * built at load); `{ reference: true }` runs the string-feature path.
 */
import { tokenStream, tokenize, type Token } from "./tokenize.js";
import { seededShuffle } from "../core/random.js";
import { isEntityType, type EntityType, type PiiSpan } from "./types.js";
import { gazetteerIndex, type Gazetteer } from "./gazetteer-index.js";
import { buildHashedWeights, HashedScorer, type HashedWeights, type TokenParts } from "./feature-hash.js";

/** A training example: a text and its gold spans (offsets into `text`). */
export interface LabeledText {
  text: string;
  spans: Array<{ start: number; end: number; type: EntityType }>;
}

/** Serialized tagger (`kind: "bio-perceptron"`). */
export interface TaggerFile {
  kind: "bio-perceptron";
  /** 1: word/shape features only; 2: plus character and gazetteer features; 3: plus wider gazetteer context and mark × word features. */
  version: 1 | 2 | 3;
  /** Labels, index-aligned with the weight vectors: "O", "B-PERSON", "I-PERSON", … */
  labels: string[];
  /** feature → "labelIndex:weight,labelIndex:weight" (averaged weights, rounded to 1e-3). */
  weights: Record<string, string>;
  /** How the file was produced (data, split, seed, epochs, date). */
  provenance: Record<string, unknown>;
  /** Name and place lists behind the gazetteer features (version 2). */
  gazetteer?: Gazetteer;
}

/** Training options. */
export interface TaggerTrainOptions {
  /** Passes over the training data. @default 8 */
  epochs?: number;
  /** Seed of the per-epoch shuffles. @default 13 */
  seed?: number;
  /** Drop features seen fewer than this many times in training. @default 2 */
  minFeatureCount?: number;
  /** Extra provenance recorded in the file. */
  provenance?: Record<string, unknown>;
  /** Name/place lists for gazetteer features (stored in the file). @default none */
  gazetteer?: Gazetteer;
  /**
   * Averaged weights smaller than this in magnitude are dropped from the model (they rarely change
   * a decision and make up most of the file). @default 0
   */
  minWeight?: number;
  /**
   * Feature set: 1 (the original), 2 (character and gazetteer features) or 3 (2 plus the
   * gazetteer tags two tokens away, the gazetteer trigram around the word, and the mark glued
   * before the word — "@", "#" — with its gazetteer tag and shape). @default 2
   */
  version?: 1 | 2 | 3;
}

function shape(word: string): string {
  return word
    .replace(/\p{Lu}/gu, "X")
    .replace(/\p{Ll}/gu, "x")
    .replace(/\p{N}/gu, "d")
    .replace(/[^Xxd]/g, (c) => c);
}

function shortShape(word: string): string {
  return shape(word).replace(/(.)\1+/g, "$1");
}

/**
 * Features of token `i` given the two previous predicted labels. `tokens` may be a window of a
 * longer token sequence starting at global index `base`; it must then hold the two tokens
 * before `i` and the two after it (when they exist).
 */
function features(version: number, tokens: readonly Token[], lower: readonly string[], shapes: readonly string[], gz: readonly string[], i: number, prev: string, prev2: string, base = 0): string[] {
  const t = tokens[i];
  const w = t.value;
  const lw = lower[i];
  const sh = shapes[i];
  const f = [
    "b",
    "w=" + lw,
    "s3=" + lw.slice(-3),
    "s2=" + lw.slice(-2),
    "p2=" + lw.slice(0, 2),
    "sh=" + sh,
    "lsh=" + shape(w.slice(0, 16)).slice(0, 8), // = shape(w).slice(0, 8): 16 units hold ≥ 8 code points
    "len=" + Math.min(w.length, 12),
    "nl=" + t.newline,
    "first=" + (base + i === 0),
    "pt=" + prev,
    "pt2=" + prev2 + "|" + prev,
    "ptsh=" + prev + "|" + sh,
    "pw=" + (base + i > 0 ? lower[i - 1] : "<s>"),
    "ppw=" + (base + i > 1 ? lower[i - 2] : "<s>"),
    "nw=" + (i + 1 < tokens.length ? lower[i + 1] : "</s>"),
    "nnw=" + (i + 2 < tokens.length ? lower[i + 2] : "</s>"),
    "psh=" + (base + i > 0 ? shapes[i - 1] : "<s>"),
    "nsh=" + (i + 1 < tokens.length ? shapes[i + 1] : "</s>"),
    "pw|w=" + (base + i > 0 ? lower[i - 1] : "<s>") + "|" + lw,
    "w|nw=" + lw + "|" + (i + 1 < tokens.length ? lower[i + 1] : "</s>"),
    "pt|w=" + prev + "|" + lw,
    "psh|sh|nsh=" + (base + i > 0 ? shapes[i - 1] : "<s>") + "|" + sh + "|" + (i + 1 < tokens.length ? shapes[i + 1] : "</s>"),
  ];
  if (/^\p{N}+$/u.test(w)) f.push("ndig=" + w.length, "n4=" + (w.length === 4 ? w.slice(0, 2) : "-"));
  if (version >= 2) {
    const pg = base + i > 0 ? gz[i - 1] : "<s>";
    const ng = i + 1 < tokens.length ? gz[i + 1] : "</s>";
    const g = gz[i];
    const pp = base + i > 0 ? tokens[i - 1].value : "";
    f.push(
      "s4=" + lw.slice(-4),
      "p3=" + lw.slice(0, 3),
      "gz=" + g,
      "gz|sh=" + g + "|" + sh,
      "pgz|gz=" + pg + "|" + g,
      "gz|ngz=" + g + "|" + ng,
      "pgz|sh=" + pg + "|" + sh,
      "ngz|sh=" + ng + "|" + sh,
      "pt|gz=" + prev + "|" + g,
      "pw|sh=" + (base + i > 0 ? lower[i - 1] : "<s>") + "|" + sh,
      "sh|nw=" + sh + "|" + (i + 1 < tokens.length ? lower[i + 1] : "</s>"),
      "adj=" + (base + i > 0 && tokens[i - 1].end === t.start ? pp.slice(-1) : " "),
    );
    if (version >= 3) {
      const adj = base + i > 0 && tokens[i - 1].end === t.start ? pp.slice(-1) : " ";
      f.push(
        "p2gz=" + (base + i > 1 ? gz[i - 2] : "<s>"),
        "n2gz=" + (i + 2 < tokens.length ? gz[i + 2] : "</s>"),
        "pgz|gz|ngz=" + pg + "|" + g + "|" + ng,
        "adj|gz=" + adj + "|" + g,
        "adj|sh=" + adj + "|" + sh,
      );
    }
  }
  return f;
}

/** A token with a letter or digit (spans end at the last such token). */
const WORDISH = /[\p{L}\p{N}]/u;

/** Converts gold spans to one BIO label per token (tokens overlapping a span take its type). */
export function bioLabels(tokens: readonly Token[], spans: LabeledText["spans"]): string[] {
  const labels = tokens.map(() => "O");
  for (const s of spans) {
    let first = true;
    tokens.forEach((t, i) => {
      if (t.start < s.end && s.start < t.end) {
        labels[i] = (first ? "B-" : "I-") + s.type;
        first = false;
      }
    });
  }
  return labels;
}

/** Turns BIO labels (and per-token scores) back into character spans of `text`. */
export function bioToSpans(text: string, tokens: readonly Token[], labels: readonly string[], scores: readonly number[]): PiiSpan[] {
  const out: PiiSpan[] = [];
  let cur: { type: EntityType; from: number; to: number; scores: number[] } | undefined;
  const close = () => {
    if (!cur) return;
    let to = cur.to;
    while (to >= cur.from && !WORDISH.test(tokens[to].value)) to--; // trailing punctuation is not part of a span
    if (to < cur.from) return void (cur = undefined);
    const start = tokens[cur.from].start;
    const end = tokens[to].end;
    const score = cur.scores.reduce((a, b) => a + b, 0) / cur.scores.length;
    out.push({ start, end, type: cur.type, text: text.slice(start, end), score, source: "tagger" });
    cur = undefined;
  };
  labels.forEach((label, i) => {
    if (label === "O") return close();
    const type = label.slice(2);
    if (!isEntityType(type)) return close();
    if (label.startsWith("I-") && cur && cur.type === type && cur.to === i - 1) {
      cur.to = i;
      cur.scores.push(scores[i]);
    } else {
      close();
      cur = { type, from: i, to: i, scores: [scores[i]] };
    }
  });
  close();
  return out;
}

/** The non-zero weights of one feature: label indices `k` and weights `v`, index-aligned. */
interface SparseRow {
  k: Uint16Array;
  v: Float64Array;
}

/** Options of {@link PerceptronTagger.tag} and {@link PerceptronTagger.tagSteps}. */
export interface TagOptions {
  /**
   * Score with the reference path (a feature string per feature, looked up in a string-keyed
   * `Map`) instead of the hashed one (`feature-hash.ts`). Same labels and scores, ≈ 10× slower;
   * for tests and benchmarks. @default false
   */
  reference?: boolean;
}

/** One token at a time, the decisions of the greedy decoder: the string-feature reference path. */
interface TokenScorer {
  readonly size: number;
  z: number;
  push(t: Token, g: number): void;
  decide(i: number, g: number, prev: number, prev2: number): number;
  drop(k: number): void;
}

/** A trained (or loaded) BIO perceptron tagger. */
export class PerceptronTagger {
  readonly labels: string[];
  /** feature → its non-zero weights: label indices and values (sparse: most features touch a few labels). */
  private readonly weights: Map<string, SparseRow>;
  readonly version: 1 | 2 | 3;
  private readonly gazetteer?: Gazetteer;
  private readonly gz: Map<string, string>;

  /** Length of the longest feature key: a longer feature string cannot carry a weight. */
  private readonly maxKey: number;
  /** The weights in a hash table for the fast path (undefined in the ≈ 1e-9 case of a 64-bit collision). */
  private readonly hashed?: HashedWeights;
  private readonly parts: TokenParts;

  private constructor(labels: string[], weights: Map<string, SparseRow>, version: 1 | 2 | 3 = 1, gazetteer?: Gazetteer) {
    this.labels = labels;
    this.weights = weights;
    this.version = version;
    this.gazetteer = gazetteer;
    this.gz = gazetteer ? gazetteerIndex(gazetteer) : new Map();
    let max = 0;
    for (const k of weights.keys()) if (k.length > max) max = k.length;
    this.maxKey = max;
    this.hashed = buildHashedWeights(weights, labels);
    this.parts = {
      lower: (v) => this.compact(v.toLowerCase()),
      shortShape: (v) => this.compact(shortShape(v)),
      longShape: (v) => shape(v.slice(0, 16)).slice(0, 8),
      gzTag: (l) => this.gzTag(l),
      maxKey: max,
    };
  }

  /** A scorer for one text: the hashed one, or the reference one (`reference`, or no hash table). */
  private scorer(reference: boolean): TokenScorer {
    if (!reference && this.hashed) return new HashedScorer(this.hashed, this.version, this.parts);
    const toks: Token[] = [];
    const lower: string[] = [];
    const shapes: string[] = [];
    const gz: string[] = [];
    let base = 0;
    const label = (k: number) => (k < 0 ? "<s>" : this.labels[k]);
    const self = this;
    return {
      z: 1,
      get size() {
        return toks.length;
      },
      push(t) {
        toks.push(t);
        const l = self.compact(t.value.toLowerCase());
        lower.push(l);
        gz.push(self.gzTag(l));
        shapes.push(self.compact(shortShape(t.value)));
      },
      decide(i, _g, prev, prev2) {
        const { best, z } = self.decide(features(self.version, toks, lower, shapes, gz, i, label(prev), label(prev2), base));
        this.z = z;
        return best;
      },
      drop(k) {
        for (const a of [toks, lower, shapes, gz]) a.splice(0, k);
        base += k;
      },
    };
  }

  /** The best label index for one token's features and the softmax normaliser z (score = 1/z). */
  private decide(feats: Iterable<string>): { best: number; z: number } {
    const n = this.labels.length;
    const s = new Float64Array(n);
    for (const f of feats) {
      const r = this.weights.get(f);
      if (r) for (let j = 0; j < r.k.length; j++) s[r.k[j]] += r.v[j];
    }
    let best = 0;
    for (let k = 1; k < n; k++) if (s[k] > s[best]) best = k;
    let z = 0;
    for (let k = 0; k < n; k++) z += Math.exp(s[k] - s[best]);
    return { best, z };
  }

  /**
   * True when `text` is a country or continent name of the tagger's gazetteer (case-insensitive,
   * a leading "the" ignored). False when the model has no country list.
   */
  isCountry(text: string): boolean {
    if (!this.countries) this.countries = new Set(this.gazetteer?.country ?? []);
    return this.countries.has(text.trim().toLowerCase().replace(/^the\s+/, ""));
  }

  private countries?: Set<string>;

  /** Gazetteer tag of a lower-cased word ("-" when in no list). */
  private gzTag(lower: string): string {
    return this.gz.get(lower) ?? "-";
  }

  /**
   * A word or shape as used in feature strings: unchanged, or — when longer than any feature
   * key, so that no feature built from it can have a weight — shortened to its ends around a
   * NUL (no key contains one), which keeps prefix/suffix features and costs O(1) to hash.
   */
  private compact(x: string): string {
    return x.length > this.maxKey ? x.slice(0, 8) + "\u0000" + x.slice(-8) : x;
  }

  /** Loads a serialized tagger. Throws `Error` when `file.kind` is not "bio-perceptron". */
  static fromJSON(file: TaggerFile): PerceptronTagger {
    if (file.kind !== "bio-perceptron") throw new Error(`not a bio-perceptron tagger file (kind: ${String(file.kind)})`);
    const weights = new Map<string, SparseRow>();
    for (const [feat, packed] of Object.entries(file.weights)) {
      const pairs = packed.split(",");
      const row: SparseRow = { k: new Uint16Array(pairs.length), v: new Float64Array(pairs.length) };
      pairs.forEach((pair, j) => {
        const [k, w] = pair.split(":");
        row.k[j] = Number(k);
        row.v[j] = Number(w);
      });
      weights.set(feat, row);
    }
    return new PerceptronTagger(file.labels, weights, file.version === 3 ? 3 : file.version === 2 ? 2 : 1, file.gazetteer);
  }

  /**
   * Trains on `examples` (deterministic for a given seed). Time: about 1 s per epoch per 1,000
   * examples of ~40 tokens on one core.
   */
  static train(examples: readonly LabeledText[], options: TaggerTrainOptions = {}): { tagger: PerceptronTagger; file: TaggerFile } {
    const epochs = options.epochs ?? 8;
    const seed = options.seed ?? 13;
    const minCount = options.minFeatureCount ?? 2;
    const version = options.version ?? 2;
    const minWeight = options.minWeight ?? 0;
    const gzIndex = options.gazetteer && version >= 2 ? gazetteerIndex(options.gazetteer) : new Map<string, string>();
    const prepared = examples.map((e) => {
      const tokens = tokenize(e.text);
      const lower = tokens.map((t) => t.value.toLowerCase());
      return { tokens, lower, shapes: tokens.map((t) => shortShape(t.value)), gz: lower.map((l) => gzIndex.get(l) ?? "-"), gold: bioLabels(tokens, e.spans) };
    });
    const labelSet = new Set<string>(["O"]);
    for (const p of prepared) for (const l of p.gold) labelSet.add(l);
    const labels = [...labelSet].sort((a, b) => (a === "O" ? -1 : b === "O" ? 1 : a.localeCompare(b)));
    const index = new Map(labels.map((l, i) => [l, i]));
    const n = labels.length;

    // Feature counts on gold histories, for pruning rare features.
    const counts = new Map<string, number>();
    for (const p of prepared) {
      for (let i = 0; i < p.tokens.length; i++) {
        for (const f of features(version, p.tokens, p.lower, p.shapes, p.gz, i, i > 0 ? p.gold[i - 1] : "<s>", i > 1 ? p.gold[i - 2] : "<s>")) counts.set(f, (counts.get(f) ?? 0) + 1);
      }
    }
    const keep = (f: string) => (counts.get(f) ?? 0) >= minCount;

    const w = new Map<string, Float64Array>();
    const totals = new Map<string, Float64Array>();
    const stamps = new Map<string, Float64Array>();
    let step = 0;
    const vec = (m: Map<string, Float64Array>, f: string) => {
      let v = m.get(f);
      if (!v) m.set(f, (v = new Float64Array(n)));
      return v;
    };
    const update = (f: string, label: number, delta: number) => {
      const wv = vec(w, f);
      const tv = vec(totals, f);
      const sv = vec(stamps, f);
      tv[label] += (step - sv[label]) * wv[label];
      sv[label] = step;
      wv[label] += delta;
    };
    const scoresOf = (feats: string[]) => {
      const s = new Float64Array(n);
      for (const f of feats) {
        const v = w.get(f);
        if (v) for (let k = 0; k < n; k++) s[k] += v[k];
      }
      return s;
    };

    for (let epoch = 0; epoch < epochs; epoch++) {
      for (const p of seededShuffle(prepared, seed + epoch)) {
        let prev = "<s>";
        let prev2 = "<s>";
        for (let i = 0; i < p.tokens.length; i++) {
          step++;
          const feats = features(version, p.tokens, p.lower, p.shapes, p.gz, i, prev, prev2).filter(keep);
          const s = scoresOf(feats);
          let guess = 0;
          for (let k = 1; k < n; k++) if (s[k] > s[guess]) guess = k;
          const truth = index.get(p.gold[i]) ?? 0;
          if (guess !== truth) {
            for (const f of feats) {
              update(f, truth, 1);
              update(f, guess, -1);
            }
          }
          prev2 = prev;
          prev = labels[guess];
        }
      }
    }
    // Average.
    const averaged = new Map<string, SparseRow>();
    const packed: Record<string, string> = {};
    for (const [f, wv] of w) {
      const tv = totals.get(f)!;
      const sv = stamps.get(f)!;
      const ks: number[] = [];
      const vs: number[] = [];
      for (let k = 0; k < n; k++) {
        const total = tv[k] + (step - sv[k]) * wv[k];
        const value = Math.round((total / step) * 1000) / 1000;
        if (value !== 0 && Math.abs(value) >= minWeight) {
          ks.push(k);
          vs.push(value);
        }
      }
      if (ks.length > 0) {
        averaged.set(f, { k: Uint16Array.from(ks), v: Float64Array.from(vs) });
        packed[f] = ks.map((k, j) => `${k}:${vs[j]}`).join(",");
      }
    }
    const gazetteer = version >= 2 ? options.gazetteer : undefined;
    const file: TaggerFile = {
      kind: "bio-perceptron",
      version,
      labels,
      weights: packed,
      provenance: { algorithm: "greedy averaged perceptron, BIO labels", featureSet: version, epochs, seed, minFeatureCount: minCount, minWeight, trainExamples: examples.length, gazetteer: gazetteer?.source ?? null, ...options.provenance },
      ...(gazetteer ? { gazetteer } : {}),
    };
    return { tagger: new PerceptronTagger(labels, averaged, version, gazetteer), file };
  }

  /** Per-token labels and scores (softmax probability of the chosen label, in [0, 1]). */
  tagTokens(tokens: readonly Token[], options: TagOptions = {}): { labels: string[]; scores: number[] } {
    const scorer = this.scorer(options.reference ?? false);
    for (let i = 0; i < tokens.length; i++) scorer.push(tokens[i], i);
    const out: string[] = [];
    const scores: number[] = [];
    let prev = -1;
    let prev2 = -1;
    for (let i = 0; i < tokens.length; i++) {
      const best = scorer.decide(i, i, prev, prev2);
      out.push(this.labels[best]);
      scores.push(1 / scorer.z);
      prev2 = prev;
      prev = best;
    }
    return { labels: out, scores };
  }

  /** Private spans of `text` found by the tagger (source "tagger"). Linear time; see {@link tagSteps}. */
  tag(text: string, options: TagOptions = {}): PiiSpan[] {
    const out: PiiSpan[] = [];
    for (const batch of this.tagSteps(text, 1024, options)) out.push(...batch);
    return out;
  }

  /**
   * The same spans as {@link tag}, in steps of at most `batchTokens` tokens (each a few ms of
   * CPU), so that a caller can yield between steps. Tokens are read lazily and only a window of
   * them is kept; the greedy left-to-right decoding carries its state across steps, so the
   * result is identical to tagging the whole token sequence at once.
   */
  *tagSteps(text: string, batchTokens = 1024, options: TagOptions = {}): Generator<PiiSpan[]> {
    const stream = tokenStream(text);
    const scorer = this.scorer(options.reference ?? false);
    let toks: Token[] = [];
    let base = 0; // global index of toks[0]
    let done = false;
    const pull = (count: number) => {
      while (!done && toks.length < count) {
        const r = stream.next();
        if (r.done) done = true;
        else {
          scorer.push(r.value, base + toks.length);
          toks.push(r.value);
        }
      }
    };
    let prev = -1;
    let prev2 = -1;
    // `end`: end of the span's last token with a letter or digit (trailing punctuation such as
    // the full stop after a name is not part of it; a span of punctuation only is dropped).
    let cur: { type: EntityType; start: number; end: number; last: number; scores: number[] } | undefined;
    let out: PiiSpan[] = [];
    const close = () => {
      if (!cur) return;
      const score = cur.scores.reduce((a, b) => a + b, 0) / cur.scores.length;
      if (cur.end > cur.start) out.push({ start: cur.start, end: cur.end, type: cur.type, text: text.slice(cur.start, cur.end), score, source: "tagger" });
      cur = undefined;
    };
    for (let g = 0; ; g++) {
      const i = g - base;
      pull(i + 3); // token i and two after it
      if (i >= toks.length) break;
      const best = scorer.decide(i, g, prev, prev2);
      const label = this.labels[best];
      const score = 1 / scorer.z;
      prev2 = prev;
      prev = best;
      // BIO → spans, as in bioToSpans.
      const t = toks[i];
      if (label === "O") close();
      else {
        const type = label.slice(2);
        if (!isEntityType(type)) close();
        else if (label.startsWith("I-") && cur && cur.type === type && cur.last === g - 1) {
          if (WORDISH.test(t.value)) cur.end = t.end;
          cur.last = g;
          cur.scores.push(score);
        } else {
          close();
          cur = { type, start: t.start, end: WORDISH.test(t.value) ? t.end : t.start, last: g, scores: [score] };
        }
      }
      if ((g + 1) % batchTokens === 0) {
        // Keep the two tokens before the next one.
        const drop = i - 1;
        if (drop > 0) {
          toks = toks.slice(drop);
          scorer.drop(drop);
          base += drop;
        }
        yield out;
        out = [];
      }
    }
    close();
    yield out;
  }
}

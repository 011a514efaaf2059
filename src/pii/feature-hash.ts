/**
 * The fast scoring path of the BIO perceptron tagger (`tagger.ts`): feature hashing into typed
 * arrays instead of building a feature string per feature and looking it up in a string-keyed
 * `Map` (Weinberger et al. 2009, "Feature hashing for large scale multitask learning", as in
 * Vowpal Wabbit — here with the feature strings known at load time, so nothing collides).
 *
 * - At load, every feature string of the model gets two 32-bit polynomial hashes (Horner over
 *   its UTF-16 code units, two odd multipliers: 64 bits in all) and goes into an open-addressing
 *   table (`Int32Array`, linear probing, ≤ half full; a slot holds the first weight inline, the
 *   rest of the row is in one packed `Int32Array`): ≈ 4.8 MB for the shipped model.
 * - At tagging time, each token's parts (lower-cased word, shape, prefixes and suffixes,
 *   gazetteer tag, …) are hashed once into a record of a window `Int32Array`; a feature's hash is
 *   then composed from its parts' hashes without building its string, because polynomial hashes
 *   concatenate: H(a + b) = H(a)·B^|b| + H(b) (mod 2^32). A feature matches a table entry only
 *   when both hashes agree, so an unknown feature takes a known one's weights with probability
 *   ≈ 2^-64 per lookup; a model whose own features collide (≈ 10^-9 for 10^5 features) is served
 *   by the reference path instead (`buildHashedWeights` returns undefined).
 * - Word-keyed context features (previous/next words, word pairs) are looked up only when each
 *   of their words occurs in that position in some feature of the model (role bits per word,
 *   from the feature strings): in unseen text most such lookups would miss, each a cache miss.
 * - Weights are kept as integers in thousandths (the model file rounds them to 1e-3), so sums
 *   are exact and order-free: the features of a word alone (word, affixes, shapes, length,
 *   gazetteer tag, bias) are summed once per distinct word of a text and memoised for that
 *   text only (a bounded `Map` that lives as long as the text's scorer: no words of one request
 *   are kept for the next), and only the context features are looked up per token. Exact sums
 *   can differ from the reference's floating-point sums in the last bit, so a label could differ
 *   where two labels tie to 1e-15; `feature-hash.test.ts` checks that labels are identical (and
 *   scores equal to 1e-9) on real and odd texts.
 *
 * No package or file access: browser-safe, like the rest of the detection path.
 */
import type { Token } from "./tokenize.js";

/** The two odd multipliers of the polynomial hashes (FNV's prime and the golden-ratio constant). */
const BASE = [16777619, 0x9e3779b1 | 0] as const;
const BAR = 124; // "|"

/**
 * Non-zero weights of the model's features, in a hash table keyed by two 32-bit string hashes.
 * A weight is packed with its label as `(thousandths << 8) | label`.
 */
export interface HashedWeights {
  /**
   * Slot i (16 bytes, so one cache line holds it and a one-weight row): [hash1, hash2, info,
   * first weight] at 4i; info = 0: empty, else `(offset << 6) | count` — `count` weights, the
   * first inline, the others at `rows[offset …]`. Size a power of two, at most half full.
   */
  slots: Int32Array;
  mask: number;
  rows: Int32Array;
  /** Labels the rows index. */
  labels: number;
  /** Label parts: label index + 1 (0: "<s>") → [H1, P1, H2, P2] at 4·(index + 1). */
  lab: Int32Array;
  /** The two pseudo-records ("<s>", "</s>") every scorer's window starts with. */
  bounds: Int32Array;
  /**
   * Word → the word-keyed feature positions it occurs in ({@link WORD_ROLES} bits): a context
   * feature with a word that never occurs in its position has no weight, and is not looked up
   * (most lookups of unseen text are such misses, each a cache miss).
   */
  roles: Map<string, number>;
}

/** Positions of words in the word-keyed context features: feature name → a bit per part (0: not a word). */
const WORD_ROLES: Readonly<Record<string, readonly number[]>> = {
  "pw": [1],
  "ppw": [2],
  "nw": [4],
  "nnw": [8],
  "pw|w": [16, 32],
  "w|nw": [64, 128],
  "pt|w": [0, 256],
  "pw|sh": [512, 0],
  "sh|nw": [0, 1024],
};

/** Role bits of the model's words (see {@link HashedWeights.roles}). */
function wordRoles(features: Iterable<string>): Map<string, number> {
  const roles = new Map<string, number>();
  const add = (w: string, bit: number) => {
    if (bit) roles.set(w, (roles.get(w) ?? 0) | bit);
  };
  for (const f of features) {
    const eq = f.indexOf("=");
    const bits = WORD_ROLES[f.slice(0, eq)];
    if (!bits) continue;
    const rest = f.slice(eq + 1);
    if (bits.length === 1) add(rest, bits[0]);
    else {
      // Two parts joined by "|": a part holds "|" only when it is the one-symbol token "|".
      const cut = rest.startsWith("|") ? 1 : rest.indexOf("|");
      add(rest.slice(0, cut), bits[0]);
      add(rest.slice(cut + 1), bits[1]);
    }
  }
  return roles;
}

/** Both polynomial hashes of a string: [H1, B1^len, H2, B2^len] (mod 2^32, as int32). */
export function hashString(s: string, from = 0, to = s.length): [number, number, number, number] {
  let h1 = 0;
  let h2 = 0;
  let p1 = 1;
  let p2 = 1;
  for (let j = from; j < to; j++) {
    const c = s.charCodeAt(j);
    h1 = (Math.imul(h1, BASE[0]) + c) | 0;
    h2 = (Math.imul(h2, BASE[1]) + c) | 0;
    p1 = Math.imul(p1, BASE[0]);
    p2 = Math.imul(p2, BASE[1]);
  }
  return [h1, p1, h2, p2];
}

function slotOf(h1: number, h2: number, mask: number): number {
  // murmur3's finaliser: the low bits of a polynomial hash depend on the low bits of the code units only.
  let x = h1 ^ Math.imul(h2, 0x27d4eb2f);
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x & mask;
}

/**
 * Builds the hash table of `rows` (feature string → label indices and weights). Returns undefined
 * when two feature strings share both hashes, or a weight is not a multiple of 1e-3 (then the
 * caller keeps string lookups).
 */
export function buildHashedWeights(rows: ReadonlyMap<string, { k: Uint16Array; v: Float64Array }>, labelNames: readonly string[]): HashedWeights | undefined {
  const labels = labelNames.length;
  if (labels > 63) return undefined;
  let size = 16;
  while (size < rows.size * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size * 4);
  let pairs = 0;
  for (const r of rows.values()) pairs += r.k.length;
  if (pairs >= 2 ** 25) return undefined; // offsets are packed in 25 bits
  const packed = new Int32Array(pairs);
  let at = 0;
  for (const [feature, row] of rows) {
    const n = row.k.length;
    if (n === 0) continue;
    const [h1, , h2] = hashString(feature);
    let s = slotOf(h1, h2, mask);
    while (slots[s * 4 + 2] !== 0) {
      if (slots[s * 4] === h1 && slots[s * 4 + 1] === h2) return undefined;
      s = (s + 1) & mask;
    }
    const pack = (j: number) => {
      const milli = Math.round(row.v[j] * 1000);
      return Math.abs(row.v[j] * 1000 - milli) > 1e-6 || Math.abs(milli) >= 2 ** 23 ? undefined : (milli << 8) | row.k[j];
    };
    const first = pack(0);
    if (first === undefined) return undefined;
    slots[s * 4] = h1;
    slots[s * 4 + 1] = h2;
    slots[s * 4 + 2] = (at << 6) | n;
    slots[s * 4 + 3] = first;
    for (let j = 1; j < n; j++) {
      const p = pack(j);
      if (p === undefined) return undefined;
      packed[at++] = p;
    }
  }
  const lab = new Int32Array(4 * (labels + 1));
  put(lab, 0, hashString("<s>"));
  labelNames.forEach((l, i) => put(lab, 4 * (i + 1), hashString(l)));
  const roles = wordRoles(rows.keys());
  const bounds = new Int32Array(FIRST_TOKEN);
  for (const [at, s] of [[START, "<s>"], [END, "</s>"]] as const) {
    for (const part of [LW, SH, GZ]) put(bounds, at + part, hashString(s));
    bounds[at + ROLES] = roles.get(s) ?? 0;
  }
  return { slots, mask, rows: packed.slice(0, at), labels, lab, bounds, roles };
}

/** Adds the row of feature (h1, h2), if the model has it, to `s`. */
function addRow(t: HashedWeights, s: Int32Array, h1: number, h2: number): void {
  const slots = t.slots;
  let at = slotOf(h1, h2, t.mask) << 2;
  for (;;) {
    const info = slots[at + 2];
    if (info === 0) return;
    if (slots[at] === h1 && slots[at + 1] === h2) {
      const p = slots[at + 3];
      s[p & 255] += p >> 8;
      const n = info & 63;
      if (n > 1) {
        const rows = t.rows;
        const from = info >>> 6;
        const end = from + n - 1;
        for (let q = from; q < end; q++) {
          const x = rows[q];
          s[x & 255] += x >> 8;
        }
      }
      return;
    }
    at += 4;
    if (at === slots.length) at = 0;
  }
}

/** What is memoised per distinct token value: its own features' summed weights and its context parts. */
export interface WordEntry {
  /** Summed weights (thousandths) of the token's own features and the bias, per label. */
  own: Int32Array;
  /** Record parts LW, SH, GZ and ROLES (13 ints), which context features use. */
  context: Int32Array;
}

// Parts of a token record: each holds [H1, P1, H2, P2] (P = B^length), at these offsets.
const LW = 0; // lower-cased word (compacted)
const SH = 4; // short shape (compacted)
const GZ = 8; // gazetteer tag
const ROLES = 12; // one int: role bits of the lower-cased word (HashedWeights.roles)
const LSH = 16; // long shape, 8 units
const S2 = 20;
const S3 = 24;
const S4 = 28;
const P2 = 32;
const P3 = 36;
const ADJ = 40; // last unit of an adjacent previous token, or " "
const LEN = 44; // min(length, 12)
const NL = 48; // "true" / "false"
const FIRST = 52; // "true" / "false"
const NDIG = 56; // number of digits (digit tokens)
const N4 = 60; // first two digits of a 4-digit token, or "-"
const DIGIT = 64; // one int: 1 when the token is all digits
const STRIDE = 68;
/** Pseudo-records 0 and 1: "<s>" and "</s>" in every part (neighbours beyond the text). */
const START = 0;
const END = STRIDE;
const FIRST_TOKEN = 2 * STRIDE;

/** Prefixes of the feature strings, in the reference order of `features()` in tagger.ts. */
const PREFIXES = ["b", "w=", "s3=", "s2=", "p2=", "sh=", "lsh=", "len=", "nl=", "first=", "pt=", "pt2=", "ptsh=", "pw=", "ppw=", "nw=", "nnw=", "psh=", "nsh=", "pw|w=", "w|nw=", "pt|w=", "psh|sh|nsh=", "ndig=", "n4=", "s4=", "p3=", "gz=", "gz|sh=", "pgz|gz=", "gz|ngz=", "pgz|sh=", "ngz|sh=", "pt|gz=", "pw|sh=", "sh|nw=", "adj=", "p2gz=", "n2gz=", "pgz|gz|ngz=", "adj|gz=", "adj|sh="] as const;
const PRE: readonly Int32Array[] = [0, 2].map((b) => Int32Array.from(PREFIXES, (p) => hashString(p)[b]));

function put(rec: Int32Array, at: number, h: readonly number[]): void {
  rec[at] = h[0];
  rec[at + 1] = h[1];
  rec[at + 2] = h[2];
  rec[at + 3] = h[3];
}

/** Hashes `s.slice(from, to)` into rec[at..at+4). */
function putRange(rec: Int32Array, at: number, s: string, from: number, to: number): void {
  let h1 = 0;
  let h2 = 0;
  let p1 = 1;
  let p2 = 1;
  for (let j = from; j < to; j++) {
    const c = s.charCodeAt(j);
    h1 = (Math.imul(h1, 16777619) + c) | 0;
    h2 = (Math.imul(h2, BASE[1]) + c) | 0;
    p1 = Math.imul(p1, 16777619);
    p2 = Math.imul(p2, BASE[1]);
  }
  rec[at] = h1;
  rec[at + 1] = p1;
  rec[at + 2] = h2;
  rec[at + 3] = p2;
}

const CONST = new Map<string, readonly number[]>();
function constHash(s: string): readonly number[] {
  let h = CONST.get(s);
  if (!h) CONST.set(s, (h = hashString(s)));
  return h;
}
const TRUE = hashString("true");
const FALSE = hashString("false");
const DASH = hashString("-");
const SPACE = hashString(" ");
const EMPTY = hashString("");
const LENS = Array.from({ length: 13 }, (_, i) => hashString(String(i)));
const NUMERIC = /^\p{N}+$/u;

/** What the fast scorer needs of the tagger: the slow-path helpers it falls back on for rare tokens. */
export interface TokenParts {
  /** `compact(value.toLowerCase())` of tagger.ts. */
  lower(value: string): string;
  /** `compact(shortShape(value))` of tagger.ts (any text). */
  shortShape(value: string): string;
  /** `shape(value.slice(0, 16)).slice(0, 8)` of tagger.ts (any text). */
  longShape(value: string): string;
  /** Gazetteer tag of a lower-cased word ("-": none). */
  gzTag(lower: string): string;
  /** Longest feature key of the model (a longer part is compacted). */
  maxKey: number;
}

/** Distinct token values of a text memoised before the memo is emptied (≈ 300 bytes each). */
const MEMO_LIMIT = 20_000;
/** Longer tokens are not memoised (a long key would pin memory; such tokens rarely repeat). */
const MEMO_MAX_LENGTH = 40;

/**
 * Scores tokens left to right over a window of per-token hash records (the tokens before the
 * current one that features look at, and the two after it). Same decisions as the reference.
 */
export class HashedScorer {
  private rec = new Int32Array(FIRST_TOKEN + 32 * STRIDE);
  /** Tokens in the window (records from FIRST_TOKEN). */
  private count = 0;
  private lastEnd = -1;
  private lastUnit = 0;
  private readonly f1 = new Int32Array(64);
  private readonly f2 = new Int32Array(64);
  /** Own-feature sums of the window's tokens, index-aligned with the records. */
  private own: Int32Array[] = [];
  /** This text's distinct token values → their own-feature sums and context parts. */
  private readonly memo = new Map<string, WordEntry>();
  private readonly scores: Int32Array;
  private readonly lab: Int32Array;
  /** Softmax normaliser of the last decision (score of the chosen label = 1 / z). */
  z = 1;

  constructor(
    private readonly table: HashedWeights,
    private readonly version: number,
    private readonly parts: TokenParts,
  ) {
    this.scores = new Int32Array(table.labels);
    this.lab = table.lab;
    this.rec.set(table.bounds);
  }

  /** Empties the window (a new text). */
  reset(): void {
    this.count = 0;
    this.lastEnd = -1;
    this.own = [];
    this.memo.clear();
  }

  /** Tokens held. */
  get size(): number {
    return this.count;
  }

  /** Drops the first `k` tokens of the window. */
  drop(k: number): void {
    this.rec.copyWithin(FIRST_TOKEN, FIRST_TOKEN + k * STRIDE, FIRST_TOKEN + this.count * STRIDE);
    this.own.splice(0, k);
    this.count -= k;
  }

  /** Appends token `t` (global index `g`) to the window: hashes its parts once. */
  push(t: Token, g: number): void {
    if (FIRST_TOKEN + (this.count + 1) * STRIDE > this.rec.length) {
      const bigger = new Int32Array(this.rec.length * 2);
      bigger.set(this.rec);
      this.rec = bigger;
    }
    const r = this.rec;
    const o = FIRST_TOKEN + this.count * STRIDE;
    this.count++;
    const w = t.value;
    const n = w.length;
    if (g > 0 && this.lastEnd === t.start) {
      if (this.lastUnit < 0) put(r, o + ADJ, EMPTY);
      else {
        r[o + ADJ] = this.lastUnit;
        r[o + ADJ + 1] = 16777619;
        r[o + ADJ + 2] = this.lastUnit;
        r[o + ADJ + 3] = BASE[1];
      }
    } else put(r, o + ADJ, SPACE);
    this.lastEnd = t.end;
    this.lastUnit = n > 0 ? w.charCodeAt(n - 1) : -1;
    put(r, o + NL, t.newline ? TRUE : FALSE);
    put(r, o + FIRST, g === 0 ? TRUE : FALSE);
    const memo = this.memo;
    const hit = n <= MEMO_MAX_LENGTH ? memo.get(w) : undefined;
    if (hit) {
      r.set(hit.context, o);
      this.own.push(hit.own);
      return;
    }
    this.hashParts(w, o);
    const own = this.ownSums(o);
    if (n <= MEMO_MAX_LENGTH) {
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(w, { own, context: r.slice(o, o + 13) });
    }
    this.own.push(own);
  }

  /** Hashes the parts of token value `w` into the record at `o` (all but ADJ, NL, FIRST). */
  private hashParts(w: string, o: number): void {
    const r = this.rec;
    const n = w.length;
    const maxKey = this.parts.maxKey;
    // Shapes: X upper, x lower, d digit, other units as they are; ASCII inline, the rest by the reference.
    let ascii = true;
    let sh1 = 0, sh2 = 0, shp1 = 1, shp2 = 1, shLen = 0, last = -1;
    let l1 = 0, l2 = 0, lp1 = 1, lp2 = 1;
    for (let j = 0; j < n; j++) {
      const c = w.charCodeAt(j);
      if (c >= 128) {
        ascii = false;
        break;
      }
      const m = c >= 65 && c <= 90 ? 88 : c >= 97 && c <= 122 ? 120 : c >= 48 && c <= 57 ? 100 : c;
      if (j < 8) {
        l1 = (Math.imul(l1, 16777619) + m) | 0;
        l2 = (Math.imul(l2, BASE[1]) + m) | 0;
        lp1 = Math.imul(lp1, 16777619);
        lp2 = Math.imul(lp2, BASE[1]);
      }
      if (m !== last) {
        sh1 = (Math.imul(sh1, 16777619) + m) | 0;
        sh2 = (Math.imul(sh2, BASE[1]) + m) | 0;
        shp1 = Math.imul(shp1, 16777619);
        shp2 = Math.imul(shp2, BASE[1]);
        shLen++;
        last = m;
      }
    }
    if (ascii && shLen <= maxKey) {
      r[o + SH] = sh1;
      r[o + SH + 1] = shp1;
      r[o + SH + 2] = sh2;
      r[o + SH + 3] = shp2;
    } else {
      const s = this.parts.shortShape(w);
      putRange(r, o + SH, s, 0, s.length);
    }
    if (ascii) {
      r[o + LSH] = l1;
      r[o + LSH + 1] = lp1;
      r[o + LSH + 2] = l2;
      r[o + LSH + 3] = lp2;
    } else {
      const s = this.parts.longShape(w);
      putRange(r, o + LSH, s, 0, s.length);
    }
    const lw = this.parts.lower(w);
    const ln = lw.length;
    r[o + ROLES] = this.table.roles.get(lw) ?? 0;
    putRange(r, o + LW, lw, 0, ln);
    putRange(r, o + S2, lw, Math.max(0, ln - 2), ln);
    putRange(r, o + S3, lw, Math.max(0, ln - 3), ln);
    putRange(r, o + S4, lw, Math.max(0, ln - 4), ln);
    putRange(r, o + P2, lw, 0, Math.min(2, ln));
    putRange(r, o + P3, lw, 0, Math.min(3, ln));
    const tag = this.parts.gzTag(lw);
    put(r, o + GZ, tag === "-" ? DASH : constHash(tag));
    put(r, o + LEN, LENS[Math.min(n, 12)]);
    const c0 = n > 0 ? w.charCodeAt(0) : 0;
    const digit = (c0 >= 48 && c0 <= 57) || c0 >= 128 ? NUMERIC.test(w) : false;
    r[o + DIGIT] = digit ? 1 : 0;
    if (digit) {
      put(r, o + NDIG, constHash(String(n)));
      if (n === 4) putRange(r, o + N4, w, 0, 2);
      else put(r, o + N4, DASH);
    }
  }

  /** Summed weights of the own features of the token whose record is at `o` (bias included). */
  private ownSums(o: number): Int32Array {
    const r = this.rec;
    const t = this.table;
    const s = new Int32Array(t.labels);
    for (let b = 0; b <= 2; b += 2) {
      const pre = PRE[b >> 1];
      const B = BASE[b >> 1];
      const ob = o + b;
      const out = b === 0 ? this.f1 : this.f2;
      let m = 0;
      out[m++] = pre[0];
      out[m++] = cat(pre[1], r, ob + LW);
      out[m++] = cat(pre[2], r, ob + S3);
      out[m++] = cat(pre[3], r, ob + S2);
      out[m++] = cat(pre[4], r, ob + P2);
      out[m++] = cat(pre[5], r, ob + SH);
      out[m++] = cat(pre[6], r, ob + LSH);
      out[m++] = cat(pre[7], r, ob + LEN);
      if (r[o + DIGIT] === 1) {
        out[m++] = cat(pre[23], r, ob + NDIG);
        out[m++] = cat(pre[24], r, ob + N4);
      }
      if (this.version >= 2) {
        out[m++] = cat(pre[25], r, ob + S4);
        out[m++] = cat(pre[26], r, ob + P3);
        out[m++] = cat(pre[27], r, ob + GZ);
        out[m++] = cat(bar(cat(pre[28], r, ob + GZ), B), r, ob + SH);
      }
      if (b === 2) for (let j = 0; j < m; j++) addRow(t, s, this.f1[j], this.f2[j]);
    }
    return s;
  }

  /**
   * Decides window token `i` (global index `g`; the window must hold the two tokens before it
   * and the two after it, when they exist) given the previous two label indices (-1: "<s>").
   * Returns the best label index; `this.z` holds the softmax normaliser.
   */
  decide(i: number, g: number, prev: number, prev2: number): number {
    const m = this.hashes(0, this.f1, i, g, prev, prev2);
    this.hashes(2, this.f2, i, g, prev, prev2);
    const s = this.scores;
    s.set(this.own[i]);
    const t = this.table;
    for (let j = 0; j < m; j++) addRow(t, s, this.f1[j], this.f2[j]);
    const n = s.length;
    let best = 0;
    for (let k = 1; k < n; k++) if (s[k] > s[best]) best = k;
    let z = 0;
    const top = s[best];
    // Labels 36 or more below the best add < e^-36 ≈ 2e-16 each to z (≥ 1): left out.
    for (let k = 0; k < n; k++) if (top - s[k] < 36_000) z += Math.exp((s[k] - top) / 1000);
    this.z = z;
    return best;
  }

  /** Hashes (one of the two, `b` = 0 or 2) of token i's context features; returns their count. */
  private hashes(b: number, out: Int32Array, i: number, g: number, prev: number, prev2: number): number {
    const r = this.rec;
    const B = BASE[b >> 1];
    const pre = PRE[b >> 1];
    const o = FIRST_TOKEN + i * STRIDE + b;
    const op = g > 0 ? o - STRIDE : START + b;
    const opp = g > 1 ? o - 2 * STRIDE : START + b;
    const on = i + 1 < this.count ? o + STRIDE : END + b;
    const onn = i + 2 < this.count ? o + 2 * STRIDE : END + b;
    const lab = this.lab;
    const pl = 4 * (prev + 1) + b;
    const ppl = 4 * (prev2 + 1) + b;
    // Role bits of the word at o, before it, two before, after, two after.
    const rw = r[o - b + ROLES];
    const rp = r[op - b + ROLES];
    const rpp = r[opp - b + ROLES];
    const rn = r[on - b + ROLES];
    const rnn = r[onn - b + ROLES];
    let m = 0;
    // cat(h, arr, at) = H(x + part) for H(x) = h and the part's [H, P] at arr[at], arr[at + 1].
    out[m++] = cat(pre[8], r, o + NL);
    out[m++] = cat(pre[9], r, o + FIRST);
    out[m++] = cat(pre[10], lab, pl);
    out[m++] = cat(bar(cat(pre[11], lab, ppl), B), lab, pl);
    out[m++] = cat(bar(cat(pre[12], lab, pl), B), r, o + SH);
    if (rp & 1) out[m++] = cat(pre[13], r, op + LW);
    if (rpp & 2) out[m++] = cat(pre[14], r, opp + LW);
    if (rn & 4) out[m++] = cat(pre[15], r, on + LW);
    if (rnn & 8) out[m++] = cat(pre[16], r, onn + LW);
    out[m++] = cat(pre[17], r, op + SH);
    out[m++] = cat(pre[18], r, on + SH);
    if (rp & 16 && rw & 32) out[m++] = cat(bar(cat(pre[19], r, op + LW), B), r, o + LW);
    if (rw & 64 && rn & 128) out[m++] = cat(bar(cat(pre[20], r, o + LW), B), r, on + LW);
    if (rw & 256) out[m++] = cat(bar(cat(pre[21], lab, pl), B), r, o + LW);
    out[m++] = cat(bar(cat(bar(cat(pre[22], r, op + SH), B), r, o + SH), B), r, on + SH);
    if (this.version >= 2) {
      out[m++] = cat(bar(cat(pre[29], r, op + GZ), B), r, o + GZ);
      out[m++] = cat(bar(cat(pre[30], r, o + GZ), B), r, on + GZ);
      out[m++] = cat(bar(cat(pre[31], r, op + GZ), B), r, o + SH);
      out[m++] = cat(bar(cat(pre[32], r, on + GZ), B), r, o + SH);
      out[m++] = cat(bar(cat(pre[33], lab, pl), B), r, o + GZ);
      if (rp & 512) out[m++] = cat(bar(cat(pre[34], r, op + LW), B), r, o + SH);
      if (rn & 1024) out[m++] = cat(bar(cat(pre[35], r, o + SH), B), r, on + LW);
      out[m++] = cat(pre[36], r, o + ADJ);
    }
    if (this.version >= 3) {
      out[m++] = cat(pre[37], r, opp + GZ);
      out[m++] = cat(pre[38], r, onn + GZ);
      out[m++] = cat(bar(cat(bar(cat(pre[39], r, op + GZ), B), r, o + GZ), B), r, on + GZ);
      out[m++] = cat(bar(cat(pre[40], r, o + ADJ), B), r, o + GZ);
      out[m++] = cat(bar(cat(pre[41], r, o + ADJ), B), r, o + SH);
    }
    return m;
  }
}

/** H(x + part), given H(x) = h and the part's hash and power at arr[at], arr[at + 1]. */
function cat(h: number, arr: Int32Array, at: number): number {
  return (Math.imul(h, arr[at + 1]) + arr[at]) | 0;
}

/** H(x + "|"), given H(x) = h. */
function bar(h: number, B: number): number {
  return (Math.imul(h, B) + BAR) | 0;
}

/**
 * The text classifier shared by the guard's harm model and the prompt-injection detector:
 * L2-regularised logistic regression over sparse features of the de-obfuscated text
 * (`foldForClassifier`), Platt-calibrated on a validation split, serialised as JSON
 * (`kind: "linear-text"`, version 2).
 *
 * Features of a text (see {@link linearTextFeatures}):
 * - the text is folded (NFKC, invisible characters removed, look-alikes / leetspeak / spelled-out
 *   letters folded, lower case) and entity-masked: e-mail addresses → `‹email›`, URLs → `‹url›`,
 *   digit runs with separators of 7+ characters (card, phone, account numbers) → `‹longnum›`,
 *   other stand-alone numbers → `0` (digits inside words — leetspeak remnants — are kept). Private data in a prompt says nothing about harm, and a model that has
 *   seen few digits must not learn "digits = harmful" (issue #16: an ordinary prompt carrying an
 *   e-mail address or a card number scored 0.93).
 * - character 3-, 4- and 5-grams over the masked text (whitespace collapsed, padded with spaces),
 * - word unigrams and bigrams,
 * - optionally (`skipBigrams: k`, the harm model since issue #16) content-word skip-bigrams: pairs
 *   of content words (function words of {@link FUNCTION_WORDS} dropped) at most `k` content words
 *   apart, so the target of a verb becomes one feature whatever stands between them — "kill … python
 *   process" → `k:kill|python`, `k:kill|process`; "kill my neighbour" → `k:kill|neighbour`. Which
 *   targets are benign is learned from the data (no lexicon of safe objects); the pairs share the
 *   n-gram norm at half weight (Guthrie et al. 2006, "A closer look at skip-gram modelling").
 * - a few structural indicators (length bucket, question form, line count, share of capitals,
 *   code-like characters, chat-template markers), and optionally caller-supplied extra features
 *   (the injection detector adds its rule hits).
 * - optionally (`roles`, the harm model since issue #16; file `features.roles`) harm-role and
 *   question-form indicators ("r:", value 1; src/safety/harm-roles.ts): whether a violent verb's
 *   object is a person, a thing or a pest, definition / history / how-to / fiction question forms,
 *   requests for private data, protected groups, and verb-role × question-form conjunctions.
 * N-gram features are binary and the n-gram part of the vector is L2-normalised, so a long
 * document does not score high just for being long. Only the first 6,000 characters are read.
 *
 * Training: seeded mini-batch Adam (deterministic), per-example weights (class- and
 * source-balanced by the caller), optionally NB log-count-ratio scaling of the n-gram values
 * (`nb`, NB-LR after Wang & Manning 2012; the ratio folds into the stored weights, so scoring is
 * unchanged; measured worse for the harm model, off), L2 on the weights, features seen in fewer than `minCount`
 * training texts dropped, and after training weights with |w| < `prune` dropped (file size).
 * Calibration: Platt scaling `p = σ(a·z + b)` fitted on the validation split's margins `z`.
 */
import { seededRandom, seededShuffle } from "../core/random.js";
import { foldForClassifier } from "../core/normalize.js";
import { harmRoleFeatures } from "./harm-roles.js";

/** Characters of a text that are featurised (the rest is ignored). */
export const MAX_FEATURE_CHARS = 6000;

/** One training / evaluation example of a linear text model. */
export interface LinearExample {
  text: string;
  label: 0 | 1;
  /** Loss weight (class/source balancing). @default 1 */
  weight?: number;
}

/** Serialised linear text model (`kind: "linear-text"`). */
export interface LinearTextModelFile {
  kind: "linear-text";
  version: 2;
  /** What it scores: "harm" (harmful requests) or "injection" (prompt injection / jailbreak). */
  task: string;
  /** Feature extraction this file was trained with. */
  features: { fold: true; mask: true; charNgrams: [number, number]; wordNgrams: 2; structural: true; extra?: string; skipBigrams?: number; roles?: boolean; nb?: { alpha: number } };
  bias: number;
  /** feature → weight (rounded to 1e-4; |w| below the pruning cut omitted). */
  weights: Record<string, number>;
  /** Platt calibration of the margin z: p = σ(a·z + b). */
  calibration: { method: "platt"; a: number; b: number; fittedOn: string };
  /** Decision threshold on the calibrated probability, and how it was chosen. */
  threshold: number;
  thresholdRule: string;
  /** sha256 of the training and validation examples (label + text, sorted), hex. */
  dataHash: string;
  /** Held-out metrics measured when the file was written (validation and test). */
  metrics: Record<string, unknown>;
  provenance: Record<string, unknown>;
}

const EMAIL_RE = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"')\]]+/gu;
const LONGNUM_RE = /(?<![\p{L}\d])\d[\d\s().\/-]{5,}\d(?![\p{L}\d])/gu;

/** Folded and entity-masked text that the n-grams are taken from (see module docs). */
export function maskedText(text: string): string {
  const folded = foldForClassifier(text.length > MAX_FEATURE_CHARS ? text.slice(0, MAX_FEATURE_CHARS) : text);
  return folded.replace(URL_RE, " ‹url› ").replace(EMAIL_RE, " ‹email› ").replace(LONGNUM_RE, " ‹longnum› ").replace(/(?<![\p{L}\d])\d+(?![\p{L}\d])/gu, "0").replace(/\s+/g, " ").trim();
}

/**
 * English function words (articles, determiners, pronouns, auxiliaries, prepositions,
 * conjunctions, question words) skipped by the content-word skip-bigrams: a closed class, not a
 * lexicon of harmful or benign words.
 */
export const FUNCTION_WORDS: ReadonlySet<string> = new Set(
  ("a an the this that these those some any each every all no my your his her its our their mine yours " +
    "i me you he him she we us they them it myself yourself someone somebody something one " +
    "is are was were be been being am do does did done doing have has had can could would should will shall may might must " +
    "to of for on in at with by from into onto about as than then so and or but if because while " +
    "how what why where who whom whose which when whether please just very really also out up off s t").split(" "),
);

/**
 * Content-word skip-bigrams of masked text `t` (see module docs): `k:a|b` for content words a
 * before b with at most `window - 1` content words between them.
 */
function skipBigrams(words: readonly string[], window: number, into: Set<string>): void {
  const content = words.filter((w) => !FUNCTION_WORDS.has(w) && !/^\d+$/.test(w));
  for (let i = 0; i < content.length; i++) for (let j = i + 1; j <= i + window && j < content.length; j++) into.add("k:" + content[i] + "|" + content[j]);
}

/**
 * Sparse features of `text`: feature → value. N-gram features ("c:" char, "w:" word, "b:" word
 * bigram) share an L2 norm of 1 — with `skipBigrams` > 0 the content-word skip-bigrams ("k:", see
 * module docs) join that norm at half weight; structural ones ("s:") and `extra` ones ("x:") have
 * value 1 (or the value given); with `roles`, harm-role indicators ("r:", see module docs) value 1.
 * Linear in the text length (capped at {@link MAX_FEATURE_CHARS}).
 */
export function linearTextFeatures(text: string, extra?: Record<string, number>, charNgrams: [number, number] = [3, 5], skipWindow = 0, roles = false): Map<string, number> {
  const t = maskedText(text);
  const grams = new Set<string>();
  const padded = ` ${t} `;
  for (let n = charNgrams[0]; n <= charNgrams[1]; n++) for (let i = 0; i + n <= padded.length; i++) grams.add("c:" + padded.slice(i, i + n));
  const words = t.match(/[\p{L}\p{N}'‹›]+/gu) ?? [];
  for (let i = 0; i < words.length; i++) {
    grams.add("w:" + words[i]);
    if (i + 1 < words.length) grams.add("b:" + words[i] + " " + words[i + 1]);
  }
  const skips = new Set<string>();
  if (skipWindow > 0) skipBigrams(words, skipWindow, skips);
  const out = new Map<string, number>();
  const norm = Math.sqrt(grams.size + 0.25 * skips.size);
  const v = norm ? 1 / norm : 0;
  for (const g of grams) out.set(g, v);
  for (const g of skips) out.set(g, v / 2);
  // Structural indicators, from the raw text.
  const raw = text.slice(0, MAX_FEATURE_CHARS);
  out.set(`s:len${Math.min(12, Math.floor(Math.log2(1 + text.length)))}`, 1);
  const lines = raw.split("\n").length;
  out.set(`s:lines${lines <= 1 ? 1 : lines <= 3 ? 3 : lines <= 10 ? 10 : 99}`, 1);
  if (/\?\s*$/.test(raw)) out.set("s:question", 1);
  if (/^\s*(how|what|why|who|where|when|which|can|could|is|are|do|does|should|would)\b/i.test(raw)) out.set("s:wh-start", 1);
  const letters = raw.replace(/[^\p{L}]/gu, "");
  const caps = letters.replace(/[^\p{Lu}]/gu, "").length;
  if (letters.length >= 20 && caps / letters.length > 0.5) out.set("s:shouting", 1);
  if (/[{};=<>]|```|\(\)/.test(raw)) out.set("s:code-chars", 1);
  if (/<\|?(im_start|im_end|system|endoftext)\|?>|\[\/?INST\]|###\s*(system|instruction|response)/i.test(raw)) out.set("s:template-tokens", 1);
  if (/(^|\n)\s*(={4,}|-{4,}|\*{4,}|#{4,})/.test(raw)) out.set("s:delimiter-line", 1);
  if (text !== raw) out.set("s:truncated", 1);
  if (extra) for (const [k, x] of Object.entries(extra)) if (x !== 0) out.set("x:" + k, x);
  if (roles) for (const f of harmRoleFeatures(t)) out.set("r:" + f, 1);
  return out;
}

/** `features` keys of a model file that {@link LinearTextModel.fromJSON} understands. */
const KNOWN_FEATURE_KEYS: ReadonlySet<string> = new Set(["fold", "mask", "charNgrams", "wordNgrams", "structural", "extra", "skipBigrams", "roles", "nb"]);

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** A loaded or trained linear text model. */
export class LinearTextModel {
  private constructor(
    private readonly weights: Map<string, number>,
    private readonly bias: number,
    readonly calibration: { a: number; b: number },
    /** Decision threshold on the calibrated probability. */
    readonly threshold: number,
    private readonly charNgrams: [number, number],
    /** Content-word skip-bigram window (0 = none). */
    private readonly skipWindow = 0,
    /** Harm-role and question-form features (`harmRoleFeatures`). */
    private readonly roles = false,
  ) {}

  /**
   * Loads a serialised model. Throws `Error` on a wrong `kind`/`version`, or on a `features` key
   * this code does not know (a file from a newer feature set must not score silently without it).
   */
  static fromJSON(file: LinearTextModelFile): LinearTextModel {
    if (file.kind !== "linear-text" || file.version !== 2) throw new Error(`not a linear-text v2 model file (kind: ${String(file.kind)}, version ${String(file.version)})`);
    const unknown = Object.keys(file.features ?? {}).filter((k) => !KNOWN_FEATURE_KEYS.has(k));
    if (unknown.length) throw new Error(`linear-text model file uses features this version does not know: ${unknown.join(", ")}`);
    return new LinearTextModel(new Map(Object.entries(file.weights)), file.bias, { a: file.calibration.a, b: file.calibration.b }, file.threshold, file.features.charNgrams, file.features.skipBigrams ?? 0, file.features.roles ?? false);
  }

  /** Uncalibrated margin z of `text` (with optional extra features). */
  margin(text: string, extra?: Record<string, number>): number {
    let z = this.bias;
    for (const [f, x] of linearTextFeatures(text, extra, this.charNgrams, this.skipWindow, this.roles)) z += (this.weights.get(f) ?? 0) * x;
    return z;
  }

  /** Calibrated probability in [0, 1] that `text` is positive. */
  score(text: string, extra?: Record<string, number>): number {
    return sigmoid(this.calibration.a * this.margin(text, extra) + this.calibration.b);
  }

  /**
   * Trains (deterministic for a seed) on `examples` (with `extra(text)` features when given),
   * Platt-calibrates on `validation` (identity calibration when empty), and returns the model
   * and the weight table. Options: epochs (12), seed (7), minCount (2), l2 (1e-5), lr (0.03),
   * prune (5e-4, |w| cut after training), charNgrams ([3, 5]; [1, 0] = none), skipBigrams (0:
   * content-word skip-bigram window, see module docs; record it in the file's
   * `features.skipBigrams`), roles (false: harm-role indicators, record as `features.roles`), nb
   * (null: NB log-count-ratio scaling with smoothing α; folded into the weights).
   */
  static train(
    examples: readonly LinearExample[],
    validation: readonly LinearExample[],
    options: { epochs?: number; seed?: number; minCount?: number; l2?: number; lr?: number; prune?: number; charNgrams?: [number, number]; skipBigrams?: number; roles?: boolean; nb?: { alpha: number } | null; extra?: (text: string) => Record<string, number> } = {},
  ): { model: LinearTextModel; bias: number; weights: Record<string, number>; calibration: { a: number; b: number } } {
    const epochs = options.epochs ?? 12;
    const seed = options.seed ?? 7;
    const minCount = options.minCount ?? 2;
    const l2 = options.l2 ?? 1e-5;
    const lr = options.lr ?? 0.03;
    const prune = options.prune ?? 5e-4;
    const charNgrams = options.charNgrams ?? [3, 5];
    const skipWindow = options.skipBigrams ?? 0;
    const roles = options.roles ?? false;
    const feats = examples.map((e) => linearTextFeatures(e.text, options.extra?.(e.text), charNgrams, skipWindow, roles));
    const df = new Map<string, number>();
    for (const fm of feats) for (const f of fm.keys()) df.set(f, (df.get(f) ?? 0) + 1);
    const vocab = [...df.entries()].filter(([, c]) => c >= minCount).map(([f]) => f).sort();
    const index = new Map(vocab.map((f, i) => [f, i]));
    const rows = feats.map((fm) => {
      const ids: number[] = [];
      const vals: number[] = [];
      for (const [f, x] of fm) {
        const i = index.get(f);
        if (i !== undefined) {
          ids.push(i);
          vals.push(x);
        }
      }
      return { ids: Int32Array.from(ids), vals: Float64Array.from(vals) };
    });
    const d = vocab.length;
    // NB log-count-ratio scaling (Wang & Manning 2012): each n-gram's value × r_f, r_f = log of the
    // feature's (loss-weighted, α-smoothed) share among positives over its share among negatives.
    const r = new Float64Array(d).fill(1);
    if (options.nb) {
      const alpha = options.nb.alpha;
      const pc = new Float64Array(d).fill(alpha);
      const nc = new Float64Array(d).fill(alpha);
      rows.forEach((row, i) => {
        const c = examples[i].label === 1 ? pc : nc;
        for (const f of row.ids) c[f] += examples[i].weight ?? 1;
      });
      let ps = 0, ns = 0;
      for (let f = 0; f < d; f++) {
        ps += pc[f];
        ns += nc[f];
      }
      vocab.forEach((name, f) => {
        if (/^[cwbk]:/.test(name)) r[f] = Math.log(pc[f] / ps / (nc[f] / ns));
      });
      for (const row of rows) for (let k = 0; k < row.ids.length; k++) row.vals[k] *= r[row.ids[k]];
    }
    const w = new Float64Array(d + 1); // last = bias
    const m = new Float64Array(d + 1);
    const v = new Float64Array(d + 1);
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
          const r = rows[i];
          let z = w[d];
          for (let k = 0; k < r.ids.length; k++) z += w[r.ids[k]] * r.vals[k];
          const g = ((sigmoid(z) - examples[i].label) * (examples[i].weight ?? 1)) / ids.length;
          for (let k = 0; k < r.ids.length; k++) grad.set(r.ids[k], (grad.get(r.ids[k]) ?? 0) + g * r.vals[k]);
          grad.set(d, (grad.get(d) ?? 0) + g);
        }
        t++;
        for (const [f, g0] of grad) {
          const g = g0 + (f === d ? 0 : l2 * w[f]);
          m[f] = b1 * m[f] + (1 - b1) * g;
          v[f] = b2 * v[f] + (1 - b2) * g * g;
          w[f] -= (lr * (m[f] / (1 - b1 ** t))) / (Math.sqrt(v[f] / (1 - b2 ** t)) + 1e-8);
        }
      }
    }
    const weights: Record<string, number> = {};
    vocab.forEach((f, i) => {
      const x = Math.round(w[i] * r[i] * 1e4) / 1e4; // the NB scale folds into the weight
      if (Math.abs(x) >= prune) weights[f] = x;
    });
    const bias = Math.round(w[d] * 1e4) / 1e4;
    const raw = new LinearTextModel(new Map(Object.entries(weights)), bias, { a: 1, b: 0 }, 0.5, charNgrams, skipWindow, roles);
    const calibration = validation.length ? plattFit(validation.map((e) => raw.margin(e.text, options.extra?.(e.text))), validation.map((e) => e.label)) : { a: 1, b: 0 };
    return { model: new LinearTextModel(raw.weights, bias, calibration, 0.5, charNgrams, skipWindow, roles), bias, weights, calibration };
  }

  /** The same model with another decision threshold. */
  withThreshold(threshold: number): LinearTextModel {
    return new LinearTextModel(this.weights, this.bias, this.calibration, threshold, this.charNgrams, this.skipWindow, this.roles);
  }
}

/**
 * Platt scaling: fits `a`, `b` of `σ(a·z + b)` to labels by Newton's method on the log-loss,
 * with Platt's smoothed targets ((n₊+1)/(n₊+2), 1/(n₋+2)). Returns a, b rounded to 1e-4.
 */
export function plattFit(z: readonly number[], labels: readonly (0 | 1)[]): { a: number; b: number } {
  const nPos = labels.filter((l) => l === 1).length;
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return { a: 1, b: 0 };
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (nNeg + 2);
  let a = 1;
  let b = 0;
  for (let it = 0; it < 100; it++) {
    let ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (let i = 0; i < z.length; i++) {
      const p = sigmoid(a * z[i] + b);
      const y = labels[i] === 1 ? hi : lo;
      const r = p - y;
      const s = p * (1 - p);
      ga += r * z[i];
      gb += r;
      haa += s * z[i] * z[i];
      hab += s * z[i];
      hbb += s;
    }
    const det = haa * hbb - hab * hab;
    if (Math.abs(det) < 1e-12) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-9 && Math.abs(db) < 1e-9) break;
  }
  return { a: Math.round(a * 1e4) / 1e4, b: Math.round(b * 1e4) / 1e4 };
}

/**
 * Lowest threshold on `scores` whose false-positive rate on the negatives is ≤ `maxFpr`
 * (flagging is `score > threshold`); 0.5 when there are no negatives.
 */
export function thresholdAtFpr(scores: readonly number[], labels: readonly (0 | 1)[], maxFpr: number): number {
  const neg = scores.filter((_, i) => labels[i] === 0).sort((a, b) => b - a);
  if (neg.length === 0) return 0.5;
  return neg[Math.floor(neg.length * maxFpr)] ?? 0;
}

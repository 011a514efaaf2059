/**
 * Training and evaluation of the guard's classifiers on the shared safety data (fixed held-out
 * splits): the harm classifier (`trainGuard`, models/guard.json) and the prompt-injection
 * detector (`trainInjection`, models/injection.json). Used by `tandem guard train`,
 * `tandem guard train-injection`, `tandem eval guard` and bench/trust.ts.
 *
 * Over-refusal is a first-class number: every report lists each set with its TPR (sets with
 * harmful / injected prompts) and FPR (benign sets) side by side; a figure that needs negatives
 * (FPR, TPR at a fixed FPR, AUROC) is `null` — printed "n/a" — on a set that has none.
 */
import path from "node:path";
import { writeModelFile, type TrainRun } from "../core/training.js";
import { GuardClassifier, defaultGuardModelPath, loadGuardClassifier, type SafetyExample } from "./classifier.js";
import { augmentFramings, injectionSplit, loadSafetyDataset, safetySplit, type SafetySplit } from "./data.js";
import { LinearTextModel, thresholdAtFpr, type LinearTextModelFile } from "./linear.js";
import { dataHash } from "./data-hash.js";
import { auroc, binaryMetrics, tprAtFpr, type BinaryMetrics } from "./metrics.js";
import { InjectionDetector, defaultInjectionModelPath, injectionExtraFeatures, loadInjectionDetector } from "./injection.js";

/** One evaluation set's figures at the decision threshold. `null`: the set lacks the class the figure needs. */
export interface SetMetrics {
  /** Set name: a source, split by label where a source has both ("xstest_safe", "xstest_unsafe"). */
  set: string;
  positives: number;
  negatives: number;
  /** Share of positives flagged (null: no positives). */
  tpr: number | null;
  /** Share of negatives flagged — over-refusal on a benign set (null: no negatives). */
  fpr: number | null;
}

/** Held-out report of a guard classifier. Rates in [0, 1]. */
export interface GuardReport {
  /** All evaluated prompts, at the threshold. */
  overall: BinaryMetrics;
  /** Recall at 1 % FPR on the same prompts (Prompt Guard's headline metric); null without negatives. */
  tprAt1PctFpr: number | null;
  /** Recall at 5 % FPR; null without negatives. */
  tprAt5PctFpr: number | null;
  /** Per source (mixed-label sources keep both classes). */
  bySource: Record<string, BinaryMetrics>;
  /** Every set with TPR and FPR side by side (see {@link SetMetrics}). */
  sets: SetMetrics[];
  /** Share of XSTest's *safe* prompts flagged: over-refusal (NaN when none evaluated). */
  xstestOverRefusal: number;
  /** Over-refusal per XSTest safe type. */
  xstestOverRefusalByType: Record<string, number>;
  examples: number;
}

/** Per-set figures (see {@link SetMetrics}) of scored examples at `threshold`. */
export function setMetrics(examples: readonly SafetyExample[], scores: readonly number[], threshold: number): SetMetrics[] {
  const sources = [...new Set(examples.map((e) => e.source))];
  const out: SetMetrics[] = [];
  for (const source of sources) {
    const idx = examples.map((e, i) => (e.source === source ? i : -1)).filter((i) => i >= 0);
    const labels = new Set(idx.map((i) => examples[i].label));
    for (const label of [1, 0] as const) {
      if (!labels.has(label)) continue;
      const of = idx.filter((i) => examples[i].label === label);
      const flagged = of.filter((i) => scores[i] > threshold).length / of.length;
      const name = labels.size === 2 ? `${source}_${label === 1 ? (source === "xstest" ? "unsafe" : "positive") : source === "xstest" ? "safe" : "negative"}` : source;
      out.push({ set: name, positives: label === 1 ? of.length : 0, negatives: label === 0 ? of.length : 0, tpr: label === 1 ? flagged : null, fpr: label === 0 ? flagged : null });
    }
  }
  return out;
}

/** Scores a classifier on `examples` (see {@link GuardReport}). */
export function evaluateGuardClassifier(classifier: Pick<GuardClassifier, "score" | "threshold">, examples: readonly SafetyExample[], threshold = classifier.threshold): GuardReport {
  const scores = examples.map((e) => classifier.score(e.text));
  return reportOf(examples, scores, threshold);
}

function reportOf(examples: readonly SafetyExample[], scores: readonly number[], threshold: number): GuardReport {
  const labels = examples.map((e) => e.label);
  const bySource: Record<string, BinaryMetrics> = {};
  for (const source of [...new Set(examples.map((e) => e.source))]) {
    const idx = examples.map((e, i) => (e.source === source ? i : -1)).filter((i) => i >= 0);
    bySource[source] = binaryMetrics(idx.map((i) => scores[i]), idx.map((i) => labels[i]), threshold);
  }
  const safeX = examples.map((e, i) => [e, scores[i]] as const).filter(([e]) => e.source === "xstest" && e.label === 0);
  const byType: Record<string, number> = {};
  for (const t of [...new Set(safeX.map(([e]) => e.type ?? ""))].sort()) {
    const of = safeX.filter(([e]) => e.type === t);
    byType[t] = of.filter(([, s]) => s > threshold).length / of.length;
  }
  const hasNeg = labels.includes(0);
  const hasPos = labels.includes(1);
  return {
    overall: binaryMetrics(scores, labels, threshold),
    tprAt1PctFpr: hasNeg && hasPos ? tprAtFpr(scores, labels, 0.01).tpr : null,
    tprAt5PctFpr: hasNeg && hasPos ? tprAtFpr(scores, labels, 0.05).tpr : null,
    bySource,
    sets: setMetrics(examples, scores, threshold),
    xstestOverRefusal: safeX.length ? safeX.filter(([, s]) => s > threshold).length / safeX.length : NaN,
    xstestOverRefusalByType: byType,
    examples: examples.length,
  };
}

/** Options of {@link trainGuard}. */
export interface GuardTrainOptions extends SafetySplit {
  /** Output file. @default models/guard.json; `null` = don't write */
  out?: string | null;
  /** Training epochs. @default 12 */
  epochs?: number;
  /** Adam learning rate. @default 0.03 */
  lr?: number;
  /** Seed of training. @default 7 */
  trainSeed?: number;
  /**
   * Sources weighted alike on both labels (see {@link balancedWeights}; `["xstest"]` is the
   * option measured for issue #16: lower XSTest-safe over-refusal at the price of XSTest-unsafe
   * recall, no better ranking overall, so not the shipped recipe). @default [] (plain √-balancing)
   */
  matchedSources?: string[];
  /**
   * Content-word skip-bigram window (`LinearTextModel.train`'s `skipBigrams`; 0 = off). Measured
   * for issue #16 with two-fold by-type XSTest cross-validation: no gain beyond noise, and 40 %
   * more weights in the file, so off by default. @default 0
   */
  skipBigrams?: number;
  /**
   * Hard-negative mining (the bootstrapping of Sung & Poggio 1998 / Felzenszwalb et al. 2010):
   * after a first fit, the training negatives scoring in the top `share` (benign prompts that
   * read as harmful: WildGuardTest's, NotInject's, XSTest's safe ones, harmless instructions with
   * scary words) get their loss weight × `factor` and the model is refitted from scratch. Only the
   * training split is mined. Measured for issue #16 (e.g. `{ share: 0.05, factor: 3 }`): no gain
   * beyond noise on unseen XSTest types, so off in the shipped recipe. @default null (off)
   */
  hardNegatives?: { share: number; factor: number } | null;
  /**
   * Harm-role and question-form indicators (src/safety/harm-roles.ts: what a violent verb acts on
   * — a person, a thing, a pest — the question's form, requests for private data, protected
   * groups, and their conjunctions). Measured for issue #16 with nested and two-fold by-type
   * XSTest cross-validation: the ranking on unseen XSTest types improves (pooled AUROC 0.714 →
   * 0.766) with HarmBench recall up and the other benign sets' FPR level, so on in the shipped
   * recipe. @default true
   */
  roles?: boolean;
  /**
   * NB log-count-ratio feature scaling (NB-LR, after Wang & Manning 2012's NBSVM), smoothing α
   * on loss-weighted counts. Measured for issue #16: worse on unseen XSTest types (AUROC 0.714 →
   * 0.673) and on HarmBench, so off. @default null (off)
   */
  nb?: { alpha: number } | null;
  /** L2 penalty. @default 1e-5 */
  l2?: number;
  /** Character n-gram orders (`[1, 0]`: none). @default [3, 5] */
  charNgrams?: [number, number];
}

/** Sets (pooled with "+") whose validation FPR bounds the harm threshold, and the bound (see {@link trainGuard}): benign-but-scary prompts ≤ 10 %, ordinary ones ≤ 1 %. */
export const HARM_THRESHOLD_RULE: Record<string, number> = { "xstest+wildguardtest_benign+notinject": 0.1, harmless: 0.01, pii_prompts: 0.01 };

/**
 * Per-example loss weights: each class carries half the total weight, and within a class each
 * source (XSTest split by label) a share ∝ √(its size), so small hard sets (XSTest's safe
 * prompts) are not drowned by large easy ones (harmless instructions).
 *
 * `matched` sources (XSTest: safe prompts written as contrasts of unsafe ones, same phrasing)
 * get the same per-row weight on both labels — their positive rows keep theirs, their negative
 * rows take it, and the other negatives are rescaled so each class still carries half — so the
 * style such a source shares across its labels (short "How do I …?" questions) carries no label
 * signal. Without it XSTest's unsafe questions held ≈ 1/3 of the positive weight and its safe
 * ones ≈ 7 % of the negative weight, and question form itself read as harmful (issue #16).
 */
export function balancedWeights(examples: readonly SafetyExample[], options: { matched?: readonly string[] } = {}): number[] {
  const key = (e: SafetyExample) => `${e.label}:${e.source}`;
  const n = new Map<string, number>();
  for (const e of examples) n.set(key(e), (n.get(key(e)) ?? 0) + 1);
  const sqrtSum = [0, 0];
  for (const [k, c] of n) sqrtSum[Number(k[0])] += Math.sqrt(c);
  const w = examples.map((e) => {
    const c = n.get(key(e))!;
    return ((examples.length / 2) * (Math.sqrt(c) / sqrtSum[e.label])) / c;
  });
  const matched = new Set((options.matched ?? []).filter((s) => n.has(`1:${s}`) && n.has(`0:${s}`)));
  if (matched.size === 0) return w;
  const posRow = new Map([...matched].map((s) => [s, w[examples.findIndex((e) => e.source === s && e.label === 1)]]));
  let fixed = 0;
  let rest = 0;
  examples.forEach((e, i) => {
    if (e.label !== 0) return;
    if (matched.has(e.source)) fixed += posRow.get(e.source)!;
    else rest += w[i];
  });
  const scale = rest > 0 ? Math.max(0, examples.length / 2 - fixed) / rest : 1;
  return examples.map((e, i) => (e.label === 1 ? w[i] : matched.has(e.source) ? posRow.get(e.source)! : w[i] * scale));
}

/**
 * Trains the harm classifier (version 2) on the training split, Platt-calibrates it on the
 * validation split, picks the threshold on validation (the lowest threshold keeping each set of
 * {@link HARM_THRESHOLD_RULE} within its FPR bound), writes the model with its data hash and its
 * validation and test metrics, and reports held-out metrics.
 */
export function trainGuard(options: GuardTrainOptions = {}): TrainRun<LinearTextModelFile, GuardReport> {
  const split = { seed: options.seed ?? 42, testShare: options.testShare ?? 0.2, xstestTestShare: options.xstestTestShare ?? 0.5, extraBenign: options.extraBenign ?? true, xstestBy: options.xstestBy ?? "row", xstestFold: options.xstestFold ?? 0, ...(options.xstestExclude?.length ? { xstestExclude: options.xstestExclude } : {}) };
  const { train, validation, test } = safetySplit(split);
  const t0 = performance.now();
  const augmented = augmentFramings(train, split.seed, 0.5);
  const skip = options.skipBigrams ?? 0;
  const mining = options.hardNegatives ?? null;
  const roles = options.roles ?? true;
  const charNgrams: [number, number] = options.charNgrams ?? [3, 5];
  const nb = options.nb ?? null;
  const trainOptions = { epochs: options.epochs ?? 12, lr: options.lr, seed: options.trainSeed ?? 7, skipBigrams: skip, roles, nb, l2: options.l2, charNgrams };
  const matchedSources = options.matchedSources ?? [];
  let weights = balancedWeights(augmented, { matched: matchedSources });
  const fit = () => LinearTextModel.train(augmented.map((e, i) => ({ text: e.text, label: e.label, weight: weights[i] })), validation, trainOptions);
  let t = fit();
  let mined = 0;
  if (mining && mining.share > 0) {
    const scores = augmented.map((e) => t.model.score(e.text));
    const neg = scores.filter((_, i) => augmented[i].label === 0).sort((a, b) => b - a);
    const cut = neg[Math.floor(neg.length * mining.share)] ?? Infinity;
    weights = weights.map((w, i) => (augmented[i].label === 0 && scores[i] > cut ? (mined++, w * mining.factor) : w));
    t = fit();
  }
  const raw = t.model;
  const file: LinearTextModelFile = {
    kind: "linear-text",
    version: 2,
    task: "harm",
    features: { fold: true, mask: true, charNgrams, wordNgrams: 2, structural: true, ...(skip > 0 ? { skipBigrams: skip } : {}), ...(roles ? { roles: true } : {}), ...(nb ? { nb } : {}) },
    bias: t.bias,
    weights: t.weights,
    calibration: { method: "platt", ...t.calibration, fittedOn: `validation split (${validation.length} prompts)` },
    threshold: 0.5,
    thresholdRule: "default 0.5",
    dataHash: "",
    metrics: {},
    provenance: {
      algorithm: `logistic regression, ${charNgrams[0] <= charNgrams[1] ? `char ${charNgrams.join("-")}grams (folded, entity-masked) + ` : ""}word 1-2grams${skip > 0 ? ` + content-word skip-bigrams (window ${skip})` : ""} + structural${roles ? " + harm-role / question-form indicators (harm-roles.ts)" : ""}${nb ? ` (NB log-count-ratio scaled, α ${nb.alpha})` : ""}, Adam, class/source-balanced${matchedSources.length ? ` (${matchedSources.join(", ")} weighted alike on both labels)` : ""}${mining ? `, hard-negative mining (top ${mining.share * 100} % of training negatives × ${mining.factor}, ${mined} texts, refit)` : ""}, Platt`,
      epochs: trainOptions.epochs,
      seed: trainOptions.seed,
      minCount: 2,
      l2: options.l2 ?? 1e-5,
      trainExamples: augmented.length,
      data: `train side of safetySplit: HarmBench (no copyright) + XSTest (${split.xstestBy === "type" ? "training type groups only" : "half of every type"}) + harmless instructions + WildGuardTest harmless + NotInject + presidio PII texts, ../shared/data/safety`,
      split,
      augmentation: "framings on 50% of non-XSTest training prompts (augmentFramings)",
      command: "tandem guard train",
    },
  };
  const vScores = validation.map((e) => raw.score(e.text));
  let threshold = 0;
  for (const [source, bound] of Object.entries(HARM_THRESHOLD_RULE)) {
    const sources = source.split("+");
    const idx = validation.map((e, i) => (sources.includes(e.source) && e.label === 0 ? i : -1)).filter((i) => i >= 0);
    if (idx.length) threshold = Math.max(threshold, thresholdAtFpr(idx.map((i) => vScores[i]), idx.map(() => 0 as const), bound));
  }
  threshold = Math.round(threshold * 1e4) / 1e4;
  const trainMs = performance.now() - t0;
  const classifier = GuardClassifier.fromJSON({ ...file, threshold });
  const report = evaluateGuardClassifier(classifier, test);
  const vReport = reportOf(validation, vScores, threshold);
  const final: LinearTextModelFile = {
    ...file,
    threshold,
    thresholdRule: `lowest threshold on the validation split with FPR ≤ ${Object.entries(HARM_THRESHOLD_RULE).map(([s, b]) => `${b * 100} % on ${s}`).join(", ")}`,
    dataHash: dataHash([...train, ...validation]),
    metrics: { validation: compact(vReport), test: compact(report) },
  };
  const out = writeModelFile(options.out === null ? null : (options.out ?? defaultGuardModelPath()), final);
  return { file: final, out, trainMs, trainExamples: train.length, report };
}

const r4 = (x: number | null) => (x === null || Number.isNaN(x) ? null : Math.round(x * 1e4) / 1e4);
const compact = (r: GuardReport) => ({ examples: r.examples, tpr: r4(r.overall.tpr), fpr: r4(r.overall.fpr), auroc: r4(r.overall.auroc), tprAt1PctFpr: r4(r.tprAt1PctFpr), tprAt5PctFpr: r4(r.tprAt5PctFpr), sets: r.sets.map((s) => ({ ...s, tpr: r4(s.tpr), fpr: r4(s.fpr) })) });

/** Two-fold by-type cross-validation of XSTest (see {@link crossValidateXSTestByType}). Rates in [0, 1]. */
export interface XSTestTypeCV {
  /** Per fold: the XSTest types it held out, its validation-chosen threshold, and its whole held-out report. */
  folds: Array<{ fold: 0 | 1; heldOutTypes: string[]; threshold: number; report: GuardReport }>;
  /** Share of XSTest's 250 safe prompts flagged by the fold model that never saw their type group. */
  xstestSafeFpr: number;
  /** Share of XSTest's 200 unsafe prompts flagged, the same way. */
  xstestUnsafeTpr: number;
  /** Flag rate per XSTest type (safe types: over-refusal; contrast_* types: recall). */
  byType: Record<string, { n: number; flagged: number }>;
  /** AUROC of the pooled fold-model probabilities, XSTest unsafe vs safe (threshold-free ranking). */
  xstestAuroc: number;
}

/**
 * XSTest measured only on prompt types a model never saw: trains the guard recipe (`options`,
 * as {@link trainGuard}) twice on `safetySplit({ xstestBy: "type" })`, folds 0 and 1 (each holding
 * out half of XSTest's eight type groups, a safe type with its contrast type, and training on the
 * other half), each with its own validation-chosen threshold, and pools the XSTest figures: every
 * XSTest prompt is scored once, by the fold model that held its type group out. The other sets'
 * figures are in each fold's report (the same held-out rows in both folds). Nothing is written;
 * about two trainings' time.
 */
export function crossValidateXSTestByType(options: Omit<GuardTrainOptions, "out" | "xstestBy" | "xstestFold"> = {}): XSTestTypeCV {
  const folds: XSTestTypeCV["folds"] = [];
  const hits = new Map<string, { n: number; k: number }>();
  const pooledScores: number[] = [];
  const pooledLabels: (0 | 1)[] = [];
  for (const fold of [0, 1] as const) {
    const run = trainGuard({ ...options, out: null, xstestBy: "type", xstestFold: fold });
    const classifier = GuardClassifier.fromJSON(run.file);
    const xs = safetySplit({ seed: options.seed, testShare: options.testShare, xstestTestShare: options.xstestTestShare, extraBenign: false, xstestBy: "type", xstestFold: fold }).test.filter((e) => e.source === "xstest");
    for (const e of xs) {
      const h = hits.get(e.type ?? "") ?? { n: 0, k: 0 };
      h.n++;
      const score = classifier.score(e.text);
      pooledScores.push(score);
      pooledLabels.push(e.label);
      if (score > run.file.threshold) h.k++;
      hits.set(e.type ?? "", h);
    }
    folds.push({ fold, heldOutTypes: [...new Set(xs.map((e) => e.type ?? ""))].sort(), threshold: run.file.threshold, report: run.report });
  }
  const pool = (unsafe: boolean) => {
    const hs = [...hits].filter(([t]) => t.startsWith("contrast_") === unsafe).map(([, h]) => h);
    return hs.reduce((a, h) => a + h.k, 0) / hs.reduce((a, h) => a + h.n, 0);
  };
  const byType = Object.fromEntries([...hits].sort(([a], [b]) => a.localeCompare(b)).map(([t, h]) => [t, { n: h.n, flagged: h.k / h.n }]));
  return { folds, xstestSafeFpr: pool(false), xstestUnsafeTpr: pool(true), byType, xstestAuroc: auroc(pooledScores, pooledLabels) };
}

/** Evaluates the shipped (or given) classifier on the held-out split, or on a whole external file. */
export function evaluateGuard(options: SafetySplit & { dataset?: string; model?: string; threshold?: number } = {}): GuardReport & { dataset: string } {
  const classifier = loadGuardClassifier(options.model);
  // the held-out split includes the benign-but-scary and PII sets by default (`extraBenign: false` for the old split)
  const examples = options.dataset ? loadSafetyDataset(options.dataset) : safetySplit({ ...options, extraBenign: options.extraBenign ?? true }).test;
  return { ...evaluateGuardClassifier(classifier, examples, options.threshold ?? classifier.threshold), dataset: options.dataset ? path.basename(options.dataset) : "held-out split of ../shared/data/safety" };
}

/** Human-readable summary of a guard (or injection) report; "n/a" where a figure needs a class the set lacks. */
export function formatGuardReport(r: GuardReport): string {
  const p = (x: number | null) => (x === null || Number.isNaN(x) ? "n/a" : (x * 100).toFixed(1) + " %");
  const hasNeg = r.overall.negatives > 0;
  const hasPos = r.overall.positives > 0;
  const lines = [
    `held-out prompts: ${r.examples} (threshold ${r.overall.threshold})`,
    `overall: TPR ${hasPos ? p(r.overall.tpr) : "n/a"}  FPR ${hasNeg ? p(r.overall.fpr) : "n/a"}  precision ${hasPos ? p(r.overall.precision) : "n/a"}  F1 ${hasPos ? r.overall.f1.toFixed(3) : "n/a"}  AUROC ${Number.isNaN(r.overall.auroc) ? "n/a" : r.overall.auroc.toFixed(3)}  TPR@1%FPR ${p(r.tprAt1PctFpr)}  TPR@5%FPR ${p(r.tprAt5PctFpr)}`,
    `per set (TPR on harmful/injected sets, FPR = over-refusal on benign sets):`,
  ];
  for (const s of r.sets) lines.push(`  ${s.set.padEnd(34)} n=${String(s.positives + s.negatives).padStart(5)}  TPR ${p(s.tpr).padStart(7)}  FPR ${p(s.fpr).padStart(7)}`);
  if (!Number.isNaN(r.xstestOverRefusal)) {
    lines.push(`XSTest over-refusal (safe prompts flagged): ${p(r.xstestOverRefusal)}`);
    for (const [t, v] of Object.entries(r.xstestOverRefusalByType)) lines.push(`  ${t.padEnd(24)} ${p(v)}`);
  }
  return lines.join("\n");
}

/** Options of {@link trainInjection}. */
export interface InjectionTrainOptions {
  /** Output file. @default models/injection.json; `null` = don't write */
  out?: string | null;
  /** Split seed. @default 42 */
  seed?: number;
  epochs?: number;
  /** Training seed. @default 7 */
  trainSeed?: number;
  /** FPR bound on the validation negatives that sets the threshold. @default 0.01 */
  maxValidationFpr?: number;
}

/**
 * Trains the prompt-injection detector (linear text model + rule features) on
 * `injectionSplit`'s training side, Platt-calibrates it and picks its threshold on validation
 * (FPR ≤ `maxValidationFpr` on all validation negatives), writes models/injection.json with its
 * data hash and metrics, and reports held-out metrics (TPR at 1 % and 5 % FPR among them).
 */
export function trainInjection(options: InjectionTrainOptions = {}): TrainRun<LinearTextModelFile, GuardReport> {
  const seed = options.seed ?? 42;
  const { train, validation, test } = injectionSplit({ seed });
  const t0 = performance.now();
  const weights = balancedWeights(train);
  const t = LinearTextModel.train(train.map((e, i) => ({ text: e.text, label: e.label, weight: weights[i] })), validation, { epochs: options.epochs ?? 10, seed: options.trainSeed ?? 7, extra: injectionExtraFeatures, minCount: 3, prune: 1e-3 });
  const vScores = validation.map((e) => t.model.score(e.text, injectionExtraFeatures(e.text)));
  const maxFpr = options.maxValidationFpr ?? 0.01;
  const threshold = Math.round(thresholdAtFpr(vScores, validation.map((e) => e.label), maxFpr) * 1e4) / 1e4;
  const trainMs = performance.now() - t0;
  const file: LinearTextModelFile = {
    kind: "linear-text",
    version: 2,
    task: "injection",
    features: { fold: true, mask: true, charNgrams: [3, 5], wordNgrams: 2, structural: true, extra: "injection rule hits (src/safety/detectors.ts), on the raw and the normalised text" },
    bias: t.bias,
    weights: t.weights,
    calibration: { method: "platt", ...t.calibration, fittedOn: `validation split (${validation.length} texts)` },
    threshold,
    thresholdRule: `lowest threshold with FPR ≤ ${maxFpr * 100} % on the validation split's negatives`,
    dataHash: dataHash([...train, ...validation]),
    metrics: {},
    provenance: { algorithm: "logistic regression, char 3-5grams (folded, entity-masked) + word 1-2grams + structural + rule features, Adam, class/source-balanced, Platt", split: "injectionSplit (by app / probe / subtype / first words / trigger words)", seed, trainSeed: options.trainSeed ?? 7, trainExamples: train.length, command: "tandem guard train-injection" },
  };
  const detector = InjectionDetector.fromJSON(file);
  const report = evaluateInjectionDetector(detector, test);
  const vReport = reportOf(validation, vScores, threshold);
  file.metrics = { validation: compact(vReport), test: compact(report) };
  const out = writeModelFile(options.out === null ? null : (options.out ?? defaultInjectionModelPath()), file);
  return { file, out, trainMs, trainExamples: train.length, report };
}

/** Scores an injection detector on `examples` (label 1 = injection / jailbreak). */
export function evaluateInjectionDetector(detector: Pick<InjectionDetector, "score" | "threshold">, examples: readonly SafetyExample[], threshold = detector.threshold): GuardReport {
  return reportOf(examples, examples.map((e) => detector.score(e.text)), threshold);
}

/** Evaluates the shipped (or given) injection detector on the held-out injection split. */
export function evaluateInjection(options: { seed?: number; model?: string; threshold?: number } = {}): GuardReport {
  const detector = loadInjectionDetector(options.model);
  return evaluateInjectionDetector(detector, injectionSplit({ seed: options.seed }).test, options.threshold ?? detector.threshold);
}

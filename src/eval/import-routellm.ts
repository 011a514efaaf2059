/**
 * Importer of RouteLLM's benchmark outcomes (lm-sys/RouteLLM, `routellm/evals/{mmlu,gsm8k}`):
 * CSVs with a `prompt` column and one boolean correctness column per model (GSM8K adds
 * `<model>_response` columns). Prompts listed in `contaminated_prompts.jsonl` (its `eval_prompt`
 * field) are dropped by exact string match, as RouteLLM's `benchmarks.py` does
 * (`all_data[~all_data["prompt"].isin(contaminated_prompts)]`).
 *
 * The CSVs record no cost: `cost` is estimated from approximate token counts (see tokens.ts) at
 * list prices ({@link ROUTELLM_PRICES}) and marked `costEstimated`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { TandemError } from "../core/errors.js";
import { parseCsv } from "./csv.js";
import type { ModelOutcome, ReplayRecord } from "./dataset.js";
import { approxTokens, usdOf } from "./tokens.js";

/** USD per 1M tokens used to estimate costs: OpenAI list price of GPT-4-1106-preview, Together AI's of Mixtral-8x7B. */
export const ROUTELLM_PRICES: Record<string, { inputPerMillion: number; outputPerMillion: number }> = {
  "gpt-4-1106-preview": { inputPerMillion: 10, outputPerMillion: 30 },
  "mistralai/Mixtral-8x7B-Instruct-v0.1": { inputPerMillion: 0.6, outputPerMillion: 0.6 },
};

/** Counts of an import: rows read, kept, dropped as contaminated, skipped for a missing cell. */
export interface ImportStats {
  rows: number;
  kept: number;
  contaminated: number;
  skippedMissing: number;
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
export function importRouteLLM(paths: readonly string[], options: { contaminated?: string } = {}): { records: ReplayRecord[]; stats: ImportStats } {
  const stats: ImportStats = { rows: 0, kept: 0, contaminated: 0, skippedMissing: 0 };
  const records: ReplayRecord[] = [];
  for (const file of expandCsvFiles(paths)) {
    const rows = parseCsv(readFileSync(file, "utf8"));
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
        const promptTokens = approxTokens(prompt);
        const completionTokens = response !== undefined ? approxTokens(response) : 1;
        const price = ROUTELLM_PRICES[m] ?? { inputPerMillion: 0, outputPerMillion: 0 };
        outcomes[m] = {
          score,
          cost: usdOf(promptTokens, completionTokens, price.inputPerMillion, price.outputPerMillion),
          costEstimated: true,
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

/**
 * Importer of the Mixture-of-Thoughts cascade data (Yue et al., ICLR 2024, "Large Language Model
 * Cascades with Mixture of Thoughts Representations for Cost-efficient Reasoning";
 * MurongYue/LLM_MoT_cascade): per question, the sampled answers of GPT-3.5-turbo (20 per call,
 * chain-of-thought `cot1/cot2` and program-of-thought `pot1/pot2` demonstrations, two
 * temperatures) and of GPT-4 (3 samples, and greedy), with the extracted (PoT: executed) answers.
 *
 * Each file becomes one *view* outcome `<model>/<view>`, e.g. `gpt-3.5-turbo/cot1`,
 * `gpt-3.5-turbo/pot2@t=0.4`, `gpt-4/cot1`, `gpt-4/cot1-greedy`, whose `samples` hold every
 * answer (score 1 when it equals the reference exactly, as MoT's `finqa_equal` on strings) and
 * whose `score` is that of the majority answer (MoT's `get_major_ans`). `gpt-3.5-turbo` and
 * `gpt-4` alone alias the `cot1` views. Costs follow MoT's `get_real_cost` — demonstrations +
 * question once per call, every sample as output — with exact cl100k_base counts (tokens.ts: the
 * prompt as one chat message, each sample's text) at MoT's own prices ({@link MOT_PRICES}, the
 * 2023 list prices the paper used — kept as written there so the paper's cost ratios reproduce;
 * today's are in the catalogue). Not marked `costEstimated`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { TandemError } from "../core/errors.js";
import type { ModelOutcome, ReplayRecord, SampleOutcome } from "./dataset.js";
import type { ImportStats } from "./import-routellm.js";
import { costOf, type Price } from "../core/model.js";
import type { CostOptions } from "./import-routellm.js";
import { tokenizerFor } from "./tokens.js";
import { majorityVote } from "../strategies/cascade/signals.js";

/** USD per 1M tokens, as in MoT's utils.py ($0.0015/$0.002 and $0.03/$0.06 per 1k) — hand-written on purpose: the paper's prices. */
export const MOT_PRICES: Record<string, Price> = {
  "gpt-3.5-turbo": { inputPerMillion: 1.5, outputPerMillion: 2 },
  "gpt-4": { inputPerMillion: 30, outputPerMillion: 60 },
};

interface MotItem {
  question: string;
  answer: string;
  generated: string[];
  results: Array<string | null>;
}

/**
 * The majority answer of extracted answers, MoT's `get_major_ans`: the cascade's own
 * `majorityVote` (ties: first seen, as Python's Counter.most_common) over the non-null answers;
 * `count` is how many gave it (0 and null when none was extracted).
 */
export function majorityAnswer(answers: ReadonlyArray<string | null>): { answer: string | null; count: number } {
  const given = answers.filter((a): a is string => a !== null);
  if (given.length === 0) return { answer: null, count: 0 };
  const vote = majorityVote(given);
  return { answer: vote.answer, count: Math.round(vote.share * given.length) };
}

function collectFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) out.push(...collectFiles(readdirSync(p).sort().map((e) => join(p, e)).filter((e) => statSync(e).isDirectory() || /_(cot|pot)\d|greedy/.test(basename(e)))));
    else out.push(p);
  }
  return out;
}

function findPrompts(files: readonly string[], explicit?: string): Record<string, string> {
  const candidates = explicit ? [explicit] : [...new Set(files.flatMap((f) => [join(dirname(f), "date_prompts_extracted.json"), join(dirname(dirname(f)), "date_prompts_extracted.json")]))];
  for (const c of candidates) if (existsSync(c)) return JSON.parse(readFileSync(c, "utf8")) as Record<string, string>;
  return {};
}

/** `date_cot1_t=0.4.json` → `cot1@t=0.4`; `date_greedy_pot2.json` → `pot2-greedy`. */
export function motView(file: string): { task: string; view: string; base: string } {
  const stem = basename(file, ".json");
  const m = /^([a-z]+)_(greedy_)?((?:cot|pot)\d)(?:_t=([\d.]+))?(?:_(\d+))?$/.exec(stem);
  if (!m) throw new TandemError("invalid_request", `${file}: not a MoT result file name (<task>_[greedy_](cot|pot)N[_t=T].json)`);
  const [, task, greedy, base, temp, n] = m;
  return { task, base, view: `${base}${greedy ? "-greedy" : ""}${temp ? `@t=${temp}` : ""}${n ? `@n=${n}` : ""}` };
}

/**
 * Converts MoT result files (or their folder, with `GPT3_result/` and `GPT4_result/` inside)
 * into replay records with ids `<task>/<index>`. The model is `gpt-3.5-turbo` for files under a
 * `GPT3…` folder and `gpt-4` under `GPT4…`. Throws `invalid_request` when files disagree on the
 * questions.
 */
export function importMoT(paths: readonly string[], options: { prompts?: string } & CostOptions = {}): { records: ReplayRecord[]; stats: ImportStats } {
  const files = collectFiles(paths).filter((f) => f.endsWith(".json") && !basename(f).includes("prompts"));
  const prompts = findPrompts(files, options.prompts);
  const records: ReplayRecord[] = [];
  const stats: ImportStats = { rows: 0, kept: 0, contaminated: 0, skippedMissing: 0, tokenizers: {}, prices: {} };
  for (const file of files) {
    const folder = basename(dirname(file));
    const model = /gpt4/i.test(folder) ? "gpt-4" : /gpt3/i.test(folder) ? "gpt-3.5-turbo" : folder;
    const { task, view, base } = motView(file);
    const demoKey = `${task}_${base.slice(0, 3).replace("cot", "CoT").replace("pot", "PoT")}${base.slice(3)}_prompting`;
    const demos = prompts[demoKey] ?? "";
    const items = JSON.parse(readFileSync(file, "utf8")) as MotItem[];
    const price = options.prices?.[model] ?? MOT_PRICES[model] ?? { inputPerMillion: 0, outputPerMillion: 0 };
    const tokenizer = tokenizerFor(model, options.tokenizers);
    stats.tokenizers![model] = tokenizer.name;
    stats.prices![model] = options.prices?.[model] ? "explicit" : MOT_PRICES[model] ? "MoT paper (utils.py)" : "none (cost 0)";
    items.forEach((item, i) => {
      let record = records[i];
      if (!record) {
        record = { id: `${task}/${i}`, prompt: item.question, reference: item.answer, group: task, outcomes: {} };
        records[i] = record;
      } else if (record.prompt !== item.question) {
        throw new TandemError("invalid_request", `${file}: item ${i} is '${item.question}', expected '${String(record.prompt)}'`);
      }
      const samples: SampleOutcome[] = item.results.map((a, j) => ({
        answer: a === null || a === undefined ? null : String(a),
        score: a !== null && a !== undefined && String(a) === item.answer ? 1 : 0,
        completionTokens: tokenizer.count(item.generated[j] ?? ""),
      }));
      const promptTokens = tokenizer.countPrompt(demos + item.question);
      const completionTokens = item.generated.reduce((n, text) => n + tokenizer.count(text ?? ""), 0);
      const major = majorityAnswer(samples.map((s) => s.answer));
      const outcome: ModelOutcome = {
        score: major.answer !== null && major.answer === item.answer ? 1 : 0,
        cost: costOf(price, { promptTokens, completionTokens }),
        costEstimated: !tokenizer.exact,
        promptTokens,
        completionTokens,
        response: item.generated[0] ?? "",
        samples,
      };
      record.outcomes[`${model}/${view}`] = outcome;
      if (view === "cot1") record.outcomes[model] = outcome;
    });
  }
  stats.rows = records.length;
  stats.kept = records.length;
  return { records, stats };
}

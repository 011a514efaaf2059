/**
 * The replay data format: recorded per-query outcomes of several models, one JSON object per
 * line (JSONL). It is what `tandem data import` writes, what the `replay` provider serves and
 * what `tandem eval` / `tandem router train` read.
 *
 * ```json
 * {"id": "mmlu/anatomy/3", "prompt": "Which …?\nA. …\nAnswer:", "split": "test", "group": "anatomy",
 *  "outcomes": {
 *    "mistralai/Mixtral-8x7B-Instruct-v0.1": {"score": 0, "cost": 0.0000512},
 *    "gpt-4-1106-preview": {"score": 1, "cost": 0.00103, "response": "C"}}}
 * ```
 *
 * - `id` (string, unique), `prompt` (a string or OpenAI chat messages; routers score the last
 *   user message), optional `split` ("train" | "test" | …), `group` (sub-task, e.g. the MMLU
 *   subject), `reference` (the gold answer, when known).
 * - `outcomes[model]`: `score` ∈ [0, 1] (1 = correct), `cost` in USD for this one query,
 *   optional `response` (the recorded text), `promptTokens` / `completionTokens`, `costEstimated`
 *   (true when `cost` was derived from approximate token counts and list prices, not billed),
 *   and `samples` (several sampled answers of one call: `{answer, score, completionTokens?,
 *   cost?, text?}`; `answer` is null when no answer could be extracted).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { TandemError } from "../core/errors.js";
import { lastUserText, type ChatMessage } from "../core/wire.js";

/** One sampled answer of a multi-sample call (self-consistency). */
export interface SampleOutcome {
  /** Extracted final answer, or null when none could be extracted. */
  answer: string | null;
  /** 1 if correct, 0 if not (or a graded value in [0, 1]). */
  score: number;
  /** Tokens of this sample's completion, when known. */
  completionTokens?: number;
  /** USD of serving this sample alone, when known (the replay provider's default: the outcome's cost / samples). */
  cost?: number;
  /** The sample's full text, when recorded (the replay provider serves `#### <answer>` without it). */
  text?: string;
}

/** What one model did on one query. */
export interface ModelOutcome {
  /** Quality in [0, 1]; 1 = correct. */
  score: number;
  /** USD spent on this query by this model. */
  cost: number;
  /** The recorded answer text. */
  response?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** True when `cost` is an estimate (approximate tokens × list price), not a recorded bill. */
  costEstimated?: boolean;
  /** Several sampled answers of the same call (e.g. MoT's 20 GPT-3.5 samples). */
  samples?: SampleOutcome[];
}

/** One query of a replay dataset. */
export interface ReplayRecord {
  id: string;
  prompt: string | ChatMessage[];
  outcomes: Record<string, ModelOutcome>;
  split?: string;
  group?: string;
  reference?: string;
}

const sampleSchema = z.object({
  answer: z.string().nullable(),
  score: z.number().min(0).max(1),
  completionTokens: z.number().nonnegative().optional(),
  cost: z.number().nonnegative().optional(),
  text: z.string().optional(),
});

const outcomeSchema = z.object({
  score: z.number().min(0).max(1),
  cost: z.number().nonnegative(),
  response: z.string().optional(),
  promptTokens: z.number().nonnegative().optional(),
  completionTokens: z.number().nonnegative().optional(),
  costEstimated: z.boolean().optional(),
  samples: z.array(sampleSchema).optional(),
});

const messageSchema = z.object({ role: z.string(), content: z.unknown() }).passthrough();

/** Zod schema of one JSONL line. */
export const replayRecordSchema = z.object({
  id: z.string().min(1),
  prompt: z.union([z.string(), z.array(messageSchema)]),
  outcomes: z.record(z.string(), outcomeSchema),
  split: z.string().optional(),
  group: z.string().optional(),
  reference: z.string().optional(),
});

/**
 * Parses JSONL text into records, validating each line.
 * Throws `TandemError("invalid_request")` naming the line on bad JSON, a bad shape or a duplicate id.
 */
export function parseDataset(text: string, source = "dataset"): ReplayRecord[] {
  const records: ReplayRecord[] = [];
  const seen = new Set<string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new TandemError("invalid_request", `${source}:${i + 1}: not valid JSON (${(error as Error).message})`, { cause: error });
    }
    const parsed = replayRecordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TandemError("invalid_request", `${source}:${i + 1}: ${issue.path.join(".") || "record"}: ${issue.message}`);
    }
    const record = parsed.data as ReplayRecord;
    if (seen.has(record.id)) throw new TandemError("invalid_request", `${source}:${i + 1}: duplicate id '${record.id}'`);
    seen.add(record.id);
    records.push(record);
  }
  return records;
}

/** Reads a JSONL replay dataset from disk. Errors as {@link parseDataset}, plus unreadable files. */
export function readDataset(path: string): ReplayRecord[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TandemError("invalid_request", `Cannot read dataset ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseDataset(text, path);
}

/** JSONL text of records (one line each, trailing newline). */
export function formatDataset(records: readonly ReplayRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join("\n") + (records.length ? "\n" : "");
}

/** Writes records as JSONL. */
export function writeDataset(path: string, records: readonly ReplayRecord[]): void {
  writeFileSync(path, formatDataset(records));
}

/** The text a router scores: the prompt string, or the last user message of a chat prompt. */
export function promptText(record: Pick<ReplayRecord, "prompt">): string {
  return typeof record.prompt === "string" ? record.prompt : lastUserText(record.prompt);
}

/** Records of one split (all records when `split` is undefined). */
export function filterSplit(records: readonly ReplayRecord[], split?: string): ReplayRecord[] {
  return split === undefined ? [...records] : records.filter((r) => r.split === split);
}

/** Model names present in every record, in first-seen order. */
export function commonModels(records: readonly ReplayRecord[]): string[] {
  if (records.length === 0) return [];
  const first = Object.keys(records[0].outcomes);
  return first.filter((m) => records.every((r) => r.outcomes[m] !== undefined));
}

/**
 * The outcome of `model` on `record`. Throws `TandemError("invalid_request")` when it was not
 * recorded, naming the models that were.
 */
export function outcomeOf(record: ReplayRecord, model: string): ModelOutcome {
  const o = record.outcomes[model];
  if (!o) {
    throw new TandemError("invalid_request", `Record '${record.id}' has no outcome for model '${model}'; recorded: ${Object.keys(record.outcomes).join(", ")}`);
  }
  return o;
}

/**
 * The `replay` provider: a `Model` that serves recorded outcomes (Tandem's replay JSONL, see
 * src/eval/dataset.ts) instead of calling a model, so the same strategy code runs live or on
 * replay. A request is matched to a recorded query by the text of its last user message (the
 * prompt string, or the chat prompt's last user message), or by a record id given as that text.
 * The answer is the recorded `response` (or, without one, the majority sampled answer); usage is
 * the recorded token counts (or approximate counts); the call's cost is the recorded USD cost.
 *
 * To keep dependencies pointing one way (eval uses providers), the record shape is declared
 * structurally here rather than imported from eval.
 *
 * Errors: `TandemError("invalid_request")` (400) when no record matches the request or the
 * record has no outcome for this model; `aborted` when the signal fired; `invalid_policy` for an
 * unreadable dataset file.
 */
import { readFileSync } from "node:fs";
import { TandemError } from "../core/errors.js";
import { streamFromGenerate, type GenerateRequest, type GenerateResult, type Model, type ModelLocation, type Price, type StreamPart } from "../core/model.js";
import { contentText, lastUserText, type ChatMessage } from "../core/wire.js";

/** The fields of a replay outcome this provider reads. */
export interface ReplayOutcomeLike {
  score: number;
  /** USD of this query. */
  cost: number;
  response?: string;
  promptTokens?: number;
  completionTokens?: number;
  samples?: Array<{ answer: string | null; score: number }>;
}

/** The fields of a replay record this provider reads. */
export interface ReplayRecordLike {
  id: string;
  prompt: string | ChatMessage[];
  outcomes: Record<string, ReplayOutcomeLike>;
}

/** Options of {@link ReplayModel}. */
export interface ReplayModelOptions {
  /** Model id exposed (default: the recorded model name). */
  id?: string;
  /** Default "cloud" (recorded outcomes are usually of hosted models). */
  location?: ModelLocation;
  /** USD per 1M tokens; default: the mean recorded cost per token over the records. */
  price?: Price;
}

function approxTokens(text: string): number {
  return (text.match(/[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]/g) ?? []).length;
}

function recordText(record: ReplayRecordLike): string {
  return typeof record.prompt === "string" ? record.prompt : lastUserText(record.prompt);
}

/** A recorded answer and what it scored, as served by {@link ReplayModel.lookup}. */
export interface ReplayHit {
  record: ReplayRecordLike;
  outcome: ReplayOutcomeLike;
  text: string;
  promptTokens: number;
  completionTokens: number;
}

/** A model that answers from recorded outcomes of `model`. */
export class ReplayModel implements Model {
  readonly id: string;
  readonly location: ModelLocation;
  readonly price: Price;
  private readonly byText = new Map<string, ReplayRecordLike>();
  private readonly byId = new Map<string, ReplayRecordLike>();

  /** Throws `TandemError("invalid_request")` when no record has an outcome for `model`. */
  constructor(
    readonly model: string,
    records: readonly ReplayRecordLike[],
    options: ReplayModelOptions = {},
  ) {
    this.id = options.id ?? model;
    this.location = options.location ?? "cloud";
    let cost = 0;
    let tokens = 0;
    for (const r of records) {
      const o = r.outcomes[model];
      if (!o) continue;
      this.byId.set(r.id, r);
      const text = recordText(r);
      if (!this.byText.has(text)) this.byText.set(text, r);
      cost += o.cost;
      tokens += (o.promptTokens ?? approxTokens(text)) + (o.completionTokens ?? approxTokens(o.response ?? ""));
    }
    if (this.byId.size === 0) throw new TandemError("invalid_request", `No recorded outcomes for model '${model}'`);
    const perMillion = tokens > 0 ? (cost / tokens) * 1e6 : 0;
    this.price = options.price ?? { inputPerMillion: perMillion, outputPerMillion: perMillion };
  }

  /** Replay model over a JSONL file. Throws `invalid_policy` when the file cannot be read or parsed. */
  static fromFile(path: string, model: string, options: ReplayModelOptions = {}): ReplayModel {
    let records: ReplayRecordLike[];
    try {
      records = readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as ReplayRecordLike);
    } catch (error) {
      throw new TandemError("invalid_policy", `Cannot read replay dataset ${path}: ${(error as Error).message}`, { cause: error });
    }
    return new ReplayModel(model, records, options);
  }

  /** The recorded answer for `messages`, or undefined when no record matches. */
  lookup(messages: readonly ChatMessage[]): ReplayHit | undefined {
    const text = lastUserText(messages);
    const record = this.byText.get(text) ?? this.byId.get(text.trim());
    if (!record) return undefined;
    const outcome = record.outcomes[this.model];
    let answer = outcome.response;
    if (answer === undefined && outcome.samples?.length) {
      const counts = new Map<string, number>();
      for (const s of outcome.samples) if (s.answer !== null) counts.set(s.answer, (counts.get(s.answer) ?? 0) + 1);
      let best = "";
      let n = 0;
      for (const [a, c] of counts) if (c > n) [best, n] = [a, c];
      answer = best;
    }
    const out = answer ?? "";
    const promptText = messages.map((m) => contentText(m.content as never)).join("\n");
    return {
      record,
      outcome,
      text: out,
      promptTokens: outcome.promptTokens ?? approxTokens(promptText),
      completionTokens: outcome.completionTokens ?? approxTokens(out),
    };
  }

  async generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult> {
    if (signal?.aborted) throw new TandemError("aborted", "Request aborted");
    const started = performance.now();
    const hit = this.lookup(request.messages);
    if (!hit) {
      throw new TandemError("invalid_request", `replay model '${this.id}': no recorded query matches the last user message`, { param: "messages" });
    }
    const usage = { promptTokens: hit.promptTokens, completionTokens: hit.completionTokens };
    const latencyMs = performance.now() - started;
    const costUsd = hit.outcome.cost;
    return {
      text: hit.text,
      finishReason: "stop",
      usage,
      info: {
        servedBy: this.id,
        calls: [{ model: this.id, location: this.location, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, costUsd, latencyMs }],
        decisions: [],
        escalated: false,
        costUsd,
        strongOnlyCostUsd: costUsd,
      },
    };
  }

  stream(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<StreamPart> {
    return streamFromGenerate(this.generate(request, signal));
  }
}

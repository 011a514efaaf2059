/**
 * The `replay` provider: a `Model` that serves recorded outcomes (Tandem's replay JSONL, see
 * src/eval/dataset.ts) instead of calling a model, so the same strategy code runs live or on
 * replay — `tandem eval` and `bench/routing.ts` drive the real `route` and `cascade` strategies
 * over these models.
 *
 * Matching: a request is matched to a recorded query by the text of its last user message (the
 * prompt string, or the chat prompt's last user message), or by a record id given as that text
 * (`matchBy: "id"` matches ids only — what evaluation uses, so duplicate prompts stay apart).
 *
 * What is served:
 * - a request with a `seed`, on an outcome that recorded `samples` (several sampled answers of one
 *   call): sample number `seed mod samples.length`, as the sample's `text` or, without one, as
 *   `#### <answer>` (the answer marker the cascade's `normalizeAnswer` reads back exactly; an
 *   answer that could not be extracted, null, is served as ""). Its cost is the sample's `cost`,
 *   or the outcome's cost split evenly over its samples. This is how a self-consistency cascade
 *   draws its k samples (seeds base … base + k − 1) from the recorded ones;
 * - otherwise the recorded `response` (or, without one, the majority sampled answer in the same
 *   `#### <answer>` form), at the outcome's recorded USD cost.
 * Usage is the recorded token counts (or approximate counts). The call is recorded with
 * `leafInfo` at the recorded cost. {@link ReplayModel.recordedScore} grades a served text by the
 * recorded correctness of the answer that produced it.
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
import { leafInfo, streamFromGenerate, type GenerateRequest, type GenerateResult, type Model, type ModelLocation, type Price, type StreamPart } from "../core/model.js";
import { contentText, lastUserText, type ChatMessage } from "../core/wire.js";

/** One recorded sampled answer (self-consistency) this provider reads. */
export interface ReplaySampleLike {
  /** The extracted answer; null when none could be extracted. */
  answer: string | null;
  /** Its correctness in [0, 1]. */
  score: number;
  /** Tokens of this sample's completion, when known. */
  completionTokens?: number;
  /** USD of serving this sample alone (default: the outcome's cost / number of samples). */
  cost?: number;
  /** The sample's full text, when recorded (default: `#### <answer>`). */
  text?: string;
}

/** The fields of a replay outcome this provider reads. */
export interface ReplayOutcomeLike {
  score: number;
  /** USD of this query. */
  cost: number;
  response?: string;
  promptTokens?: number;
  completionTokens?: number;
  samples?: ReplaySampleLike[];
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
  /**
   * How a request finds its record: `"text"` (default) by the last user message's text, then by
   * a record id given as that text; `"id"` by record id only (duplicate prompts stay apart).
   */
  matchBy?: "text" | "id";
}

function approxTokens(text: string): number {
  return (text.match(/[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]/g) ?? []).length;
}

function recordText(record: ReplayRecordLike): string {
  return typeof record.prompt === "string" ? record.prompt : lastUserText(record.prompt);
}

/** The text a recorded sample is served as (see the module comment). */
export function sampleText(sample: ReplaySampleLike): string {
  return sample.text ?? (sample.answer === null ? "" : `#### ${sample.answer}`);
}

/** A recorded answer and what it scored, as served by {@link ReplayModel.lookup}. */
export interface ReplayHit {
  record: ReplayRecordLike;
  outcome: ReplayOutcomeLike;
  /** Index of the served sample, when a sample was served. */
  sample?: number;
  text: string;
  /** Recorded correctness of the served answer, in [0, 1]. */
  score: number;
  /** USD of this call. */
  costUsd: number;
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
  private readonly recordTokens = new Map<ReplayRecordLike, number>();
  private readonly matchBy: "text" | "id";

  /** Throws `TandemError("invalid_request")` when no record has an outcome for `model`. */
  constructor(
    readonly model: string,
    records: readonly ReplayRecordLike[],
    options: ReplayModelOptions = {},
  ) {
    this.id = options.id ?? model;
    this.location = options.location ?? "cloud";
    this.matchBy = options.matchBy ?? "text";
    let cost = 0;
    let tokens = 0;
    for (const r of records) {
      const o = r.outcomes[model];
      if (!o) continue;
      this.byId.set(r.id, r);
      const text = recordText(r);
      if (this.matchBy === "text" && !this.byText.has(text)) this.byText.set(text, r);
      cost += o.cost;
      if (!options.price) tokens += (o.promptTokens ?? approxTokens(text)) + (o.completionTokens ?? approxTokens(o.response ?? ""));
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

  private find(messages: readonly ChatMessage[]): { record: ReplayRecordLike; byText: boolean } | undefined {
    const text = lastUserText(messages);
    const record = this.matchBy === "text" ? this.byText.get(text) : undefined;
    if (record) return { record, byText: true };
    const byId = this.byId.get(text.trim());
    return byId ? { record: byId, byText: false } : undefined;
  }

  private promptTokensOf(messages: readonly ChatMessage[], found: { record: ReplayRecordLike; byText: boolean }): number {
    if (found.byText) return approxTokens(messages.map((m) => contentText(m.content as never)).join("\n"));
    let n = this.recordTokens.get(found.record);
    if (n === undefined) this.recordTokens.set(found.record, (n = approxTokens(recordText(found.record))));
    return n;
  }

  /**
   * The recorded answer for `messages` (sample `seed mod samples` when `seed` is given and the
   * outcome recorded samples), or undefined when no record matches.
   */
  lookup(messages: readonly ChatMessage[], seed?: number): ReplayHit | undefined {
    const found = this.find(messages);
    if (!found) return undefined;
    const { record } = found;
    const outcome = record.outcomes[this.model];
    const samples = outcome.samples ?? [];
    const promptTokens = outcome.promptTokens ?? this.promptTokensOf(messages, found);
    if (seed !== undefined && samples.length > 0) {
      const index = ((Math.trunc(seed) % samples.length) + samples.length) % samples.length;
      const s = samples[index];
      const text = sampleText(s);
      return { record, outcome, sample: index, text, score: s.score, costUsd: s.cost ?? outcome.cost / samples.length, promptTokens, completionTokens: s.completionTokens ?? approxTokens(text) };
    }
    const text = outcome.response ?? (samples.length ? sampleText(majoritySample(samples)) : "");
    return { record, outcome, text, score: outcome.score, costUsd: outcome.cost, promptTokens, completionTokens: outcome.completionTokens ?? approxTokens(text) };
  }

  /**
   * The recorded correctness in [0, 1] of `text` served by this model for `messages`: the
   * outcome's score when `text` is the recorded response, else the score of the (first) recorded
   * sample served as `text`; undefined when no record matches or `text` is neither.
   */
  recordedScore(messages: readonly ChatMessage[], text: string): number | undefined {
    const found = this.find(messages);
    if (!found) return undefined;
    const outcome = found.record.outcomes[this.model];
    const samples = outcome.samples ?? [];
    if (outcome.response !== undefined && text === outcome.response) return outcome.score;
    const sample = samples.find((s) => sampleText(s) === text);
    if (sample) return sample.score;
    return outcome.response === undefined && samples.length === 0 && text === "" ? outcome.score : undefined;
  }

  async generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult> {
    if (signal?.aborted) throw new TandemError("aborted", "Request aborted");
    const started = performance.now();
    const hit = this.lookup(request.messages, request.seed);
    if (!hit) {
      throw new TandemError("invalid_request", `replay model '${this.id}': no recorded query matches the last user message`, { param: "messages" });
    }
    const usage = { promptTokens: hit.promptTokens, completionTokens: hit.completionTokens };
    return { text: hit.text, finishReason: "stop", usage, info: leafInfo(this, usage, performance.now() - started, hit.costUsd) };
  }

  stream(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<StreamPart> {
    return streamFromGenerate(this.generate(request, signal));
  }
}

/** The first sample of the most frequent non-null answer (ties: the answer seen first), or the first sample. */
function majoritySample(samples: readonly ReplaySampleLike[]): ReplaySampleLike {
  const counts = new Map<string, number>();
  for (const s of samples) if (s.answer !== null) counts.set(s.answer, (counts.get(s.answer) ?? 0) + 1);
  let best: string | undefined;
  let n = 0;
  for (const [a, c] of counts) if (c > n) [best, n] = [a, c];
  return samples.find((s) => s.answer === best) ?? samples[0];
}

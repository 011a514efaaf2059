/**
 * The provider-neutral model interface. Providers (llama-cpp, openai-compatible, replay) create
 * `Model`s; strategies (route, cascade, …) take models and return a `Model`, so they nest —
 * the shape of the Vercel AI SDK's `LanguageModel` + middleware, applied to collaboration.
 */
import type { ChatMessage, ChatTool, ChatToolCall, ChatToolCallDelta, ChatToolChoice, FinishReason, ResponseFormat, TokenLogprob } from "./wire.js";

/** Where a model runs. `edge` = on this device (private data may go there); `cloud` = off-device. */
export type ModelLocation = "edge" | "cloud";

/**
 * Price of a model in USD per 1,000,000 tokens. Local models may price their compute, or 0.
 * For a strategy, the price is that of its strong (reference) path, so
 * `costOf(strategy.price, usage)` is the "strong model alone" cost for the same tokens.
 */
export interface Price {
  /** USD per 1M prompt (input) tokens. */
  inputPerMillion: number;
  /** USD per 1M completion (output) tokens. */
  outputPerMillion: number;
  /** USD per 1M cached (cache-read) prompt tokens. Default: `inputPerMillion` (no cache discount). */
  cachedInputPerMillion?: number;
  /** USD per 1M prompt tokens written to the prompt cache (Anthropic's cache creation). Default: `inputPerMillion`. */
  cacheWritePerMillion?: number;
  /**
   * Long-context rates: when a call's prompt has more than `abovePromptTokens` tokens, the whole
   * call is charged at the last such tier's rates (Anthropic's and Google's >200k pricing, as
   * @pydantic/genai-prices models it). Sorted by `abovePromptTokens`, ascending.
   */
  tiers?: ReadonlyArray<PriceTier>;
  /**
   * Where the price came from when it was not given in code or the policy, e.g.
   * `"@pydantic/genai-prices@0.1.8 openai/gpt-4o"` (catalogue name@version provider/model);
   * copied into every call priced with it (`ModelCall.priceSource`), hence into traces.
   */
  source?: string;
}

/** The rates of one long-context tier of a {@link Price} (USD per 1M tokens). */
export interface PriceTier {
  /** The tier applies to calls whose prompt has more tokens than this. */
  abovePromptTokens: number;
  inputPerMillion: number;
  outputPerMillion: number;
  cachedInputPerMillion?: number;
  cacheWritePerMillion?: number;
}

/**
 * Token counts of one generation. Units: tokens. The optional counts are parts of the two
 * totals, as OpenAI reports them: `cachedPromptTokens` and `cacheWriteTokens` are included in
 * `promptTokens`, `reasoningTokens` in `completionTokens` (and billed at the output rate).
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens read from the upstream's prompt cache (OpenAI `prompt_tokens_details.cached_tokens`, Anthropic `cache_read_input_tokens`). */
  cachedPromptTokens?: number;
  /** Prompt tokens written to the prompt cache (Anthropic `cache_creation_input_tokens`). */
  cacheWriteTokens?: number;
  /** Completion tokens spent on hidden reasoning (OpenAI `completion_tokens_details.reasoning_tokens`). */
  reasoningTokens?: number;
}

/** The parts of a call's cost, USD: uncached input, cached input, cache writes, output (reasoning included). */
export interface CostBreakdown {
  inputUsd: number;
  cachedInputUsd: number;
  cacheWriteUsd: number;
  outputUsd: number;
}

/**
 * The cost of `usage` at `price`, per part (USD): uncached prompt tokens at the input rate,
 * cached ones at `cachedInputPerMillion`, cache writes at `cacheWritePerMillion` (each defaulting
 * to the input rate), completion tokens — reasoning included — at the output rate; the rates
 * of the last {@link PriceTier} the prompt exceeds, if any. Cached and written counts are
 * clamped to the prompt (an upstream cannot cache more than it read).
 */
export function costBreakdown(price: Price, usage: TokenUsage): CostBreakdown {
  let rates: Omit<PriceTier, "abovePromptTokens"> = price;
  for (const tier of price.tiers ?? []) if (usage.promptTokens > tier.abovePromptTokens) rates = tier;
  const cached = Math.min(Math.max(usage.cachedPromptTokens ?? 0, 0), usage.promptTokens);
  const written = Math.min(Math.max(usage.cacheWriteTokens ?? 0, 0), usage.promptTokens - cached);
  return {
    inputUsd: ((usage.promptTokens - cached - written) * rates.inputPerMillion) / 1e6,
    cachedInputUsd: (cached * (rates.cachedInputPerMillion ?? rates.inputPerMillion)) / 1e6,
    cacheWriteUsd: (written * (rates.cacheWritePerMillion ?? rates.inputPerMillion)) / 1e6,
    outputUsd: (usage.completionTokens * rates.outputPerMillion) / 1e6,
  };
}

/**
 * Cost in USD of `usage` at `price`: the sum of {@link costBreakdown}'s parts — for usage without
 * cache counts and a price without tiers, `(prompt × input + completion × output) / 1e6`.
 */
export function costOf(price: Price, usage: TokenUsage): number {
  if (usage.cachedPromptTokens === undefined && usage.cacheWriteTokens === undefined && !price.tiers?.length) {
    return (usage.promptTokens * price.inputPerMillion + usage.completionTokens * price.outputPerMillion) / 1e6;
  }
  const b = costBreakdown(price, usage);
  return b.inputUsd + b.cachedInputUsd + b.cacheWriteUsd + b.outputUsd;
}

/** The optional parts of `usage` (cache reads/writes, reasoning) that are set, to spread into a {@link ModelCall}. */
export function usageDetails(usage: TokenUsage): Pick<TokenUsage, "cachedPromptTokens" | "cacheWriteTokens" | "reasoningTokens"> {
  return {
    ...(usage.cachedPromptTokens !== undefined ? { cachedPromptTokens: usage.cachedPromptTokens } : {}),
    ...(usage.cacheWriteTokens !== undefined ? { cacheWriteTokens: usage.cacheWriteTokens } : {}),
    ...(usage.reasoningTokens !== undefined ? { reasoningTokens: usage.reasoningTokens } : {}),
  };
}

/** Sampling and output options of one generation, in OpenAI's meaning. */
export interface GenerateRequest {
  messages: ChatMessage[];
  /** Upper bound on completion tokens. Default: provider's (256 for local models). */
  maxTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  /** Seed of the sampler, for reproducible sampling. */
  seed?: number;
  /** Stop sequences; the matched sequence is not included in the text. */
  stop?: string[];
  /** Return per-token log-probabilities of the completion. */
  logprobs?: boolean;
  /** Alternatives per token, 0..20 (requires `logprobs`). */
  topLogprobs?: number;
  tools?: ChatTool[];
  toolChoice?: ChatToolChoice;
  /** End-user id, forwarded where the upstream accepts it. */
  user?: string;
  /**
   * The answer's required shape (OpenAI's `response_format`): forwarded to OpenAI-compatible
   * upstreams, enforced by the `format` pipeline stage (validate, repair under a grammar, ask
   * again). Unset or `{ type: "text" }`: free text.
   */
  responseFormat?: ResponseFormat;
}

/** One model invocation within a (possibly composite) generation. */
export interface ModelCall {
  /** Id of the leaf model called. */
  model: string;
  location: ModelLocation;
  /** What this call was for in its strategy, e.g. "weak", "strong", "sample-2". */
  role?: string;
  promptTokens: number;
  completionTokens: number;
  /** USD. */
  costUsd: number;
  /** Wall-clock milliseconds. */
  latencyMs: number;
  /** Set when the call failed; the strategy may still have recovered. */
  error?: string;
  /** Prompt tokens read from the prompt cache (part of `promptTokens`), when the upstream reported them. */
  cachedPromptTokens?: number;
  /** Prompt tokens written to the prompt cache (part of `promptTokens`), when reported. */
  cacheWriteTokens?: number;
  /** Hidden reasoning tokens (part of `completionTokens`), when reported. */
  reasoningTokens?: number;
  /** `costUsd` per part (USD), set when the usage carried cache or reasoning counts. */
  costParts?: CostBreakdown;
  /** The catalogue the price came from (`Price.source`), when it was not given explicitly. */
  priceSource?: string;
}

/** One decision a strategy took on the way to an answer. */
export interface Decision {
  /** Strategy kind, e.g. "route" or "cascade". */
  strategy: string;
  /** Name of the strategy model that decided. */
  name: string;
  /** The signal the decision used, in its own unit (router score ∈ [0,1], mean logprob in nats, agreement share…). */
  signal: string;
  /** The signal's value for this request. */
  score: number;
  /** The threshold it was compared to. */
  threshold: number;
  /** The model (or sub-strategy) chosen. */
  chosen: string;
  /** True when the request went to (or escalated to) the strong side. */
  escalated: boolean;
  /** A human-readable reason. */
  reason: string;
  /**
   * The answer this decision threw away (a cascade's weak answer when it escalated), kept for the
   * distillation loop's preference pairs. Stored in traces only with content storage on; never
   * sent to clients.
   */
  discarded?: string;
  /**
   * What a privacy layer let leave the device — the conversation with placeholders and the
   * remote answer before restoration (or, for a request kept local, the local answer with its
   * private values hidden) — so traces can store that instead of the private values. Set by the
   * `privacy` strategy; moved into the trace's content columns by the gateway; never sent to
   * clients.
   */
  cloudView?: CloudView;
}

/** The placeholder form of one request and answer (see {@link Decision.cloudView}). */
export interface CloudView {
  messages: ChatMessage[];
  /** The answer text in placeholder form; absent when no answer was produced. */
  text?: string;
}

/** The decisions without their `discarded` answers and cloud views: what leaves the store (responses, dashboard, content-free traces). */
export function withoutDiscarded(decisions: readonly Decision[]): Decision[] {
  return decisions.map(({ discarded: _, cloudView: __, ...d }) => d);
}

/**
 * What Tandem adds to every answer: who served it, why, and what it cost.
 * Surfaces as the `tandem` body field and `x-tandem-*` headers.
 */
export interface CollaborationInfo {
  /** Id of the leaf model whose output the caller receives. */
  servedBy: string;
  /** Every leaf call made, in order, including ones whose output was discarded. */
  calls: ModelCall[];
  /** Decisions taken, outermost strategy first. */
  decisions: Decision[];
  /** True when any decision escalated to a strong model. */
  escalated: boolean;
  /** Total USD spent on all calls. */
  costUsd: number;
  /** USD the strong (reference) model alone would have cost for the same tokens. */
  strongOnlyCostUsd: number;
  /** True when a fallback served because the preferred model failed. */
  degraded?: boolean;
}

/** A finished generation. */
export interface GenerateResult {
  /** Assistant text ("" when the answer is only tool calls). */
  text: string;
  toolCalls?: ChatToolCall[];
  finishReason: FinishReason;
  /**
   * The request's stop sequence (one of `GenerateRequest.stop`) that ended the generation, when
   * the provider knows (`finishReason` is then `"stop"`; the string itself is not in `text`).
   * Undefined for a natural end, another finish reason, or a provider that cannot tell (an
   * OpenAI-wire upstream other than vLLM). Anthropic's `stop_reason: "stop_sequence"` and
   * `stop_sequence` are read from it.
   */
  stopSequence?: string;
  /** Tokens of the model that served the final answer. */
  usage: TokenUsage;
  /** Per-token log-probabilities when requested (or when a strategy needed them). */
  logprobs?: TokenLogprob[];
  info: CollaborationInfo;
}

/** A piece of a streamed generation. The last part is always `finish`. */
export type StreamPart =
  | { type: "text"; text: string; logprobs?: TokenLogprob[] }
  | { type: "tool-call"; delta: ChatToolCallDelta }
  | { type: "finish"; result: GenerateResult };

/**
 * A chat model: a leaf (one local or remote model) or a strategy over several.
 *
 * Errors: implementations throw `TandemError` (see core/errors.ts): `upstream_error` (502) when a
 * remote model fails, `upstream_timeout` (504), `overloaded` (503) when a local queue is full,
 * `aborted` when `signal` fires.
 */
export interface Model {
  /** Stable id, e.g. "stories260K" or a strategy name from the policy. */
  readonly id: string;
  /** `cloud` if any part of this model may send data off-device. */
  readonly location: ModelLocation;
  /** USD per 1M tokens; for strategies, the strong path's price. */
  readonly price: Price;
  /** Most tokens (prompt + completion) one request may hold, when known (e.g. from the price catalogue). */
  readonly contextWindow?: number;
  /** Run one generation to completion. */
  generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult>;
  /** Run one generation, yielding text and tool-call deltas, then a final `finish` part. */
  stream(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<StreamPart>;
  /** Release resources (native memory, child connections). Idempotent. */
  close?(): Promise<void>;
  /**
   * The most one generation can spend when every call it makes is bounded by `perCall` (the
   * prompt's tokens and the `maxTokens` sent): the sum over every call the strategy may make
   * (a cascade's weak sample(s) and its strong call, a fallback's retries and fallbacks). What a
   * budget or token limit reserves before admitting the request. Default ({@link worstCaseOf}):
   * one call at this model's price.
   */
  worstCase?(perCall: TokenUsage): WorstCase;
}

/** An upper bound on one generation: USD and tokens (prompt + completion, over all calls). */
export interface WorstCase {
  costUsd: number;
  tokens: number;
}

/** `model.worstCase(perCall)`, or one call at the model's price. */
export function worstCaseOf(model: Pick<Model, "price" | "worstCase">, perCall: TokenUsage): WorstCase {
  return model.worstCase?.(perCall) ?? { costUsd: costOf(model.price, perCall), tokens: perCall.promptTokens + perCall.completionTokens };
}

/** The sum of worst cases (calls that may all happen). */
export function sumWorstCases(cases: readonly WorstCase[]): WorstCase {
  return cases.reduce((a, b) => ({ costUsd: a.costUsd + b.costUsd, tokens: a.tokens + b.tokens }), { costUsd: 0, tokens: 0 });
}

/** The larger of worst cases (exactly one of the branches runs). */
export function maxWorstCase(cases: readonly WorstCase[]): WorstCase {
  return cases.reduce((a, b) => ({ costUsd: Math.max(a.costUsd, b.costUsd), tokens: Math.max(a.tokens, b.tokens) }), { costUsd: 0, tokens: 0 });
}

/**
 * Builds the info of a leaf model's single call. `costUsd` (USD) defaults to `usage` at the
 * model's price; a provider that knows the billed cost (e.g. replay's recorded cost) passes it.
 */
export function leafInfo(model: Pick<Model, "id" | "location" | "price">, usage: TokenUsage, latencyMs: number, costUsd = costOf(model.price, usage)): CollaborationInfo {
  return {
    servedBy: model.id,
    calls: [
      {
        model: model.id,
        location: model.location,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        costUsd,
        latencyMs,
        ...callDetails(model.price, usage),
      },
    ],
    decisions: [],
    escalated: false,
    costUsd,
    strongOnlyCostUsd: costUsd,
  };
}

/**
 * The optional fields of a {@link ModelCall} priced at `price` for `usage`: the cache and
 * reasoning counts that are set, `priceSource` when the price came from a catalogue, and
 * `costParts` when either is. `{}` for plain usage at an explicit price (calls stay as they were).
 */
export function callDetails(price: Price, usage: TokenUsage): Pick<ModelCall, "cachedPromptTokens" | "cacheWriteTokens" | "reasoningTokens" | "costParts" | "priceSource"> {
  const details = usageDetails(usage);
  return {
    ...details,
    ...(Object.keys(details).length || price.source !== undefined ? { costParts: costBreakdown(price, usage) } : {}),
    ...(price.source !== undefined ? { priceSource: price.source } : {}),
  };
}

/**
 * Default streaming for models that only generate whole answers: runs `generate` and yields its
 * text (and tool calls) as single parts, then `finish`.
 */
export async function* streamFromGenerate(result: Promise<GenerateResult>): AsyncIterable<StreamPart> {
  const r = await result;
  if (r.text) yield { type: "text", text: r.text, logprobs: r.logprobs };
  for (const [index, call] of (r.toolCalls ?? []).entries()) {
    yield { type: "tool-call", delta: { index, id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments } } };
  }
  yield { type: "finish", result: r };
}

/** Fail-safe: true if any model is cloud. */
export function combinedLocation(models: ReadonlyArray<Pick<Model, "location">>): ModelLocation {
  return models.some((m) => m.location === "cloud") ? "cloud" : "edge";
}

/**
 * The one projection of a request's decision path (issue #11, contract C4): a finished
 * {@link GenerateResult} plus its trace id, requested model name and latency become
 *
 * - the `tandem` object of response bodies (on the final chunk when streaming),
 * - the `x-tandem-*` response headers,
 * - the usage object (`prompt_tokens`, `completion_tokens`, `total_tokens`, as the usage chunk and
 *   body carry it),
 * - and the {@link Trace} the store keeps.
 *
 * Protocol-neutral: each wire mapping (src/server/openai/chat.ts today) puts these pieces into its
 * own envelope. Decisions are cut here and nowhere else in the server, once per request
 * ({@link viewsOf}): what clients see never carries a cascade's `discarded` answer nor a privacy
 * layer's `cloudView`; what a trace stores carries no `cloudView` (for a private model the view
 * *becomes* the trace's content, see {@link storedTrace}). The trace store itself still drops
 * `discarded` answers when it runs with `storeContent: false` — a storage rule the gateway cannot
 * see from here.
 *
 * Privacy of traces: for a *private* model (a served name whose strategy tree contains `privacy`),
 * by default (`privateContent: "redacted"`) a trace stores what the cloud saw: the conversation
 * with placeholders and the answer before restoration, taken from the privacy decision's
 * `cloudView`; when the request never reached the privacy layer or failed before it produced a
 * view (blocked, timed out, served by an edge model outside it), no content at all. Discarded
 * answers (a cascade's weak attempt, possibly outside the privacy layer) are dropped too.
 * `"plain"` opts in to storing plaintext; `"none"` stores no content for private models. Other
 * models keep the trace store's `storeContent` behaviour.
 */
import { openaiUsageDetails } from "../core/pricing/usage.js";
import { withoutDiscarded, type CloudView, type CollaborationInfo, type Decision, type GenerateResult } from "../core/model.js";
import type { ChatMessage } from "../core/wire.js";
import type { Trace } from "../store/traces.js";

/** The `tandem` object added to response bodies (and to the final stream chunk). USD, ms. */
export interface TandemField {
  trace_id: string;
  /** The requested model name (strategy or model). */
  model: string;
  served_by: string;
  escalated: boolean;
  degraded: boolean;
  cost_usd: number;
  strong_only_cost_usd: number;
  saved_usd: number;
  latency_ms: number;
  /** The decisions without `discarded` answers and `cloudView`s. */
  decisions: CollaborationInfo["decisions"];
  calls: CollaborationInfo["calls"];
  /** Tokens and USD per part over all calls; present when a call reported cache or reasoning counts or was priced from the catalogue. */
  usage_breakdown?: UsageBreakdownField;
}

/**
 * The `tandem.usage_breakdown` object: tokens (cached and cache-written prompt tokens are
 * part of `prompt_tokens`, reasoning tokens part of `completion_tokens`) and USD per part,
 * summed over every call. `other_usd`: cost of calls that reported no breakdown (their parts
 * unknown). `price_sources`: the catalogues (name@version provider/model) that priced calls.
 */
export interface UsageBreakdownField {
  prompt_tokens: number;
  cached_prompt_tokens: number;
  cache_write_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  input_usd: number;
  cached_input_usd: number;
  cache_write_usd: number;
  output_usd: number;
  other_usd: number;
  price_sources: string[];
}

/**
 * Token usage in the wire's snake_case form (OpenAI `usage`; the usage chunk carries the same
 * object). Tokens. The details appear, in OpenAI's shape, when the serving model reported them.
 */
export interface UsageObject {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number; cache_write_tokens?: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

/** How traces of private models hold content: placeholders (default), plaintext (opt-in) or nothing. */
export type PrivateContentMode = "redacted" | "plain" | "none";

/** The two views of a request's decisions, cut once. */
export interface DecisionViews {
  /** What leaves the gateway (responses, headers, content-free traces): no `discarded`, no `cloudView`. */
  shown: Decision[];
  /** What a trace with content keeps: `discarded` answers kept (preference pairs), no `cloudView`. */
  stored: Decision[];
  /** The first privacy layer's view of the request (what the cloud saw), when one produced it. */
  cloudView?: CloudView;
}

/**
 * Cuts decisions into what is shown and what is stored — the one place in the server that strips
 * `discarded` answers and `cloudView`s.
 */
export function viewsOf(decisions: readonly Decision[]): DecisionViews {
  const cloudView = decisions.find((d) => d.cloudView !== undefined)?.cloudView;
  return {
    shown: withoutDiscarded(decisions),
    stored: decisions.map(({ cloudView: _, ...d }) => d),
    ...(cloudView !== undefined ? { cloudView } : {}),
  };
}

/** What a finished answer shows its caller, in protocol-neutral pieces. */
export interface AnswerProjection {
  /** The `tandem` object. */
  field: TandemField;
  /** `x-tandem-*` headers (names lower-case). */
  headers: Record<string, string>;
  /** The serving model's token usage. */
  usage: UsageObject;
  /** The result's decisions, cut once (the trace reuses them). */
  views: DecisionViews;
}

/**
 * Projects a finished result. `latencyMs`: wall-clock ms from arrival to the answer (rounded to
 * 0.1 ms in the field); `model`: the requested served name; costs are rounded to 1e-10 USD.
 */
export function projectAnswer(args: { traceId: string; model: string; result: GenerateResult; latencyMs: number }): AnswerProjection {
  const { traceId, model, result, latencyMs } = args;
  const views = viewsOf(result.info.decisions);
  const field = fieldOf(traceId, model, result.info, latencyMs, views.shown);
  return { field, headers: tandemHeaders(field), usage: usageObject(result.usage), views };
}

/**
 * The `tandem` object of `info` (decisions stripped of `discarded` and `cloudView`). Kept for
 * callers of the former `openai-format.ts`; the gateway uses {@link projectAnswer}.
 */
export function tandemField(traceId: string, model: string, info: CollaborationInfo, latencyMs: number): TandemField {
  return fieldOf(traceId, model, info, latencyMs, viewsOf(info.decisions).shown);
}

function fieldOf(traceId: string, model: string, info: CollaborationInfo, latencyMs: number, shown: Decision[]): TandemField {
  return {
    trace_id: traceId,
    model,
    served_by: info.servedBy,
    escalated: info.escalated,
    degraded: info.degraded ?? false,
    cost_usd: round(info.costUsd),
    strong_only_cost_usd: round(info.strongOnlyCostUsd),
    saved_usd: round(info.strongOnlyCostUsd - info.costUsd),
    latency_ms: Math.round(latencyMs * 10) / 10,
    decisions: shown,
    calls: info.calls,
    ...usageBreakdownOf(info.calls),
  };
}

/** `{ usage_breakdown }` over `calls`, or `{}` when no call carries a breakdown or a catalogue price. */
export function usageBreakdownOf(calls: CollaborationInfo["calls"]): { usage_breakdown?: UsageBreakdownField } {
  if (!calls.some((c) => c.costParts !== undefined || c.priceSource !== undefined)) return {};
  const b: UsageBreakdownField = { prompt_tokens: 0, cached_prompt_tokens: 0, cache_write_tokens: 0, completion_tokens: 0, reasoning_tokens: 0, input_usd: 0, cached_input_usd: 0, cache_write_usd: 0, output_usd: 0, other_usd: 0, price_sources: [] };
  for (const c of calls) {
    b.prompt_tokens += c.promptTokens;
    b.cached_prompt_tokens += c.cachedPromptTokens ?? 0;
    b.cache_write_tokens += c.cacheWriteTokens ?? 0;
    b.completion_tokens += c.completionTokens;
    b.reasoning_tokens += c.reasoningTokens ?? 0;
    if (c.costParts) {
      b.input_usd += c.costParts.inputUsd;
      b.cached_input_usd += c.costParts.cachedInputUsd;
      b.cache_write_usd += c.costParts.cacheWriteUsd;
      b.output_usd += c.costParts.outputUsd;
    } else b.other_usd += c.costUsd;
    if (c.priceSource !== undefined && !b.price_sources.includes(c.priceSource)) b.price_sources.push(c.priceSource);
  }
  for (const k of ["input_usd", "cached_input_usd", "cache_write_usd", "output_usd", "other_usd"] as const) b[k] = round(b[k]);
  return { usage_breakdown: b };
}

/** `x-tandem-*` response headers for a finished request. */
export function tandemHeaders(field: TandemField): Record<string, string> {
  return {
    "x-tandem-trace-id": field.trace_id,
    "x-tandem-served-by": field.served_by,
    "x-tandem-escalated": String(field.escalated),
    "x-tandem-degraded": String(field.degraded),
    "x-tandem-cost-usd": String(field.cost_usd),
    "x-tandem-strong-only-cost-usd": String(field.strong_only_cost_usd),
    "x-tandem-saved-usd": String(field.saved_usd),
    "x-tandem-models-called": field.calls.map((c) => c.model).join(","),
    "x-tandem-latency-ms": String(field.latency_ms),
  };
}

/** The usage object of a result's token usage (tokens). */
export function usageObject(usage: GenerateResult["usage"]): UsageObject {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens, ...openaiUsageDetails(usage) };
}

// ---------------------------------------------------------------------------------------------
// Traces

/** A trace with nothing served yet: no model, no cost, no tokens. `createdAt`: epoch ms. */
export function blankTrace(id: string, createdAt: number): Trace {
  return {
    id,
    createdAt,
    model: "",
    stream: false,
    status: 0,
    escalated: false,
    degraded: false,
    costUsd: 0,
    strongOnlyCostUsd: 0,
    promptTokens: 0,
    completionTokens: 0,
    latencyMs: 0,
    decisions: [],
    calls: [],
  };
}

/**
 * The trace fields of an answered request (status 200). `text`: the streamed text (a stream's
 * result may carry none); default the result's. `decisions` are the raw ones: pass the answer's
 * {@link DecisionViews} to {@link storedTrace} so they are not cut twice.
 */
export function answeredTrace(result: GenerateResult, latencyMs: number, text?: string): Partial<Trace> & { status: number } {
  return {
    status: 200,
    servedBy: result.info.servedBy,
    escalated: result.info.escalated,
    degraded: result.info.degraded ?? false,
    costUsd: result.info.costUsd,
    strongOnlyCostUsd: result.info.strongOnlyCostUsd,
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    latencyMs,
    decisions: result.info.decisions,
    calls: result.info.calls,
    responseText: text ?? result.text,
  };
}

/** The content fields of a trace. */
export interface TraceContent {
  messages?: ChatMessage[];
  responseText?: string;
  decisions: Decision[];
}

/**
 * The content a trace stores, from the request's decision views (see the module comment).
 * `isPrivate`: the requested model's tree contains a privacy layer (a decision carrying a
 * `cloudView` makes it private too). Decisions never keep `cloudView`.
 */
export function traceContent(input: { messages?: ChatMessage[]; responseText?: string; views: DecisionViews; isPrivate: boolean; mode?: PrivateContentMode }): TraceContent {
  const { views } = input;
  const isPrivate = input.isPrivate || views.cloudView !== undefined;
  if (!isPrivate || input.mode === "plain") return { messages: input.messages, responseText: input.responseText, decisions: views.stored };
  if (input.mode === "none" || views.cloudView === undefined) return { decisions: views.shown };
  return { messages: views.cloudView.messages, responseText: views.cloudView.text, decisions: views.shown };
}

/**
 * The trace to store: `raw` with its content fields replaced by {@link traceContent}'s. `views`:
 * the answer's decision views (none for a request that failed: its decisions, usually none, are
 * cut here). Returns a new object; `raw` is not modified.
 */
export function storedTrace(raw: Trace, views: DecisionViews | undefined, privacy: { isPrivate: boolean; mode?: PrivateContentMode }): Trace {
  const content = traceContent({ messages: raw.messages, responseText: raw.responseText, views: views ?? viewsOf(raw.decisions), ...privacy });
  return { ...raw, messages: content.messages, responseText: content.responseText, decisions: content.decisions };
}

function round(usd: number): number {
  return Math.round(usd * 1e10) / 1e10;
}

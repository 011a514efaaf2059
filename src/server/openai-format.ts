/**
 * Turning Tandem results into OpenAI response bodies, chunks and headers, with the `tandem`
 * object that tells who served, why, and what it cost.
 */
import { withoutDiscarded, type CollaborationInfo, type GenerateResult } from "../core/model.js";
import type { ChatCompletion, ChatCompletionChunk, ChatToolCallDelta, TokenLogprob } from "../core/wire.js";

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
  decisions: CollaborationInfo["decisions"];
  calls: CollaborationInfo["calls"];
}

export function tandemField(traceId: string, model: string, info: CollaborationInfo, latencyMs: number): TandemField {
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
    decisions: withoutDiscarded(info.decisions),
    calls: info.calls,
  };
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

export function completionBody(id: string, created: number, model: string, result: GenerateResult, tandem: TandemField): ChatCompletion & { tandem: TandemField } {
  const usage = { prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens, total_tokens: result.usage.promptTokens + result.usage.completionTokens };
  return {
    id,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: result.toolCalls?.length && !result.text ? null : result.text, ...(result.toolCalls?.length ? { tool_calls: result.toolCalls } : {}), refusal: null },
        finish_reason: result.finishReason,
        logprobs: result.logprobs ? { content: result.logprobs } : null,
      },
    ],
    usage,
    system_fingerprint: null,
    tandem,
  };
}

export function chunk(
  id: string,
  created: number,
  model: string,
  delta: { role?: "assistant"; content?: string; tool_calls?: ChatToolCallDelta[] },
  finishReason: ChatCompletionChunk["choices"][number]["finish_reason"] = null,
  logprobs?: TokenLogprob[],
): ChatCompletionChunk {
  return {
    id,
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: logprobs ? { content: logprobs } : null }],
  };
}

function round(usd: number): number {
  return Math.round(usd * 1e10) / 1e10;
}

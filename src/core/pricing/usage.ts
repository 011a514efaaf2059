/**
 * Upstream usage objects → {@link TokenUsage}, with the prompt-cache and reasoning counts the
 * providers report. No dependencies (this is wire parsing, like the rest of a provider); the
 * field mapping is the one @pydantic/genai-prices' usage extractors use for the same APIs, and
 * test/pricing.test.ts checks it against them on recorded usage objects.
 *
 * Three shapes are read:
 *
 * - **OpenAI Chat Completions** (`prompt_tokens`, `completion_tokens`): cached prompt tokens in
 *   `prompt_tokens_details.cached_tokens`, cache writes in `prompt_tokens_details.cache_write_tokens`
 *   (OpenRouter), reasoning in `completion_tokens_details.reasoning_tokens`. OpenAI-compatible
 *   proxies in front of Claude (LiteLLM) also put Anthropic's `cache_read_input_tokens` /
 *   `cache_creation_input_tokens` at the top level; DeepSeek reports `prompt_cache_hit_tokens`.
 *   `prompt_tokens` includes the cached and written tokens — unless they add up to more than it,
 *   in which case the upstream followed Anthropic's convention and they are added to it.
 * - **OpenAI Responses** (`input_tokens` with `input_tokens_details` / `output_tokens_details`):
 *   `input_tokens` includes `cached_tokens`; reasoning in `output_tokens_details.reasoning_tokens`.
 * - **Anthropic Messages** (`input_tokens`, `output_tokens`, no `*_details`): `input_tokens`
 *   EXCLUDES `cache_read_input_tokens` and `cache_creation_input_tokens`, so the prompt total is
 *   their sum. Anthropic reports no separate thinking count (it is inside `output_tokens`).
 *
 * Counts of 0 are left out (the call then looks as before: no breakdown).
 */
import type { TokenUsage } from "../model.js";

type Json = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);

function withParts(promptTokens: number, completionTokens: number, cached: number | undefined, written: number | undefined, reasoning: number | undefined): TokenUsage {
  return {
    promptTokens,
    completionTokens,
    ...(cached ? { cachedPromptTokens: cached } : {}),
    ...(written ? { cacheWriteTokens: written } : {}),
    ...(reasoning ? { reasoningTokens: Math.min(reasoning, completionTokens) } : {}),
  };
}

/**
 * Reads an upstream `usage` object of any of the three shapes (see the module comment).
 * Returns undefined when `usage` is not an object with the two token totals (a missing or
 * malformed usage: the caller counts tokens itself). Never throws.
 */
export function usageFromUpstream(usage: unknown): TokenUsage | undefined {
  const u = obj(usage);
  if (!u) return undefined;
  const prompt = num(u.prompt_tokens);
  const completion = num(u.completion_tokens);
  if (prompt !== undefined && completion !== undefined) {
    const pd = obj(u.prompt_tokens_details);
    const cd = obj(u.completion_tokens_details);
    const cached = num(pd?.cached_tokens) || num(u.cache_read_input_tokens) || num(u.prompt_cache_hit_tokens);
    const written = num(pd?.cache_write_tokens) || num(u.cache_creation_input_tokens);
    const reasoning = num(cd?.reasoning_tokens);
    // Anthropic's convention leaked through a proxy: the cache counts are not inside prompt_tokens
    const total = (cached ?? 0) + (written ?? 0) > prompt ? prompt + (cached ?? 0) + (written ?? 0) : prompt;
    return withParts(total, completion, cached, written, reasoning);
  }
  const input = num(u.input_tokens);
  const output = num(u.output_tokens);
  if (input === undefined || output === undefined) return undefined;
  const id = obj(u.input_tokens_details);
  const od = obj(u.output_tokens_details);
  if (id || od || num(u.total_tokens) !== undefined) {
    // OpenAI Responses: input_tokens includes the cached tokens
    return withParts(input, output, num(id?.cached_tokens), num(id?.cache_write_tokens), num(od?.reasoning_tokens));
  }
  // Anthropic Messages: input_tokens excludes cache reads and writes
  const read = num(u.cache_read_input_tokens) ?? 0;
  const written = num(u.cache_creation_input_tokens) ?? 0;
  return withParts(input + read + written, output, read, written, undefined);
}

/**
 * The OpenAI `usage` details of `usage` (tokens), for wire objects: `prompt_tokens_details` /
 * `completion_tokens_details` with the counts that are set; `{}` when none is.
 */
export function openaiUsageDetails(usage: TokenUsage): {
  prompt_tokens_details?: { cached_tokens: number; cache_write_tokens?: number };
  completion_tokens_details?: { reasoning_tokens: number };
} {
  const cached = usage.cachedPromptTokens;
  const written = usage.cacheWriteTokens;
  return {
    ...(cached !== undefined || written !== undefined ? { prompt_tokens_details: { cached_tokens: cached ?? 0, ...(written !== undefined ? { cache_write_tokens: written } : {}) } } : {}),
    ...(usage.reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } } : {}),
  };
}

/**
 * Anthropic Messages `usage` of a prompt/completion total with its cache parts (tokens):
 * `input_tokens` is the uncached part, as Anthropic reports it.
 */
export function anthropicUsageOf(usage: Pick<TokenUsage, "promptTokens" | "completionTokens" | "cachedPromptTokens" | "cacheWriteTokens">): {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
} {
  const read = usage.cachedPromptTokens ?? 0;
  const written = usage.cacheWriteTokens ?? 0;
  return { input_tokens: Math.max(usage.promptTokens - read - written, 0), output_tokens: usage.completionTokens, cache_creation_input_tokens: written, cache_read_input_tokens: read };
}

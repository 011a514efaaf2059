/**
 * The `openai-compatible` provider: any `/v1` chat-completions endpoint (OpenAI, vLLM, a
 * llama.cpp server, `tandem serve-model`, another Tandem) through the official `openai` npm SDK.
 *
 * Retries with exponential backoff on connection errors, 408/409/429 and 5xx are the SDK's own
 * (`maxRetries`); the timeout is per attempt (`timeoutMs`).
 *
 * A stream is complete only when the upstream sent a `finish_reason`: one that ends without it
 * (a clean close after some chunks, or a 200 with no events) is `upstream_error` (truncated).
 * Failed calls that the upstream may bill carry their partial usage as `TandemError.calls`
 * (see {@link partialCall}), so the gateway can charge what was generated.
 */
import { countTokens } from "gpt-tokenizer";
import OpenAI from "openai";
import { TandemError } from "../core/errors.js";
import { costOf, leafInfo, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type ModelLocation, type Price, type StreamPart, type TokenUsage } from "../core/model.js";
import type { ChatToolCall, FinishReason, TokenLogprob } from "../core/wire.js";

/** Options of {@link openaiCompatible}. */
export interface OpenAICompatibleOptions {
  /** Model id in responses and traces. Default: `model`. */
  id?: string;
  /** Base URL including `/v1`, e.g. "https://api.openai.com/v1". Default: `OPENAI_BASE_URL`, then OpenAI's. */
  baseURL?: string;
  /** API key. Default: `OPENAI_API_KEY`, then "none" (local servers ignore it). */
  apiKey?: string;
  /** Upstream model name sent in the request. */
  model: string;
  /** Default `cloud`. */
  location?: ModelLocation;
  /** USD per 1M tokens. Default 0. */
  price?: Price;
  /** Per-attempt timeout in ms. Default 60,000. */
  timeoutMs?: number;
  /** Retries on connection errors, 408/409/429 and 5xx, with exponential backoff. Default 2. */
  maxRetries?: number;
  /** Extra headers sent upstream. */
  headers?: Record<string, string>;
}

/**
 * Creates a remote model. Errors: `upstream_timeout` (504) when an attempt times out after the
 * retries; `upstream_error` (502) for connection failures, upstream HTTP errors and broken
 * streams — the message names the upstream status — and for streams that end without a
 * `finish_reason` (truncated); `aborted` when `signal` fires. Errors after the upstream accepted
 * the request (a timeout or abort of a sent request, any failure once a stream was open) carry
 * the partial call in `calls`: the upstream's usage when it arrived, else the prompt and the
 * streamed text counted with the o200k tokenizer (at least one token per content chunk).
 */
export function openaiCompatible(options: OpenAICompatibleOptions): Model {
  const id = options.id ?? options.model;
  const location = options.location ?? "cloud";
  const price = options.price ?? { inputPerMillion: 0, outputPerMillion: 0 };
  const client = new OpenAI({
    baseURL: options.baseURL ?? process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
    apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? "none",
    timeout: options.timeoutMs ?? 60_000,
    maxRetries: options.maxRetries ?? 2,
    defaultHeaders: options.headers,
  });

  function body(request: GenerateRequest) {
    return {
      model: options.model,
      messages: request.messages as OpenAI.Chat.ChatCompletionMessageParam[],
      max_tokens: request.maxTokens,
      temperature: request.temperature,
      top_p: request.topP,
      seed: request.seed,
      stop: request.stop?.length ? request.stop : undefined,
      logprobs: request.logprobs || undefined,
      top_logprobs: request.logprobs && request.topLogprobs ? request.topLogprobs : undefined,
      tools: request.tools?.length ? (request.tools as OpenAI.Chat.ChatCompletionTool[]) : undefined,
      tool_choice: request.tools?.length ? (request.toolChoice as OpenAI.Chat.ChatCompletionToolChoiceOption | undefined) : undefined,
      user: request.user,
    };
  }

  function mapError(error: unknown, signal?: AbortSignal): TandemError {
    if (TandemError.isInstance(error)) return error;
    if (signal?.aborted || error instanceof OpenAI.APIUserAbortError) return new TandemError("aborted", "Request aborted", { cause: error });
    if (error instanceof OpenAI.APIConnectionTimeoutError) {
      return new TandemError("upstream_timeout", `Upstream model '${id}' timed out after ${options.timeoutMs ?? 60_000} ms`, { cause: error });
    }
    if (error instanceof OpenAI.APIConnectionError) {
      return new TandemError("upstream_error", `Upstream model '${id}' is unreachable: ${error.message}`, { cause: error });
    }
    if (error instanceof OpenAI.APIError) {
      const status = error.status ?? "stream";
      return new TandemError("upstream_error", `Upstream model '${id}' failed (${status}): ${error.message}`, { cause: error });
    }
    return new TandemError("upstream_error", `Upstream model '${id}' failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }

  async function generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult> {
    const started = performance.now();
    let completion: OpenAI.Chat.ChatCompletion;
    try {
      completion = await client.chat.completions.create({ ...body(request), stream: false }, { signal });
    } catch (error) {
      const e = mapError(error, signal);
      // a sent request that timed out or was abandoned: the upstream read (and bills) the prompt at least
      if (e.code === "aborted" || e.code === "upstream_timeout") {
        e.calls = [partialCall({ id, location, price }, { promptTokens: promptTokensOf(request), completionTokens: 0 }, performance.now() - started, e)];
      }
      throw e;
    }
    const choice = completion.choices?.[0];
    if (!choice) throw new TandemError("upstream_error", `Upstream model '${id}' returned no choices`);
    const text = choice.message?.content ?? "";
    const usage = {
      promptTokens: completion.usage?.prompt_tokens ?? promptTokensOf(request),
      completionTokens: completion.usage?.completion_tokens ?? countTokens(text),
    };
    const toolCalls = (choice.message?.tool_calls as ChatToolCall[] | undefined)?.filter((c) => c.type === "function");
    return {
      text,
      toolCalls: toolCalls?.length ? toolCalls : undefined,
      finishReason: normalizeFinish(choice.finish_reason),
      usage,
      logprobs: (choice.logprobs?.content as TokenLogprob[] | null | undefined) ?? undefined,
      info: leafInfo({ id, location, price }, usage, performance.now() - started),
    };
  }

  async function* stream(request: GenerateRequest, signal?: AbortSignal): AsyncGenerator<StreamPart> {
    const started = performance.now();
    let text = "";
    let finish: FinishReason | undefined;
    let usage: TokenUsage | undefined;
    let opened = false;
    let deltas = 0;
    const logprobs: TokenLogprob[] = [];
    const calls = new Map<number, ChatToolCall>();
    /** What the upstream generated so far: its usage when it arrived, else counted from the stream. */
    const generated = (): TokenUsage => {
      if (usage) return usage;
      const args = [...calls.values()].map((c) => c.function.name + c.function.arguments).join("");
      return { promptTokens: promptTokensOf(request), completionTokens: Math.max(countTokens(text + args), deltas) };
    };
    try {
      const chunks = await client.chat.completions.create(
        { ...body(request), stream: true, stream_options: { include_usage: true } },
        { signal },
      );
      opened = true;
      for await (const chunk of chunks) {
        if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta ?? {};
        const lps = (choice.logprobs?.content as TokenLogprob[] | null | undefined) ?? undefined;
        if (lps) logprobs.push(...lps);
        if (delta.content || delta.tool_calls?.length) deltas++;
        if (delta.content) {
          text += delta.content;
          yield { type: "text", text: delta.content, logprobs: lps };
        }
        for (const tc of delta.tool_calls ?? []) {
          const existing = calls.get(tc.index) ?? { id: tc.id ?? "", type: "function" as const, function: { name: "", arguments: "" } };
          if (tc.id) existing.id = tc.id;
          if (tc.function?.name) existing.function.name += tc.function.name;
          if (tc.function?.arguments) existing.function.arguments += tc.function.arguments;
          calls.set(tc.index, existing);
          yield { type: "tool-call", delta: { index: tc.index, id: tc.id, type: "function", function: { name: tc.function?.name, arguments: tc.function?.arguments } } };
        }
        if (choice.finish_reason) finish = normalizeFinish(choice.finish_reason);
      }
      // the SDK ends an aborted stream quietly: an abort must not pass for a finished answer
      if (signal?.aborted) throw signal.reason ?? new Error("aborted");
      // nor may a truncated one (a clean close before any finish_reason, or no events at all)
      if (finish === undefined) throw new TandemError("upstream_error", `Upstream model '${id}' stream ended without finish_reason (truncated)`);
    } catch (error) {
      const e = mapError(error, signal);
      if (opened) e.calls = [partialCall({ id, location, price }, generated(), performance.now() - started, e)];
      throw e;
    }
    const finalUsage = generated();
    const toolCalls = [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
    yield {
      type: "finish",
      result: {
        text,
        toolCalls: toolCalls.length ? toolCalls : undefined,
        finishReason: finish,
        usage: finalUsage,
        logprobs: request.logprobs ? logprobs : undefined,
        info: leafInfo({ id, location, price }, finalUsage, performance.now() - started),
      },
    };
  }

  return { id, location, price, generate, stream };
}

function normalizeFinish(reason: string | null | undefined): FinishReason {
  return reason === "length" || reason === "tool_calls" || reason === "content_filter" ? reason : reason === "function_call" ? "tool_calls" : "stop";
}

/**
 * Prompt tokens of `request` counted with the o200k tokenizer (GPT-4o/GPT-5 family) over its
 * messages and tools as JSON — a slight over-count (JSON punctuation) that stands in for the
 * per-message overhead, for upstreams that report no usage. Other model families' tokenizers
 * differ by a few tens of percent.
 */
function promptTokensOf(request: GenerateRequest): number {
  return countTokens(JSON.stringify(request.messages)) + (request.tools?.length ? countTokens(JSON.stringify(request.tools)) : 0);
}

/** The paid part of a failed call, as a {@link ModelCall} (USD at `model.price`; `error` = the failure). */
function partialCall(model: { id: string; location: ModelLocation; price: Price }, usage: TokenUsage, latencyMs: number, error: TandemError): ModelCall {
  return { model: model.id, location: model.location, ...usage, costUsd: costOf(model.price, usage), latencyMs, error: error.message };
}

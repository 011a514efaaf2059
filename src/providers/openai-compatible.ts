/**
 * The `openai-compatible` provider: any `/v1` chat-completions endpoint (OpenAI, vLLM, a
 * llama.cpp server, `tandem serve-model`, another Tandem) over a lean HTTP hop (issue #13):
 *
 * - one persistent undici `Pool` per upstream origin, shared by every model of that origin
 *   (keep-alive, at most `connections` sockets; released when the last model using it closes);
 * - the request body serialized once per call (retries resend the same string);
 * - responses read from undici's Node stream: a non-streamed body as one string parsed once, a
 *   stream fed to `eventsource-parser` — no fetch, no web streams, no SDK on the hot path (the
 *   official `openai` package stays the reference client of the tests).
 *
 * Retries (the official SDK's semantics): connection errors, attempt timeouts and HTTP 408, 409,
 * 429 and 5xx are retried up to `maxRetries` times with exponential backoff (0.5 s × 2^n, at most
 * 8 s, minus up to 25 % jitter; a `retry-after-ms` / `retry-after` header under 60 s wins;
 * `x-should-retry: true|false` overrides). Only the attempt that has not answered yet is retried:
 * once a 2xx arrived the call is the upstream's and is never resent. The timeout is per attempt
 * (`timeoutMs`): until the response headers for a stream (a stream may then last as long as the
 * caller's signal allows), until the whole body for a non-streamed call.
 *
 * A stream is complete only when the upstream sent a `finish_reason`: one that ends without it
 * (a clean close after some chunks, or a 200 with no events) is `upstream_error` (truncated).
 * Failed calls that the upstream may bill carry their partial usage as `TandemError.calls`
 * (see {@link partialCall}), so the gateway can charge what was generated.
 *
 * Besides `generate` and `stream`, the model exposes {@link ChatPassthrough} (`passthrough`):
 * the same call, handing back the upstream's own response objects so the gateway's OpenAI route
 * can relay them with minimal re-encoding (src/server/pipeline.ts).
 */
import { abortableSleep } from "../core/sleep.js";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { countTokens } from "gpt-tokenizer";
import { Pool, type Dispatcher } from "undici";
import { TandemError } from "../core/errors.js";
import { lookupCatalogue } from "../core/pricing/catalogue.js";
import { usageFromUpstream } from "../core/pricing/usage.js";
import { callDetails, costOf, leafInfo, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type ModelLocation, type Price, type StreamPart, type TokenUsage } from "../core/model.js";
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
  /**
   * USD per 1M tokens (cache rates optional). Default: the bundled catalogue's price of `model`
   * at the provider `baseURL` names (src/core/pricing/catalogue.ts; offline, recorded as
   * `priceSource` on every call), else 0. Models with `location: "edge"` are never looked up.
   */
  price?: Price;
  /** Per-attempt timeout in ms. Default 60,000. */
  timeoutMs?: number;
  /** Retries on connection errors, timeouts, 408/409/429 and 5xx, with exponential backoff. Default 2. */
  maxRetries?: number;
  /** Extra headers sent upstream. */
  headers?: Record<string, string>;
  /**
   * Most sockets open to the upstream's origin (one pool per origin, shared by the models that
   * name it; the first model to open the pool sets it). Requests beyond it queue. Default 128.
   */
  connections?: number;
}

/** A chat-completions response or chunk as the upstream sent it (parsed JSON; fields the provider does not read are kept). */
export type UpstreamObject = Record<string, unknown>;

/** One event of {@link ChatPassthrough.stream}. */
export type PassthroughPart =
  /** An upstream chunk, parsed (usage-only chunks included); `text`: its content delta, if any. */
  | { type: "chunk"; chunk: UpstreamObject; text?: string }
  /** The end: what the stream amounted to, exactly as {@link Model.stream}'s `finish`. */
  | { type: "finish"; result: GenerateResult };

/**
 * The pass-through capability of a plain `openai-compatible` model: one upstream call with the
 * same request mapping, retries, timeouts, errors, truncation checks and partial-call charges as
 * `generate` / `stream`, that also hands back the upstream's own response objects. The upstream
 * is always asked for usage (`stream_options.include_usage`); the caller decides what to relay.
 */
export interface ChatPassthrough {
  /** A non-streamed call: `body` is the upstream's parsed response (the caller may rewrite it), `result` what was read from it. Errors: as `generate`. */
  complete(request: GenerateRequest, signal?: AbortSignal): Promise<{ body: UpstreamObject; result: GenerateResult }>;
  /** A streamed call: every upstream chunk, then `finish`. Errors: as `stream`. */
  stream(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<PassthroughPart>;
}

/** A model that exposes {@link ChatPassthrough}. */
export type PassthroughModel = Model & { readonly passthrough: ChatPassthrough };

/** The pass-through capability of `model`, when it has one (plain `openai-compatible` models only; strategies and middleware never do). */
export function passthroughOf(model: Model): ChatPassthrough | undefined {
  return (model as Partial<PassthroughModel>).passthrough;
}

interface SharedPool {
  pool: Pool;
  users: number;
}
/** One pool per upstream origin, shared by every model naming it. */
const pools = new Map<string, SharedPool>();

function acquirePool(origin: string, connections: number): Pool {
  let shared = pools.get(origin);
  if (!shared || shared.pool.closed || shared.pool.destroyed) {
    // our own timers govern timeouts (per attempt); undici's are off so they cannot fire first
    shared = { pool: new Pool(origin, { connections, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 4_000 }), users: 0 };
    pools.set(origin, shared);
  }
  shared.users++;
  return shared.pool;
}

function releasePool(origin: string, pool: Pool): void {
  const shared = pools.get(origin);
  if (!shared || shared.pool !== pool) return;
  if (--shared.users > 0) return;
  pools.delete(origin);
  void pool.close().catch(() => {});
}

/** Why an attempt's controller fired. */
const TIMEOUT = Symbol("timeout");

/**
 * Creates a remote model. Errors: `upstream_timeout` (504) when an attempt times out after the
 * retries; `upstream_error` (502) for connection failures, upstream HTTP errors and broken
 * streams — the message names the upstream status — and for streams that end without a
 * `finish_reason` (truncated); `aborted` when `signal` fires. Errors after the upstream accepted
 * the request (a timeout or abort of a sent request, any failure once a stream was open) carry
 * the partial call in `calls`: the upstream's usage when it arrived, else the prompt and the
 * streamed text counted with the o200k tokenizer (at least one token per content chunk).
 * `close()` releases the model's share of the origin's pool. The model also carries
 * {@link ChatPassthrough} (read it with {@link passthroughOf}).
 */
export function openaiCompatible(options: OpenAICompatibleOptions): Model {
  const id = options.id ?? options.model;
  const location = options.location ?? "cloud";
  const baseURL = (options.baseURL ?? process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  const catalogued = options.price || location === "edge" ? undefined : lookupCatalogue(options.model, { baseURL });
  const price = options.price ?? catalogued?.price ?? { inputPerMillion: 0, outputPerMillion: 0 };
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxRetries = options.maxRetries ?? 2;
  const base = new URL(baseURL);
  const origin = base.origin;
  const path = `${base.pathname.replace(/\/+$/, "")}/chat/completions${base.search}`;
  const apiKey = options.apiKey ?? process.env.OPENAI_API_KEY ?? "none";
  const baseHeaders: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${apiKey}`, ...options.headers };
  const jsonHeaders = { accept: "application/json", ...baseHeaders };
  const sseHeaders = { accept: "text/event-stream", ...baseHeaders };
  let pool: Pool | undefined;
  const me = { id, location, price };

  function payload(request: GenerateRequest, stream: boolean): string {
    return JSON.stringify({
      model: options.model,
      messages: request.messages,
      max_tokens: request.maxTokens,
      temperature: request.temperature,
      top_p: request.topP,
      seed: request.seed,
      stop: request.stop?.length ? request.stop : undefined,
      logprobs: request.logprobs || undefined,
      top_logprobs: request.logprobs && request.topLogprobs ? request.topLogprobs : undefined,
      tools: request.tools?.length ? request.tools : undefined,
      tool_choice: request.tools?.length ? request.toolChoice : undefined,
      user: request.user,
      response_format: request.responseFormat,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
  }

  const aborted = (cause?: unknown) => new TandemError("aborted", "Request aborted", { cause });
  const timedOut = (cause?: unknown) => new TandemError("upstream_timeout", `Upstream model '${id}' timed out after ${timeoutMs} ms`, { cause });

  /** One attempt's controller: fired by its timer (reason {@link TIMEOUT}) or the caller's signal. */
  function attemptController(signal: AbortSignal | undefined) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMEOUT), timeoutMs);
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    return {
      signal: controller.signal,
      /** True when the attempt's timer fired (not the caller). */
      timedOut: () => controller.signal.aborted && controller.signal.reason === TIMEOUT,
      /** Stops the timer (the caller's signal still aborts). */
      stopTimer: () => clearTimeout(timer),
      release: () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      },
    };
  }

  /**
   * Sends `body` until a 2xx answers, retrying what may be retried. Returns the open response
   * and its attempt's controller (timer running; the caller releases it). Throws mapped TandemErrors.
   */
  async function send(body: string, stream: boolean, signal: AbortSignal | undefined) {
    pool ??= acquirePool(origin, options.connections ?? 128);
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw aborted(signal.reason);
      const ac = attemptController(signal);
      let response: Dispatcher.ResponseData;
      try {
        response = await pool.request({ origin, path, method: "POST", headers: stream ? sseHeaders : jsonHeaders, body, signal: ac.signal });
      } catch (error) {
        const timeout = ac.timedOut();
        ac.release();
        if (signal?.aborted) throw aborted(error);
        const e = timeout ? timedOut(error) : new TandemError("upstream_error", `Upstream model '${id}' is unreachable: ${causeMessage(error)}`, { cause: error });
        if (attempt >= maxRetries) throw e;
        await abortableSleep(retryDelayMs(attempt, undefined), signal);
        continue;
      }
      if (response.statusCode >= 200 && response.statusCode < 300) return { response, ac };
      let text = "";
      try {
        text = await response.body.text();
      } catch {
        // the status is what matters
      } finally {
        ac.release();
      }
      if (signal?.aborted) throw aborted();
      const e = new TandemError("upstream_error", `Upstream model '${id}' failed (${response.statusCode}): ${statusMessage(response.statusCode, text)}`);
      if (attempt >= maxRetries || !shouldRetry(response.statusCode, response.headers)) throw e;
      await abortableSleep(retryDelayMs(attempt, response.headers), signal);
    }
  }

  /** A non-streamed call: the upstream's body and the result read from it. */
  async function complete(request: GenerateRequest, signal?: AbortSignal): Promise<{ body: UpstreamObject; result: GenerateResult }> {
    const started = performance.now();
    let raw: string;
    try {
      const { response, ac } = await send(payload(request, false), false, signal);
      try {
        raw = await response.body.text();
      } catch (error) {
        if (signal?.aborted) throw aborted(error);
        if (ac.timedOut()) throw timedOut(error);
        throw new TandemError("upstream_error", `Upstream model '${id}' failed: ${causeMessage(error)}`, { cause: error });
      } finally {
        ac.release();
      }
    } catch (error) {
      const e = mapError(error, signal);
      // a sent request that timed out or was abandoned: the upstream read (and bills) the prompt at least
      if (e.code === "aborted" || e.code === "upstream_timeout") {
        e.calls = [partialCall(me, { promptTokens: promptTokensOf(request), completionTokens: 0 }, performance.now() - started, e)];
      }
      throw e;
    }
    let body: UpstreamObject;
    try {
      body = JSON.parse(raw) as UpstreamObject;
    } catch (error) {
      throw new TandemError("upstream_error", `Upstream model '${id}' returned invalid JSON: ${(error as Error).message}`, { cause: error });
    }
    const choice = (body.choices as UpstreamChoice[] | undefined)?.[0];
    if (!choice) throw new TandemError("upstream_error", `Upstream model '${id}' returned no choices`);
    const text = choice.message?.content ?? "";
    const u = body.usage as UpstreamUsage | undefined;
    const usage: TokenUsage = usageFromUpstream(u) ?? {
      promptTokens: u?.prompt_tokens ?? promptTokensOf(request),
      completionTokens: u?.completion_tokens ?? countTokens(text),
    };
    const toolCalls = choice.message?.tool_calls?.filter((c) => c.type === "function");
    const result: GenerateResult = {
      text,
      toolCalls: toolCalls?.length ? toolCalls : undefined,
      finishReason: normalizeFinish(choice.finish_reason),
      ...matchedStop(request, choice.finish_reason, choice.stop_reason),
      usage,
      logprobs: choice.logprobs?.content ?? undefined,
      info: leafInfo(me, usage, performance.now() - started),
    };
    return { body, result };
  }

  /**
   * A streamed call. `relay`: yield the upstream's chunks ({@link PassthroughPart}) instead of
   * text and tool-call parts; the end (`finish`, or the error) is the same either way.
   */
  async function* streamed(request: GenerateRequest, signal: AbortSignal | undefined, relay: boolean): AsyncGenerator<StreamPart | PassthroughPart> {
    const started = performance.now();
    let text = "";
    let finish: FinishReason | undefined;
    let stopped: { stopSequence?: string } = {};
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
    let ac: ReturnType<typeof attemptController> | undefined;
    let body: Dispatcher.ResponseData["body"] | undefined;
    try {
      const sent = await send(payload(request, true), true, signal);
      ac = sent.ac;
      body = sent.response.body;
      ac.stopTimer();
      opened = true;
      const events: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (event) => events.push(event) });
      const decoder = new TextDecoder();
      let done = false;
      for await (const bytes of body) {
        parser.feed(decoder.decode(bytes as Buffer, { stream: true }));
        for (const event of events) {
          if (done) break;
          if (event.data === "[DONE]") {
            done = true;
            break;
          }
          let chunk: UpstreamChunk;
          try {
            chunk = JSON.parse(event.data) as UpstreamChunk;
          } catch (error) {
            throw new TandemError("upstream_error", `Upstream model '${id}' sent an invalid stream event: ${(error as Error).message}`, { cause: error });
          }
          if (event.event === "error" || chunk.error) {
            throw new TandemError("upstream_error", `Upstream model '${id}' failed (stream): ${statusMessage(undefined, event.data)}`);
          }
          if (chunk.usage) usage = usageFromUpstream(chunk.usage) ?? usage;
          const choice = chunk.choices?.[0];
          const delta = choice?.delta ?? {};
          const lps = choice?.logprobs?.content ?? undefined;
          if (lps) logprobs.push(...lps);
          if (delta.content || delta.tool_calls?.length) deltas++;
          if (delta.content) text += delta.content;
          if (relay) yield { type: "chunk", chunk: chunk as UpstreamObject, text: delta.content || undefined };
          else if (delta.content) yield { type: "text", text: delta.content, logprobs: lps };
          for (const tc of delta.tool_calls ?? []) {
            const existing = calls.get(tc.index) ?? { id: tc.id ?? "", type: "function" as const, function: { name: "", arguments: "" } };
            if (tc.id) existing.id = tc.id;
            if (tc.function?.name) existing.function.name += tc.function.name;
            if (tc.function?.arguments) existing.function.arguments += tc.function.arguments;
            calls.set(tc.index, existing);
            if (!relay) yield { type: "tool-call", delta: { index: tc.index, id: tc.id, type: "function", function: { name: tc.function?.name, arguments: tc.function?.arguments } } };
          }
          if (choice?.finish_reason) {
            finish = normalizeFinish(choice.finish_reason);
            stopped = matchedStop(request, choice.finish_reason, choice.stop_reason);
          }
        }
        events.length = 0;
        // after [DONE], read on to the end (breaking here would destroy the body and its socket)
      }
      // an abort must not pass for a finished answer
      if (signal?.aborted) throw aborted(signal.reason);
      // nor may a truncated one (a clean close before any finish_reason, or no events at all)
      if (finish === undefined) throw new TandemError("upstream_error", `Upstream model '${id}' stream ended without finish_reason (truncated)`);
    } catch (error) {
      const e = mapError(error, signal);
      if (opened) e.calls = [partialCall(me, generated(), performance.now() - started, e)];
      throw e;
    } finally {
      ac?.release();
      // a consumer that left early (or an error) must not leave the response half-read on the socket
      if (body && !body.readableEnded) body.destroy();
    }
    const finalUsage = generated();
    const toolCalls = [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
    yield {
      type: "finish",
      result: {
        text,
        toolCalls: toolCalls.length ? toolCalls : undefined,
        finishReason: finish,
        ...stopped,
        usage: finalUsage,
        logprobs: request.logprobs ? logprobs : undefined,
        info: leafInfo(me, finalUsage, performance.now() - started),
      },
    };
  }

  function mapError(error: unknown, signal?: AbortSignal): TandemError {
    if (TandemError.isInstance(error)) return error;
    if (signal?.aborted) return aborted(error);
    return new TandemError("upstream_error", `Upstream model '${id}' failed: ${causeMessage(error)}`, { cause: error });
  }

  const model: PassthroughModel = {
    id,
    location,
    price,
    ...(catalogued?.contextWindow !== undefined ? { contextWindow: catalogued.contextWindow } : {}),
    generate: async (request, signal) => (await complete(request, signal)).result,
    stream: (request, signal) => streamed(request, signal, false) as AsyncGenerator<StreamPart>,
    passthrough: {
      complete,
      stream: (request, signal) => streamed(request, signal, true) as AsyncGenerator<PassthroughPart>,
    },
    async close() {
      if (pool) releasePool(origin, pool);
      pool = undefined;
    },
  };
  return model;
}

/**
 * `{ stopSequence }` when the upstream said which of the request's stop sequences ended the
 * choice — vLLM's `stop_reason` (the matched string; a token id or null otherwise) — else `{}`.
 * Plain OpenAI does not say, so its answers never carry one.
 */
function matchedStop(request: GenerateRequest, finishReason: string | null | undefined, stopReason: unknown): { stopSequence?: string } {
  return finishReason === "stop" && typeof stopReason === "string" && request.stop?.includes(stopReason) ? { stopSequence: stopReason } : {};
}

interface UpstreamUsage {
  prompt_tokens: number;
  completion_tokens: number;
}
interface UpstreamChoice {
  message?: { content?: string | null; tool_calls?: ChatToolCall[] };
  finish_reason?: string | null;
  /** vLLM's extension: the stop string (or token id) that ended the choice; null for EOS/length. */
  stop_reason?: string | number | null;
  logprobs?: { content?: TokenLogprob[] | null } | null;
}
interface UpstreamChunk {
  choices?: Array<{
    delta?: { content?: string | null; tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }> };
    finish_reason?: string | null;
    /** vLLM's extension, as {@link UpstreamChoice.stop_reason}. */
    stop_reason?: string | number | null;
    logprobs?: { content?: TokenLogprob[] | null } | null;
  }>;
  usage?: UpstreamUsage | null;
  error?: unknown;
}

/** The SDK's rule: `x-should-retry` first, then 408, 409, 429 and 5xx. */
function shouldRetry(status: number, headers: Dispatcher.ResponseData["headers"]): boolean {
  const hint = headers["x-should-retry"];
  if (hint === "true") return true;
  if (hint === "false") return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Milliseconds before retry number `attempt + 1`: the upstream's `retry-after-ms` / `retry-after`
 * (seconds or an HTTP date) when under 60 s, else 0.5 s × 2^attempt capped at 8 s, minus up to
 * 25 % jitter.
 */
export function retryDelayMs(attempt: number, headers: Dispatcher.ResponseData["headers"] | undefined, random = Math.random): number {
  const ms = Number.parseFloat(String(headers?.["retry-after-ms"] ?? ""));
  if (Number.isFinite(ms) && ms >= 0 && ms < 60_000) return ms;
  const after = headers?.["retry-after"];
  if (typeof after === "string") {
    const seconds = Number.parseFloat(after);
    const fromHeader = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - Date.now();
    if (Number.isFinite(fromHeader) && fromHeader >= 0 && fromHeader < 60_000) return fromHeader;
  }
  return Math.min(500 * 2 ** attempt, 8_000) * (1 - random() * 0.25);
}


/** `"<status> <message>"` of an upstream error body, as the official SDK words it. */
function statusMessage(status: number | undefined, text: string): string {
  let parsed: { error?: unknown; message?: unknown } | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const error = (parsed && typeof parsed === "object" ? parsed.error ?? parsed : undefined) as { message?: unknown } | undefined;
  const message = error && typeof error === "object" && error.message !== undefined
    ? typeof error.message === "string" ? error.message : JSON.stringify(error.message)
    : error !== undefined ? JSON.stringify(error) : text || "status code (no body)";
  return status !== undefined ? `${status} ${message}` : message;
}

/** The innermost useful message of a network error (undici wraps `ECONNREFUSED` and the like). */
function causeMessage(error: unknown): string {
  const e = error as { message?: string; code?: string; cause?: { message?: string; code?: string } } | undefined;
  const message = e?.message || String(error);
  return e?.cause?.message && !message.includes(e.cause.message) ? `${message}: ${e.cause.message}` : message;
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
  return { model: model.id, location: model.location, ...usage, costUsd: costOf(model.price, usage), latencyMs, error: error.message, ...callDetails(model.price, usage) };
}

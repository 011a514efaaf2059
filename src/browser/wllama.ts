/**
 * The in-page edge model: a GGUF run inside the browser page by `@wllama/wllama` (llama.cpp
 * compiled to WebAssembly, inference in a Web Worker), as a Tandem {@link Model} with location
 * `edge` — the device the collaboration surveys mean by "edge" (arXiv 2505.07460 §cloud–edge).
 *
 * - Loading: from a URL (fetched by wllama, optionally cached in the Origin Private File System)
 *   or from `Blob`s / a user-picked `File` (`<input type="file">`), with `nThreads` and `nCtx`
 *   explicit. Multi-threading needs a cross-origin-isolated page (COOP/COEP headers, where
 *   `SharedArrayBuffer` is available); `nThreads: 1` works everywhere.
 * - Prompt: template-less models (stories260K, tinytales) get Tandem's plain template
 *   (providers/llama-cpp/plain.ts: "Question: …\nAnswer:"), the very prompt the Node provider
 *   renders; `chatTemplate: true` uses the GGUF's own chat template through wllama's chat API.
 * - Streaming: text parts as the worker produces them, then `finish`; per-token log-probabilities
 *   when asked (`logprobs`, for a cascade's confidence signal) from a whole generation.
 * - Abort: the request's `AbortSignal` stops generation in the worker (`aborted` error).
 * - One generation at a time per model (wllama has one context); later requests wait in order.
 */
import { Wllama, type WllamaConfig } from "@wllama/wllama";
import { TandemError, toTandemError } from "../core/errors.js";
import { leafInfo, streamFromGenerate, type GenerateRequest, type GenerateResult, type Model, type Price, type StreamPart } from "../core/model.js";
import { contentText, type FinishReason, type TokenLogprob } from "../core/wire.js";
import { DEFAULT_PLAIN_TEMPLATE, plainStops, renderPlainPrompt, type PlainTemplate } from "../providers/llama-cpp/plain.js";

/** Where the GGUF comes from: a URL (absolute, or relative to the page), or file(s) the user picked. */
export type GgufSource = string | Blob | readonly Blob[];

/** Options of {@link wllamaModel}. */
export interface WllamaModelOptions {
  /** Model id reported in `servedBy` and calls. @default "wllama" */
  id?: string;
  /** The GGUF: a URL, a `Blob`/`File` (e.g. from `<input type="file">`), or the shards of a split model. */
  source: GgufSource;
  /** URL of wllama's `wllama.wasm` (the package's `esm/wasm/wllama.wasm`, served by your app). */
  wasmUrl: string;
  /** Worker threads, ≥ 1. More than 1 needs a cross-origin-isolated page (COOP/COEP). */
  nThreads: number;
  /** Context size in tokens (prompt + completion). */
  nCtx: number;
  /** Seed of the sampler. @default 42 */
  seed?: number;
  /** USD per 1M tokens of this device's compute. @default 0 */
  price?: Price;
  /** Completion limit in tokens when the request sets none. @default 256 */
  defaultMaxTokens?: number;
  /** Prefixes of the plain template. @default "Question: " / "Answer:" */
  template?: PlainTemplate;
  /** Use the GGUF's chat template (wllama's chat API) instead of the plain template. @default false */
  chatTemplate?: boolean;
  /** Cache a URL-loaded model in the Origin Private File System. @default true */
  useCache?: boolean;
  /** Download progress of a URL source, bytes. */
  onProgress?: (progress: { loaded: number; total: number }) => void;
  /** Extra wllama settings (logger, parallel downloads…). Native logs are suppressed by default. */
  config?: WllamaConfig;
}

/** An in-page model with its loading step exposed. */
export interface WllamaModel extends Model {
  readonly location: "edge";
  /** Loads the GGUF (once; later calls return the same promise). Called by the first generation when not called before. Errors: `model_load_failed`. */
  load(): Promise<void>;
  /** Milliseconds the last successful {@link load} took (download + WebAssembly start + model load); undefined before. */
  readonly loadMs: number | undefined;
  /** The wllama instance, for what this interface does not cover (embeddings, metadata). */
  readonly wllama: Wllama;
}

interface RawLogprob {
  token: string;
  logprob: number;
  bytes?: number[] | null;
  top_logprobs?: Array<{ token: string; logprob: number; bytes?: number[] | null }>;
}

/** wllama's completion logprobs (llama-server shape `{ content: [...] }`, or OpenAI legacy arrays) as Tandem's. */
function toLogprobs(raw: unknown): TokenLogprob[] | undefined {
  const content = (raw as { content?: RawLogprob[] } | null)?.content;
  if (Array.isArray(content)) {
    return content.map((t) => ({
      token: t.token,
      logprob: t.logprob,
      bytes: t.bytes ?? null,
      top_logprobs: (t.top_logprobs ?? []).map((x) => ({ token: x.token, logprob: x.logprob, bytes: x.bytes ?? null })),
    }));
  }
  const legacy = raw as { tokens?: string[]; token_logprobs?: number[] } | null;
  if (legacy?.tokens && legacy.token_logprobs) return legacy.tokens.map((token, i) => ({ token, logprob: legacy.token_logprobs![i], bytes: null, top_logprobs: [] }));
  return undefined;
}

/** Rejects a call whose signal already fired with `aborted`. */
function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TandemError("aborted", "Request aborted", { cause: signal.reason });
}

const finishOf = (reason: string | null | undefined): FinishReason => (reason === "length" ? "length" : "stop");

/** `aborted` when the caller's signal fired, else `fallback` (with wllama's message). */
function failure(error: unknown, signal: AbortSignal | undefined, fallback: "internal_error" | "model_load_failed", what: string): TandemError {
  if (signal?.aborted || (error as { name?: string } | null)?.name === "AbortError") return new TandemError("aborted", `${what}: aborted`, { cause: error });
  if (TandemError.isInstance(error)) return error;
  return new TandemError(fallback, `${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/**
 * Creates an in-page GGUF model (see module docs). Nothing is downloaded until {@link WllamaModel.load}
 * or the first generation. Errors: `invalid_request` (at construction) for `nThreads` < 1 or `nCtx` < 16;
 * `model_load_failed` when the GGUF or the WebAssembly cannot be loaded; `aborted` when the signal
 * fires; `internal_error` for a failure inside the worker.
 * @example
 * const edge = wllamaModel({ source: "/models/stories260K.gguf", wasmUrl: "/wllama/wllama.wasm", nThreads: 1, nCtx: 512 });
 * await edge.load();
 * for await (const part of edge.stream({ messages: [{ role: "user", content: "Tell me a story" }] })) if (part.type === "text") out.textContent += part.text;
 */
export function wllamaModel(options: WllamaModelOptions): WllamaModel {
  const id = options.id ?? "wllama";
  if (!Number.isInteger(options.nThreads) || options.nThreads < 1) throw new TandemError("invalid_request", `wllama model '${id}': nThreads must be an integer ≥ 1, got ${options.nThreads}`);
  if (!Number.isInteger(options.nCtx) || options.nCtx < 16) throw new TandemError("invalid_request", `wllama model '${id}': nCtx must be an integer ≥ 16, got ${options.nCtx}`);
  const price = options.price ?? { inputPerMillion: 0, outputPerMillion: 0 };
  const template = options.template ?? DEFAULT_PLAIN_TEMPLATE;
  const defaultMaxTokens = options.defaultMaxTokens ?? 256;
  const wllama = new Wllama({ default: options.wasmUrl }, { suppressNativeLog: true, ...options.config });
  let loading: Promise<void> | undefined;
  let loadMs: number | undefined;
  let tail: Promise<void> = Promise.resolve();

  const params = { n_threads: options.nThreads, n_ctx: options.nCtx, seed: options.seed ?? 42 };

  function load(): Promise<void> {
    loading ??= (async () => {
      const started = performance.now();
      try {
        const src = options.source;
        if (typeof src === "string") {
          const url = new URL(src, (globalThis as { location?: { href: string } }).location?.href).href;
          await wllama.loadModelFromUrl(url, { ...params, useCache: options.useCache ?? true, progressCallback: options.onProgress });
        } else {
          await wllama.loadModel(Array.isArray(src) ? [...src] : [src as Blob], params);
        }
        loadMs = performance.now() - started;
      } catch (error) {
        loading = undefined; // a later call may retry (e.g. after the network came back)
        throw failure(error, undefined, "model_load_failed", `wllama model '${id}' failed to load`);
      }
    })();
    return loading;
  }

  /** Waits until every earlier generation of this model finished (one context, one at a time); resolves to the release function. */
  function acquire(): Promise<() => void> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const ready = tail.then(() => release);
    tail = tail.then(() => done);
    return ready;
  }

  function sampling(request: GenerateRequest) {
    return {
      max_tokens: request.maxTokens ?? defaultMaxTokens,
      temperature: request.temperature ?? 0,
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
    };
  }

  const completionStops = (request: GenerateRequest) => [...(options.chatTemplate ? [] : plainStops(template)), ...(request.stop ?? [])];

  async function generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult> {
    throwIfAborted(signal);
    await load();
    const release = await acquire();
    {
      const started = performance.now();
      try {
        throwIfAborted(signal);
        let text: string;
        let finish: FinishReason;
        let usage: { promptTokens: number; completionTokens: number };
        let logprobs: TokenLogprob[] | undefined;
        if (options.chatTemplate) {
          const r = await wllama.createChatCompletion({
            messages: request.messages.map((m) => ({ role: m.role === "assistant" ? "assistant" : m.role === "system" || m.role === "developer" ? "system" : "user", content: contentText(m.content) })) as never,
            ...sampling(request),
            ...(request.stop?.length ? { stop: request.stop } : {}),
            ...(request.logprobs ? { logprobs: true, top_logprobs: request.topLogprobs ?? 0 } : {}),
            abortSignal: signal,
          } as never);
          const choice = (r as { choices: Array<{ message: { content?: string | null }; finish_reason: string | null; logprobs: unknown }> }).choices[0];
          text = choice.message.content ?? "";
          finish = finishOf(choice.finish_reason);
          logprobs = request.logprobs ? toLogprobs(choice.logprobs) : undefined;
          usage = { promptTokens: r.usage.prompt_tokens, completionTokens: r.usage.completion_tokens };
        } else {
          const r = await wllama.createCompletion({
            prompt: renderPlainPrompt(request.messages, template),
            ...sampling(request),
            stop: completionStops(request),
            ...(request.logprobs ? { logprobs: Math.max(1, request.topLogprobs ?? 1) } : {}),
            abortSignal: signal,
          });
          const choice = r.choices[0];
          text = choice.text;
          finish = finishOf(choice.finish_reason);
          logprobs = request.logprobs ? toLogprobs(choice.logprobs) : undefined;
          usage = { promptTokens: r.usage.prompt_tokens, completionTokens: r.usage.completion_tokens };
        }
        if (logprobs && request.topLogprobs === undefined) logprobs = logprobs.map((t) => ({ ...t, top_logprobs: [] }));
        return { text, finishReason: finish, usage, ...(logprobs ? { logprobs } : {}), info: leafInfo(model, usage, performance.now() - started) };
      } catch (error) {
        throw failure(error, signal, "internal_error", `wllama model '${id}'`);
      } finally {
        release();
      }
    }
  }

  async function* stream(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<StreamPart> {
    // Log-probabilities come with a whole generation; the chat-template path streams through generate too.
    if (request.logprobs || options.chatTemplate) {
      yield* streamFromGenerate(generate(request, signal));
      return;
    }
    throwIfAborted(signal);
    await load();
    const release = await acquire(); // held for the whole stream (also when the consumer stops early)
    const started = performance.now();
    let text = "";
    let finish: FinishReason = "stop";
    let usage: { promptTokens: number; completionTokens: number } | undefined;
    let chunks = 0;
    try {
      const iterable = await wllama.createCompletion({
        prompt: renderPlainPrompt(request.messages, template),
        ...sampling(request),
        stop: completionStops(request),
        stream: true,
        abortSignal: signal,
      });
      for await (const chunk of iterable) {
        const choice = chunk.choices[0];
        if (choice?.text) {
          chunks++;
          text += choice.text;
          yield { type: "text", text: choice.text };
        }
        if (choice?.finish_reason) finish = finishOf(choice.finish_reason);
        if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
      }
    } catch (error) {
      throw failure(error, signal, "internal_error", `wllama model '${id}'`);
    } finally {
      release();
    }
    throwIfAborted(signal);
    // Without a usage chunk: the prompt is not counted here, one token per streamed piece.
    const counted = usage ?? { promptTokens: 0, completionTokens: chunks };
    yield { type: "finish", result: { text, finishReason: finish, usage: counted, info: leafInfo(model, counted, performance.now() - started) } };
  }

  const model: WllamaModel = {
    id,
    location: "edge",
    price,
    load,
    get loadMs() {
      return loadMs;
    },
    wllama,
    generate,
    stream,
    async close() {
      await wllama.exit().catch((error: unknown) => {
        throw toTandemError(error);
      });
      loading = undefined;
    },
  };
  return model;
}

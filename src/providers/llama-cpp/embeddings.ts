/**
 * Local embeddings from a GGUF file through node-llama-cpp's embedding context
 * (`model.createEmbeddingContext({ threads, contextSize })` … `getEmbeddingFor(text)`).
 *
 * - Weights: the GGUF is shared through the process-wide cache (`acquireLlamaModel`, runtime.ts),
 *   so an embedding model on the same file as a chat model of the policy loads no second copy; it
 *   only adds its own (embedding) context.
 * - Vectors: what llama.cpp returns for the sequence (the model's pooling; a decoder-only model
 *   without a pooling type gives its last token's hidden state), L2-normalized by default as
 *   OpenAI's are. Deterministic: the same text gives the same vector.
 * - Concurrency: one context, one sequence; node-llama-cpp evaluates one input at a time under a
 *   lock, so concurrent requests queue.
 * - Tokens: each input's token count includes the BOS/EOS tokens the context adds
 *   (`calculateInputLength`); an input that does not fit the context is `invalid_request`.
 */
import type { LlamaEmbeddingContext } from "node-llama-cpp";
import { existsSync } from "node:fs";
import { normalizeL2, type EmbeddingModel, type EmbedRequest, type EmbedResult } from "../../core/embedding.js";
import { TandemError } from "../../core/errors.js";
import { leafInfo, type ModelLocation, type Price } from "../../core/model.js";
import { acquireLlamaModel, defaultThreads, type SharedLlamaModel } from "./runtime.js";

/** Options of {@link llamaCppEmbeddings}. */
export interface LlamaCppEmbeddingsOptions {
  /** Model id in responses and traces. Default: the file name without `.gguf`. */
  id?: string;
  /** Path of the GGUF file. */
  path: string;
  /** CPU threads. Default: the machine's cores, at most 2 — always passed explicitly (runtime.ts). */
  threads?: number;
  /** Context window in tokens: the longest input (with BOS/EOS). Default 1024. */
  contextSize?: number;
  /** Scale vectors to unit length (as OpenAI's). Default true. */
  normalize?: boolean;
  /** USD per 1M input tokens (`inputPerMillion`). Default 0 (local compute). */
  price?: Price;
  /** Default `edge`. */
  location?: ModelLocation;
}

/** A local embedding model; `load()` may be awaited at start-up to fail early on a bad file. */
export interface LlamaCppEmbeddingModel extends EmbeddingModel {
  /** Loads the weights (shared) and creates the embedding context. Throws `model_load_failed`. */
  load(): Promise<void>;
  /** The native vector length (after `load()`), else undefined. */
  readonly dimensions: number | undefined;
  /** Frees the context and this model's share of the weights. Idempotent. */
  close(): Promise<void>;
}

interface Loaded {
  share: SharedLlamaModel;
  context: LlamaEmbeddingContext;
  dimensions: number;
}

/**
 * Creates a local embedding model from a GGUF file. Loading is lazy (first request) unless
 * `load()` is called.
 *
 * Errors of `embed`: `model_load_failed` (missing or corrupt file, or a model that cannot embed,
 * such as an encoder-decoder), `invalid_request` (an input longer than the context, param
 * `input.<i>`; a `dimensions` other than the native length, param `dimensions`), `aborted` (the
 * signal fired between inputs; the tokens evaluated so far are attached as the paid call).
 */
export function llamaCppEmbeddings(options: LlamaCppEmbeddingsOptions): LlamaCppEmbeddingModel {
  const id = options.id ?? options.path.replace(/^.*[\\/]/, "").replace(/\.gguf$/i, "");
  const threads = options.threads ?? defaultThreads();
  const contextSize = options.contextSize ?? 1024;
  const normalize = options.normalize ?? true;
  const price = options.price ?? { inputPerMillion: 0, outputPerMillion: 0 };
  const location = options.location ?? "edge";
  let loading: Promise<Loaded> | undefined;
  let current: Loaded | undefined;
  let closed = false;

  async function doLoad(): Promise<Loaded> {
    if (!existsSync(options.path)) throw new TandemError("model_load_failed", `Model file not found: ${options.path}`);
    let share: SharedLlamaModel;
    try {
      share = await acquireLlamaModel(options.path);
    } catch (error) {
      throw new TandemError("model_load_failed", `Cannot load GGUF model ${options.path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const context = await share.model.createEmbeddingContext({ threads, contextSize });
      current = { share, context, dimensions: share.model.embeddingVectorSize };
      return current;
    } catch (error) {
      await share.release().catch(() => {});
      throw new TandemError("model_load_failed", `Cannot create an embedding context for ${options.path}: ${(error as Error).message}`, { cause: error });
    }
  }

  function load(): Promise<Loaded> {
    if (closed) return Promise.reject(new TandemError("model_load_failed", `Embedding model ${id} is closed`));
    loading ??= doLoad();
    loading.catch(() => {
      loading = undefined; // a failed load may be retried
    });
    return loading;
  }

  async function embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    const started = performance.now();
    const loaded = await load();
    const { context, dimensions } = loaded;
    if (request.dimensions !== undefined && request.dimensions !== dimensions) {
      throw new TandemError("invalid_request", `Model '${id}' embeds into ${dimensions} dimensions and cannot change it (dimensions: ${request.dimensions})`, { param: "dimensions" });
    }
    // check every input before evaluating any, so a bad batch costs nothing
    const lengths = request.inputs.map((text, i) => {
      const n = context.calculateInputLength(text);
      if (n >= contextSize) throw new TandemError("invalid_request", `Input ${i} is ${n} tokens; model '${id}' has a context of ${contextSize} tokens`, { param: `input.${i}` });
      return n;
    });
    const vectors: Float32Array[] = [];
    let promptTokens = 0;
    for (const [i, text] of request.inputs.entries()) {
      if (signal?.aborted) {
        const call = { ...leafInfo({ id, location, price }, { promptTokens, completionTokens: 0 }, performance.now() - started).calls[0], error: "Request aborted" };
        throw new TandemError("aborted", "Request aborted", { calls: [call] });
      }
      const { vector } = await context.getEmbeddingFor(text);
      const v = Float32Array.from(vector);
      vectors.push(normalize ? normalizeL2(v) : v);
      promptTokens += lengths[i];
    }
    const usage = { promptTokens, completionTokens: 0 };
    return { vectors, usage: { promptTokens }, info: leafInfo({ id, location, price }, usage, performance.now() - started) };
  }

  return {
    id,
    location,
    price,
    supportsDimensions: false,
    embed,
    async load() {
      await load();
    },
    get dimensions() {
      return current?.dimensions;
    },
    async close() {
      if (closed) return;
      closed = true;
      const loaded = current ?? (await loading?.catch(() => undefined));
      current = undefined;
      if (!loaded) return;
      await loaded.context.dispose().catch(() => {});
      await loaded.share.release();
    },
  };
}

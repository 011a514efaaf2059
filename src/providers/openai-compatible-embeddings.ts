/**
 * The `openai-compatible` embedding provider: any `/v1/embeddings` endpoint (OpenAI, vLLM, a
 * llama.cpp server, Ollama, another Tandem) through the official `openai` npm SDK — retries with
 * backoff on connection errors, 408/409/429 and 5xx are the SDK's (`maxRetries`), the timeout is
 * per attempt (`timeoutMs`).
 *
 * The batch goes upstream in one request, with `encoding_format` as configured (`float` by
 * default, which every compatible server speaks; `base64` halves the bytes where supported); the
 * answer is decoded whichever form comes back. Vectors are put back in input order by their
 * `index`. Usage is the upstream's `prompt_tokens`, else the inputs counted with the o200k
 * tokenizer.
 *
 * Without an explicit `price`, the model is priced from the bundled catalogue
 * (@pydantic/genai-prices, src/core/pricing/catalogue.ts), as the chat provider
 * (openai-compatible.ts) is: by the provider whose API URL `baseURL` is; when `baseURL` is no
 * catalogued provider's (a proxy, a relay on 127.0.0.1), as an OpenAI model name — genai-prices
 * recognises OpenAI models by name only for `gpt-*` / `o*`, not `text-embedding-*`. Every call
 * priced so records `priceSource`.
 */
import { countTokens } from "gpt-tokenizer";
import { findProvider } from "@pydantic/genai-prices";
import OpenAI from "openai";
import { base64ToVector, type EmbeddingModel, type EmbedRequest, type EmbedResult } from "../core/embedding.js";
import { TandemError } from "../core/errors.js";
import { leafInfo, type ModelLocation, type Price } from "../core/model.js";
import { lookupCatalogue, type CatalogueEntry } from "../core/pricing/catalogue.js";

/** Options of {@link openaiCompatibleEmbeddings}. */
export interface OpenAICompatibleEmbeddingsOptions {
  /** Model id in responses and traces. Default: `model`. */
  id?: string;
  /** Base URL including `/v1`. Default: `OPENAI_BASE_URL`, then OpenAI's. */
  baseURL?: string;
  /** API key. Default: `OPENAI_API_KEY`, then "none". */
  apiKey?: string;
  /** Upstream model name, e.g. "text-embedding-3-small". */
  model: string;
  /** Default `cloud`. */
  location?: ModelLocation;
  /**
   * USD per 1M input tokens (`inputPerMillion`). Default: the bundled catalogue's price of
   * `model` (see the module comment; offline, recorded as `priceSource` on every call), else 0.
   * Models with `location: "edge"` are never looked up.
   */
  price?: Price;
  /** The upstream honours `dimensions` (OpenAI text-embedding-3): forwarded, and the answer's length checked. Default false. */
  supportsDimensions?: boolean;
  /** Wire encoding asked of the upstream. Default "float". */
  encodingFormat?: "float" | "base64";
  /** Per-attempt timeout in ms. Default 60,000. */
  timeoutMs?: number;
  /** Retries on connection errors, 408/409/429 and 5xx. Default 2. */
  maxRetries?: number;
  /** Extra headers sent upstream. */
  headers?: Record<string, string>;
}

/**
 * Creates a remote embedding model. Errors of `embed`: `upstream_timeout` (504) when an attempt
 * times out after the retries; `upstream_error` (502) for connection failures, upstream HTTP
 * errors (the message names the status) and malformed answers (wrong number of vectors, a
 * vector of the wrong length for `dimensions`); `invalid_request` for `dimensions` when
 * `supportsDimensions` is false; `aborted` when `signal` fires. A timed-out or aborted request
 * carries the prompt tokens as its paid call (`TandemError.calls`): the upstream read them.
 */
export function openaiCompatibleEmbeddings(options: OpenAICompatibleEmbeddingsOptions): EmbeddingModel {
  const id = options.id ?? options.model;
  const location = options.location ?? "cloud";
  const baseURL = (options.baseURL ?? process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  const catalogued = options.price || location === "edge" ? undefined : cataloguedEmbedding(options.model, baseURL);
  const price = options.price ?? catalogued?.price ?? { inputPerMillion: 0, outputPerMillion: 0 };
  const supportsDimensions = options.supportsDimensions ?? false;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const client = new OpenAI({
    baseURL,
    apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? "none",
    timeout: timeoutMs,
    maxRetries: options.maxRetries ?? 2,
    defaultHeaders: options.headers,
  });

  function mapError(error: unknown, signal?: AbortSignal): TandemError {
    if (TandemError.isInstance(error)) return error;
    if (signal?.aborted || error instanceof OpenAI.APIUserAbortError) return new TandemError("aborted", "Request aborted", { cause: error });
    if (error instanceof OpenAI.APIConnectionTimeoutError) return new TandemError("upstream_timeout", `Upstream embedding model '${id}' timed out after ${timeoutMs} ms`, { cause: error });
    if (error instanceof OpenAI.APIConnectionError) return new TandemError("upstream_error", `Upstream embedding model '${id}' is unreachable: ${error.message}`, { cause: error });
    if (error instanceof OpenAI.APIError) return new TandemError("upstream_error", `Upstream embedding model '${id}' failed (${error.status ?? "?"}): ${error.message}`, { cause: error });
    return new TandemError("upstream_error", `Upstream embedding model '${id}' failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }

  async function embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    if (request.dimensions !== undefined && !supportsDimensions) {
      throw new TandemError("invalid_request", `Model '${id}' does not support 'dimensions'`, { param: "dimensions" });
    }
    const started = performance.now();
    const counted = () => request.inputs.reduce((n, s) => n + countTokens(s), 0);
    let response: OpenAI.Embeddings.CreateEmbeddingResponse;
    try {
      response = await client.embeddings.create(
        {
          model: options.model,
          input: request.inputs,
          encoding_format: options.encodingFormat ?? "float",
          ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
          ...(request.user !== undefined ? { user: request.user } : {}),
        },
        { signal },
      );
    } catch (error) {
      const e = mapError(error, signal);
      if (e.code === "aborted" || e.code === "upstream_timeout") {
        const call = { ...leafInfo({ id, location, price }, { promptTokens: counted(), completionTokens: 0 }, performance.now() - started).calls[0], error: e.message };
        e.calls = [call];
      }
      throw e;
    }
    const data = Array.isArray(response?.data) ? response.data : [];
    const vectors: Array<Float32Array | undefined> = new Array(request.inputs.length);
    for (const [position, item] of data.entries()) {
      const index = typeof item.index === "number" ? item.index : position;
      if (!(index >= 0 && index < vectors.length) || vectors[index]) throw new TandemError("upstream_error", `Upstream embedding model '${id}' returned a bad index ${index}`);
      const raw = item.embedding as unknown;
      let vector: Float32Array;
      try {
        vector = typeof raw === "string" ? base64ToVector(raw) : Float32Array.from(raw as number[]);
      } catch (error) {
        throw new TandemError("upstream_error", `Upstream embedding model '${id}' returned an unreadable embedding ${index}: ${(error as Error).message}`, { cause: error });
      }
      if (request.dimensions !== undefined && vector.length !== request.dimensions) {
        throw new TandemError("upstream_error", `Upstream embedding model '${id}' returned ${vector.length} dimensions for dimensions ${request.dimensions}`);
      }
      vectors[index] = vector;
    }
    const missing = vectors.findIndex((v) => v === undefined);
    if (data.length !== request.inputs.length || missing >= 0) {
      throw new TandemError("upstream_error", `Upstream embedding model '${id}' returned ${data.length} embeddings for ${request.inputs.length} inputs`);
    }
    const promptTokens = response.usage?.prompt_tokens ?? counted();
    return { vectors: vectors as Float32Array[], usage: { promptTokens }, info: leafInfo({ id, location, price }, { promptTokens, completionTokens: 0 }, performance.now() - started) };
  }

  return { id, location, price, supportsDimensions, embed };
}

/**
 * The catalogue entry of embedding model `model` served at `baseURL`: looked up at the provider
 * the URL names; at a URL the catalogue does not know, looked up as an OpenAI model (the
 * catalogue's name matching skips OpenAI's embedding names). Undefined for a model it does not
 * price (local embedders, unknown names). Offline; never throws.
 */
export function cataloguedEmbedding(model: string, baseURL: string): CatalogueEntry | undefined {
  const byURL = lookupCatalogue(model, { baseURL });
  if (byURL) return byURL;
  let known: unknown;
  try {
    known = findProvider({ providerApiUrl: baseURL });
  } catch {
    known = undefined;
  }
  return known ? undefined : lookupCatalogue(model, { provider: "openai" });
}

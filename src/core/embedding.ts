/**
 * The provider-neutral embedding model interface (issue #12, item 3): an `EmbeddingModel` turns a
 * batch of texts into vectors, and reports the prompt tokens it read and its decision path
 * ({@link CollaborationInfo}, as for a generation) so the gateway can charge, budget and trace an
 * embedding request exactly like a chat one. Providers: `openaiCompatibleEmbeddings`
 * (src/providers/openai-compatible-embeddings.ts, any `/v1/embeddings` upstream) and
 * `llamaCppEmbeddings` (src/providers/llama-cpp/embeddings.ts, a local GGUF through
 * node-llama-cpp's embedding context); `privacyEmbeddings` (src/strategies/privacy/embeddings.ts)
 * wraps them with hide-and-seek privacy.
 *
 * Pricing: an embedding reads tokens and generates none, so only `price.inputPerMillion` counts
 * (USD per 1M input tokens); `outputPerMillion` is 0.
 */
import type { CollaborationInfo, ModelLocation, Price, TokenUsage, WorstCase } from "./model.js";

/** One embedding request: a batch of texts (order kept) and an optional vector length. */
export interface EmbedRequest {
  /** The texts, each non-empty. The result's `vectors[i]` belongs to `inputs[i]`. */
  inputs: string[];
  /**
   * Wanted vector length (OpenAI `dimensions`, text-embedding-3 models). Only for models whose
   * `supportsDimensions` is true; others throw `invalid_request` when it differs from their native
   * length.
   */
  dimensions?: number;
  /** End-user id, forwarded where the upstream accepts it. */
  user?: string;
}

/** A finished embedding request. */
export interface EmbedResult {
  /** One vector per input, in input order (float32, as OpenAI's base64 encoding carries them). */
  vectors: Float32Array[];
  /** Tokens read over all inputs (embeddings generate none). */
  usage: { promptTokens: number };
  /** Who embedded it, the decisions taken (e.g. privacy), the calls made and their USD cost. */
  info: CollaborationInfo;
}

/**
 * A model that embeds text: a leaf (one local or remote model) or a wrapper (privacy).
 *
 * Errors: implementations throw `TandemError` (core/errors.ts): `invalid_request` (400) for an
 * input the model cannot take (longer than its context, a `dimensions` it does not support),
 * `upstream_error` (502) / `upstream_timeout` (504) for a failing remote model,
 * `model_load_failed` for a bad GGUF file, `tandem_guard` (400) when privacy refuses the request,
 * `aborted` when `signal` fires. Errors after a remote upstream read the request carry the paid
 * call in `TandemError.calls`.
 */
export interface EmbeddingModel {
  /** Stable id, e.g. the policy name. */
  readonly id: string;
  /** `cloud` if the texts may leave the device. */
  readonly location: ModelLocation;
  /** USD per 1M input tokens (`inputPerMillion`); `outputPerMillion` is unused (0). */
  readonly price: Price;
  /** True when the model honours {@link EmbedRequest.dimensions} (e.g. OpenAI text-embedding-3). */
  readonly supportsDimensions: boolean;
  /** Embeds a batch. */
  embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult>;
  /**
   * The most one request can spend when its prompt is at most `perCall.promptTokens` tokens
   * (`completionTokens` is ignored: embeddings generate none). Default
   * ({@link embeddingWorstCase}): one call at this model's input price.
   */
  worstCase?(perCall: TokenUsage): WorstCase;
  /** Releases resources (native memory). Idempotent. */
  close?(): Promise<void>;
}

/** `model.worstCase(perCall)`, or one call reading `perCall.promptTokens` at the model's input price (USD, tokens). */
export function embeddingWorstCase(model: Pick<EmbeddingModel, "price" | "worstCase">, perCall: TokenUsage): WorstCase {
  return model.worstCase?.(perCall) ?? { costUsd: (perCall.promptTokens * model.price.inputPerMillion) / 1e6, tokens: perCall.promptTokens };
}

/**
 * A vector as OpenAI's `encoding_format: "base64"` carries it: the float32 values, little-endian,
 * base64-encoded (what the `openai` SDK decodes by default). Endianness is explicit, so the
 * encoding is the same on any host.
 */
export function vectorToBase64(vector: Float32Array): string {
  const bytes = new DataView(new ArrayBuffer(vector.length * 4));
  for (let i = 0; i < vector.length; i++) bytes.setFloat32(i * 4, vector[i], true);
  const u8 = new Uint8Array(bytes.buffer);
  let binary = "";
  for (let i = 0; i < u8.length; i++) binary += String.fromCharCode(u8[i]);
  return btoa(binary); // no Buffer: core runs in browsers too
}

/**
 * The inverse of {@link vectorToBase64}. Throws `RangeError` when the decoded length is not a
 * multiple of 4 bytes, and `DOMException` (InvalidCharacterError) for text that is not base64.
 */
export function base64ToVector(base64: string): Float32Array {
  const binary = atob(base64);
  if (binary.length % 4 !== 0) throw new RangeError(`base64 embedding of ${binary.length} bytes is not a whole number of float32 values`);
  const u8 = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) u8[i] = binary.charCodeAt(i);
  const view = new DataView(u8.buffer);
  const out = new Float32Array(u8.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** `vector` scaled to unit L2 length (a zero vector stays zero), in place; returns it. */
export function normalizeL2(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}

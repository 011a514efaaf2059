/**
 * The policy's `embeddings` section: embedding models served at `POST /v1/embeddings`, each under
 * its name (a namespace of its own beside `models` and `strategies`; a name may not be used in
 * both). An entry is a leaf — `provider: llama-cpp` (a local GGUF) or `provider:
 * openai-compatible` (a `/v1/embeddings` upstream) — or a `kind: privacy` wrapper over other
 * entries of this section, with the options of the chat `privacy` strategy (the schema is that
 * strategy's, reused):
 *
 *     embeddings:
 *       local-embed: { provider: llama-cpp, path: models/stories260K.gguf, threads: 1 }
 *       cloud-embed: { provider: openai-compatible, model: text-embedding-3-small, baseURL: …, price: { input: 0.02 }, dimensions: true }
 *       embed:       { kind: privacy, remote: cloud-embed, local: local-embed, mode: redact }
 *
 * Prices are USD per 1M input tokens (`price.input`; embeddings generate no output tokens).
 */
import { z } from "zod";
import { modelRef } from "../strategies/definition.js";
import { privacyDefinition } from "../strategies/privacy/definition.js";

/** USD per 1M input tokens; `output` is accepted (and ignored) for symmetry with `models`. */
const embeddingPrice = z.object({ input: z.number().min(0), output: z.number().min(0).optional() }).strict();

const llamaCppEmbedding = z
  .object({
    provider: z.literal("llama-cpp"),
    /** GGUF path, relative to the policy file. */
    path: z.string().min(1),
    threads: z.number().int().min(1).max(256).optional(),
    /** Longest input in tokens. */
    contextSize: z.number().int().min(64).optional(),
    /** L2-normalize vectors (as OpenAI's). Default true. */
    normalize: z.boolean().optional(),
    price: embeddingPrice.optional(),
    location: z.enum(["edge", "cloud"]).optional(),
  })
  .strict();

const openaiCompatibleEmbedding = z
  .object({
    provider: z.literal("openai-compatible"),
    /** Upstream model name. */
    model: z.string().min(1),
    baseURL: z.string().url().optional(),
    apiKey: z.string().optional(),
    price: embeddingPrice.optional(),
    location: z.enum(["edge", "cloud"]).optional(),
    /** The upstream honours `dimensions` (OpenAI text-embedding-3); otherwise requests with it get 400. */
    dimensions: z.boolean().optional(),
    /** Wire encoding asked of the upstream. Default float. */
    encodingFormat: z.enum(["float", "base64"]).optional(),
    timeoutMs: z.number().int().min(1).optional(),
    maxRetries: z.number().int().min(0).max(10).optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .refine((m) => m.baseURL !== undefined || process.env.OPENAI_BASE_URL !== undefined || process.env.OPENAI_API_KEY !== undefined, {
    message: "needs baseURL (or OPENAI_BASE_URL / OPENAI_API_KEY in the environment)",
    path: ["baseURL"],
  });

/** `kind: privacy` over entries of `embeddings` (`remote`, `local`): the chat privacy strategy's options. */
const privacyEmbedding = privacyDefinition.options.extend({ kind: z.literal("privacy") }).strict();

/** One entry of the policy's `embeddings` section. */
export const embeddingSpecSchema = z.union([llamaCppEmbedding, openaiCompatibleEmbedding, privacyEmbedding]);

/** The `embeddings` section: entries by name. */
export const embeddingsSchema = z.record(modelRef, embeddingSpecSchema);

export type EmbeddingSpec = z.infer<typeof embeddingSpecSchema>;

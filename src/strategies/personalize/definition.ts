/** The `personalize` strategy's policy definition: options schema and builder (see ../registry.ts, docs/personalization.md). */
import { z } from "zod";
import { createDetector } from "../../pii/index.js";
import { llamaCppEmbeddings } from "../../providers/llama-cpp/embeddings.js";
import { sharedMemoryStore } from "../../store/memory.js";
import { defineStrategy, modelRef } from "../definition.js";
import { edgeEmbedder, hashingEmbedder } from "./embedder.js";
import { personalize } from "./index.js";

/** How memories are embedded: the hashing trick (default) or a local GGUF embedding model. */
const embeddingSpec = z.union([
  z.object({ kind: z.literal("hashing"), dimensions: z.number().int().min(8).max(4096).optional() }).strict(),
  z.object({ kind: z.literal("llama-cpp"), path: z.string().min(1), threads: z.number().int().min(1).optional(), contextSize: z.number().int().min(16).optional() }).strict(),
]);

export const personalizeDefinition = defineStrategy({
  kind: "personalize",
  options: z
    .object({
      /** The model (or strategy) personalized requests go to. */
      model: modelRef,
      /** The personal store (SQLite file, relative to the policy). Shared with `route.userCalibration.store` when they name the same file. */
      store: z.string().min(1).default(".tandem/personal.sqlite"),
      /** What a cloud model sees of the memories. */
      cloud: z.enum(["none", "placeholders", "summary"]).default("none"),
      /** Edge model writing `summary` mode's summaries. */
      summarizer: modelRef.optional(),
      /** Memories per request. */
      k: z.number().int().min(1).max(50).optional(),
      /** Least cosine similarity of a retrieved memory, in [-1, 1]. */
      minSimilarity: z.number().min(-1).max(1).optional(),
      /** Store the facts users state (false: read-only). */
      learn: z.boolean().optional(),
      /** Most memories per user (least recently used evicted). */
      maxPerUser: z.number().int().min(1).max(100_000).optional(),
      embedding: embeddingSpec.default({ kind: "hashing" }),
      /** The PII tagger file for `placeholders`/`summary` (default models/privacy-tagger.json), or false for patterns only. */
      tagger: z.union([z.string(), z.literal(false)]).optional(),
      /** Detection budget per request, ms. */
      detectorTimeoutMs: z.number().int().min(1).optional(),
    })
    .strict(),
  references: (o) => (o.summarizer ? [o.model, o.summarizer] : [o.model]),
  async build(o, context) {
    const embedder =
      o.embedding.kind === "hashing"
        ? hashingEmbedder({ dimensions: o.embedding.dimensions })
        : edgeEmbedder(llamaCppEmbeddings({ path: context.path(o.embedding.path), threads: o.embedding.threads ?? 1, contextSize: o.embedding.contextSize }));
    return personalize({
      id: context.name,
      model: await context.model(o.model, "model"),
      store: sharedMemoryStore(context.path(o.store), { maxPerUser: o.maxPerUser }),
      embedder,
      cloud: o.cloud,
      detector: o.cloud === "none" ? undefined : createDetector({ tagger: o.tagger === undefined ? undefined : o.tagger === false ? false : context.path(o.tagger) }),
      detectorTimeoutMs: o.detectorTimeoutMs,
      summarizer: o.summarizer ? await context.model(o.summarizer, "summarizer") : undefined,
      k: o.k,
      minSimilarity: o.minSimilarity,
      learn: o.learn,
    });
  },
});

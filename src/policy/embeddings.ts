/**
 * Builds the policy's `embeddings` section (schema: embedding-schema.ts) into
 * {@link EmbeddingModel}s: providers for leaves, `privacyEmbeddings` for `kind: privacy` entries
 * (whose `remote`/`local` reference other entries of the section, checked, cycles reported).
 * Called by `buildPolicy` (builder.ts); the gateway serves the result at `POST /v1/embeddings`.
 */
import type { EmbeddingModel } from "../core/embedding.js";
import { TandemError } from "../core/errors.js";
import type { EntityType } from "../pii/types.js";
import { createDetector } from "../pii/index.js";
import { llamaCppEmbeddings, type LlamaCppEmbeddingModel } from "../providers/llama-cpp/embeddings.js";
import { openaiCompatibleEmbeddings } from "../providers/openai-compatible-embeddings.js";
import { privacyEmbeddings } from "../strategies/privacy/embeddings.js";
import type { EmbeddingSpec } from "./embedding-schema.js";

/** The built `embeddings` section. */
export interface BuiltEmbeddings {
  /** Every entry by name. */
  all: Map<string, EmbeddingModel>;
  /** Names of `kind: privacy` entries: their traces never hold plaintext by default. */
  privateNames: Set<string>;
  /** Local models, for preloading. */
  locals: LlamaCppEmbeddingModel[];
  /** Closes every entry (errors ignored). */
  close(): Promise<void>;
}

/**
 * Builds `specs` (the policy's `embeddings`). `at` resolves paths against the policy file;
 * `taken` are the names of `models` and `strategies` (an embedding may not reuse one).
 * Errors: `invalid_policy` (`embeddings.<name>.<field>: …` for an unknown reference, a cycle, a
 * name clash, a privacy entry without the local model its mode needs). On error what was built
 * is closed.
 */
export async function buildEmbeddings(specs: Record<string, EmbeddingSpec>, at: (p: string) => string, taken: ReadonlySet<string>): Promise<BuiltEmbeddings> {
  const all = new Map<string, EmbeddingModel>();
  const locals: LlamaCppEmbeddingModel[] = [];
  const close = async () => {
    await Promise.all([...all.values()].map((m) => m.close?.().catch(() => {})));
  };
  const building = new Set<string>();
  const build = async (name: string, path: string): Promise<EmbeddingModel> => {
    const existing = all.get(name);
    if (existing) return existing;
    const spec = specs[name];
    if (!spec) throw new TandemError("invalid_policy", `${path}: unknown embedding model '${name}' (known: ${Object.keys(specs).join(", ")})`);
    if (building.has(name)) throw new TandemError("invalid_policy", `embeddings.${name}: reference cycle ${[...building, name].join(" → ")}`);
    building.add(name);
    const model = await buildOne(name, spec);
    building.delete(name);
    all.set(name, model);
    return model;
  };
  const buildOne = async (name: string, spec: EmbeddingSpec): Promise<EmbeddingModel> => {
    if ("kind" in spec) {
      return privacyEmbeddings({
        id: name,
        detector: createDetector({ tagger: spec.tagger === undefined ? undefined : spec.tagger === false ? false : at(spec.tagger) }),
        remote: await build(spec.remote, `embeddings.${name}.remote`),
        local: spec.local ? await build(spec.local, `embeddings.${name}.local`) : undefined,
        mode: spec.mode,
        entities: spec.entities as EntityType[] | undefined,
        minScore: spec.minScore,
        detectorTimeoutMs: spec.detectorTimeoutMs,
        onDetectorError: spec.onDetectorError,
        redactForEdge: spec.redactForEdge,
      });
    }
    const price = spec.price ? { inputPerMillion: spec.price.input, outputPerMillion: 0 } : undefined;
    if (spec.provider === "llama-cpp") {
      const m = llamaCppEmbeddings({ id: name, path: at(spec.path), threads: spec.threads, contextSize: spec.contextSize, normalize: spec.normalize, price, location: spec.location });
      locals.push(m);
      return m;
    }
    return openaiCompatibleEmbeddings({
      id: name,
      model: spec.model,
      baseURL: spec.baseURL,
      apiKey: spec.apiKey || undefined,
      price,
      location: spec.location,
      supportsDimensions: spec.dimensions,
      encodingFormat: spec.encodingFormat,
      timeoutMs: spec.timeoutMs,
      maxRetries: spec.maxRetries,
      headers: spec.headers,
    });
  };

  try {
    for (const name of Object.keys(specs)) {
      if (taken.has(name)) throw new TandemError("invalid_policy", `embeddings.${name}: the name is also used by a model or strategy`);
      await build(name, `embeddings.${name}`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { all, privateNames: privateEmbeddingNames(specs), locals, close };
}

/** The entries of `specs` that are `kind: privacy` (only those wrap other entries, so no leaf is private by reference). */
export function privateEmbeddingNames(specs: Record<string, EmbeddingSpec>): Set<string> {
  return new Set(Object.entries(specs).filter(([, spec]) => "kind" in spec).map(([name]) => name));
}

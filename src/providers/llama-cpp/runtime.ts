/**
 * The process-wide node-llama-cpp runtime: one `Llama` instance (CPU, no build, no download),
 * the thread-count rule, and the cache of loaded GGUF weights.
 *
 * - Threads: node-llama-cpp's default of 4 threads made a tiny model ~1000× slower on 2-core
 *   machines, so Tandem always passes `threads` explicitly.
 * - Weights: each GGUF file is loaded ONCE per process ({@link acquireLlamaModel}) and shared by
 *   every user — `llamaCpp(...)` models and token-level `LocalLogitModel` handles alike. Each
 *   user creates its own context (KV cache) on the shared `LlamaModel`; the weights are freed
 *   when the last user releases them.
 */
import os from "node:os";
import { resolve } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";

let runtime: Promise<Llama> | undefined;

/**
 * The shared `Llama` runtime. Uses `gpu: false` unless `TANDEM_GPU=auto` is set, and never
 * builds or downloads llama.cpp (prebuilt binaries from npm only).
 */
export function getLlamaRuntime(): Promise<Llama> {
  runtime ??= getLlama({
    gpu: process.env.TANDEM_GPU === "auto" ? "auto" : false,
    build: "never",
    logLevel: LlamaLogLevel.error,
    progressLogs: false,
  });
  return runtime;
}

/** Default thread count: the machine's available cores, at most 2 (see module comment). */
export function defaultThreads(): number {
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(2, cores));
}

/** One user's share of a loaded GGUF file (see {@link acquireLlamaModel}). */
export interface SharedLlamaModel {
  /** The loaded weights, shared with every other user of the same file. Do not dispose it: call `release()`. */
  readonly model: LlamaModel;
  /** Absolute path of the GGUF file (the cache key). */
  readonly path: string;
  /** Gives this share back; the last release disposes the weights (and any context still on them). Idempotent. */
  release(): Promise<void>;
}

interface CacheEntry {
  users: number;
  model: Promise<LlamaModel>;
}

const loaded = new Map<string, CacheEntry>();
let loadCount = 0;

/**
 * A share of the GGUF file at `path` (resolved against the working directory): loads the
 * weights on first use, and returns the same `LlamaModel` to every later caller until the last
 * share is released. A failed load is not cached (the next call retries).
 * @throws the node-llama-cpp load error (callers wrap it in `model_load_failed`).
 */
export async function acquireLlamaModel(path: string): Promise<SharedLlamaModel> {
  const key = resolve(path);
  let entry = loaded.get(key);
  if (!entry) {
    const created: CacheEntry = {
      users: 0,
      model: getLlamaRuntime().then((llama) => {
        loadCount++;
        return llama.loadModel({ modelPath: key });
      }),
    };
    created.model.catch(() => {
      if (loaded.get(key) === created) loaded.delete(key);
    });
    loaded.set(key, created);
    entry = created;
  }
  const share = entry;
  share.users++;
  let model: LlamaModel;
  try {
    model = await share.model;
  } catch (error) {
    share.users--;
    throw error;
  }
  let released = false;
  return {
    model,
    path: key,
    async release() {
      if (released) return;
      released = true;
      share.users--;
      if (share.users > 0) return;
      if (loaded.get(key) === share) loaded.delete(key); // a new acquire from now on loads afresh
      await model.dispose();
    },
  };
}

/**
 * Counters of the GGUF cache: `loads` = weight loads started in this process (cache misses),
 * `models` = files loaded now with their number of users.
 */
export function llamaModelCacheStats(): { loads: number; models: Array<{ path: string; users: number }> } {
  return { loads: loadCount, models: [...loaded].map(([path, e]) => ({ path, users: e.users })) };
}

/**
 * The process-wide node-llama-cpp runtime: one `Llama` instance (CPU, no build, no download),
 * and the thread-count rule. node-llama-cpp's default of 4 threads made a tiny model ~1000×
 * slower on 2-core machines, so Tandem always passes `threads` explicitly.
 */
import os from "node:os";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";

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

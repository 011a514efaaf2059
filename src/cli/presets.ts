/**
 * Recommended GGUF models for real weak / strong / draft roles, as Hugging Face hub URIs that
 * node-llama-cpp resolves (`hf:<user>/<repo>:<quant>`, see `createModelDownloader`). All are
 * instruction-tuned chat models with a chat template in the GGUF (the llama-cpp provider uses it),
 * quantized Q4_K_M (about 4.8 bits per weight), from bartowski's widely used single-file
 * conversions. Sizes are approximate download sizes; the memory a model needs is about its file
 * plus the KV cache (≈ 0.1–0.5 GB at a 4k context for these sizes).
 *
 * A draft model (speculative decoding, Leviathan et al. 2023) must share its target's vocabulary:
 * Qwen2.5 drafts for Qwen2.5 and Llama 3.2 for Llama 3.2. No sha256 is pinned here: the digests
 * could not be checked from this offline build, and a wrong pinned digest would reject a good
 * file — pass `--sha256` to `tandem models pull` to verify a download.
 */
import { availableParallelism, totalmem } from "node:os";

/** One recommended model. */
export interface ModelPreset {
  /** Short name used on the command line (`tandem models pull qwen2.5-0.5b`). */
  name: string;
  /** Hub URI for node-llama-cpp's resolver. */
  uri: string;
  /** Local file name the download is saved under (also what `tandem init` writes in `path`). */
  fileName: string;
  family: "qwen2.5" | "llama3.2";
  /** Parameters, billions. */
  paramsB: number;
  /** Approximate download size, GB (10^9 bytes). */
  sizeGB: number;
  /** Roles it suits. */
  roles: ReadonlyArray<"weak" | "strong" | "draft">;
  license: string;
}

/** The presets, smallest first. */
export const MODEL_PRESETS: readonly ModelPreset[] = [
  { name: "qwen2.5-0.5b", uri: "hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", fileName: "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", family: "qwen2.5", paramsB: 0.5, sizeGB: 0.4, roles: ["weak", "draft"], license: "Apache-2.0" },
  { name: "llama3.2-1b", uri: "hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", fileName: "Llama-3.2-1B-Instruct-Q4_K_M.gguf", family: "llama3.2", paramsB: 1.2, sizeGB: 0.8, roles: ["weak", "draft"], license: "Llama 3.2 Community License" },
  { name: "qwen2.5-1.5b", uri: "hf:bartowski/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M", fileName: "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf", family: "qwen2.5", paramsB: 1.5, sizeGB: 1.0, roles: ["weak", "strong"], license: "Apache-2.0" },
  { name: "llama3.2-3b", uri: "hf:bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M", fileName: "Llama-3.2-3B-Instruct-Q4_K_M.gguf", family: "llama3.2", paramsB: 3.2, sizeGB: 2.0, roles: ["weak", "strong"], license: "Llama 3.2 Community License" },
  { name: "qwen2.5-3b", uri: "hf:bartowski/Qwen2.5-3B-Instruct-GGUF:Q4_K_M", fileName: "Qwen2.5-3B-Instruct-Q4_K_M.gguf", family: "qwen2.5", paramsB: 3.1, sizeGB: 1.9, roles: ["strong"], license: "Qwen Research License" },
  { name: "qwen2.5-7b", uri: "hf:bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M", fileName: "Qwen2.5-7B-Instruct-Q4_K_M.gguf", family: "qwen2.5", paramsB: 7.6, sizeGB: 4.7, roles: ["strong"], license: "Apache-2.0" },
];

/** The preset called `name`, or undefined. */
export function findPreset(name: string): ModelPreset | undefined {
  return MODEL_PRESETS.find((p) => p.name === name.toLowerCase());
}

/** What {@link recommendPresets} suggests for a machine. */
export interface PresetRecommendation {
  /** The machine's memory (GiB, 2^30 bytes) and logical cores the advice was made for. */
  memoryGiB: number;
  cores: number;
  /** A tier label: "small" (< 8 GiB), "medium" (8–16 GiB), "large" (≥ 16 GiB). */
  tier: "small" | "medium" | "large";
  weak: ModelPreset;
  /** A local strong model (for a fully local setup; with a cloud strong model it is not needed). */
  strong: ModelPreset;
  /** A draft model sharing the strong model's vocabulary, or undefined when the machine is too small to hold both. */
  draft?: ModelPreset;
  /** Suggested llama.cpp threads: the logical cores, at most 8 (more rarely helps on CPU). */
  threads: number;
}

/**
 * Weak / strong / draft presets for a machine of `memoryBytes` RAM and `cores` logical cores
 * (default: this machine, from `os.totalmem()` and `os.availableParallelism()`). The rule keeps
 * the weak and strong files together under about a third of the RAM:
 * < 8 GiB → qwen2.5-0.5b weak, qwen2.5-1.5b strong, no draft; 8–16 GiB → 0.5b weak, 3b strong,
 * 0.5b draft; ≥ 16 GiB → 1.5b weak, 7b strong (3b with fewer than 4 cores), 0.5b draft.
 */
export function recommendPresets(memoryBytes: number = totalmem(), cores: number = availableParallelism()): PresetRecommendation {
  const memoryGiB = memoryBytes / 2 ** 30;
  const p = (name: string) => findPreset(name)!;
  const base = { memoryGiB: Math.round(memoryGiB * 10) / 10, cores, threads: Math.max(1, Math.min(8, cores)) };
  if (memoryGiB < 8) return { ...base, tier: "small", weak: p("qwen2.5-0.5b"), strong: p("qwen2.5-1.5b") };
  if (memoryGiB < 16) return { ...base, tier: "medium", weak: p("qwen2.5-0.5b"), strong: p("qwen2.5-3b"), draft: p("qwen2.5-0.5b") };
  // a 7B model on fewer than 4 cores is too slow to be a useful local strong model: stay at 3B
  return { ...base, tier: "large", weak: p("qwen2.5-1.5b"), strong: p(cores < 4 ? "qwen2.5-3b" : "qwen2.5-7b"), draft: p("qwen2.5-0.5b") };
}

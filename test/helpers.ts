/** Paths shared by tests. */
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));
export const modelPath = (file: string) => fileURLToPath(new URL(`../models/${file}`, import.meta.url));
export const sharedData = (path: string) => fileURLToPath(new URL(`../../shared/data/${path}`, import.meta.url));

/**
 * The real weak/strong pair used by strategy tests: stories260K (free) and tinytales-5M (priced
 * USD 1 / 2 per 1M tokens), one thread each. Close both in `afterAll`.
 */
export async function weakStrongPair() {
  const { llamaCpp } = await import("../src/providers/llama-cpp/index.js");
  const weak = llamaCpp({ id: "weak", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 512 });
  const strong = llamaCpp({ id: "strong", path: modelPath("tinytales-5M.gguf"), threads: 1, contextSize: 512, price: { inputPerMillion: 1, outputPerMillion: 2 } });
  return { weak, strong, close: async () => Promise.all([weak.close(), strong.close()]) };
}

/** A one-user-message request with a small completion limit. */
export const ask = (content: string, maxTokens = 12) => ({ messages: [{ role: "user" as const, content }], maxTokens });

/**
 * Pipeline stages around a model. Token-level part: SLM prompt compression (LLMLingua, Jiang et
 * al. 2023) — a small local model drops the least surprising context tokens before the prompt
 * reaches the large model.
 */
export {
  compressPrompt,
  compressionMiddleware,
  promptCompression,
  type CompressionMiddlewareOptions,
  type CompressionOptions,
  type CompressionResult,
  type PromptCompressionOptions,
} from "./compression.js";

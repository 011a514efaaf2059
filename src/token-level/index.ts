/**
 * The token-level layer: what speculative decoding, logit fusion and prompt compression are
 * built on, for local GGUF models that share a vocabulary.
 *
 * - logit-model.ts — the adapter: {@link LocalLogitModel}, a KV-cached handle giving next-token
 *   logits, on weights shared per GGUF path with `llamaCpp` models (providers/llama-cpp/runtime.ts).
 * - distribution.ts — log-softmax, temperature / top-p sampling distributions, seeded draws.
 * - decode.ts — the token model (a decoding loop → a `Model`: prompt, budget, stops, streaming,
 *   logprobs, info) and the shared autoregressive loop.
 * - autoregressive.ts — plain decoding of one handle as a `Model`.
 *
 * Dependencies: core ← providers/llama-cpp ← token-level ← strategies.
 */
export {
  LocalLogitModel,
  withLocks,
  assertSameVocabulary,
  vocabularyFingerprint,
  type LocalLogitModelOptions,
  type LogitScorer,
} from "./logit-model.js";
export { logSoftmax, softmax, argmax, samplingDistribution, sampleFrom, drawToken, type SamplingSettings } from "./distribution.js";
export {
  DEFAULT_MAX_TOKENS,
  runTokenLevel,
  generateFromStream,
  tokenLevelModel,
  autoregressiveLoop,
  tokenRunResult,
  throwIfAborted,
  type DecodeLoop,
  type DecodeContext,
  type EmittedToken,
  type TokenLevelSpec,
} from "./decode.js";
export { autoregressive, type AutoregressiveOptions } from "./autoregressive.js";

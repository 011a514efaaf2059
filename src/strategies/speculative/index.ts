/**
 * Token-level collaboration, part 1: speculative decoding (Leviathan et al. 2023; Chen et al.
 * 2023) for local GGUF models that share a vocabulary, plus the plain autoregressive baseline.
 * Models are {@link LocalLogitModel} handles (providers/llama-cpp/logits.ts).
 */
export {
  speculative,
  autoregressive,
  verifyDraft,
  type SpeculativeOptions,
  type SpeculativeStats,
  type SpeculativeModel,
  type Verification,
  type AutoregressiveOptions,
} from "./speculative.js";
export { DEFAULT_MAX_TOKENS, type DecodeLoop, type DecodeContext, type EmittedToken, type TokenLevelSpec, tokenLevelModel, runTokenLevel } from "./token-model.js";
export { LocalLogitModel, type LocalLogitModelOptions, type LogitScorer } from "../../providers/llama-cpp/logits.js";

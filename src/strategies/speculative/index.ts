/**
 * Token-level collaboration, part 1: speculative decoding (Leviathan et al. 2023; Chen et al.
 * 2023) for local GGUF models that share a vocabulary, plus the plain autoregressive baseline.
 * Models are {@link LocalLogitModel} handles; the token model, sampling math and decoding loop
 * live in the token-level layer (src/token-level/).
 */
export {
  speculative,
  verifyDraft,
  type SpeculativeOptions,
  type SpeculativeStats,
  type SpeculativeModel,
  type Verification,
} from "./speculative.js";
export { autoregressive, type AutoregressiveOptions } from "../../token-level/autoregressive.js";
/** Re-exported from src/token-level/ for the old import path (the lead removes these at the end of #11). */
export { DEFAULT_MAX_TOKENS, type DecodeLoop, type DecodeContext, type EmittedToken, type TokenLevelSpec, tokenLevelModel, runTokenLevel } from "../../token-level/decode.js";
export { LocalLogitModel, type LocalLogitModelOptions, type LogitScorer } from "../../token-level/logit-model.js";

/**
 * @deprecated Moved to src/token-level/decode.ts (the token model is shared by speculative
 * decoding, fusion and plain decoding); this re-export keeps the old import path compiling.
 */
export {
  DEFAULT_MAX_TOKENS,
  runTokenLevel,
  generateFromStream,
  tokenLevelModel,
  throwIfAborted,
  type DecodeLoop,
  type DecodeContext,
  type EmittedToken,
  type TokenLevelSpec,
} from "../../token-level/decode.js";

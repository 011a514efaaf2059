/**
 * @deprecated Moved to src/token-level/ (logit-model.ts, distribution.ts); this re-export keeps
 * the old import path compiling until its users move (the lead removes it at the end of #11).
 */
export {
  LocalLogitModel,
  withLocks,
  assertSameVocabulary,
  vocabularyFingerprint,
  type LocalLogitModelOptions,
  type LogitScorer,
} from "../../token-level/logit-model.js";
export { logSoftmax, softmax, argmax, samplingDistribution, sampleFrom, type SamplingSettings } from "../../token-level/distribution.js";
/** @deprecated Import from core/random.ts. */
export { seededRandom, type Random } from "../../core/random.js";

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
// The classify, rewrite and format stages (docs/pipeline.md).
export { TfidfTextClassifier, slmClassifier, parseLabel, type LabelPrediction, type LabelledPrompt, type SlmClassifierOptions, type TextClassifier, type TextClassifierFile, type TfidfClassifierOptions } from "./classifier.js";
export { classify, type ClassifyDecision, type ClassifyOptions } from "./classify.js";
export { DEFAULT_REWRITE_INSTRUCTION, cleanRewrite, planRewrite, queryRewrite, rewriteMiddleware, type QueryRewriteOptions, type RewriteOptions, type RewritePlan } from "./rewrite.js";
export {
  fencedJson,
  formatMiddleware,
  requestedSchema,
  schemaValidator,
  structuredOutput,
  validateAnswer,
  type FormatOptions,
  type FormatOutcome,
  type ResponseFormat,
  type ResponseFormatRequest,
  type SchemaValidator,
  type StructuredOutputOptions,
  type Validation,
} from "./format.js";

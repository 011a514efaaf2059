/**
 * Former home of the OpenAI response shapes, kept so existing imports compile.
 * @deprecated The `tandem` field and headers live in projection.ts; the OpenAI body and chunks in
 * openai/chat.ts.
 */
export { tandemField, tandemHeaders, type TandemField } from "./projection.js";
export { chunk, completionBody } from "./openai/chat.js";

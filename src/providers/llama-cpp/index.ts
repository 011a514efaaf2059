export { llamaCpp, type LlamaCppModel, type LlamaCppOptions } from "./provider.js";
export { renderPlainPrompt, renderPromptTokens, plainStops, DEFAULT_PLAIN_TEMPLATE, type PlainTemplate } from "./prompt.js";
export { getLlamaRuntime, defaultThreads, acquireLlamaModel, llamaModelCacheStats, type SharedLlamaModel } from "./runtime.js";

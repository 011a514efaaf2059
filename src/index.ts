/**
 * Tandem's public API: providers create `Model`s, strategies take models and return a `Model`,
 * the policy builder and gateway serve them.
 */
export * from "./core/model.js";
export * from "./core/wire.js";
export { TandemError, toTandemError, ERROR_CODES, type ErrorCode, type OpenAIErrorBody } from "./core/errors.js";
export { StopMatcher } from "./core/stop.js";
export { llamaCpp, type LlamaCppModel, type LlamaCppOptions, renderPlainPrompt, DEFAULT_PLAIN_TEMPLATE, type PlainTemplate, getLlamaRuntime, defaultThreads } from "./providers/llama-cpp/index.js";
export { openaiCompatible, type OpenAICompatibleOptions } from "./providers/openai-compatible.js";
export * from "./strategies/route/index.js";
export * from "./strategies/cascade/index.js";
export { buildPolicy, loadPolicyFile, parsePolicy, defaultPolicyPath, type BuiltPolicy, type Policy } from "./policy/index.js";
export { createGatewayApp, toGenerateRequest, type GatewayOptions } from "./server/app.js";
export { listen, type RunningServer } from "./server/listen.js";
export { GatewayMetrics } from "./server/metrics.js";
export { openTraceStore, type Trace, type TraceStore } from "./store/traces.js";

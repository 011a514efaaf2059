/**
 * Tandem's public API: providers create `Model`s, strategies take models and return a `Model`,
 * the policy builder and gateway serve them.
 */
export * from "./core/model.js";
export * from "./core/wire.js";
export { TandemError, toTandemError, ERROR_CODES, type ErrorCode, type OpenAIErrorBody } from "./core/errors.js";
export { StopMatcher } from "./core/stop.js";
export { wrapModel, type ModelMiddleware, type WrapModelOptions } from "./core/middleware.js";
export { decision, callRecord, ownInfo, withDecision, withCallsBefore, strategyInfo, mapResultInfo, mapStreamInfo } from "./strategies/info.js";
export { llamaCpp, type LlamaCppModel, type LlamaCppOptions, renderPlainPrompt, DEFAULT_PLAIN_TEMPLATE, type PlainTemplate, getLlamaRuntime, defaultThreads } from "./providers/llama-cpp/index.js";
export { openaiCompatible, type OpenAICompatibleOptions } from "./providers/openai-compatible.js";
export * from "./strategies/route/index.js";
export * from "./strategies/cascade/index.js";
export { buildPolicy, loadPolicyFile, parsePolicy, defaultPolicyPath, type BuiltPolicy, type Policy } from "./policy/index.js";
export { registerStrategy, strategyDefinition, strategyKinds, defineStrategy, modelRef, type BuildContext, type StrategyDefinition } from "./strategies/registry.js";
export { race, type RaceOptions } from "./strategies/race/index.js";
export { personalize, runAsCaller, userCalibration, hashingEmbedder, edgeEmbedder, ruleExtractor, type PersonalizeOptions, type CloudMemoryPolicy, type MemoryEmbedder, type MemoryExtractor } from "./strategies/personalize/index.js";
export { openMemoryStore, sharedMemoryStore, type MemoryStore, type MemoryOwner, type MemoryEntry } from "./store/memory.js";
export { rank, type RankOptions, consensusRanker, judgeRanker, scorerRanker, loadRankScorer, trainRankScorer, RankScorer, canonicalAnswer, type CanonicalKind, type Ranker, type RankChoice, type RankScorerFile, type ScorerGroup } from "./strategies/rank/index.js";
export { verify, type VerifyOptions, AUTOMIX_VERIFIER_PROMPT, parseVerdict, verifyAnswer, type VerificationResult, type VerifierOptions } from "./strategies/verify/index.js";
export type { SpendLedger, SpendState, RateLimiter, Breaker, BreakerFactory, BreakerSettings, RouterStats, SharedState } from "./core/ports.js";
export { createGateway, buildGateway, loadGatewayFile, gatewayAppOptions, type Gateway, type GatewayParts, type GatewayBuildOptions, type CreateGatewayOptions } from "./gateway/index.js";
export { createGatewayApp, toGenerateRequest, type GatewayOptions } from "./server/app.js";
export { listen, type RunningServer } from "./server/listen.js";
export { GatewayMetrics } from "./server/metrics.js";
export { openTraceStore, type Trace, type TraceStore } from "./store/traces.js";
export { ShadowEvaluator, buildShadow, routePreview, modelPairwiseJudge, parsePairwiseVerdict, bernoulliSampler, shadowReport, formatShadowReport, openShadowStore, memoryShadowStore, type ShadowEvent, type ShadowRecord, type ShadowReport, type ShadowStore, type PairwiseJudge, type ShadowRuntime } from "./shadow/index.js";
export * from "./strategies/fallback/index.js";
export * from "./strategies/speculative/index.js";
export * from "./strategies/fusion/index.js";
export * from "./strategies/pipeline/index.js";
export { privacy, privacyMiddleware, type PrivacyOptions, type PrivacyMiddlewareOptions, type PrivacyMode } from "./strategies/privacy/index.js";
export { guard, guardMiddleware, type GuardOptions, type GuardMiddlewareOptions } from "./strategies/guard/index.js";
export { createDetector, slmDetector } from "./pii/index.js";
export { LocalLogitModel } from "./token-level/logit-model.js";
export { ReplayModel, type ReplayModelOptions } from "./providers/replay.js";
export { KeyRing, hashApiKey, type ApiKeySpec } from "./server/auth.js";
export { embeddingWorstCase, vectorToBase64, base64ToVector, normalizeL2, type EmbeddingModel, type EmbedRequest, type EmbedResult } from "./core/embedding.js";
export { llamaCppEmbeddings, type LlamaCppEmbeddingModel, type LlamaCppEmbeddingsOptions } from "./providers/llama-cpp/embeddings.js";
export { openaiCompatibleEmbeddings, type OpenAICompatibleEmbeddingsOptions } from "./providers/openai-compatible-embeddings.js";
export { privacyEmbeddings, type PrivacyEmbeddingsOptions } from "./strategies/privacy/embeddings.js";

/**
 * `tandem/browser`: Tandem's collaboration core for the page — the device the surveys mean by
 * "edge" (arXiv 2505.07460). The same `Model` interface and the same strategy code as the server
 * (not a port): `route` (RouteLLM-style routers), `cascade` (FrugalGPT/AutoMix signals),
 * `fallback` with its circuit breaker (offline operation), `privacy` (HaS hide-and-seek: detector
 * + placeholders, restored in the page, streams included), the guard's stage-one harm classifier,
 * plus two providers that run in a page: {@link wllamaModel} (a GGUF in WebAssembly) and
 * {@link fetchModel} (any OpenAI-compatible endpoint: a Tandem gateway, or a cloud API behind the
 * user's own key).
 *
 * No Node built-in is reachable from this entry: the browser bundle (src/server/playground/bundle.ts,
 * `npm run build`) is built for esbuild's browser platform and fails on any `node:*`/built-in import.
 * Model files the server-side loaders read from disk (the PII tagger, routers, the guard model)
 * are passed here as parsed JSON (e.g. fetched by the page): {@link createDetectorFromFile},
 * {@link loadRouter}, `GuardClassifier.fromJSON`.
 */
export * from "../core/model.js";
export * from "../core/wire.js";
export { TandemError, toTandemError, ERROR_CODES, type ErrorCode, type OpenAIErrorBody } from "../core/errors.js";
export { StopMatcher } from "../core/stop.js";
export { wrapModel, type ModelMiddleware, type WrapModelOptions } from "../core/middleware.js";
export { decision, callRecord, ownInfo, withDecision, withCallsBefore, strategyInfo, mapResultInfo, mapStreamInfo } from "../strategies/info.js";

// strategies
export { route, routerScore, decideRoute, type RouteOptions } from "../strategies/route/route.js";
export type { Router, RouterFile, RouterInput } from "../strategies/route/router.js";
export { loadRouter, registerRouterKind, routerKinds, type RouterLoader } from "../strategies/route/kinds.js";
export { HeuristicRouter, DEFAULT_HEURISTIC_WEIGHTS, heuristicFeatures, type HeuristicWeights } from "../strategies/route/routers/heuristic.js";
export { RandomRouter } from "../strategies/route/routers/random.js";
export { localRouterStats, thresholdForShare, type RouterStats } from "../strategies/route/stats.js";
export { cascade, majorityVote, meanLogprob, minLogprob, normalizeAnswer, type CascadeOptions, type CascadeSignal } from "../strategies/cascade/index.js";
export { fallback, CircuitBreaker, type FallbackModel, type FallbackOptions, type MidStreamPolicy, type Breaker, type CircuitSnapshot, type CircuitState } from "../strategies/fallback/index.js";
export {
  privacy,
  privacyMiddleware,
  hideRequest,
  restoreResult,
  restoreStream,
  PlaceholderVault,
  StreamRestorer,
  PLACEHOLDER_RE,
  type PrivacyOptions,
  type PrivacyMiddlewareOptions,
  type PrivacyMode,
  type HiddenRequest,
} from "../strategies/privacy/index.js";

// privacy: the edge PII detector, from a tagger JSON the page fetched
export { createDetectorFromFile, detectorWithTagger, PATTERN_TYPES, type DetectorCoreOptions } from "../pii/detect.js";
export { PerceptronTagger, type TaggerFile } from "../pii/tagger.js";
export { DEFAULT_RECOGNIZERS, findPatternSpans, resolveOverlaps, type PatternRecognizer } from "../pii/patterns.js";
export { ENTITY_TYPES, type EntityType, type PiiDetector, type PiiSpan } from "../pii/types.js";

// trust: the guard's stage-one classifier (models/guard.json, fetched)
export { GuardClassifier, guardFeatures, type GuardClassifierFile } from "../safety/guard-classifier.js";

// providers that run in a page
export { wllamaModel, type WllamaModel, type WllamaModelOptions, type GgufSource } from "./wllama.js";
export { fetchModel, type FetchModelOptions } from "./fetch.js";
export { offlineFallback, type OfflineFallbackOptions } from "./offline.js";
export { DEFAULT_PLAIN_TEMPLATE, renderPlainPrompt, plainStops, type PlainTemplate } from "../providers/llama-cpp/plain.js";

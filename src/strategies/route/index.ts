/**
 * The `route` strategy (RouteLLM, Ong et al. 2024; RouterBench, Hu et al. 2024): a router scores
 * each request before generation with P(weak model not good enough) ∈ [0, 1]; requests with
 * `score > threshold` go to the strong model, the rest to the weak one. The threshold's meaning:
 * raising it sends less traffic to the strong model; calibrate it to a target strong-call share
 * with `tandem router calibrate`, or set `strongShare` to calibrate it online (`stats.ts`).
 */
// The strategy (browser-safe) lives in route.ts; router kinds in kinds.ts; router files (node:fs) in registry.ts.
export { route, routerScore, decideRoute, type RouteOptions } from "./route.js";
export type { Router, RouterFile, RouterInput } from "./router.js";
export { loadRouter, loadRouterFile, registerRouterKind, routerKinds } from "./registry.js";
export { HeuristicRouter, DEFAULT_HEURISTIC_WEIGHTS, heuristicFeatures, type HeuristicWeights } from "./routers/heuristic.js";
export { RandomRouter } from "./routers/random.js";
export { localRouterStats, thresholdForShare, scoreBin, SCORE_BINS, type RouterStats } from "./stats.js";

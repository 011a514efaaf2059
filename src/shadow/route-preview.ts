/**
 * The decision of a `route` candidate (RouteLLM-style: score > threshold → strong) taken without
 * generating: the same `routerScore` and `decideRoute` the served strategy runs
 * (src/strategies/route), at the route's fixed threshold.
 */
import type { Model } from "../core/model.js";
import { decideRoute, routerScore, type Router } from "../strategies/route/index.js";
import type { RoutePreview } from "./evaluator.js";

/** A {@link RoutePreview} of a route over `weak`/`strong` with `router` and `threshold` ∈ [0, 1]. Errors (at decide time): the router's. */
export function routePreview(options: { id: string; weak: Model; strong: Model; router: Router; threshold: number }): RoutePreview {
  return {
    weak: options.weak,
    strong: options.strong,
    decide(request) {
      const score = routerScore(options.router, request);
      const { decision } = decideRoute(options, request, score);
      return { side: decision.escalated ? "strong" : "weak", score, threshold: decision.threshold };
    },
  };
}

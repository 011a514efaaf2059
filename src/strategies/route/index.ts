/**
 * The `route` strategy (RouteLLM, Ong et al. 2024; RouterBench, Hu et al. 2024): a router scores
 * each request before generation with P(weak model not good enough) ∈ [0, 1]; requests with
 * `score > threshold` go to the strong model, the rest to the weak one. The threshold's meaning:
 * raising it sends less traffic to the strong model; calibrate it to a target strong-call share
 * with `tandem router calibrate`.
 */
import { TandemError } from "../../core/errors.js";
import { combinedLocation, type Decision, type GenerateRequest, type Model } from "../../core/model.js";
import { lastUserText } from "../../core/wire.js";
import { mapStreamInfo, strategyInfo } from "../info.js";
import type { Router } from "./router.js";

export type { Router, RouterFile, RouterInput } from "./router.js";
export { loadRouter, loadRouterFile, registerRouterKind, routerKinds } from "./registry.js";
export { HeuristicRouter, DEFAULT_HEURISTIC_WEIGHTS, heuristicFeatures, type HeuristicWeights } from "./routers/heuristic.js";
export { RandomRouter } from "./routers/random.js";

/** Options of {@link route}. */
export interface RouteOptions {
  /** Name of the strategy (served model name). Default "route". */
  name?: string;
  weak: Model;
  strong: Model;
  router: Router;
  /** Router-score threshold in [0, 1]: score > threshold → strong. */
  threshold: number;
}

/** The routing decision for one request, without generating. */
export function decideRoute(options: RouteOptions, request: GenerateRequest): { target: Model; decision: Decision } {
  const score = options.router.score({ prompt: lastUserText(request.messages), messages: request.messages });
  if (!Number.isFinite(score)) throw new TandemError("internal_error", `Router '${options.router.kind}' returned a non-finite score`);
  const escalated = score > options.threshold;
  const target = escalated ? options.strong : options.weak;
  return {
    target,
    decision: {
      strategy: "route",
      name: options.name ?? "route",
      signal: `router:${options.router.kind}`,
      score,
      threshold: options.threshold,
      chosen: target.id,
      escalated,
      reason: escalated
        ? `router score ${score.toFixed(3)} > threshold ${options.threshold}: strong model`
        : `router score ${score.toFixed(3)} ≤ threshold ${options.threshold}: weak model`,
    },
  };
}

/**
 * Creates a routing model. Errors: those of the chosen model; `invalid_policy` for a threshold
 * outside [0, 1].
 */
export function route(options: RouteOptions): Model {
  if (!(options.threshold >= 0 && options.threshold <= 1)) {
    throw new TandemError("invalid_policy", `route threshold must be in [0, 1], got ${options.threshold}`);
  }
  const name = options.name ?? "route";
  const price = options.strong.price;
  return {
    id: name,
    location: combinedLocation([options.weak, options.strong]),
    price,
    async generate(request, signal) {
      const { target, decision } = decideRoute(options, request);
      const result = await target.generate(request, signal);
      return { ...result, info: strategyInfo(result, decision, price) };
    },
    stream(request, signal) {
      const { target, decision } = decideRoute(options, request);
      return mapStreamInfo(target.stream(request, signal), (r) => strategyInfo(r, decision, price));
    },
  };
}

/**
 * The `route` strategy itself (see index.ts for the method): the router's score, the decision and
 * the model. No file access, so it also runs in a browser (`tandem/browser`); loading router
 * files is registry.ts's.
 */
import { TandemError } from "../../core/errors.js";
import { combinedLocation, maxWorstCase, worstCaseOf, type Decision, type GenerateRequest, type Model } from "../../core/model.js";
import { lastUserText } from "../../core/wire.js";
import { mapStreamInfo, strategyInfo } from "../info.js";
import type { UserThresholdHook } from "../personalize/calibration.js";
import type { Router } from "./router.js";
import { localRouterStats, thresholdForShare, type RouterStats } from "./stats.js";

/** Options of {@link route}. */
export interface RouteOptions {
  /** Id of the strategy (served model name). Default "route". */
  id?: string;
  /** @deprecated Use `id` (kept as an alias). */
  name?: string;
  weak: Model;
  strong: Model;
  router: Router;
  /** Router-score threshold in [0, 1]: score > threshold → strong. With `strongShare`: the threshold used until `minObservations` scores have been seen. */
  threshold: number;
  /**
   * Online calibration: the share of requests in [0, 1] to send to the strong model. The threshold
   * then follows the running distribution of router scores (see `stats.ts`) instead of staying fixed.
   */
  strongShare?: number;
  /** Scores to observe before the online threshold replaces `threshold`. Default 50. */
  minObservations?: number;
  /** Where the score statistics live (default: this process's memory; Redis when the policy names one). */
  stats?: RouterStats;
  /**
   * Per-user calibration (personalization, src/strategies/personalize/calibration.ts): for a
   * request with a `user`, the (fixed or online) threshold moved by that user's offset, learnt
   * from their feedback. Absent: one threshold for everyone.
   */
  userThreshold?: UserThresholdHook;
}

/** The router's score of a request, in [0, 1]. Errors: `internal_error` for a non-finite score. */
export function routerScore(router: Router, request: GenerateRequest): number {
  const score = router.score({ prompt: lastUserText(request.messages), messages: request.messages });
  if (!Number.isFinite(score)) throw new TandemError("internal_error", `Router '${router.kind}' returned a non-finite score`);
  return score;
}

/**
 * The routing decision for one request, without generating: `score` defaults to the router's,
 * the threshold to the options' fixed one unless an `online` (calibrated) one is given.
 */
export function decideRoute(
  options: RouteOptions,
  request: GenerateRequest,
  score = routerScore(options.router, request),
  online?: { threshold: number; label?: string },
): { target: Model; decision: Decision } {
  const threshold = online?.threshold ?? options.threshold;
  const escalated = score > threshold;
  const target = escalated ? options.strong : options.weak;
  return {
    target,
    decision: {
      strategy: "route",
      name: options.id ?? options.name ?? "route",
      signal: `router:${options.router.kind}`,
      score,
      threshold,
      chosen: target.id,
      escalated,
      reason: `router score ${score.toFixed(3)} ${escalated ? ">" : "≤"} ${online?.label ?? (online ? `online threshold (strong share ${options.strongShare})` : "threshold")} ${round(threshold)}: ${escalated ? "strong" : "weak"} model`,
    },
  };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * Creates a routing model. Errors: those of the chosen model; `invalid_policy` for a threshold or
 * strong share outside [0, 1]. With `strongShare`, a statistics store that cannot be reached makes
 * the request use the fixed threshold (logged), never fail.
 */
export function route(options: RouteOptions): Model {
  if (!(options.threshold >= 0 && options.threshold <= 1)) {
    throw new TandemError("invalid_policy", `route threshold must be in [0, 1], got ${options.threshold}`);
  }
  if (options.strongShare !== undefined && !(options.strongShare >= 0 && options.strongShare <= 1)) {
    throw new TandemError("invalid_policy", `route strongShare must be in [0, 1], got ${options.strongShare}`);
  }
  const name = options.id ?? options.name ?? "route";
  const price = options.strong.price;
  const stats = options.strongShare === undefined ? undefined : (options.stats ?? localRouterStats());
  const minObservations = options.minObservations ?? 50;

  /** Scores the request; with online calibration, counts the score and takes the threshold from the scores seen before it. */
  async function decide(request: GenerateRequest) {
    const score = routerScore(options.router, request);
    let online: { threshold: number } | undefined;
    if (stats) {
      try {
        const histogram = await stats.observe(name, score);
        const seen = histogram.reduce((s, x) => s + x, 0);
        const threshold = seen >= minObservations ? thresholdForShare(histogram, options.strongShare!) : undefined;
        if (threshold !== undefined) online = { threshold };
      } catch (error) {
        console.error(`tandem: route '${name}': router statistics unavailable, using the fixed threshold: ${(error as Error).message}`);
      }
    }
    const user = options.userThreshold?.threshold(name, online?.threshold ?? options.threshold, request);
    if (!user) return decideRoute(options, request, score, online);
    const base = online ? `online threshold (strong share ${options.strongShare})` : "threshold";
    const decided = decideRoute(options, request, score, { threshold: user.threshold, label: `user's ${base} (offset ${user.offset >= 0 ? "+" : ""}${round(user.offset)})` });
    options.userThreshold!.decided(name, user.owner, { score, threshold: user.threshold, escalated: decided.decision.escalated });
    return decided;
  }

  return {
    id: name,
    location: combinedLocation([options.weak, options.strong]),
    price,
    ...(options.userThreshold ? { close: async () => options.userThreshold!.close() } : {}),
    /** One of the two runs. */
    worstCase: (perCall) => maxWorstCase([worstCaseOf(options.weak, perCall), worstCaseOf(options.strong, perCall)]),
    async generate(request, signal) {
      const { target, decision } = await decide(request);
      const result = await target.generate(request, signal);
      return { ...result, info: strategyInfo(result, decision, price) };
    },
    async *stream(request, signal) {
      const { target, decision } = await decide(request);
      yield* mapStreamInfo(target.stream(request, signal), (r) => strategyInfo(r, decision, price));
    },
  };
}

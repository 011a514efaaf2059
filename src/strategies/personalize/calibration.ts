/**
 * Per-user router calibration: a `route`'s threshold moved, for one user, by what that user's
 * feedback said about the answers the weak model gave them.
 *
 * The signal: feedback (`POST /v1/tandem/feedback`) on a trace the route sent to the **weak**
 * model. A thumbs-down there says the router should have escalated for this user (their threshold
 * is too high); a thumbs-up that the weak model was enough (it may be higher). Feedback on a
 * strong-served answer says nothing about the weak model and is not counted.
 *
 * The formula (empirical-Bayes shrinkage toward the tenant's population, as in a Beta-binomial
 * model of each user's dissatisfaction rate with the weak model):
 *
 *     p0  = (neg_T + 1) / (pos_T + neg_T + 2)              the tenant's rate, Laplace-smoothed
 *     p_u = (neg_u + κ·p0) / (pos_u + neg_u + κ)           the user's rate, shrunk toward p0
 *     offset_u = −2·Δ·(p_u − p0)                           in [−2Δ, 2Δ], clamped to [−Δ, Δ]
 *     t_u = clamp(t + offset_u, 0, 1)
 *
 * with t the route's threshold (fixed or online-calibrated), (pos_u, neg_u) the user's positive
 * and negative feedback on weak-served answers, (pos_T, neg_T) the same over every user of the
 * tenant, κ the prior strength in pseudo-feedback (default 8) and Δ the largest move (default
 * 0.2). A user without feedback, or whose rate equals the population's, keeps t exactly; a user
 * pickier than the population gets a lower threshold (more strong-model answers); the population
 * as a whole keeps t (its share is what `strongShare`/`tandem router calibrate` set).
 */
import type { GenerateRequest } from "../../core/model.js";
import type { FeedbackCounts, MemoryOwner, MemoryStore } from "../../store/memory.js";
import { currentCaller, memoryIsReadOnly, onPersonalFeedback } from "./caller.js";

/** Settings of per-user calibration. */
export interface UserCalibrationOptions {
  /** κ: prior strength, in pseudo-feedback. Default 8. */
  priorStrength?: number;
  /** Δ: the largest threshold move, in router-score units. Default 0.2. */
  maxOffset?: number;
}

/** The offset of a user's threshold from their feedback counts and their tenant's (see module doc). */
export function userThresholdOffset(user: FeedbackCounts, tenant: FeedbackCounts, options: UserCalibrationOptions = {}): number {
  const kappa = options.priorStrength ?? 8;
  const delta = options.maxOffset ?? 0.2;
  if (!(kappa > 0) || !(delta >= 0 && delta <= 1)) throw new RangeError(`user calibration: priorStrength must be > 0 and maxOffset in [0, 1]`);
  const p0 = (tenant.negative + 1) / (tenant.positive + tenant.negative + 2);
  const n = user.positive + user.negative;
  const pu = (user.negative + kappa * p0) / (n + kappa);
  const offset = -2 * delta * (pu - p0);
  return Math.max(-delta, Math.min(delta, offset)) + 0; // + 0: never -0
}

/** The identity of the request's user, or undefined when it has no `user` (no personalization). */
export function ownerOf(request: GenerateRequest, fallbackTenant = ""): MemoryOwner | undefined {
  if (typeof request.user !== "string" || request.user.length === 0) return undefined;
  return { tenant: currentCaller()?.tenant ?? fallbackTenant, user: request.user };
}

/**
 * The hook a `route` takes (`RouteOptions.userThreshold`): the threshold for this request's user,
 * and what to record once the decision is made. Built by {@link userCalibration}.
 */
export interface UserThresholdHook {
  /** The user's threshold for `route` given the route's base threshold; undefined when the request has no user. */
  threshold(route: string, base: number, request: GenerateRequest): { threshold: number; offset: number; owner: MemoryOwner } | undefined;
  /** Records the decision for the trace (when the gateway announces its id), so feedback on it reaches the user's counts; nothing in a read-only (shadow) run. */
  decided(route: string, owner: MemoryOwner, decision: { score: number; threshold: number; escalated: boolean }): void;
  /** Stops listening to feedback and releases the store. */
  close(): void;
}

/**
 * Per-user calibration over a memory store (src/store/memory.ts): listens to the gateway's
 * feedback (caller.ts), keeps the counts in the store, and answers each user's threshold.
 * `tenant`: the tenant outside a gateway request. The store is closed by `close()`.
 */
export function userCalibration(store: MemoryStore, options: UserCalibrationOptions & { tenant?: string } = {}): UserThresholdHook {
  userThresholdOffset({ positive: 0, negative: 0 }, { positive: 0, negative: 0 }, options); // validates the options
  const stop = onPersonalFeedback(({ traceId, score }) => void store.addFeedback(traceId, score));
  return {
    threshold(route, base, request) {
      const owner = ownerOf(request, options.tenant);
      if (!owner) return undefined;
      const offset = userThresholdOffset(store.feedbackCounts(owner, route), store.tenantFeedbackCounts(owner.tenant, route), options);
      return { threshold: Math.max(0, Math.min(1, base + offset)), offset, owner };
    },
    decided(route, owner, decision) {
      if (memoryIsReadOnly()) return; // a shadow run's decision was never served: feedback must not count it
      const caller = currentCaller();
      caller?.onTrace.push((traceId) => store.linkTrace({ traceId, ...owner, route, ...decision }));
    },
    close() {
      stop();
      store.close();
    },
  };
}

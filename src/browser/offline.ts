/**
 * Offline operation in the page (the surveys' "offline operation": when the cloud is unreachable
 * the SLM serves, marked degraded). A thin preset of the `fallback` strategy with the server's
 * breaker semantics (Nygard's circuit breaker, strategies/fallback/circuit-breaker.ts): the cloud
 * side serves while it answers; when the network is unreachable (the fetch provider fails fast
 * when `navigator.onLine` is false) the in-page model answers, marked `degraded: true` with a
 * `fallback` decision whose reason is the error; after `failureThreshold` consecutive failures the
 * cloud is not even tried for `cooldownMs`, then one probe request goes through and, when the
 * network is back, closes the circuit — the cloud path resumes.
 */
import type { Model } from "../core/model.js";
import { fallback, type FallbackModel, type FallbackOptions } from "../strategies/fallback/index.js";

/** Options of {@link offlineFallback}. */
export interface OfflineFallbackOptions {
  /** Id of the strategy. @default "offline-fallback" */
  id?: string;
  /** The cloud side (a fetch model, or a strategy over one, e.g. `privacy({ remote: fetchModel(…) })`). */
  cloud: Model;
  /** The in-page model (e.g. `wllamaModel(…)`): serves when the cloud is unreachable. */
  edge: Model;
  /** Consecutive cloud failures that open the breaker. @default 2 */
  failureThreshold?: number;
  /** ms the breaker stays open before one probe. @default 10,000 */
  cooldownMs?: number;
  /** ms for the cloud to produce its first token (or whole answer) before the edge serves. @default none */
  firstTokenTimeoutMs?: number;
  /** Breaker clock in ms (default `Date.now`); injectable for tests. */
  now?: () => number;
  /** Any other `fallback` option (retries, midStream…); retries default to 0: in a page a retry only delays the edge answer. */
  fallback?: Partial<Omit<FallbackOptions, "primary" | "fallbacks">>;
}

/**
 * Cloud first, the in-page model when the cloud is unreachable (see module docs). Errors: those of
 * `fallback` — `invalid_policy` for bad options; when both sides fail, the last failure's code.
 * @example const served = offlineFallback({ cloud: privacy({ detector, remote: fetchModel({ baseURL, model: "strong" }) }), edge });
 */
export function offlineFallback(options: OfflineFallbackOptions): FallbackModel {
  return fallback({
    id: options.id ?? "offline-fallback",
    primary: options.cloud,
    fallbacks: [options.edge],
    retries: 0,
    breaker: { failureThreshold: options.failureThreshold ?? 2, cooldownMs: options.cooldownMs ?? 10_000 },
    firstTokenTimeoutMs: options.firstTokenTimeoutMs,
    now: options.now,
    ...options.fallback,
  });
}

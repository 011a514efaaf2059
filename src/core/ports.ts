/**
 * Ports: the interfaces of the state that strategies and the gateway keep — spend ledgers, rate
 * limiters, circuit breakers, router score statistics — declared here, below both their users
 * (src/strategies, src/server) and their implementations (in-process ones beside their users,
 * shared ones in src/store and src/store/redis). So `store/` depends on `core/` only and knows
 * no strategy; a strategy takes a port and never knows whether Redis is behind it.
 */

// ── Spend (USD per API key) ─────────────────────────────────────────────────────────────────

/** Spend of one key in USD. */
export interface SpendState {
  /** Settled spend, USD. */
  spentUsd: number;
  /** Reserved for requests in flight, USD. */
  reservedUsd: number;
}

/** A ledger of USD spend per key. All methods are atomic with respect to every other caller of the same ledger. */
export interface SpendLedger {
  state(key: string): Promise<SpendState>;
  /**
   * Reserves `usd` for `key` if `spent + reserved + usd ≤ budgetUsd`. Returns the reservation's
   * id, or `undefined` when the budget would be exceeded.
   */
  reserve(key: string, usd: number, budgetUsd: number): Promise<string | undefined>;
  /** Releases reservation `id` (of `reservedUsd`) and records the actual `spentUsd`. */
  settle(key: string, id: string, reservedUsd: number, spentUsd: number): Promise<void>;
  close(): Promise<void>;
}

// ── Rate limits (requests and tokens per key over a sliding window) ────────────────────────

/** Request and token limits over a sliding window. Windows and times in ms. */
export interface RateLimiter {
  /**
   * Counts one request of `key` if fewer than `limit` were counted in the last `windowMs`;
   * returns false (and counts nothing) otherwise. Atomic check-and-count.
   */
  admitRequest(key: string, limit: number, windowMs: number): Promise<boolean>;
  /** Tokens recorded for `key` in the last `windowMs`. */
  tokensInWindow(key: string, windowMs: number): Promise<number>;
  /** Records `tokens` used by `key` now. */
  addTokens(key: string, tokens: number): Promise<void>;
  /**
   * Reserves `tokens` for one request of `key` if the tokens of the last `windowMs`, plus those
   * reserved by requests in flight, plus `tokens` stay ≤ `limit` — or if nothing at all is counted
   * (so a request larger than the limit can still run alone). Returns the reservation's id, or
   * `undefined` (refused, nothing reserved). Atomic check-and-reserve.
   */
  reserveTokens(key: string, tokens: number, limit: number, windowMs: number): Promise<string | undefined>;
  /** Releases reservation `id` of `key` and records the `actual` tokens used, now. Idempotent per id. */
  settleTokens(key: string, id: string, actual: number): Promise<void>;
  close(): Promise<void>;
}

// ── Circuit breakers (the fallback strategy) ───────────────────────────────────────────────

/** State of a circuit breaker. */
export type CircuitState = "closed" | "open" | "half-open";

/** What a breaker looks like now (for metrics, `/health` and traces). */
export interface CircuitSnapshot {
  state: CircuitState;
  /** Failures since the last success. */
  consecutiveFailures: number;
  /** Epoch ms (in the breaker's clock) when it last opened; undefined if it never did. */
  openedAt?: number;
  /** While open: ms until a probe is allowed. */
  retryInMs?: number;
  /** Times the circuit has opened since creation. */
  opens: number;
}

/**
 * What the fallback strategy needs of a breaker, local (`CircuitBreaker` in
 * src/strategies/fallback/circuit-breaker.ts) or shared by gateway replicas (the Redis one in
 * `src/store/redis/breaker.ts`). Only admission is awaited; outcome reports return at once (a
 * shared breaker sends them in order behind the scenes).
 */
export interface Breaker {
  /** May a call go to the upstream now? Closed: yes; open: no; half-open: yes for exactly one caller (the probe). */
  tryAcquire(): boolean | Promise<boolean>;
  onSuccess(): void;
  onFailure(): void;
  release(): void;
  /** The last known state (a shared breaker: as of its last round trip to the store). */
  snapshot(): CircuitSnapshot;
}

/** Options of one breaker: consecutive failures that open it; ms before a half-open probe. */
export interface BreakerSettings {
  failureThreshold: number;
  cooldownMs: number;
}

/**
 * Makes the breaker of one upstream. `id` names it uniquely in the policy:
 * `<fallback strategy name>/<model id>`. Errors: `RangeError` for bad settings.
 */
export type BreakerFactory = (id: string, settings: BreakerSettings) => Breaker;

// ── Router score statistics (the route strategy's online calibration) ──────────────────────

/** Bins of the score histogram (bin b holds scores in [b/BINS, (b+1)/BINS); 1.0 falls in the last). */
export const SCORE_BINS = 100;

/** The histogram bin of a score in [0, 1] (clamped). */
export function scoreBin(score: number): number {
  return Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(score * SCORE_BINS)));
}

/** A store of per-strategy score histograms. */
export interface RouterStats {
  /**
   * Counts `score` (in [0, 1]) for the strategy `name` and returns the histogram *before* it was
   * counted: {@link SCORE_BINS} counts. Atomic: concurrent callers each see a consistent histogram.
   */
  observe(name: string, score: number): Promise<number[]>;
  /** The current histogram of `name` ({@link SCORE_BINS} counts, zeros when unseen). */
  histogram(name: string): Promise<number[]>;
  close(): Promise<void>;
}

/** State shared by gateway replicas when the policy names a Redis server (absent fields: in-process defaults). */
export interface SharedState {
  /** Makes the fallback strategies' breakers. */
  breakerFactory?: BreakerFactory;
  /** Holds the route strategies' online score statistics. */
  routerStats?: RouterStats;
}

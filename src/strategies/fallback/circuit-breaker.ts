/**
 * A circuit breaker (Michael T. Nygard, "Release It!", 2007/2018, "Circuit Breaker" pattern):
 * it stops calling an upstream that keeps failing and probes it again later.
 *
 *     closed ──(failureThreshold consecutive failures)──▶ open
 *     open ──(cooldownMs elapsed)──▶ half-open: exactly one caller may probe
 *     half-open ──(probe succeeds)──▶ closed      half-open ──(probe fails)──▶ open (cool-down restarts)
 *
 * The breaker holds no timers: the half-open state is derived from the clock when asked, so an
 * idle breaker costs nothing and a process with many of them never keeps the event loop alive.
 */

import type { Breaker, CircuitSnapshot, CircuitState } from "../../core/ports.js";

/** The breaker port lives in src/core/ports.ts; re-exported here for old import paths. */
export type { Breaker, BreakerFactory, BreakerSettings, CircuitSnapshot, CircuitState } from "../../core/ports.js";

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Integer ≥ 1. */
  failureThreshold: number;
  /** Time the circuit stays open before one probe is let through, in ms. ≥ 0. */
  cooldownMs: number;
  /** Clock in ms (default `Date.now`); injectable for tests. */
  now?: () => number;
}

/**
 * A consecutive-failure circuit breaker in this process's memory. Callers ask {@link tryAcquire} before each call and
 * report the outcome with {@link onSuccess}, {@link onFailure} or (for an outcome that says
 * nothing about the upstream, e.g. the client went away) {@link release}.
 *
 * Errors: throws `RangeError` for a `failureThreshold` < 1 or a negative `cooldownMs`.
 */
export class CircuitBreaker implements Breaker {
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private failures = 0;
  private openedAt: number | undefined;
  private isOpen = false;
  private probing = false;
  private openCount = 0;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
      throw new RangeError(`circuit breaker failureThreshold must be an integer ≥ 1, got ${options.failureThreshold}`);
    }
    if (!(options.cooldownMs >= 0)) throw new RangeError(`circuit breaker cooldownMs must be ≥ 0 ms, got ${options.cooldownMs}`);
    this.failureThreshold = options.failureThreshold;
    this.cooldownMs = options.cooldownMs;
    this.now = options.now ?? Date.now;
  }

  /** The current state; `open` turns into `half-open` once the cool-down has elapsed. */
  get state(): CircuitState {
    if (!this.isOpen) return "closed";
    return this.now() - (this.openedAt ?? 0) >= this.cooldownMs ? "half-open" : "open";
  }

  /**
   * May a call go to the upstream now? Closed: yes. Open: no. Half-open: yes for exactly one
   * caller (the probe) until it reports back; no for everyone else meanwhile.
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** The call succeeded: the circuit closes and the failure count resets. */
  onSuccess(): void {
    this.failures = 0;
    this.isOpen = false;
    this.probing = false;
  }

  /** The call failed: counts towards opening; a failed half-open probe re-opens the circuit. */
  onFailure(): void {
    this.failures++;
    if (this.probing) {
      this.probing = false;
      this.open();
    } else if (!this.isOpen && this.failures >= this.failureThreshold) {
      this.open();
    }
  }

  /** The call ended without telling anything about the upstream (e.g. client abort): frees a probe slot. */
  release(): void {
    this.probing = false;
  }

  /** State, counts and time to the next probe. */
  snapshot(): CircuitSnapshot {
    const state = this.state;
    return {
      state,
      consecutiveFailures: this.failures,
      openedAt: this.openedAt,
      retryInMs: state === "open" ? Math.max(0, this.cooldownMs - (this.now() - (this.openedAt ?? 0))) : undefined,
      opens: this.openCount,
    };
  }

  private open(): void {
    this.isOpen = true;
    this.openedAt = this.now();
    this.openCount++;
  }
}

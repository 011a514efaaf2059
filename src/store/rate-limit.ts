/**
 * Sliding-window rate limits per key (requests and tokens per window). Tokens are limited by
 * *reservation*, like budgets: a request reserves its worst case (prompt estimate + max_tokens)
 * before it runs — refused when the window's tokens plus the tokens in flight plus its own would
 * pass the limit — and settles to its actual tokens when it ends, so a concurrent burst cannot
 * overshoot the limit (only a lone request larger than the limit itself is let through, when
 * nothing else is counted in the window). Two implementations share
 * the {@link RateLimiter} interface: {@link localRateLimiter} (this process's memory) and the Redis
 * one in `redis/rate-limit.ts` (one limit across gateway replicas).
 */

import type { RateLimiter } from "../core/ports.js";

/** The port lives in src/core/ports.ts; re-exported here for old import paths. */
export type { RateLimiter } from "../core/ports.js";

/**
 * A rate limiter in this process's memory. Requests: an exact sliding-window log per key (pruned
 * from the front, so memory is at most one number per request of the window). Tokens: per-second
 * buckets (the window's sum is exact to the second). `now` is injectable for tests.
 */
export function localRateLimiter(now: () => number = Date.now): RateLimiter {
  const requests = new Map<string, number[]>();
  const tokens = new Map<string, Map<number, number>>();
  /** key → reservation id → tokens, for requests in flight (a crash forgets them: the safe direction here). */
  const inFlight = new Map<string, Map<string, number>>();
  let nextId = 0;
  // The longest window asked for so far bounds what must be kept.
  let keepMs = 60_000;
  const bucketsOf = (key: string) => {
    let b = tokens.get(key);
    if (!b) tokens.set(key, (b = new Map()));
    const oldest = Math.floor((now() - keepMs) / 1000);
    for (const second of b.keys()) if (second <= oldest) b.delete(second);
    return b;
  };
  return {
    async admitRequest(key, limit, windowMs) {
      const t = now();
      let times = requests.get(key);
      if (!times) requests.set(key, (times = []));
      let old = 0;
      while (old < times.length && times[old] <= t - windowMs) old++;
      if (old) times.splice(0, old);
      if (times.length >= limit) return false;
      times.push(t);
      return true;
    },
    async tokensInWindow(key, windowMs) {
      keepMs = Math.max(keepMs, windowMs);
      const from = Math.floor((now() - windowMs) / 1000);
      let sum = 0;
      for (const [second, n] of bucketsOf(key)) if (second > from) sum += n;
      return sum;
    },
    async addTokens(key, n) {
      const b = bucketsOf(key);
      const second = Math.floor(now() / 1000);
      b.set(second, (b.get(second) ?? 0) + n);
    },
    async reserveTokens(key, n, limit, windowMs) {
      // synchronous from here on: no other request interleaves between the check and the reservation
      keepMs = Math.max(keepMs, windowMs);
      const from = Math.floor((now() - windowMs) / 1000);
      let used = 0;
      for (const [second, x] of bucketsOf(key)) if (second > from) used += x;
      let r = inFlight.get(key);
      if (!r) inFlight.set(key, (r = new Map()));
      for (const x of r.values()) used += x;
      if (used > 0 && used + n > limit) return undefined;
      const id = `r${++nextId}`;
      r.set(id, n);
      return id;
    },
    async settleTokens(key, id, actual) {
      const r = inFlight.get(key);
      if (!r?.delete(id)) return;
      if (r.size === 0) inFlight.delete(key);
      if (actual > 0) {
        const b = bucketsOf(key);
        const second = Math.floor(now() / 1000);
        b.set(second, (b.get(second) ?? 0) + actual);
      }
    },
    async close() {},
  };
}

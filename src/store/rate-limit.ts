/**
 * Sliding-window rate limits per key (requests and tokens per window). Two implementations share
 * the {@link RateLimiter} interface: {@link localRateLimiter} (this process's memory) and the Redis
 * one in `redis/rate-limit.ts` (one limit across gateway replicas).
 */

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
  close(): Promise<void>;
}

/**
 * A rate limiter in this process's memory: exact sliding-window logs, pruned on access (memory:
 * one number per request of the last window). `now` is injectable for tests.
 */
export function localRateLimiter(now: () => number = Date.now): RateLimiter {
  const requests = new Map<string, number[]>();
  const tokens = new Map<string, Array<[number, number]>>();
  // The longest window asked for so far bounds what must be kept.
  let keepMs = 60_000;
  const prune = (key: string) => {
    const t = now() - keepMs;
    const ev = (tokens.get(key) ?? []).filter(([x]) => x > t);
    tokens.set(key, ev);
    return ev;
  };
  return {
    async admitRequest(key, limit, windowMs) {
      const t = now();
      const times = (requests.get(key) ?? []).filter((x) => x > t - windowMs);
      requests.set(key, times);
      if (times.length >= limit) return false;
      times.push(t);
      return true;
    },
    async tokensInWindow(key, windowMs) {
      keepMs = Math.max(keepMs, windowMs);
      const t = now() - windowMs;
      return prune(key).reduce((s, [x, n]) => (x > t ? s + n : s), 0);
    },
    async addTokens(key, n) {
      const ev = prune(key);
      ev.push([now(), n]);
    },
    async close() {},
  };
}

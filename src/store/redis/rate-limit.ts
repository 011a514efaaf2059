/**
 * A {@link RateLimiter} in Redis, shared by gateway replicas: sliding-window logs in sorted sets
 * scored by the Redis server's clock. `rl:req:{key}` holds one member per admitted request (exact);
 * `rl:tok:{key}` is a hash of per-second token buckets (second → tokens), so the window's sum costs
 * at most one field per second of the window however high the rate. Check-and-count is one script.
 */
import { randomUUID } from "node:crypto";
import type { RateLimiter } from "../rate-limit.js";
import { LUA_NOW, type RedisState } from "./connection.js";

/** ARGV: limit, windowMs, id → 1 admitted | 0 limited. */
const ADMIT = `${LUA_NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** ARGV: windowMs → tokens in the buckets newer than the window's start (string). */
const TOKENS = `${LUA_NOW}
local from = math.floor((now - tonumber(ARGV[1])) / 1000)
local h = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #h, 2 do
  if tonumber(h[i]) > from then total = total + tonumber(h[i + 1]) end
end
return tostring(total)`;

/** ARGV: tokens, retentionMs. Drops buckets older than the retention. */
const ADD = `${LUA_NOW}
local second = math.floor(now / 1000)
local oldest = math.floor((now - tonumber(ARGV[2])) / 1000)
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if tonumber(f) <= oldest then redis.call('HDEL', KEYS[1], f) end
end
redis.call('HINCRBY', KEYS[1], second, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * A rate limiter in `redis`. `retentionMs` (default 60,000) is how long token records are kept:
 * at least the longest window asked of {@link RateLimiter.tokensInWindow}.
 * Errors: ioredis errors (connection, timeout) from every method.
 */
export function redisRateLimiter(redis: RedisState, options: { retentionMs?: number } = {}): RateLimiter {
  const retention = options.retentionMs ?? 60_000;
  const admit = redis.script(ADMIT, 1);
  const tokens = redis.script(TOKENS, 1);
  const add = redis.script(ADD, 1);
  return {
    async admitRequest(key, limit, windowMs) {
      return (await admit([redis.key("rl:req", key)], [limit, windowMs, randomUUID()])) === 1;
    },
    async tokensInWindow(key, windowMs) {
      return Number(await tokens([redis.key("rl:tok", key)], [windowMs]));
    },
    async addTokens(key, n) {
      await add([redis.key("rl:tok", key)], [Math.round(n), retention]);
    },
    async close() {},
  };
}

/**
 * A {@link RateLimiter} in Redis, shared by gateway replicas: sliding-window logs in sorted sets
 * scored by the Redis server's clock. `rl:req:{key}` holds one member per admitted request (exact);
 * `rl:tok:{key}` is a hash of per-second token buckets (second → tokens), so the window's sum costs
 * at most one field per second of the window however high the rate. Token reservations of
 * requests in flight live in `rl:tokresv:{key}` (id → tokens) and `rl:tokresvexp:{key}` (id →
 * expiry, epoch ms: a replica that died mid-request holds its reservation until it expires).
 * Check-and-count, check-and-reserve and settle are one script each.
 */
import { randomUUID } from "node:crypto";
import type { RateLimiter } from "../../core/ports.js";
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

/** Sum of the token buckets newer than `from` (a second) in KEYS[1], and of the live reservations in KEYS[2]/KEYS[3]. */
const SUM_RESERVED = `${LUA_NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, id in ipairs(expired) do redis.call('HDEL', KEYS[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local used = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(v) end`;

/** KEYS: buckets, reservations, expiries. ARGV: tokens, limit, windowMs, id, ttlMs → 1 reserved | 0 refused. */
const RESERVE_TOKENS = `${SUM_RESERVED}
local from = math.floor((now - tonumber(ARGV[3])) / 1000)
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  if tonumber(h[i]) > from then used = used + tonumber(h[i + 1]) end
end
if used > 0 and used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1`;

/** KEYS: buckets, reservations, expiries. ARGV: id, actual tokens, retentionMs. Counts the tokens only if the reservation was live. */
const SETTLE_TOKENS = `${LUA_NOW}
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
if tonumber(ARGV[2]) > 0 then
  local second = math.floor(now / 1000)
  local oldest = math.floor((now - tonumber(ARGV[3])) / 1000)
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if tonumber(f) <= oldest then redis.call('HDEL', KEYS[1], f) end
  end
  redis.call('HINCRBY', KEYS[1], second, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1`;

/**
 * A rate limiter in `redis`. `retentionMs` (default 60,000) is how long token records are kept:
 * at least the longest window asked of {@link RateLimiter.tokensInWindow}.
 * Errors: ioredis errors (connection, timeout) from every method.
 */
export function redisRateLimiter(redis: RedisState, options: { retentionMs?: number; reservationTtlMs?: number } = {}): RateLimiter {
  const retention = options.retentionMs ?? 60_000;
  const reservationTtl = options.reservationTtlMs ?? 600_000;
  const reserveTokens = redis.script(RESERVE_TOKENS, 3);
  const settleTokens = redis.script(SETTLE_TOKENS, 3);
  const tokenKeys = (key: string) => [redis.key("rl:tok", key), redis.key("rl:tokresv", key), redis.key("rl:tokresvexp", key)];
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
    async reserveTokens(key, n, limit, windowMs) {
      const id = randomUUID();
      return (await reserveTokens(tokenKeys(key), [Math.round(n), limit, windowMs, id, reservationTtl])) === 1 ? id : undefined;
    },
    async settleTokens(key, id, actual) {
      await settleTokens(tokenKeys(key), [id, Math.round(actual), retention]);
    },
    async close() {},
  };
}

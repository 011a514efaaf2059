/**
 * A {@link SpendLedger} in Redis, shared by gateway replicas. Per API key:
 * `spend:{key}` (settled USD, a float string), `resv:{key}` (reservation id → USD) and
 * `resvexp:{key}` (reservation id → expiry, epoch ms). The reserve script prunes expired
 * reservations, sums spent + reserved and reserves only if the budget holds — atomically, so N
 * replicas under concurrent load overshoot a budget by at most one request's estimate error, as
 * one process does. A replica that dies mid-request holds its reservations until they expire
 * (`reservationTtlMs`), erring on the side of refusing.
 */
import { randomUUID } from "node:crypto";
import type { SpendLedger, SpendState } from "../../core/ports.js";
import { LUA_NOW, type RedisState } from "./connection.js";

const PRUNE_AND_SUM = `${LUA_NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, id in ipairs(expired) do redis.call('HDEL', KEYS[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local reserved = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do reserved = reserved + tonumber(v) end`;

/** ARGV: usd, budgetUsd, id, ttlMs → {1|0, spent, reserved} (numbers as strings: Lua numbers would be truncated). */
const RESERVE = `${PRUNE_AND_SUM}
local usd = tonumber(ARGV[1])
if spent + reserved + usd > tonumber(ARGV[2]) + 1e-12 then return {0, tostring(spent), tostring(reserved)} end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[3])
return {1, tostring(spent), tostring(reserved + usd)}`;

/** → {spent, reserved} */
const STATE = `${PRUNE_AND_SUM}
return {tostring(spent), tostring(reserved)}`;

/** ARGV: id, spentUsd. */
const SETTLE = `redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('INCRBYFLOAT', KEYS[1], ARGV[2]) end
return 1`;

/** Options of {@link redisSpendLedger}. */
export interface RedisSpendOptions {
  /** How long a reservation may stay unsettled before it is dropped, ms. Default 600,000 (10 min; keep it above the request timeout). */
  reservationTtlMs?: number;
}

/** A spend ledger in `redis`. Errors: ioredis errors (connection, timeout) from every method. */
export function redisSpendLedger(redis: RedisState, options: RedisSpendOptions = {}): SpendLedger {
  const ttl = options.reservationTtlMs ?? 600_000;
  const reserve = redis.script(RESERVE, 3);
  const state = redis.script(STATE, 3);
  const settle = redis.script(SETTLE, 3);
  const keys = (key: string) => [redis.key("spend", key), redis.key("resv", key), redis.key("resvexp", key)];
  return {
    async state(key): Promise<SpendState> {
      const [spent, reserved] = (await state(keys(key), [])) as [string, string];
      return { spentUsd: Number(spent), reservedUsd: Number(reserved) };
    },
    async reserve(key, usd, budgetUsd) {
      const id = randomUUID();
      const [ok] = (await reserve(keys(key), [usd, budgetUsd, id, ttl])) as [number, string, string];
      return ok === 1 ? id : undefined;
    },
    async settle(key, id, _reservedUsd, spentUsd) {
      await settle(keys(key), [id, spentUsd]);
    },
    async close() {}, // the connection belongs to the RedisState
  };
}

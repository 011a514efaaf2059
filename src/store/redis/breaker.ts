/**
 * Circuit breakers in Redis, shared by gateway replicas: the same state machine as the in-process
 * `CircuitBreaker` (Nygard's pattern; see src/strategies/fallback/circuit-breaker.ts), kept in one
 * hash `breaker:{<fallback>/<model>}` and changed by one script, so when one replica's calls to
 * an upstream keep failing, every replica stops calling it, and exactly one of them probes it after
 * the cool-down. The half-open probe is a lease (`probeLeaseMs`): a replica that dies while
 * probing frees it when the lease runs out.
 *
 * Admission (`tryAcquire`) waits for Redis; outcome reports are sent without waiting (in order on
 * the one connection). If Redis cannot be reached, the breaker fails *open* — calls go through, so
 * an outage of the shared store never takes a healthy upstream out of service — and says so on
 * stderr (at most every 10 s).
 */
import type { Breaker, BreakerFactory, BreakerSettings, CircuitSnapshot } from "../../core/ports.js";
import { LUA_NOW, type RedisState } from "./connection.js";

/**
 * ARGV: op (acquire|success|failure|release), failureThreshold, cooldownMs, probeLeaseMs.
 * → {granted (0 no, 1 closed, 2 probe), failures, open, openedAt, opens, now} (times as strings).
 */
const STEP = `${LUA_NOW}
local h = redis.call('HMGET', KEYS[1], 'failures', 'open', 'openedAt', 'probeUntil', 'opens')
local failures = tonumber(h[1] or '0')
local open = h[2] == '1'
local openedAt = tonumber(h[3] or '0')
local probeUntil = tonumber(h[4] or '0')
local opens = tonumber(h[5] or '0')
local op = ARGV[1]
local threshold = tonumber(ARGV[2])
local granted = 1
if op == 'acquire' then
  if open then
    if now - openedAt < tonumber(ARGV[3]) or probeUntil > now then granted = 0
    else probeUntil = now + tonumber(ARGV[4]); granted = 2 end
  end
elseif op == 'success' then
  failures = 0; open = false; probeUntil = 0
elseif op == 'failure' then
  failures = failures + 1
  if open and probeUntil > 0 then
    probeUntil = 0; openedAt = now; opens = opens + 1
  elseif (not open) and failures >= threshold then
    open = true; openedAt = now; opens = opens + 1
  end
elseif op == 'release' then
  probeUntil = 0
end
redis.call('HSET', KEYS[1], 'failures', failures, 'open', open and 1 or 0, 'openedAt', openedAt, 'probeUntil', probeUntil, 'opens', opens)
return {granted, failures, open and 1 or 0, tostring(openedAt), opens, tostring(now)}`;

/** Options of {@link redisBreakerFactory}. */
export interface RedisBreakerOptions {
  /** How long a half-open probe may run before another replica may probe, ms. Default 60,000. */
  probeLeaseMs?: number;
}

/** A {@link BreakerFactory} whose breakers live in `redis`. */
export function redisBreakerFactory(redis: RedisState, options: RedisBreakerOptions = {}): BreakerFactory {
  const step = redis.script(STEP, 1);
  const lease = options.probeLeaseMs ?? 60_000;
  let lastLog = 0;
  const warn = (id: string, error: unknown) => {
    if (Date.now() - lastLog < 10_000) return;
    lastLog = Date.now();
    console.error(`tandem: breaker '${id}': redis unavailable, letting calls through: ${(error as Error).message}`);
  };
  return (id: string, settings: BreakerSettings): Breaker => {
    if (!Number.isInteger(settings.failureThreshold) || settings.failureThreshold < 1) {
      throw new RangeError(`circuit breaker failureThreshold must be an integer ≥ 1, got ${settings.failureThreshold}`);
    }
    if (!(settings.cooldownMs >= 0)) throw new RangeError(`circuit breaker cooldownMs must be ≥ 0 ms, got ${settings.cooldownMs}`);
    const key = redis.key("breaker", id);
    // last state seen in Redis, and when (local clock), for snapshot()
    let seen = { failures: 0, open: false, openedAt: 0, opens: 0, serverNow: 0, at: Date.now() };
    let probing = false;
    const run = async (op: string): Promise<number> => {
      const r = (await step([key], [op, settings.failureThreshold, settings.cooldownMs, lease])) as [number, number, number, string, number, string];
      seen = { failures: r[1], open: r[2] === 1, openedAt: Number(r[3]), opens: r[4], serverNow: Number(r[5]), at: Date.now() };
      return r[0];
    };
    const report = (op: string) => void run(op).catch((error) => warn(id, error));
    return {
      async tryAcquire() {
        try {
          const granted = await run("acquire");
          if (granted === 2) probing = true;
          return granted > 0;
        } catch (error) {
          warn(id, error);
          return true;
        }
      },
      onSuccess() {
        probing = false;
        report("success");
      },
      onFailure() {
        probing = false;
        report("failure");
      },
      release() {
        if (!probing) return; // only the holder of the probe lease gives it back
        probing = false;
        report("release");
      },
      snapshot(): CircuitSnapshot {
        const now = seen.serverNow + (Date.now() - seen.at);
        const elapsed = now - seen.openedAt;
        const state = !seen.open ? "closed" : elapsed >= settings.cooldownMs ? "half-open" : "open";
        return {
          state,
          consecutiveFailures: seen.failures,
          openedAt: seen.opens > 0 ? seen.openedAt : undefined,
          retryInMs: state === "open" ? Math.max(0, settings.cooldownMs - elapsed) : undefined,
          opens: seen.opens,
        };
      },
    };
  };
}

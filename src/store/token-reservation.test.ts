/**
 * Token-per-minute reservations (issue #10, item 6): reserve the worst case before a call,
 * settle to the actual count after — in this process's limiter and in Redis (a real
 * redis-server, two connections standing in for two gateway replicas).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "../../test/fixtures/production/redis.js";
import { localRateLimiter } from "./rate-limit.js";
import { connectRedis, redisRateLimiter, type RedisState } from "./redis/index.js";

let server: TestRedis;
let a: RedisState;
let b: RedisState;

beforeAll(async () => {
  server = await startRedis();
  a = await connectRedis({ url: server.url, prefix: "tokresv:" });
  b = await connectRedis({ url: server.url, prefix: "tokresv:" });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.stop();
});

describe("token reservations", () => {
  it("local: a burst reserves at most the limit; settle records the actual tokens; idempotent", async () => {
    let t = 1_000_000;
    const rl = localRateLimiter(() => t);
    const ids = await Promise.all(Array.from({ length: 50 }, () => rl.reserveTokens("k", 300, 1000, 60_000)));
    const granted = ids.filter((id): id is string => id !== undefined);
    expect(granted).toHaveLength(3);
    await rl.settleTokens("k", granted[0], 50);
    await rl.settleTokens("k", granted[0], 50); // twice: counted once
    expect(await rl.tokensInWindow("k", 60_000)).toBe(50);
    // 50 used + 600 in flight: 300 more fits (950), then 51 does not (1001)
    expect(await rl.reserveTokens("k", 300, 1000, 60_000)).toBeDefined();
    expect(await rl.reserveTokens("k", 51, 1000, 60_000)).toBeUndefined();
    expect(await rl.reserveTokens("k", 50, 1000, 60_000)).toBeDefined();
    // a lone request larger than the limit runs when nothing else is counted
    expect(await rl.reserveTokens("fresh", 5000, 1000, 60_000)).toBeDefined();
    expect(await rl.reserveTokens("fresh", 1, 1000, 60_000)).toBeUndefined();
    // settled tokens leave the window after it; reservations stay until settled
    t += 61_000;
    expect(await rl.tokensInWindow("k", 60_000)).toBe(0);
    expect(await rl.reserveTokens("k", 100, 1000, 60_000)).toBeUndefined(); // 300 + 300 + 50 + 300 in flight
  });

  it("redis: two replicas reserving concurrently never pass the limit together; settle frees the rest", async () => {
    const x = redisRateLimiter(a);
    const y = redisRateLimiter(b);
    const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? x : y).reserveTokens("k1", 300, 1000, 60_000)));
    const granted = ids.filter((id): id is string => id !== undefined);
    expect(granted).toHaveLength(3);
    await x.settleTokens("k1", granted[0], 50);
    await y.settleTokens("k1", granted[0], 50); // the other replica settling the same id again: counted once
    expect(await y.tokensInWindow("k1", 60_000)).toBe(50);
    expect(await y.reserveTokens("k1", 300, 1000, 60_000)).toBeDefined(); // 50 + 600 + 300 = 950
    expect(await x.reserveTokens("k1", 51, 1000, 60_000)).toBeUndefined(); // 1001
    expect(await x.reserveTokens("fresh", 5000, 1000, 60_000)).toBeDefined(); // alone: admitted
    expect(await y.reserveTokens("fresh", 1, 1000, 60_000)).toBeUndefined();
  });

  it("redis: a reservation of a replica that died expires after reservationTtlMs", async () => {
    const dying = redisRateLimiter(a, { reservationTtlMs: 200 });
    const x = redisRateLimiter(b);
    expect(await dying.reserveTokens("k2", 900, 1000, 60_000)).toBeDefined();
    expect(await x.reserveTokens("k2", 200, 1000, 60_000)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 400));
    expect(await x.reserveTokens("k2", 200, 1000, 60_000)).toBeDefined();
  });
});

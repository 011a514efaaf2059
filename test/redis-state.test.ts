/**
 * The Redis shared state against a real redis-server (Debian's, started on a loopback port), with
 * two separate connections standing in for two gateway replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "./fixtures/production/redis.js";
import { CircuitBreaker } from "../src/strategies/fallback/circuit-breaker.js";
import { scoreBin, SCORE_BINS, thresholdForShare } from "../src/strategies/route/stats.js";
import { connectRedis, redisBreakerFactory, redisRateLimiter, redisRouterStats, redisSpendLedger, type RedisState } from "../src/store/redis/index.js";

let server: TestRedis;
let a: RedisState;
let b: RedisState;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startRedis();
  a = await connectRedis({ url: server.url, prefix: "unit:" });
  b = await connectRedis({ url: server.url, prefix: "unit:" });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await server?.stop();
});

describe("redis spend ledger", () => {
  it("two replicas reserving concurrently never exceed the budget together", async () => {
    const la = redisSpendLedger(a);
    const lb = redisSpendLedger(b);
    // 200 concurrent reservations of $0.03 against $1: exactly 33 fit
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? la : lb).reserve("k1", 0.03, 1)));
    const granted = ids.filter((x) => x !== undefined);
    expect(granted).toHaveLength(33);
    expect((await la.state("k1")).reservedUsd).toBeCloseTo(0.99, 9);
    // settling at the actual cost frees the rest of each reservation
    await Promise.all(granted.map((id, i) => (i % 2 ? lb : la).settle("k1", id!, 0.03, 0.01)));
    expect(await lb.state("k1")).toEqual({ spentUsd: expect.closeTo(0.33, 9), reservedUsd: 0 });
    expect(await la.reserve("k1", 0.67, 1)).toBeDefined();
    expect(await lb.reserve("k1", 0.01, 1)).toBeUndefined();
  });

  it("a reservation a dead replica never settled expires after its TTL", async () => {
    const short = redisSpendLedger(a, { reservationTtlMs: 300 });
    expect(await short.reserve("k2", 0.9, 1)).toBeDefined();
    expect(await short.reserve("k2", 0.2, 1)).toBeUndefined();
    await sleep(400);
    expect(await redisSpendLedger(b).reserve("k2", 0.2, 1)).toBeDefined();
  });
});

describe("redis rate limiter", () => {
  it("counts requests of both replicas in one sliding window, atomically", async () => {
    const ra = redisRateLimiter(a);
    const rb = redisRateLimiter(b);
    const admitted = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? ra : rb).admitRequest("k", 10, 500)));
    expect(admitted.filter(Boolean)).toHaveLength(10);
    await sleep(600);
    expect(await ra.admitRequest("k", 10, 500)).toBe(true);
  });

  it("sums tokens recorded by both replicas in the window", async () => {
    const ra = redisRateLimiter(a);
    const rb = redisRateLimiter(b);
    await ra.addTokens("t", 120);
    await rb.addTokens("t", 30);
    expect(await ra.tokensInWindow("t", 60_000)).toBe(150);
    await sleep(250);
    expect(await rb.tokensInWindow("t", 200)).toBe(0);
  });
});

describe("redis circuit breaker", () => {
  it("follows the in-process breaker's state machine, shared by two replicas", async () => {
    const settings = { failureThreshold: 2, cooldownMs: 300 };
    const ba = redisBreakerFactory(a)("fb/cloud", settings);
    const bb = redisBreakerFactory(b)("fb/cloud", settings);
    const local = new CircuitBreaker(settings);
    const settle = () => sleep(50); // reports are sent without waiting
    expect(await ba.tryAcquire()).toBe(true);
    ba.onFailure();
    local.onFailure();
    bb.onFailure(); // the second failure comes from the other replica
    local.onFailure();
    await settle();
    expect(await bb.tryAcquire()).toBe(false); // open for both
    expect(await ba.tryAcquire()).toBe(false);
    expect(ba.snapshot()).toMatchObject({ state: local.snapshot().state, consecutiveFailures: 2, opens: 1 });
    await sleep(320);
    // half-open: exactly one probe across the replicas
    const probes = await Promise.all([ba.tryAcquire(), bb.tryAcquire(), ba.tryAcquire(), bb.tryAcquire()]);
    expect(probes.filter(Boolean)).toHaveLength(1);
    const prober = probes[0] || probes[2] ? ba : bb;
    prober.onFailure(); // failed probe re-opens
    await settle();
    expect(await bb.tryAcquire()).toBe(false);
    expect(bb.snapshot()).toMatchObject({ state: "open", opens: 2 });
    await sleep(320);
    expect(await bb.tryAcquire()).toBe(true);
    bb.onSuccess(); // successful probe closes
    await settle();
    expect(await ba.tryAcquire()).toBe(true);
    expect(ba.snapshot()).toMatchObject({ state: "closed", consecutiveFailures: 0, opens: 2 });
  });
});

describe("redis router statistics", () => {
  it("one score histogram for both replicas; the online threshold sends the target share to the strong model", async () => {
    const sa = redisRouterStats(a);
    const sb = redisRouterStats(b);
    const scores = Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) / 200);
    await Promise.all(scores.map((s, i) => (i % 2 ? sa : sb).observe("route", s)));
    const h = await sb.histogram("route");
    expect(h).toHaveLength(SCORE_BINS);
    expect(h.reduce((x, y) => x + y, 0)).toBe(200);
    const expected = new Array<number>(SCORE_BINS).fill(0);
    for (const s of scores) expected[scoreBin(s)]++;
    expect(h).toEqual(expected);
    const t = thresholdForShare(h, 0.3)!;
    expect(scores.filter((s) => s > t).length / scores.length).toBeCloseTo(0.3, 1);
    // observe returns the histogram before the new score
    const before = await sa.observe("route", 0.999);
    expect(before).toEqual(h);
  });
});

describe("redis outage", () => {
  it("fails fast with a clear error instead of hanging", async () => {
    const other = await startRedis();
    const c = await connectRedis({ url: other.url, prefix: "x:", commandTimeoutMs: 500 });
    await other.stop();
    await sleep(100);
    const t0 = Date.now();
    await expect(redisSpendLedger(c).reserve("k", 1, 2)).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(2_000);
    // the breaker lets calls through when its store is gone
    expect(await redisBreakerFactory(c)("fb/x", { failureThreshold: 1, cooldownMs: 1 }).tryAcquire()).toBe(true);
    await c.close();
    await expect(connectRedis({ url: other.url })).rejects.toMatchObject({ code: "invalid_policy" });
  });
});

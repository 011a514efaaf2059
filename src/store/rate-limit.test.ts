import { describe, expect, it } from "vitest";
import { localRateLimiter } from "./rate-limit.js";

describe("localRateLimiter", () => {
  it("admits at most `limit` requests per sliding window, exactly", async () => {
    let t = 1_000_000;
    const rl = localRateLimiter(() => t);
    for (let i = 0; i < 3; i++) expect(await rl.admitRequest("k", 3, 60_000)).toBe(true);
    expect(await rl.admitRequest("k", 3, 60_000)).toBe(false);
    expect(await rl.admitRequest("other", 3, 60_000)).toBe(true);
    t += 59_999;
    expect(await rl.admitRequest("k", 3, 60_000)).toBe(false);
    t += 1; // the first three leave the window
    expect(await rl.admitRequest("k", 3, 60_000)).toBe(true);
  });

  it("sums tokens in per-second buckets inside the window", async () => {
    let t = 5_000_000;
    const rl = localRateLimiter(() => t);
    await rl.addTokens("k", 100);
    t += 30_000;
    await rl.addTokens("k", 50);
    expect(await rl.tokensInWindow("k", 60_000)).toBe(150);
    t += 30_500; // the first bucket is now older than the window
    expect(await rl.tokensInWindow("k", 60_000)).toBe(50);
    t += 60_000;
    expect(await rl.tokensInWindow("k", 60_000)).toBe(0);
  });
});

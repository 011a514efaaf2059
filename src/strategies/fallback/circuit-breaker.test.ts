import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./circuit-breaker.js";

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("CircuitBreaker (Nygard)", () => {
  it("opens after failureThreshold consecutive failures; a success in between resets the count", () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1_000, now: c.now });
    b.onFailure();
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe("closed");
    expect(b.tryAcquire()).toBe(true);
    b.onFailure();
    expect(b.state).toBe("open");
    expect(b.tryAcquire()).toBe(false);
    expect(b.snapshot()).toMatchObject({ state: "open", consecutiveFailures: 3, retryInMs: 1_000, opens: 1 });
  });

  it("lets exactly one probe through after the cool-down; success closes, failure re-opens with a fresh cool-down", () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 500, now: c.now });
    b.onFailure();
    c.advance(499);
    expect(b.tryAcquire()).toBe(false);
    c.advance(1);
    expect(b.state).toBe("half-open");
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // the probe is in flight
    b.onFailure();
    expect(b.state).toBe("open");
    expect(b.snapshot().retryInMs).toBe(500);
    c.advance(500);
    expect(b.tryAcquire()).toBe(true);
    b.onSuccess();
    expect(b.snapshot()).toMatchObject({ state: "closed", consecutiveFailures: 0, opens: 2 });
    expect(b.tryAcquire()).toBe(true);
  });

  it("release() frees the probe slot without judging the upstream", () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 0, now: c.now });
    b.onFailure();
    expect(b.tryAcquire()).toBe(true);
    b.release();
    expect(b.state).toBe("half-open");
    expect(b.tryAcquire()).toBe(true);
  });

  it("rejects bad options", () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, cooldownMs: 1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ failureThreshold: 2, cooldownMs: -1 })).toThrow(RangeError);
  });
});

import { afterAll, describe, expect, it } from "vitest";
import { TandemError } from "../../core/errors.js";
import { llamaCpp } from "../../providers/llama-cpp/index.js";
import { openaiCompatible } from "../../providers/openai-compatible.js";
import { deadBaseURL } from "../../../test/fixtures/production/fault-server.js";
import { modelPath } from "../../../test/helpers.js";
import { fallback } from "./index.js";

const edge = llamaCpp({ id: "edge", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 256, defaultMaxTokens: 8 });
const missing = llamaCpp({ id: "missing", path: modelPath("does-not-exist.gguf"), threads: 1 });
afterAll(async () => {
  await edge.close();
});
const ask = { messages: [{ role: "user" as const, content: "Once upon a time" }], maxTokens: 8 };

describe("fallback (library)", () => {
  it("validates its options", () => {
    expect(() => fallback({ primary: edge, fallbacks: [] })).toThrow(/at least one fallback/);
    expect(() => fallback({ primary: edge, fallbacks: [edge], retries: -1 })).toThrow(/retries/);
    expect(() => fallback({ primary: edge, fallbacks: [edge], breaker: { failureThreshold: 0, cooldownMs: 1 } })).toThrow(/failureThreshold/);
    expect(() => fallback({ primary: edge, fallbacks: [edge], midStream: "nope" as never })).toThrow(/midStream/);
  });

  it("passes a healthy primary's answer through untouched", async () => {
    const fb = fallback({ primary: edge, fallbacks: [missing] });
    const r = await fb.generate(ask);
    expect(r.info).toMatchObject({ servedBy: "edge", decisions: [] });
    expect(r.info.degraded).toBeFalsy();
    expect(fb.price).toEqual(edge.price);
  });

  it("retries the primary with backoff, then falls back along the chain", async () => {
    const dead = openaiCompatible({ id: "cloud", baseURL: await deadBaseURL(), model: "x", maxRetries: 0, timeoutMs: 1000 });
    const fb = fallback({ id: "fb", primary: dead, fallbacks: [missing, edge], retries: 2, retryBackoffMs: 40, breaker: false });
    const t0 = performance.now();
    const r = await fb.generate(ask);
    const ms = performance.now() - t0;
    // backoff 40·(0.5..1) + 80·(0.5..1) ≥ 60 ms
    expect(ms).toBeGreaterThanOrEqual(60);
    expect(r.info.servedBy).toBe("edge");
    expect(r.info.degraded).toBe(true);
    expect(r.info.calls.map((c) => c.role ?? "served")).toEqual(["primary", "primary-retry-1", "primary-retry-2", "fallback-1", "served"]);
    expect(r.info.calls[3].error).toMatch(/not found/);
    expect(fb.location).toBe("cloud");
  });

  it("fails with the last error's code, listing every failure, when the whole chain fails", async () => {
    const dead = openaiCompatible({ id: "cloud", baseURL: await deadBaseURL(), model: "x", maxRetries: 0 });
    const fb = fallback({ id: "fb", primary: dead, fallbacks: [missing], retries: 0 });
    const error = await fb.generate(ask).catch((e: unknown) => e);
    expect(TandemError.isInstance(error)).toBe(true);
    expect((error as TandemError).code).toBe("model_load_failed");
    expect((error as TandemError).message).toMatch(/every model failed.*cloud.*missing/s);
    await expect(async () => {
      for await (const _ of fb.stream(ask)) void _;
    }).rejects.toThrow(/every model failed/);
  });

  it("does not fall back when the caller aborts", async () => {
    const fb = fallback({ primary: edge, fallbacks: [edge] });
    const controller = new AbortController();
    controller.abort();
    const error = await fb.generate(ask, controller.signal).catch((e: unknown) => e);
    expect((error as TandemError).code).toBe("aborted");
  });
});

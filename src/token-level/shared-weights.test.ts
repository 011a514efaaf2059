/**
 * One loaded GGUF per path per process: token-level handles and `llamaCpp` models of the same
 * file share one `LlamaModel` (refcounted in providers/llama-cpp/runtime.ts), closing one user
 * keeps the others working, the last one frees the weights, and a policy with token-level
 * strategies loads each file once.
 */
import { relative } from "node:path";
import { describe, expect, it } from "vitest";
import { buildPolicy, parsePolicy } from "../policy/index.js";
import { llamaCpp, llamaModelCacheStats } from "../providers/llama-cpp/index.js";
import { modelPath } from "../../test/helpers.js";
import { autoregressive, LocalLogitModel } from "./index.js";

const users = (path: string) => llamaModelCacheStats().models.find((m) => m.path === path)?.users ?? 0;
const ask = { messages: [{ role: "user" as const, content: "Once upon a time" }], maxTokens: 8, temperature: 0 };

describe("shared GGUF weights", () => {
  it("two handles of one file share one LlamaModel; disposing one keeps the other working", async () => {
    const path = modelPath("stories260K.gguf");
    const loads0 = llamaModelCacheStats().loads;
    const a = await LocalLogitModel.load(path, { threads: 1, contextSize: 256 });
    // the same file by a relative path is the same cache entry
    const b = await LocalLogitModel.load(relative(process.cwd(), path), { threads: 1, contextSize: 256 });
    expect(b.model).toBe(a.model);
    expect(b.context).not.toBe(a.context); // each handle keeps its own KV cache
    expect(llamaModelCacheStats().loads - loads0).toBe(1);
    expect(users(path)).toBe(2);

    const tokens = a.renderPrompt(ask.messages);
    const before = Array.from(await b.nextLogits(tokens));
    expect(Array.from(await a.nextLogits(tokens))).toEqual(before);
    await a.dispose();
    await a.dispose(); // idempotent: releases its share once
    expect(users(path)).toBe(1);
    expect(b.model.disposed).toBe(false);
    expect(Array.from(await b.nextLogits([...tokens, tokens[1]]))).toHaveLength(b.vocabSize); // new tokens are evaluated
    expect(Array.from(await b.nextLogits(tokens))).toEqual(before);
    await b.dispose();
    expect(users(path)).toBe(0);
    expect(b.model.disposed).toBe(true);
    expect(llamaModelCacheStats().models.map((m) => m.path)).not.toContain(path);
  });

  it("a llamaCpp model and a handle of one file share the weights, in either order of closing", async () => {
    const path = modelPath("tinytales-math-260K.gguf");
    const loads0 = llamaModelCacheStats().loads;
    const served = llamaCpp({ id: "m", path, threads: 1, contextSize: 256 });
    await served.load();
    const handle = await LocalLogitModel.load(path, { threads: 1, contextSize: 256 });
    expect(handle.model).toBe(served.llamaModel);
    expect(llamaModelCacheStats().loads - loads0).toBe(1);
    const viaHandle = await autoregressive(handle).generate(ask);
    const viaServed = await served.generate(ask);
    expect(viaHandle.text).toBe(viaServed.text); // both greedy on the same weights
    expect(viaHandle.usage.completionTokens).toBeGreaterThan(0);

    await served.close();
    expect(users(path)).toBe(1);
    expect((await autoregressive(handle).generate(ask)).text).toBe(viaHandle.text);
    // a new llamaCpp model of the file joins the handle's share instead of loading again
    const again = llamaCpp({ id: "m2", path, threads: 1, contextSize: 256 });
    expect((await again.generate(ask)).text).toBe(viaServed.text);
    expect(again.llamaModel).toBe(handle.model);
    await handle.dispose();
    expect((await again.generate(ask)).text).toBe(viaServed.text);
    await again.close();
    expect(users(path)).toBe(0);
    expect(handle.model.disposed).toBe(true);
    expect(llamaModelCacheStats().loads - loads0).toBe(1);
  });

  it("does not cache a failed load", async () => {
    const path = modelPath("missing-model.gguf");
    for (let i = 0; i < 2; i++) await expect(LocalLogitModel.load(path, { threads: 1 })).rejects.toMatchObject({ code: "model_load_failed" });
    expect(users(path)).toBe(0);
    expect(llamaModelCacheStats().models.map((m) => m.path)).not.toContain(path);
  });

  it("a policy with token-level strategies loads each GGUF file once", async () => {
    const loads0 = llamaModelCacheStats().loads;
    const built = await buildPolicy(
      parsePolicy(`
models:
  small: { provider: llama-cpp, path: ${modelPath("tinytales-math-260K.gguf")}, threads: 1, contextSize: 256 }
  plain: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
  big: { provider: llama-cpp, path: ${modelPath("tinytales-5M.gguf")}, threads: 1, contextSize: 256 }
strategies:
  fast: { kind: speculative, draft: small, target: big, gamma: 4 }
  tuned: { kind: proxy-tuning, base: big, expert: small, antiExpert: plain, alpha: 0.25 }
  short: { kind: compression, compressor: small, model: big, rate: 0.6 }
traces: false
`),
    );
    try {
      // 3 files behind 3 served models + 5 distinct token-level handles: 3 loads (6 before the cache)
      expect(llamaModelCacheStats().loads - loads0).toBe(3);
      expect(users(modelPath("tinytales-5M.gguf"))).toBe(2); // the served model + one handle
      expect(built.served.get("fast")).toBeDefined();
    } finally {
      await built.close();
    }
    expect(users(modelPath("tinytales-5M.gguf"))).toBe(0);
  });
});

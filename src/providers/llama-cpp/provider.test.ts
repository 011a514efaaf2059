import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TandemError } from "../../core/errors.js";
import { modelPath } from "../../../test/helpers.js";
import { llamaCpp } from "./index.js";

const model = llamaCpp({ id: "s", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 256, sequences: 2, maxQueue: 1 });
afterAll(() => model.close());
const ask = (content: string, extra = {}) => ({ messages: [{ role: "user" as const, content }], maxTokens: 16, ...extra });

describe("llama-cpp provider", () => {
  it("generates greedily and reproducibly, with per-token logprobs", async () => {
    const a = await model.generate(ask("Once upon a time", { logprobs: true, topLogprobs: 3 }));
    const b = await model.generate(ask("Once upon a time"));
    expect(a.text).toBe(b.text);
    expect(a.usage.completionTokens).toBeGreaterThan(0);
    expect(a.logprobs).toHaveLength(a.usage.completionTokens);
    for (const t of a.logprobs ?? []) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs).toHaveLength(3);
      expect(t.top_logprobs[0].logprob).toBeGreaterThanOrEqual(t.logprob - 1e-9); // greedy picks the top token
    }
    expect(a.logprobs?.map((t) => t.token).join("").trim()).toBe(a.text.trim());
    expect(a.info).toMatchObject({ servedBy: "s", costUsd: 0, escalated: false });
  });

  it("keeps concurrent requests apart (queued over 2 sequences)", async () => {
    const prompts = ["Once upon a time", "The dog ran", "Lily saw a bird"];
    const sequential = [];
    for (const p of prompts) sequential.push((await model.generate(ask(p))).text);
    const parallel = await Promise.all(prompts.map((p) => model.generate(ask(p))));
    expect(parallel.map((r) => r.text)).toEqual(sequential);
  });

  it("answers overloaded (503) when the queue is full", async () => {
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => model.generate(ask(`Story ${i}`))));
    const rejected = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(rejected.length).toBe(1); // 2 running + 1 queued, the 4th is refused
    expect(TandemError.isInstance(rejected[0].reason) && rejected[0].reason.status).toBe(503);
  });

  it("rejects a prompt longer than the context with invalid_request", async () => {
    await expect(model.generate(ask("word ".repeat(400)))).rejects.toMatchObject({ code: "invalid_request", status: 400 });
  });

  it("honours stop sequences and aborts", async () => {
    const full = await model.generate(ask("Once upon a time", { maxTokens: 40 }));
    const cut = full.text.indexOf(" ", 5);
    const stopWord = full.text.slice(cut, cut + 3);
    const r = await model.generate(ask("Once upon a time", { maxTokens: 40, stop: [stopWord] }));
    expect(r.text).toBe(full.text.slice(0, full.text.indexOf(stopWord)));
    expect(r.finishReason).toBe("stop");
    const controller = new AbortController();
    controller.abort();
    await expect(model.generate(ask("Once upon a time"), controller.signal)).rejects.toMatchObject({ code: "aborted" });
  });

  it("fails with model_load_failed on a corrupt or missing file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tandem-gguf-"));
    writeFileSync(join(dir, "corrupt.gguf"), Buffer.from("GGUF this is not really a model"));
    for (const path of [join(dir, "corrupt.gguf"), join(dir, "missing.gguf")]) {
      const bad = llamaCpp({ path, threads: 1 });
      await expect(bad.load()).rejects.toMatchObject({ code: "model_load_failed" });
      await bad.close();
    }
  });

  it("makes a grammar-constrained tool call for a named tool_choice", async () => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Rome"] }, celsius: { type: "boolean" } }, required: ["city", "celsius"] } } }];
    const r = await model.generate(ask("weather in Rome?", { tools, toolChoice: { type: "function", function: { name: "get_weather" } }, maxTokens: 40 }));
    expect(r.finishReason).toBe("tool_calls");
    expect(r.toolCalls?.[0].function.name).toBe("get_weather");
    const args = JSON.parse(r.toolCalls?.[0].function.arguments ?? "");
    expect(["Paris", "Rome"]).toContain(args.city);
    expect(typeof args.celsius).toBe("boolean");
  });

  it("answers JSON of the request's response_format schema under a grammar (and any JSON for json_object)", async () => {
    const schema = { type: "object", properties: { answer: { enum: ["yes", "no"] }, sure: { type: "boolean" } }, required: ["answer", "sure"], additionalProperties: false };
    const r = await model.generate(ask("Is the sky blue?", { maxTokens: 40, responseFormat: { type: "json_schema", json_schema: { name: "v", schema } } }));
    const parsed = JSON.parse(r.text);
    expect(["yes", "no"]).toContain(parsed.answer);
    expect(typeof parsed.sure).toBe("boolean");
    expect(Object.keys(parsed).sort()).toEqual(["answer", "sure"]);
    const free = await model.generate(ask("Is the sky blue?", { maxTokens: 16 }));
    expect(() => JSON.parse(free.text)).toThrow(); // the same model, unconstrained, writes a story
    const any = await model.generate(ask("Is the sky blue?", { maxTokens: 48, responseFormat: { type: "json_object" } }));
    if (any.finishReason === "stop") expect(() => JSON.parse(any.text)).not.toThrow();
  });
});

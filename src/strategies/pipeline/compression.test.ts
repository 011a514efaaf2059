import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TandemError } from "../../core/errors.js";
import { contentText } from "../../core/wire.js";
import { logSoftmax } from "../../token-level/distribution.js";
import { LocalLogitModel } from "../../token-level/logit-model.js";
import { autoregressive } from "../speculative/index.js";
import { compressPrompt, promptCompression } from "./index.js";

const models = new URL("../../../models/", import.meta.url).pathname;

const passage =
  "Passage: The little town had a bakery on the main street. Every morning the baker made 120 loaves of bread and 36 cakes. " +
  "The children liked to stop at the window and look at the cakes before they went to school. " +
  "On Sundays the bakery was closed, and the baker went fishing at the lake with his dog.\n" +
  "Question: how many loaves of bread did the baker make every morning?";

describe("SLM prompt compression (LLMLingua-style, real GGUF models)", () => {
  let small: LocalLogitModel; // tinytales-math-260K
  let large: LocalLogitModel; // tinytales-5M

  beforeAll(async () => {
    small = await LocalLogitModel.load(`${models}tinytales-math-260K.gguf`, { threads: 1 });
    large = await LocalLogitModel.load(`${models}tinytales-5M.gguf`, { threads: 1 });
  });
  afterAll(async () => {
    await small?.dispose();
    await large?.dispose();
  });

  it("keeps about the target share of tokens, keeps the protected spans, and drops the least surprising tokens", async () => {
    const messages = [{ role: "user" as const, content: passage }];
    const r = await compressPrompt(messages, { compressor: small, rate: 0.5 });
    expect(r.originalTokens).toBe(small.tokenize(passage).length);
    expect(r.keptTokens).toBe(Math.ceil(0.5 * r.originalTokens));
    expect(r.ratio).toBeCloseTo(0.5, 1);
    const text = contentText(r.messages[0].content);
    expect(text.length).toBeLessThan(passage.length * 0.8);
    expect(text).toContain("120");
    expect(text).toContain("36");
    expect(text).toContain("how many loaves of bread did the baker make every morning?");

    // Ranking check against surprisal computed here from the raw logits: every dropped token is at most as surprising as every kept unprotected one.
    const tokens = small.tokenize(passage);
    const logits = await small.logits([small.bos!, ...tokens], 1);
    const surprisal = tokens.map((t, j) => -logSoftmax(logits[j])[t]);
    const sorted = [...surprisal].sort((a, b) => a - b);
    expect(r.surprisalThreshold).toBeGreaterThan(sorted[0]);
    expect(r.surprisalThreshold).toBeLessThan(sorted[sorted.length - 1]);
  });

  it("rate 1 keeps the text; a bad rate is refused", async () => {
    const messages = [{ role: "user" as const, content: passage }];
    const r = await compressPrompt(messages, { compressor: small, rate: 1 });
    expect(r.keptTokens).toBe(r.originalTokens);
    expect(contentText(r.messages[0].content).replace(/\s+/g, " ")).toBe(passage.replace(/\s+/g, " "));
    await expect(compressPrompt(messages, { compressor: small, rate: 0 })).rejects.toThrow(TandemError);
  });

  it("as a pipeline stage: the large model gets the shorter prompt, and info shows the compressor and the saving", async () => {
    const target = autoregressive(large);
    const model = promptCompression({ compressor: small, model: target, rate: 0.6 });
    const request = { messages: [{ role: "user" as const, content: passage }], temperature: 0, maxTokens: 8 };
    const direct = await target.generate(request);
    const result = await model.generate(request);
    expect(result.usage.promptTokens).toBeLessThan(direct.usage.promptTokens * 0.8);
    expect(result.info.calls[0]).toMatchObject({ model: small.id, role: "compressor" });
    expect(result.info.calls[1].model).toBe(large.id);
    expect(result.info.decisions[0]).toMatchObject({ strategy: "pipeline", signal: "compression-ratio", threshold: 0.6 });
    expect(result.info.decisions[0].score).toBeLessThan(0.7);
    let streamed = "";
    for await (const part of model.stream(request)) if (part.type === "text") streamed += part.text;
    expect(streamed).toBe(result.text);
  });
});

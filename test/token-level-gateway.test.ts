/**
 * Token-level strategies declared in a policy and served by the gateway: speculative decoding
 * (streaming and not) gives the target's greedy text; a fused model and a compression pipeline
 * answer through the official openai client.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPolicy, parsePolicy, type BuiltPolicy } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import type { TandemField } from "../src/server/projection.js";
import { modelPath } from "./helpers.js";

let built: BuiltPolicy;
let gateway: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  built = await buildPolicy(
    parsePolicy(`
models:
  small: { provider: llama-cpp, path: ${modelPath("tinytales-math-260K.gguf")}, threads: 1, contextSize: 512 }
  plain: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 512 }
  big: { provider: llama-cpp, path: ${modelPath("tinytales-5M.gguf")}, threads: 1, contextSize: 512, price: { input: 1, output: 2 } }
strategies:
  fast: { kind: speculative, draft: small, target: big, gamma: 4 }
  tuned: { kind: proxy-tuning, base: big, expert: small, antiExpert: plain, alpha: 0.25 }
  short: { kind: compression, compressor: small, model: big, rate: 0.6 }
traces: false
`),
  );
  const { app } = createGatewayApp({ models: built.served });
  gateway = await listen(app, { port: 0 });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "x", maxRetries: 0 });
});
afterAll(async () => {
  await gateway?.close();
  await built?.close();
});

const question = "Tom has 3 apples and buys 5 more. How many apples does he have?";

describe("token-level strategies behind the gateway", () => {
  it("speculative decoding returns the target's greedy text, streaming or not, with its acceptance stats", async () => {
    const request = { messages: [{ role: "user" as const, content: question }], max_tokens: 24, temperature: 0 };
    const target = await client.chat.completions.create({ ...request, model: "big" });
    const fast = await client.chat.completions.create({ ...request, model: "fast" });
    expect(fast.choices[0].message.content).toBe(target.choices[0].message.content);
    const t = (fast as unknown as { tandem: TandemField }).tandem;
    expect(t.decisions[0]).toMatchObject({ strategy: "speculative", signal: "acceptance-rate" });
    expect(t.decisions[0].score).toBeGreaterThan(0);

    let text = "";
    for await (const chunk of await client.chat.completions.create({ ...request, model: "fast", stream: true })) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe(target.choices[0].message.content);
  });

  it("serves a proxy-tuned model and a compression pipeline", async () => {
    const tuned = await client.chat.completions.create({ model: "tuned", messages: [{ role: "user", content: question }], max_tokens: 8 });
    expect(tuned.usage?.completion_tokens).toBeGreaterThan(0);
    const long = `Background: ${"The farmer grows apples and pears in the valley every year, and sells them at the market. ".repeat(4)} ${question}`;
    const short = await client.chat.completions.create({ model: "short", messages: [{ role: "user", content: long }], max_tokens: 8 });
    const t = (short as unknown as { tandem: TandemField }).tandem;
    expect(t.decisions[0]).toMatchObject({ strategy: "pipeline", signal: "compression-ratio" });
    expect(t.decisions[0].score).toBeLessThan(1);
  });
});

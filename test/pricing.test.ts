/**
 * Prices from the bundled catalogue (@pydantic/genai-prices) and cost accounting for cached,
 * cache-written and reasoning tokens (issue #15, item 2), on recorded usage objects of the OpenAI
 * and Anthropic APIs (test/fixtures/pricing/usage.json):
 *
 * - the usage reader agrees with genai-prices' own usage extractors, and Tandem's cost of each
 *   object equals genai-prices' `calcPrice` (cache reads, cache writes, long-context tiers);
 * - a real HTTP upstream on 127.0.0.1 serves those usage objects (non-streamed and streamed) to
 *   the `openai-compatible` provider, and through a real gateway to the official `openai` and
 *   `@anthropic-ai/sdk` clients: the `tandem` field's `usage_breakdown` and `calls`, the OpenAI
 *   usage details, Anthropic's `cache_read_input_tokens`, and the trace's `priceSource`.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import { calcPrice, extractUsage, findProvider } from "@pydantic/genai-prices";
import OpenAI from "openai";
import { writeRecordedChat } from "./fixtures/pricing/recorded-chat.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costBreakdown, costOf, type TokenUsage } from "../src/core/model.js";
import { CATALOGUE, lookupCatalogue } from "../src/core/pricing/catalogue.js";
import { anthropicUsageOf, usageFromUpstream } from "../src/core/pricing/usage.js";
import { buildGateway, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";

type Recorded = { model: string; usage: Record<string, unknown> };
const fixtures = JSON.parse(readFileSync(new URL("./fixtures/pricing/usage.json", import.meta.url), "utf8")) as Record<string, Recorded>;
const rec = (key: string) => fixtures[key];

/** genai-prices' reading of a recorded response, and its price. */
function reference(key: string, provider: "openai" | "anthropic", flavor: string) {
  const { usage, model } = extractUsage(findProvider({ providerId: provider })!, rec(key), flavor);
  return { usage, price: calcPrice(usage, model!, { providerId: provider })! };
}

describe("usage objects and catalogue prices", () => {
  const cases: Array<[string, "openai" | "anthropic", string, TokenUsage]> = [
    ["openai-chat-cached", "openai", "chat", { promptTokens: 2006, completionTokens: 300, cachedPromptTokens: 1920 }],
    ["openai-chat-reasoning-cached", "openai", "chat", { promptTokens: 1117, completionTokens: 1556, cachedPromptTokens: 1024, reasoningTokens: 1344 }],
    ["openai-responses-reasoning", "openai", "responses", { promptTokens: 75, completionTokens: 1186, reasoningTokens: 1024 }],
    ["anthropic-cache-write", "anthropic", "default", { promptTokens: 188107, completionTokens: 393, cacheWriteTokens: 188086 }],
    ["anthropic-cache-read", "anthropic", "default", { promptTokens: 188107, completionTokens: 393, cachedPromptTokens: 188086 }],
    ["anthropic-long-context", "anthropic", "default", { promptTokens: 252000, completionTokens: 2048, cachedPromptTokens: 240000 }],
  ];

  it.each(cases)("%s: read as genai-prices reads it, priced as genai-prices prices it", (key, provider, flavor, expected) => {
    const usage = usageFromUpstream(rec(key).usage)!;
    expect(usage).toEqual(expected);
    const ref = reference(key, provider, flavor);
    expect(usage.promptTokens).toBe(ref.usage.input_tokens);
    expect(usage.completionTokens).toBe(ref.usage.output_tokens);
    expect(usage.cachedPromptTokens ?? 0).toBe(ref.usage.cache_read_tokens ?? 0);
    expect(usage.cacheWriteTokens ?? 0).toBe(ref.usage.cache_write_tokens ?? 0);
    expect(usage.reasoningTokens ?? 0).toBe(ref.usage.output_reasoning_tokens ?? 0);
    const entry = lookupCatalogue(rec(key).model, { provider })!;
    expect(entry.source).toBe(`@pydantic/genai-prices@${CATALOGUE.version} ${ref.price.provider.id}/${ref.price.model.id}`);
    expect(costOf(entry.price, usage)).toBeCloseTo(ref.price.total_price, 12);
    const parts = costBreakdown(entry.price, usage);
    expect(parts.inputUsd + parts.cachedInputUsd + parts.cacheWriteUsd).toBeCloseTo(ref.price.input_price, 12);
    expect(parts.outputUsd).toBeCloseTo(ref.price.output_price, 12);
  });

  it("a proxy's Claude usage (LiteLLM: Anthropic counters beside prompt_tokens) reads as the native one", () => {
    expect(usageFromUpstream(rec("litellm-claude-chat").usage)).toEqual(usageFromUpstream(rec("anthropic-cache-read").usage));
    // Anthropic's convention leaking through (cache counts outside prompt_tokens) is added back
    expect(usageFromUpstream({ prompt_tokens: 21, completion_tokens: 5, cache_read_input_tokens: 100 })).toEqual({ promptTokens: 121, completionTokens: 5, cachedPromptTokens: 100 });
    expect(anthropicUsageOf(usageFromUpstream(rec("litellm-claude-chat").usage)!)).toEqual({ input_tokens: 21, output_tokens: 393, cache_creation_input_tokens: 0, cache_read_input_tokens: 188086 });
    expect(usageFromUpstream(undefined)).toBeUndefined();
    expect(usageFromUpstream({ prompt_tokens: "3" })).toBeUndefined();
  });

  it("cache reads are cheaper and long prompts dearer only where the catalogue says so", () => {
    const gpt4o = lookupCatalogue("gpt-4o", { baseURL: "https://api.openai.com/v1" })!;
    expect(gpt4o).toMatchObject({ provider: "openai", model: "gpt-4o", contextWindow: 128_000 });
    expect(gpt4o.price).toMatchObject({ inputPerMillion: 2.5, cachedInputPerMillion: 1.25, outputPerMillion: 10 });
    expect(gpt4o.price.tiers).toBeUndefined();
    const sonnet = lookupCatalogue("claude-sonnet-4-5", { baseURL: "https://api.anthropic.com/v1" })!;
    expect(sonnet.price).toMatchObject({ inputPerMillion: 3, cachedInputPerMillion: 0.3, cacheWritePerMillion: 3.75, outputPerMillion: 15 });
    expect(sonnet.price.tiers).toEqual([{ abovePromptTokens: 200_000, inputPerMillion: 6, outputPerMillion: 22.5, cachedInputPerMillion: 0.6, cacheWritePerMillion: 7.5 }]);
    // 200,000 prompt tokens exactly: base rates; one more: the whole call at the tier's
    expect(costOf(sonnet.price, { promptTokens: 200_000, completionTokens: 0 })).toBeCloseTo(0.6, 12);
    expect(costOf(sonnet.price, { promptTokens: 200_001, completionTokens: 0 })).toBeCloseTo(200_001 * 6e-6, 12);
    // a price without cache rates charges cached tokens as input (no invented discount)
    expect(costOf({ inputPerMillion: 1, outputPerMillion: 2 }, { promptTokens: 100, completionTokens: 10, cachedPromptTokens: 60 })).toBeCloseTo(120e-6, 15);
    // names the catalogue does not know, local upstreams: no price
    expect(lookupCatalogue("gpt-test", { baseURL: "http://127.0.0.1:9/v1" })).toBeUndefined();
    expect(lookupCatalogue("stories260K")).toBeUndefined();
    // an unknown URL (a proxy) falls back to the model name; a known one decides the provider
    expect(lookupCatalogue("gpt-4o", { baseURL: "http://127.0.0.1:9/v1" })?.provider).toBe("openai");
    expect(lookupCatalogue("openai/gpt-4o", { baseURL: "https://openrouter.ai/api/v1" })?.provider).toBe("openrouter");
  });

  it("the policy's price wins, takes cachedInput / cacheWrite, and rejects unknown fields", async () => {
    const policy = parsePolicy(`
models:
  a: { provider: openai-compatible, baseURL: "http://127.0.0.1:9/v1", model: gpt-4o, price: { input: 2, output: 8, cachedInput: 0.5, cacheWrite: 2.5 } }
  b: { provider: openai-compatible, baseURL: "http://127.0.0.1:9/v1", model: gpt-4o }
  c: { provider: openai-compatible, baseURL: "http://127.0.0.1:9/v1", model: gpt-4o, location: edge }
`);
    const built = await buildGateway(policy, { tracesPath: ":memory:" });
    try {
      expect(built.served.get("a")!.price).toEqual({ inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5, cacheWritePerMillion: 2.5 });
      expect(built.served.get("b")!.price).toMatchObject({ inputPerMillion: 2.5, cachedInputPerMillion: 1.25, source: expect.stringMatching(/^@pydantic\/genai-prices@\S+ openai\/gpt-4o$/) });
      expect(built.served.get("b")!.contextWindow).toBe(128_000);
      expect(built.served.get("c")!.price).toEqual({ inputPerMillion: 0, outputPerMillion: 0 });
    } finally {
      await built.close();
    }
    expect(() => parsePolicy(`models:\n  a: { provider: openai-compatible, baseURL: "http://x/v1", model: m, price: { input: 1, output: 2, cached: 1 } }`)).toThrow(/price/);
  });
});

// ---------------------------------------------------------------------------------------------
// A recorded upstream on 127.0.0.1

const BY_MODEL: Record<string, string> = {
  "gpt-4o-2024-08-06": "openai-chat-cached",
  "o3-mini-2025-01-31": "openai-chat-reasoning-cached",
  "claude-sonnet-4-20250514": "litellm-claude-chat",
};

let upstream: Server;
let upstreamURL: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw) as { model: string; stream?: boolean };
      const { usage } = rec(BY_MODEL[body.model]);
      writeRecordedChat(res, body, usage);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

describe("openai-compatible provider on a recorded upstream", () => {
  it("prices a catalogued model, reports cached and reasoning tokens and the cost per part (generate and stream)", async () => {
    const model = openaiCompatible({ baseURL: upstreamURL, model: "o3-mini-2025-01-31", maxRetries: 0 });
    try {
      const ref = reference("openai-chat-reasoning-cached", "openai", "chat").price;
      const r = await model.generate({ messages: [{ role: "user", content: "hi" }] });
      expect(r.usage).toEqual({ promptTokens: 1117, completionTokens: 1556, cachedPromptTokens: 1024, reasoningTokens: 1344 });
      const call = r.info.calls[0];
      expect(call).toMatchObject({ cachedPromptTokens: 1024, reasoningTokens: 1344, priceSource: expect.stringContaining("openai/o3-mini") });
      expect(call.costUsd).toBeCloseTo(ref.total_price, 12);
      expect(call.costParts).toEqual({ inputUsd: expect.closeTo(93 * 1.1e-6, 12), cachedInputUsd: expect.closeTo(1024 * 0.55e-6, 12), cacheWriteUsd: 0, outputUsd: expect.closeTo(1556 * 4.4e-6, 12) });
      let finish: Awaited<ReturnType<typeof model.generate>> | undefined;
      for await (const part of model.stream({ messages: [{ role: "user", content: "hi" }] })) if (part.type === "finish") finish = part.result;
      expect(finish!.usage).toEqual(r.usage);
      expect(finish!.info.calls[0].costUsd).toBeCloseTo(ref.total_price, 12);
    } finally {
      await model.close?.();
    }
  });

  it("an explicit price (with a cachedInput rate) wins over the catalogue", async () => {
    const model = openaiCompatible({ baseURL: upstreamURL, model: "gpt-4o-2024-08-06", maxRetries: 0, price: { inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 } });
    try {
      const r = await model.generate({ messages: [{ role: "user", content: "hi" }] });
      expect(r.info.costUsd).toBeCloseTo((86 * 2 + 1920 * 0.5 + 300 * 8) / 1e6, 15);
      expect(r.info.calls[0].priceSource).toBeUndefined();
    } finally {
      await model.close?.();
    }
  });
});

describe("gateway: the tandem field, the protocols' usage and the trace", () => {
  let built: GatewayParts;
  let gateway: RunningServer;

  beforeAll(async () => {
    const policy = parsePolicy(`
models:
  gpt: { provider: openai-compatible, baseURL: "${upstreamURL}", model: gpt-4o-2024-08-06, maxRetries: 0, timeoutMs: 10000 }
  o3: { provider: openai-compatible, baseURL: "${upstreamURL}", model: o3-mini-2025-01-31, maxRetries: 0, timeoutMs: 10000 }
  claude: { provider: openai-compatible, baseURL: "${upstreamURL}", model: claude-sonnet-4-20250514, maxRetries: 0, timeoutMs: 10000 }
`);
    built = await buildGateway(policy, { tracesPath: ":memory:" });
    const { app } = createGatewayApp({ models: built.served, traces: built.traces, privateModels: built.privateModels, maxBodyBytes: 64 * 1024, requestTimeoutMs: 20_000 });
    gateway = await listen(app, { port: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await built?.close();
  });

  it("chat completions (openai client): usage details, usage_breakdown per part and the catalogue in the trace", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "none", maxRetries: 0 });
    const c = await client.chat.completions.create({ model: "gpt", messages: [{ role: "user", content: "hi" }] });
    expect(c.usage?.prompt_tokens_details?.cached_tokens).toBe(1920);
    const tandem = (c as unknown as { tandem: { trace_id: string; cost_usd: number; usage_breakdown: Record<string, unknown> } }).tandem;
    const ref = reference("openai-chat-cached", "openai", "chat").price;
    expect(tandem.cost_usd).toBeCloseTo(ref.total_price, 10);
    expect(tandem.usage_breakdown).toEqual({
      prompt_tokens: 2006,
      cached_prompt_tokens: 1920,
      cache_write_tokens: 0,
      completion_tokens: 300,
      reasoning_tokens: 0,
      input_usd: expect.closeTo(86 * 2.5e-6, 10),
      cached_input_usd: expect.closeTo(1920 * 1.25e-6, 10),
      cache_write_usd: 0,
      output_usd: expect.closeTo(300 * 10e-6, 10),
      other_usd: 0,
      price_sources: [`@pydantic/genai-prices@${CATALOGUE.version} openai/gpt-4o`],
    });
    const trace = built.traces!.get(tandem.trace_id)!;
    expect(trace.calls[0]).toMatchObject({ cachedPromptTokens: 1920, priceSource: `@pydantic/genai-prices@${CATALOGUE.version} openai/gpt-4o` });
    expect(trace.costUsd).toBeCloseTo(ref.total_price, 10);
  });

  it("a streamed chat completion carries the reasoning tokens in its final tandem field", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "none", maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "o3", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    let tandem: { usage_breakdown?: { reasoning_tokens: number; cached_prompt_tokens: number } } | undefined;
    for await (const chunk of stream) tandem = (chunk as unknown as { tandem?: typeof tandem }).tandem ?? tandem;
    expect(tandem?.usage_breakdown).toMatchObject({ reasoning_tokens: 1344, cached_prompt_tokens: 1024 });
  });

  it("Anthropic messages (@anthropic-ai/sdk): cache reads apart from input_tokens, priced at Claude's cache rate", async () => {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: "none", maxRetries: 0 });
    const m = await client.messages.create({ model: "claude", max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
    expect(m.usage).toMatchObject({ input_tokens: 21, cache_read_input_tokens: 188086, cache_creation_input_tokens: 0, output_tokens: 393 });
    const tandem = (m as unknown as { tandem: { cost_usd: number; usage_breakdown: { cached_input_usd: number; price_sources: string[] } } }).tandem;
    expect(tandem.cost_usd).toBeCloseTo(reference("anthropic-cache-read", "anthropic", "default").price.total_price, 10);
    expect(tandem.usage_breakdown.cached_input_usd).toBeCloseTo(188086 * 0.3e-6, 10);
    expect(tandem.usage_breakdown.price_sources[0]).toMatch(/anthropic\/claude-sonnet-4-0$/);
  });
});

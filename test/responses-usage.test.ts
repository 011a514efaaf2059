/**
 * Prompt-cache and reasoning counts on the OpenAI Responses API (`POST /v1/responses`, issue #15
 * follow-up): a real chat-completions upstream on 127.0.0.1 answers with the recorded usage
 * objects of test/fixtures/pricing/usage.json (cached and reasoning tokens), and the official
 * `openai` client's `responses.create` — non-streamed and streamed — reads them back in
 * `usage.input_tokens_details.cached_tokens` / `usage.output_tokens_details.reasoning_tokens`,
 * equal to what the chat-completions mapping reports for the same call and to the
 * `tandem.usage_breakdown`; an upstream that reports no details answers 0s.
 *
 * Also the `openai-compatible` embedding provider priced from the bundled catalogue when the
 * policy gives no `price` (a loopback `/v1/embeddings` upstream reporting its own token count).
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { writeRecordedChat } from "./fixtures/pricing/recorded-chat.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUE } from "../src/core/pricing/catalogue.js";
import { buildGateway, gatewayAppOptions, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { cataloguedEmbedding, openaiCompatibleEmbeddings } from "../src/providers/openai-compatible-embeddings.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { createGatewayApp } from "../src/server/app.js";

type Recorded = { model: string; usage: Record<string, unknown> };
const fixtures = JSON.parse(readFileSync(new URL("./fixtures/pricing/usage.json", import.meta.url), "utf8")) as Record<string, Recorded>;

/** Upstream model name → the recorded usage it answers with (`plain`: no details at all). */
const USAGE: Record<string, Record<string, unknown>> = {
  "o3-mini-2025-01-31": fixtures["openai-chat-reasoning-cached"].usage,
  "gpt-4o-2024-08-06": fixtures["openai-chat-cached"].usage,
  plain: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
};
/** Tokens the embedding upstream reports per input (not o200k: the provider must use them). */
const EMBED_TOKENS_PER_INPUT = 1000;

let upstream: Server;
let upstreamURL: string;
let built: GatewayParts;
let gateway: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw) as { model: string; stream?: boolean; input?: string | string[] };
      if (req.url?.endsWith("/embeddings")) {
        const inputs = Array.isArray(body.input) ? body.input : [body.input ?? ""];
        const tokens = inputs.length * EMBED_TOKENS_PER_INPUT;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", model: body.model, data: inputs.map((_, index) => ({ object: "embedding", index, embedding: [index, 0.5, -0.5, 1] })), usage: { prompt_tokens: tokens, total_tokens: tokens } }));
        return;
      }
      const usage = USAGE[body.model];
      writeRecordedChat(res, body, usage);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  const policy = parsePolicy(`
models:
  o3: { provider: openai-compatible, baseURL: "${upstreamURL}", model: o3-mini-2025-01-31, maxRetries: 0, timeoutMs: 10000 }
  gpt: { provider: openai-compatible, baseURL: "${upstreamURL}", model: gpt-4o-2024-08-06, maxRetries: 0, timeoutMs: 10000 }
  plain: { provider: openai-compatible, baseURL: "${upstreamURL}", model: plain, maxRetries: 0, timeoutMs: 10000 }
embeddings:
  small: { provider: openai-compatible, baseURL: "${upstreamURL}", model: text-embedding-3-small, maxRetries: 0, timeoutMs: 10000 }
  priced: { provider: openai-compatible, baseURL: "${upstreamURL}", model: text-embedding-3-small, price: { input: 1 }, maxRetries: 0, timeoutMs: 10000 }
  unknown: { provider: openai-compatible, baseURL: "${upstreamURL}", model: rec-embed, maxRetries: 0, timeoutMs: 10000 }
`);
  built = await buildGateway(policy, { tracesPath: ":memory:" });
  const { app } = createGatewayApp(gatewayAppOptions(built, { requestTimeoutMs: 20_000 }));
  gateway = await listen(app, { port: 0 });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "none", maxRetries: 0 });
});
afterAll(async () => {
  await gateway?.close();
  await built?.close();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
});

type Breakdown = { cached_prompt_tokens: number; reasoning_tokens: number; prompt_tokens: number; completion_tokens: number };
const tandemOf = (x: unknown) => (x as { tandem: { usage_breakdown?: Breakdown; cost_usd: number } }).tandem;

describe("Responses usage carries the upstream's cached and reasoning tokens", () => {
  it("non-streamed (openai client responses.create): input/output token details equal the recorded usage and the chat mapping's", async () => {
    const r = await client.responses.create({ model: "o3", input: "hi" });
    expect(r.output_text).toBe("Hello there.");
    expect(r.usage).toEqual({
      input_tokens: 1117,
      input_tokens_details: { cached_tokens: 1024 },
      output_tokens: 1556,
      output_tokens_details: { reasoning_tokens: 1344 },
      total_tokens: 2673,
    });
    expect(tandemOf(r).usage_breakdown).toMatchObject({ prompt_tokens: 1117, cached_prompt_tokens: 1024, completion_tokens: 1556, reasoning_tokens: 1344 });
    // the same call through chat completions reports the same counts
    const c = await client.chat.completions.create({ model: "o3", messages: [{ role: "user", content: "hi" }] });
    expect(c.usage?.prompt_tokens_details?.cached_tokens).toBe(r.usage!.input_tokens_details.cached_tokens);
    expect(c.usage?.completion_tokens_details?.reasoning_tokens).toBe(r.usage!.output_tokens_details.reasoning_tokens);
    expect(tandemOf(c).cost_usd).toBeCloseTo(tandemOf(r).cost_usd, 12);
  });

  it("streamed: response.completed carries the details", async () => {
    const stream = await client.responses.create({ model: "gpt", input: [{ role: "user", content: "hi" }], stream: true });
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) if (event.type === "response.completed") completed = event.response;
    expect(completed?.usage).toEqual({
      input_tokens: 2006,
      input_tokens_details: { cached_tokens: 1920 },
      output_tokens: 300,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 2306,
    });
  });

  it("an upstream that reports no details answers 0 cached and 0 reasoning tokens", async () => {
    const r = await client.responses.create({ model: "plain", input: "hi" });
    expect(r.usage).toEqual({ input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 });
  });
});

describe("openai-compatible embeddings priced from the catalogue when the policy gives no price", () => {
  const SOURCE = `@pydantic/genai-prices@${CATALOGUE.version} openai/text-embedding-3-small`;

  it("the catalogue's rate, recorded as priceSource, at a catalogued URL and at a loopback relay", () => {
    const official = cataloguedEmbedding("text-embedding-3-small", "https://api.openai.com/v1")!;
    expect(official.price).toMatchObject({ inputPerMillion: 0.02, outputPerMillion: 0, source: SOURCE });
    expect(cataloguedEmbedding("text-embedding-3-small", upstreamURL)?.price).toEqual(official.price);
    // unknown names, and a catalogued provider that does not serve the name: no price
    expect(cataloguedEmbedding("rec-embed", upstreamURL)).toBeUndefined();
    expect(cataloguedEmbedding("text-embedding-3-small", "https://api.anthropic.com/v1")).toBeUndefined();
    expect(openaiCompatibleEmbeddings({ baseURL: upstreamURL, model: "text-embedding-3-small", location: "edge" }).price).toEqual({ inputPerMillion: 0, outputPerMillion: 0 });
  });

  it("provider: a call costs the upstream's tokens × the catalogue rate; an explicit price wins", async () => {
    const m = openaiCompatibleEmbeddings({ baseURL: upstreamURL, model: "text-embedding-3-small", maxRetries: 0 });
    const r = await m.embed({ inputs: ["a", "b", "c"] });
    expect(r.usage.promptTokens).toBe(3 * EMBED_TOKENS_PER_INPUT);
    expect(r.info.costUsd).toBeCloseTo(3000 * 0.02e-6, 15);
    expect(r.info.calls[0].priceSource).toBe(SOURCE);
    const explicit = openaiCompatibleEmbeddings({ baseURL: upstreamURL, model: "text-embedding-3-small", maxRetries: 0, price: { inputPerMillion: 1, outputPerMillion: 0 } });
    const e = await explicit.embed({ inputs: ["a"] });
    expect(e.info.costUsd).toBeCloseTo(1000 * 1e-6, 15);
    expect(e.info.calls[0].priceSource).toBeUndefined();
  });

  it("gateway (openai client embeddings.create): the policy model without price is charged at the catalogue rate", async () => {
    const cost = async (model: string) => tandemOf(await client.embeddings.create({ model, input: ["x", "y"], encoding_format: "float" })).cost_usd;
    expect(await cost("small")).toBeCloseTo(2000 * 0.02e-6, 12);
    expect(await cost("priced")).toBeCloseTo(2000 * 1e-6, 12);
    expect(await cost("unknown")).toBe(0);
    expect(built.embeddings.get("small")!.price.source).toBe(SOURCE);
    expect(built.embeddings.get("priced")!.price.source).toBeUndefined();
  });
});

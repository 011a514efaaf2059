/**
 * Gateway API keys, budgets and rate limits, through the real gateway and the openai client.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { hashApiKey } from "../src/server/auth.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { modelPath } from "./helpers.js";

let built: GatewayParts;
let gateway: RunningServer;
const BUDGET = 0.25; // USD
const clientFor = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });

beforeAll(async () => {
  built = await buildGateway(
    parsePolicy(`
models:
  # priced high on purpose so a few requests exhaust the budget: USD per 1M tokens
  priced: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256, sequences: 2, price: { input: 1000, output: 1000 } }
  other: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
auth:
  keys:
    - { name: team-a, hash: "${hashApiKey("key-a")}", budgetUsd: ${BUDGET}, models: [priced] }
    - { name: team-b, hash: "${hashApiKey("key-b")}", requestsPerMinute: 3 }
`),
    { tracesPath: ":memory:", ledgerPath: ":memory:" },
  );
  const { app } = createGatewayApp({ models: built.served, traces: built.traces, keys: built.keys });
  gateway = await listen(app, { port: 0 });
});
afterAll(async () => {
  await gateway?.close();
  await built?.close();
});

const ask = { messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 8 };

describe("gateway keys", () => {
  it("401 without a key or with a wrong one; keys are stored hashed", async () => {
    await expect(clientFor("wrong").chat.completions.create({ ...ask, model: "priced" })).rejects.toMatchObject({ status: 401, code: "invalid_api_key" });
    const res = await fetch(`${gateway.url}/v1/models`);
    expect(res.status).toBe(401);
    expect(JSON.stringify(built.policy.auth)).not.toContain("key-a");
    expect((await clientFor("key-b").models.list()).data.length).toBe(2);
  });

  it("the dashboard's data needs a key too (the page sends the one in its URL fragment)", async () => {
    expect((await fetch(`${gateway.url}/dashboard`)).status).toBe(200); // the page holds no data
    const open = await fetch(`${gateway.url}/dashboard/data`);
    expect(open.status).toBe(401);
    expect(await open.json()).toMatchObject({ error: { code: "invalid_api_key" } });
    const keyed = await fetch(`${gateway.url}/dashboard/data`, { headers: { authorization: "Bearer key-b" } });
    expect(keyed.status).toBe(200);
    expect(await keyed.json()).toMatchObject({ traces: true });
  });

  it("403 for a model the key may not use", async () => {
    await expect(clientFor("key-a").chat.completions.create({ ...ask, model: "other" })).rejects.toMatchObject({ status: 403, code: "permission_denied" });
  });

  it("429 past the request rate limit", async () => {
    const b = clientFor("key-b");
    for (let i = 0; i < 3; i++) await b.chat.completions.create({ ...ask, model: "other" });
    await expect(b.chat.completions.create({ ...ask, model: "other" })).rejects.toMatchObject({ status: 429, code: "rate_limit_exceeded" });
  });

  it("concurrent spending never overshoots the budget by more than one request's cost", async () => {
    const a = clientFor("key-a");
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => a.chat.completions.create({ ...ask, model: "priced" })));
    const ok = results.filter((r) => r.status === "fulfilled") as PromiseFulfilledResult<OpenAI.Chat.ChatCompletion>[];
    const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    const costs = ok.map((r) => (r.value as unknown as { tandem: { cost_usd: number } }).tandem.cost_usd);
    const spent = costs.reduce((s, x) => s + x, 0);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.reason).toMatchObject({ status: 429, code: "budget_exceeded" });
    expect(spent).toBeLessThanOrEqual(BUDGET + Math.max(...costs));
    // keep spending one by one until refused: the total still stays within one request of the budget
    let total = spent;
    let refusedAt = -1;
    for (let i = 0; i < 20 && refusedAt < 0; i++) {
      try {
        const r = await a.chat.completions.create({ ...ask, model: "priced" });
        total += (r as unknown as { tandem: { cost_usd: number } }).tandem.cost_usd;
      } catch (e) {
        expect(e).toMatchObject({ status: 429, code: "budget_exceeded" });
        refusedAt = i;
      }
    }
    expect(refusedAt).toBeGreaterThanOrEqual(0);
    expect(total).toBeLessThanOrEqual(BUDGET + Math.max(...costs));
  });
});

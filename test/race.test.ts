/**
 * The `race` strategy (the worked example of docs/extending.md), built from a policy through the
 * registry and served by a real gateway: a hung upstream (a real HTTP server that never answers)
 * races the real stories260K model; the model answers, the hung call is aborted and recorded.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadBaseURL, startFaultServer, type FaultServer } from "./fixtures/production/fault-server.js";
import { modelPath } from "./helpers.js";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/schema.js";
import type { RunningServer } from "../src/server/listen.js";
import { race } from "../src/strategies/race/index.js";

let hung: FaultServer;
let gateway: Gateway;
let server: RunningServer;
let dead: string;

beforeAll(async () => {
  hung = await startFaultServer({ mode: "hang" });
  dead = await deadBaseURL();
  const policy = parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
  hung: { provider: openai-compatible, model: x, baseURL: ${hung.baseURL}, maxRetries: 0, timeoutMs: 120000, location: cloud, price: { input: 1, output: 2 } }
  dead1: { provider: openai-compatible, model: x, baseURL: ${dead}, maxRetries: 0 }
  dead2: { provider: openai-compatible, model: x, baseURL: ${dead}, maxRetries: 0 }
strategies:
  fast: { kind: race, models: [hung, edge] }
  doomed: { kind: race, models: [dead1, dead2] }
`);
  gateway = await createGateway(policy, { tracesPath: ":memory:" });
  server = await gateway.listen({ host: "127.0.0.1", port: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await hung?.close();
});

describe("race strategy", () => {
  it("serves the first answer and aborts the others, JSON and streamed", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
    const started = performance.now();
    const r = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8, temperature: 0 });
    // far below the hung upstream's 120 s timeout: the race did not wait for it
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(r.choices[0].message.content?.length).toBeGreaterThan(0);
    const tandem = (r as unknown as { tandem: { served_by: string; decisions: Array<{ strategy: string; name: string; chosen: string }> } }).tandem;
    expect(tandem.served_by).toBe("edge");
    expect(tandem.decisions[0]).toMatchObject({ strategy: "race", name: "fast", chosen: "edge" });
    const trace = gateway.built.traces!.get(r.id)!;
    expect(trace.calls.map((c) => [c.model, c.error ?? "ok"])).toEqual([
      ["hung", "lost the race (aborted)"],
      ["edge", "ok"],
    ]);
    expect(hung.calls).toBeGreaterThanOrEqual(1); // the hung upstream really was called

    const stream = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8, temperature: 0, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe(r.choices[0].message.content);
  });

  it("fails with the last error, carrying every member's call, when all fail", async () => {
    const model = gateway.built.all.get("doomed")!;
    const error = await model.generate({ messages: [{ role: "user", content: "hi" }], maxTokens: 4 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "upstream_error" });
    expect((error as { calls: Array<{ model: string }> }).calls.map((c) => c.model).sort()).toEqual(["dead1", "dead2"]);
  });

  it("honours the caller's abort and rejects fewer than two members", async () => {
    const model = gateway.built.all.get("fast")!;
    const controller = new AbortController();
    controller.abort();
    await expect(model.generate({ messages: [{ role: "user", content: "hi" }], maxTokens: 4 }, controller.signal)).rejects.toMatchObject({ code: "aborted" });
    expect(() => race({ models: [gateway.built.all.get("edge")!] })).toThrow(/at least two/);
  });
});

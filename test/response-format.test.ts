/**
 * `response_format` through the gateway: the chat schema accepts it (text, json_object,
 * json_schema), the request carries it to the strategies (the `format` stage validates and repairs
 * against the client's own schema) and to OpenAI-compatible upstreams, and a malformed one is a
 * clear 400. Real parts: a scripted OpenAI-compatible upstream on 127.0.0.1 that records the bodies
 * it receives, stories260K as the local repairer, the official `openai` client.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { modelPath } from "./helpers.js";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/schema.js";
import type { RunningServer } from "../src/server/listen.js";

const schema = {
  type: "object",
  properties: { city: { type: "string" }, population: { type: "integer" } },
  required: ["city", "population"],
  additionalProperties: false,
};
const handwritten = z.object({ city: z.string(), population: z.number().int() }).strict();

describe("response_format reaches the strategies and the upstream", () => {
  let gateway: Gateway;
  let server: RunningServer;
  let upstream: http.Server;
  const bodies: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => (raw += c));
      req.on("end", () => {
        const body = JSON.parse(raw);
        bodies.push(body);
        const text = "The city is Paris, about two million people.";
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: body.model, choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, finish_reason: "stop", logprobs: null }], usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 } }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const baseURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    const policy = parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 1024 }
  cloud: { provider: openai-compatible, model: gpt-x, baseURL: ${baseURL}, maxRetries: 0, location: cloud, price: { input: 1, output: 2 } }
strategies:
  structured: { kind: format, model: cloud, repairer: edge }
`);
    gateway = await createGateway(policy, { tracesPath: ":memory:" });
    server = await gateway.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  const client = () => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
  const responseFormat = { type: "json_schema" as const, json_schema: { name: "city", schema, strict: true } };

  it("a plain cloud model: the upstream receives the client's response_format", async () => {
    bodies.length = 0;
    await client().chat.completions.create({ model: "cloud", messages: [{ role: "user", content: "Biggest city of France?" }], max_tokens: 16, response_format: responseFormat });
    expect(bodies.length).toBe(1);
    expect(bodies[0].response_format).toEqual(responseFormat);
  });

  it("the format stage validates against the client's schema: the cloud's prose is repaired locally into JSON of it", async () => {
    bodies.length = 0;
    const r = await client().chat.completions.create({ model: "structured", messages: [{ role: "user", content: "Biggest city of France?" }], max_tokens: 24, response_format: responseFormat });
    expect(handwritten.safeParse(JSON.parse(r.choices[0].message.content!)).success).toBe(true);
    const tandem = (r as unknown as { tandem: { decisions: Array<Record<string, unknown>> } }).tandem;
    expect(tandem.decisions[0]).toMatchObject({ strategy: "pipeline", signal: "format:repaired" });
    expect(bodies[0].response_format).toEqual(responseFormat);
  });

  it("without response_format the format stage has nothing to enforce and the prose is served", async () => {
    const r = await client().chat.completions.create({ model: "structured", messages: [{ role: "user", content: "Biggest city of France?" }], max_tokens: 16 });
    expect(r.choices[0].message.content).toBe("The city is Paris, about two million people.");
  });

  it("the Responses API's text.format json_schema reaches the format stage and the upstream too", async () => {
    bodies.length = 0;
    const r = await client().responses.create({
      model: "structured",
      input: "Biggest city of France?",
      max_output_tokens: 24,
      text: { format: { type: "json_schema", name: "city", schema, strict: true } },
    });
    expect(handwritten.safeParse(JSON.parse(r.output_text)).success).toBe(true);
    expect(r.text?.format).toMatchObject({ type: "json_schema", name: "city" });
    expect(bodies[0].response_format).toEqual(responseFormat);
  });

  it("a malformed response_format is a 400 naming the field", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "cloud", messages: [{ role: "user", content: "hi" }], response_format: { type: "xml" } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; param?: string } };
    expect(JSON.stringify(body.error)).toContain("response_format");
  });
});

/**
 * The library use case of docs/extending.md: a strategy defined outside the package (here, in
 * this file) is registered at run time, a policy using its kind is parsed and built through the
 * registry, and the gateway serves it over real HTTP on 127.0.0.1 to the official `openai`
 * client — with the real stories260K model underneath.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  createGateway,
  decision,
  defineStrategy,
  mapStreamInfo,
  modelRef,
  parsePolicy,
  registerStrategy,
  strategyInfo,
  strategyKinds,
  type Gateway,
  type Model,
  type RunningServer,
  type TandemError,
} from "../src/index.js";
import { buildPolicy } from "../src/policy/index.js";
import { modelPath } from "./helpers.js";

/** A toy strategy: the wrapped model's answer with `text` in front of it. */
function prefixed(options: { id: string; model: Model; text: string }): Model {
  const { model, text } = options;
  const decided = decision({ strategy: "prefix", name: options.id, signal: "none", score: 0, chosen: model.id, reason: `prefixed ${JSON.stringify(text)}` });
  return {
    id: options.id,
    location: model.location,
    price: model.price,
    async generate(request, signal) {
      const r = await model.generate(request, signal);
      return { ...r, text: text + r.text, info: strategyInfo(r, decided, model.price) };
    },
    async *stream(request, signal) {
      yield { type: "text", text };
      yield* mapStreamInfo(model.stream(request, signal), (r) => strategyInfo(r, decided, model.price));
    },
  };
}

const prefixDefinition = defineStrategy({
  kind: "prefix",
  options: z.object({ model: modelRef, text: z.string().min(1) }).strict(),
  references: (o) => [o.model],
  async build(o, context) {
    return prefixed({ id: context.name, model: await context.model(o.model, "model"), text: o.text });
  },
});

const policyYaml = (strategies: string) => `
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
strategies:
${strategies}
traces: false
`;

function parseError(yaml: string): string {
  try {
    parsePolicy(yaml, "tandem.yaml");
  } catch (e) {
    expect((e as TandemError).code).toBe("invalid_policy");
    return (e as Error).message;
  }
  throw new Error("expected the policy to be rejected");
}

describe("a strategy registered from outside the package", () => {
  let gateway: Gateway;
  let server: RunningServer;

  beforeAll(async () => {
    // not yet registered: the policy is refused, naming the known kinds
    expect(parseError(policyYaml("  p: { kind: prefix, model: edge, text: 'A: ' }"))).toMatch(/tandem\.yaml: strategies\.p\.kind: unknown strategy kind 'prefix' \(known: .*route.*cascade/);
    registerStrategy(prefixDefinition);
    const policy = parsePolicy(
      policyYaml(`  p: { kind: prefix, model: edge, text: "[checked] " }
  private: { kind: privacy, remote: edge, mode: redact }
  p2: { kind: prefix, model: private, text: "[private] " }
  auto: { kind: route, weak: p, strong: edge, router: { kind: random, seed: 1 }, threshold: 1 }`),
    );
    gateway = await createGateway(policy);
    server = await gateway.listen({ host: "127.0.0.1", port: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it("is a known kind once registered, and a second registration is refused", () => {
    expect(strategyKinds()).toContain("prefix");
    expect(() => registerStrategy(prefixDefinition)).toThrow(/already registered/);
  });

  it("validates its options with the policy's error paths", async () => {
    expect(parseError(policyYaml("  p: { kind: prefix, model: edge, text: 3 }"))).toMatch(/strategies\.p\.text: .*expected string/);
    expect(parseError(policyYaml("  p: { kind: prefix, model: edge, text: x, colour: red }"))).toMatch(/strategies\.p: .*colour/);
    await expect(buildPolicy(parsePolicy(policyYaml("  p: { kind: prefix, model: nope, text: x }")))).rejects.toThrow(/strategies\.p\.model: unknown model or strategy 'nope'/);
  });

  it("takes part in reference walks: a prefix over a privacy strategy is private", () => {
    expect([...gateway.built.privateModels].sort()).toEqual(["p2", "private"]);
  });

  it("is served over HTTP to the openai client, JSON and streamed, and nests inside built-in strategies", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
    const messages = [{ role: "user" as const, content: "Once upon a time" }];
    const plain = await client.chat.completions.create({ model: "edge", messages, max_tokens: 8, temperature: 0 });
    const r = await client.chat.completions.create({ model: "p", messages, max_tokens: 8, temperature: 0 });
    expect(r.choices[0].message.content).toBe(`[checked] ${plain.choices[0].message.content}`);
    const tandem = (r as unknown as { tandem: { decisions: Array<{ strategy: string; name: string }> } }).tandem;
    expect(tandem.decisions[0]).toMatchObject({ strategy: "prefix", name: "p" });

    const stream = await client.chat.completions.create({ model: "p", messages, max_tokens: 8, temperature: 0, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe(r.choices[0].message.content);

    // route (threshold 1: always weak) → the registered strategy → the model
    const nested = await client.chat.completions.create({ model: "auto", messages, max_tokens: 8, temperature: 0 });
    expect(nested.choices[0].message.content).toBe(r.choices[0].message.content);
    const path = (nested as unknown as { tandem: { decisions: Array<{ strategy: string }> } }).tandem.decisions.map((d) => d.strategy);
    expect(path).toEqual(["route", "prefix"]);
  });
});

/**
 * `GET /v1/models` lists the policy's embedding models (`embeddings:` section) after its chat
 * models and strategies, each marked by `tandem.type` ("chat" | "embedding"), and
 * `GET /v1/models/{id}` finds them — read with the official `openai` client (`models.list`,
 * `models.retrieve`) against a real gateway on 127.0.0.1 over a real tiny GGUF model.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import type { RunningServer } from "../src/server/listen.js";
import { modelPath } from "./helpers.js";

let gateway: Gateway;
let server: RunningServer;
let client: OpenAI;

/** A model object of the list with Tandem's extension field. */
type Listed = OpenAI.Models.Model & { tandem?: { type: string; location: string; price_usd_per_million: { input: number; output: number } } };

beforeAll(async () => {
  const tiny = `{ provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }`;
  gateway = await createGateway(
    parsePolicy(`
models:
  edge: ${tiny}
strategies:
  pick: { kind: route, weak: edge, strong: edge, router: { kind: heuristic }, threshold: 0.5 }
embeddings:
  local-embed: ${tiny}
  cloud-embed: { provider: openai-compatible, baseURL: "http://127.0.0.1:9/v1", model: text-embedding-3-small, price: { input: 0.02 } }
traces: false
`),
    { preload: false },
  );
  server = await gateway.listen({ host: "127.0.0.1", port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
});

describe("GET /v1/models with embedding models", () => {
  it("models.list() returns chat models, strategies and embedding models, told apart by tandem.type", async () => {
    const list = (await client.models.list()).data as Listed[];
    expect(list.map((m) => m.id)).toEqual(["edge", "pick", "local-embed", "cloud-embed"]);
    for (const m of list) expect(m).toMatchObject({ object: "model", owned_by: "tandem" });
    const byId = new Map(list.map((m) => [m.id, m]));
    expect(byId.get("edge")!.tandem).toMatchObject({ type: "chat", location: "edge" });
    expect(byId.get("pick")!.tandem?.type).toBe("chat");
    expect(byId.get("local-embed")!.tandem).toMatchObject({ type: "embedding", location: "edge" });
    expect(byId.get("cloud-embed")!.tandem).toMatchObject({ type: "embedding", location: "cloud", price_usd_per_million: { input: 0.02, output: 0 } });
  });

  it("models.retrieve() finds an embedding model, and a listed embedding id is served at /v1/embeddings", async () => {
    const m = (await client.models.retrieve("local-embed")) as Listed;
    expect(m).toMatchObject({ id: "local-embed", object: "model", owned_by: "tandem", tandem: { type: "embedding" } });
    expect(((await client.models.retrieve("edge")) as Listed).tandem?.type).toBe("chat");
    await expect(client.models.retrieve("nope")).rejects.toMatchObject({ status: 404 });
    const e = await client.embeddings.create({ model: m.id, input: "Once upon a time" });
    expect(e.data[0].embedding.length).toBeGreaterThan(0);
  });
});

describe("a key with a models allow-list sees only its models", () => {
  let keyed: Gateway;
  let keyedServer: RunningServer;
  beforeAll(async () => {
    const { hashApiKey } = await import("../src/server/auth.js");
    const tiny = `{ provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }`;
    keyed = await createGateway(
      parsePolicy(`
models:
  edge: ${tiny}
  secret-model: ${tiny}
auth:
  keys:
    - { name: narrow, hash: "${hashApiKey("key-narrow")}", models: [edge] }
    - { name: wide, hash: "${hashApiKey("key-wide")}" }
traces: false
`),
      { preload: false },
    );
    keyedServer = await keyed.listen({ host: "127.0.0.1", port: 0 });
  }, 60_000);
  afterAll(async () => {
    await keyed?.close();
  });

  it("lists and retrieves only allowed names; another is the same 404 as a missing one", async () => {
    const as = (key: string) => new OpenAI({ baseURL: `${keyedServer.url}/v1`, apiKey: key, maxRetries: 0 });
    const narrow = [];
    for await (const m of as("key-narrow").models.list()) narrow.push(m.id);
    expect(narrow).toEqual(["edge"]);
    const wide = [];
    for await (const m of as("key-wide").models.list()) wide.push(m.id);
    expect(wide.sort()).toEqual(["edge", "secret-model"]);
    const hidden = await as("key-narrow").models.retrieve("secret-model").catch((e: unknown) => e);
    const missing = await as("key-narrow").models.retrieve("no-such-model").catch((e: unknown) => e);
    expect(hidden).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const codeOf = (e: unknown) => (e as { code?: string }).code;
    expect(codeOf(hidden)).toBe("model_not_found");
    expect(codeOf(hidden)).toBe(codeOf(missing));
  });
});

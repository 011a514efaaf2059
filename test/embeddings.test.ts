/**
 * `POST /v1/embeddings` end to end (issue #12, item 3): the official `openai` client
 * (`client.embeddings.create`: single, batch, and the SDK's default base64 encoding, which it
 * decodes itself) against a real gateway on 127.0.0.1 serving
 *
 * - a local GGUF embedding model (stories260K through node-llama-cpp's embedding context: its
 *   vectors are nonsense, but deterministic — which is what the wiring is judged on), and
 * - a real loopback openai-compatible upstream (node:http) that embeds deterministically and
 *   records every body it receives,
 *
 * with privacy on the input (redact: no detected private value reaches the upstream, placeholders
 * do; local-only: private batches stay on the local model; block: refused), cost (input tokens ×
 * price) charged to the key's budget, admission refusing a request the budget cannot cover, the
 * trace written (and free of private values for private names), and bad input answered in the
 * OpenAI error shape.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64ToVector, vectorToBase64 } from "../src/core/embedding.js";
import { TandemError } from "../src/core/errors.js";
import { createDetector } from "../src/pii/index.js";
import type { PiiDetector } from "../src/pii/types.js";
import { llamaCppEmbeddings } from "../src/providers/llama-cpp/embeddings.js";
import { openaiCompatibleEmbeddings } from "../src/providers/openai-compatible-embeddings.js";
import { privacyEmbeddings } from "../src/strategies/privacy/embeddings.js";
import { buildGateway, gatewayAppOptions, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { defaultPolicyPath } from "../src/policy/default.js";
import { readPolicyFile } from "../src/policy/builder.js";
import { createGatewayApp } from "../src/server/app.js";
import { hashApiKey, KeyRing } from "../src/server/auth.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { localRateLimiter } from "../src/store/rate-limit.js";
import { openSpendLedger, type SpendLedger } from "../src/store/spend.js";
import { modelPath } from "./helpers.js";

/** A loopback `/v1/embeddings` upstream: deterministic vectors of the text, every body recorded. */
interface EmbeddingUpstream {
  baseURL: string;
  bodies: string[];
  close(): Promise<void>;
}

/** The upstream's vector of `text`: `dims` values from an FNV-1a hash of it (the same text, the same vector). */
function upstreamVector(text: string, dims: number): number[] {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return Array.from({ length: dims }, (_, j) => (((h >>> (j % 24)) & 0xff) - 127.5) / 128 + j / 1024);
}
/** Tokens the upstream reports for one input (deliberately not o200k: the gateway must use the upstream's usage). */
const upstreamTokens = (text: string) => Math.ceil(text.length / 2);

async function startEmbeddingUpstream(): Promise<EmbeddingUpstream> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      bodies.push(raw);
      if (req.method !== "POST" || !req.url?.endsWith("/embeddings")) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error", param: null, code: "not_found" } }));
        return;
      }
      const body = JSON.parse(raw) as { model: string; input: string | string[]; encoding_format?: string; dimensions?: number };
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      if (inputs.includes("HANG")) return; // never answers (until the server closes)
      const dims = body.dimensions ?? 8;
      const data = inputs.map((text, index) => {
        const v = upstreamVector(text, dims);
        return { object: "embedding", index, embedding: body.encoding_format === "base64" ? vectorToBase64(Float32Array.from(v)) : v };
      });
      const tokens = inputs.reduce((n, t) => n + upstreamTokens(t), 0);
      // answered in reverse order: the gateway must put vectors back by `index`
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: data.reverse(), model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    bodies,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const SECRETS = { person: "Johannes Varvio", email: "UtaKortig@jourrapide.com", card: "4454794511390933", phone: "905-674-3793", ssn: "460-89-9847" };
/** Every form in which a value could travel in a JSON body or a database page. */
const forms = (value: string) => [...new Set([value, JSON.stringify(value).slice(1, -1), value.replace(/[\s-]/g, "")])].filter((v) => v.length >= 3);
const leaks = (haystack: string | Buffer) => {
  const text = typeof haystack === "string" ? haystack : haystack.toString("latin1");
  return Object.values(SECRETS).flatMap(forms).filter((f) => text.includes(f));
};
const PRIVATE_INPUTS = [`Contact ${SECRETS.person} at ${SECRETS.email}.`, `My card is ${SECRETS.card} and my phone ${SECRETS.phone}.`, `SSN ${SECRETS.ssn}`];
const PUBLIC_INPUT = "The weather is nice today and the cat sleeps on the mat.";
/** USD per 1M input tokens of the "cloud" embedding model. */
const CLOUD_PRICE = 100;

let upstream: EmbeddingUpstream;
let parts: GatewayParts;
let gateway: RunningServer;
let ledger: SpendLedger;
let dir: string;
const KEYS = [
  { name: "alice", key: "k-alice", budgetUsd: 10 },
  { name: "poor", key: "k-poor", budgetUsd: 0.001 },
];
const client = (key = "k-alice") => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0, timeout: 60_000 });
const post = (body: unknown, key = "k-alice") =>
  fetch(`${gateway.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: typeof body === "string" ? body : JSON.stringify(body) });
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

beforeAll(async () => {
  upstream = await startEmbeddingUpstream();
  dir = mkdtempSync(join(tmpdir(), "tandem-embeddings-"));
  const cloud = `{ provider: openai-compatible, model: rec-embed, baseURL: "${upstream.baseURL}", price: { input: ${CLOUD_PRICE} }, maxRetries: 0, timeoutMs: 10000`;
  const policy = parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
embeddings:
  local-embed: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
  cloud-embed: ${cloud}, dimensions: true }
  cloud-embed-b64: ${cloud}, encodingFormat: base64 }
  private-embed: { kind: privacy, remote: cloud-embed, mode: redact }
  private-local: { kind: privacy, remote: cloud-embed, local: local-embed, mode: local-only }
  private-block: { kind: privacy, remote: cloud-embed, mode: block }
traces: { path: ${join(dir, "traces.sqlite")} }
`);
  parts = await buildGateway(policy, {});
  ledger = openSpendLedger(":memory:");
  const keys = new KeyRing(KEYS.map((k) => ({ name: k.name, hash: hashApiKey(k.key), budgetUsd: k.budgetUsd })), { ledger, limiter: localRateLimiter() });
  const { app } = createGatewayApp(gatewayAppOptions(parts, { keys, requestTimeoutMs: 60_000 }));
  gateway = await listen(app, { port: 0 });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await parts?.close();
  await ledger?.close();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("local GGUF embeddings (stories260K through node-llama-cpp)", () => {
  it("answers one string in OpenAI's shape with the tandem field; vectors are unit-length and deterministic", async () => {
    const a = await client().embeddings.create({ model: "local-embed", input: "Once upon a time there was a cat.", encoding_format: "float" });
    expect(a.object).toBe("list");
    expect(a.model).toBe("local-embed");
    expect(a.data).toHaveLength(1);
    expect(a.data[0]).toMatchObject({ object: "embedding", index: 0 });
    expect(a.data[0].embedding).toHaveLength(64); // stories260K's embedding width
    expect(norm(a.data[0].embedding)).toBeCloseTo(1, 5);
    expect(a.usage.prompt_tokens).toBeGreaterThan(5);
    expect(a.usage.total_tokens).toBe(a.usage.prompt_tokens);
    const tandem = (a as unknown as { tandem: { trace_id: string; served_by: string; cost_usd: number; calls: unknown[] } }).tandem;
    expect(tandem.trace_id).toMatch(/^embd-/);
    expect(tandem.served_by).toBe("local-embed");
    expect(tandem.cost_usd).toBe(0);
    expect(tandem.calls).toHaveLength(1);
    const again = await client().embeddings.create({ model: "local-embed", input: "Once upon a time there was a cat.", encoding_format: "float" });
    expect(again.data[0].embedding).toEqual(a.data[0].embedding);
    const other = await client().embeddings.create({ model: "local-embed", input: "A dog ran into the forest.", encoding_format: "float" });
    expect(other.data[0].embedding).not.toEqual(a.data[0].embedding);
  });

  it("the SDK's default (base64, decoded by the SDK) and a batch give the same vectors as single float requests, in input order", async () => {
    const texts = ["Tom had a red ball.", "The sun was hot.", "Lily liked to sing."];
    const singles = await Promise.all(texts.map(async (input) => (await client().embeddings.create({ model: "local-embed", input, encoding_format: "float" })).data[0].embedding));
    const batch = await client().embeddings.create({ model: "local-embed", input: texts }); // no encoding_format: base64 on the wire
    expect(batch.data.map((d) => d.index)).toEqual([0, 1, 2]);
    for (const [i, d] of batch.data.entries()) {
      expect(d.embedding).toHaveLength(64);
      // float32 on the wire both ways: equal to the float answer's values
      d.embedding.forEach((x, j) => expect(x).toBeCloseTo(singles[i][j], 6));
    }
  });

  it("encoding_format base64 on the wire is little-endian float32 (raw fetch), and the x-tandem headers are set", async () => {
    const res = await post({ model: "local-embed", input: "Hello", encoding_format: "base64" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tandem-trace-id")).toMatch(/^embd-/);
    expect(res.headers.get("x-tandem-served-by")).toBe("local-embed");
    const body = (await res.json()) as { data: Array<{ embedding: string }> };
    expect(typeof body.data[0].embedding).toBe("string");
    const bytes = Buffer.from(body.data[0].embedding, "base64");
    expect(bytes.length).toBe(64 * 4);
    const floats = (await (await post({ model: "local-embed", input: "Hello", encoding_format: "float" })).json()) as { data: Array<{ embedding: number[] }> };
    floats.data[0].embedding.forEach((x, j) => expect(bytes.readFloatLE(j * 4)).toBeCloseTo(x, 6));
    expect(Array.from(base64ToVector(body.data[0].embedding))).toEqual(Array.from(Float32Array.from(floats.data[0].embedding)));
  });

  it("a dimensions the local model cannot give is 400 (param dimensions); its native width is accepted", async () => {
    const bad = await client().embeddings.create({ model: "local-embed", input: "x y z", dimensions: 16 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("dimensions");
    const ok = await client().embeddings.create({ model: "local-embed", input: "x y z", dimensions: 64 });
    expect(ok.data[0].embedding).toHaveLength(64);
  });

  it("an input longer than the model's context is 400 naming the input, not a crash", async () => {
    const res = await post({ model: "local-embed", input: ["short", "word ".repeat(400)] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("input.1");
  });
});

describe("openai-compatible upstream embeddings (loopback recording server)", () => {
  it("a batch goes upstream in one request; vectors come back in input order; cost = upstream prompt tokens × price, charged to the key and traced", async () => {
    const texts = ["alpha beta", "gamma", "delta epsilon zeta"];
    const before = upstream.bodies.length;
    const spentBefore = (await ledger.state("alice")).spentUsd;
    const res = await client().embeddings.create({ model: "cloud-embed", input: texts, encoding_format: "float" });
    expect(upstream.bodies.length).toBe(before + 1);
    expect(JSON.parse(upstream.bodies.at(-1)!)).toMatchObject({ model: "rec-embed", input: texts, encoding_format: "float" });
    res.data.forEach((d, i) => d.embedding.forEach((x, j) => expect(x).toBeCloseTo(upstreamVector(texts[i], 8)[j], 6)));
    const tokens = texts.reduce((n, t) => n + upstreamTokens(t), 0);
    expect(res.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    const tandem = (res as unknown as { tandem: { trace_id: string; cost_usd: number; served_by: string } }).tandem;
    const cost = (tokens * CLOUD_PRICE) / 1e6;
    expect(tandem.cost_usd).toBeCloseTo(cost, 12);
    expect(tandem.served_by).toBe("cloud-embed");
    // settled after the answer: allow the ledger write to land
    for (let i = 0; i < 50 && (await ledger.state("alice")).spentUsd === spentBefore; i++) await new Promise((r) => setTimeout(r, 20));
    const state = await ledger.state("alice");
    expect(state.spentUsd - spentBefore).toBeCloseTo(cost, 12);
    expect(state.reservedUsd).toBe(0);
    const trace = parts.traces!.get(tandem.trace_id)!;
    expect(trace).toMatchObject({ model: "cloud-embed", status: 200, key: "alice", promptTokens: tokens, completionTokens: 0, servedBy: "cloud-embed" });
    expect(trace.costUsd).toBeCloseTo(cost, 12);
    expect(trace.messages?.map((m) => m.content)).toEqual(texts);
    expect(trace.responseText).toBe("3 embedding(s) of 8 dimensions");
  });

  it("dimensions is forwarded to an upstream that supports it; the SDK's base64 default works through the gateway; a base64 upstream is decoded", async () => {
    const res = await client().embeddings.create({ model: "cloud-embed", input: "one two", dimensions: 4 });
    expect(JSON.parse(upstream.bodies.at(-1)!)).toMatchObject({ dimensions: 4 });
    expect(res.data[0].embedding).toHaveLength(4);
    res.data[0].embedding.forEach((x, j) => expect(x).toBeCloseTo(upstreamVector("one two", 4)[j], 6));
    const b64 = await client().embeddings.create({ model: "cloud-embed-b64", input: ["one two", "three"], encoding_format: "float" });
    expect(JSON.parse(upstream.bodies.at(-1)!)).toMatchObject({ encoding_format: "base64" });
    b64.data[1].embedding.forEach((x, j) => expect(x).toBeCloseTo(upstreamVector("three", 8)[j], 6));
    const refused = await client().embeddings.create({ model: "cloud-embed-b64", input: "one two", dimensions: 4 }).catch((e: unknown) => e);
    expect((refused as { status?: number; param?: string }).status).toBe(400);
    expect((refused as { param?: string }).param).toBe("dimensions");
  });

  it("a key whose budget cannot cover the reservation (input tokens × price) is refused before the upstream is called", async () => {
    const before = upstream.bodies.length;
    const err = await client("k-poor").embeddings.create({ model: "cloud-embed", input: "word ".repeat(2000) }).catch((e: unknown) => e);
    expect((err as { status?: number; code?: string }).status).toBe(429);
    expect((err as { code?: string }).code).toBe("budget_exceeded");
    expect(upstream.bodies.length).toBe(before);
  });
});

describe("timeouts", () => {
  it("an upstream that never answers is 504 at the request timeout, charged the prompt it read (ledger and trace)", async () => {
    const slow = await listen(createGatewayApp(gatewayAppOptions(parts, { keys: new KeyRing([{ name: "alice", hash: hashApiKey("k-alice"), budgetUsd: 10 }], { ledger, limiter: localRateLimiter() }), requestTimeoutMs: 300 })).app, { port: 0 });
    try {
      const spentBefore = (await ledger.state("alice")).spentUsd;
      const res = await fetch(`${slow.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer k-alice" }, body: JSON.stringify({ model: "cloud-embed", input: ["HANG", "and some more words here"] }) });
      expect(res.status).toBe(504);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_timeout");
      for (let i = 0; i < 50 && (await ledger.state("alice")).spentUsd === spentBefore; i++) await new Promise((r) => setTimeout(r, 20));
      expect((await ledger.state("alice")).spentUsd).toBeGreaterThan(spentBefore);
      const trace = parts.traces!.list({ limit: 5, model: "cloud-embed" }).find((t) => t.status === 504)!;
      expect(trace.error).toBe("upstream_timeout");
      expect(trace.costUsd).toBeGreaterThan(0);
      expect(trace.calls[0]).toMatchObject({ model: "cloud-embed", completionTokens: 0 });
    } finally {
      await slow.close();
    }
  });
});

describe("privacyEmbeddings (library)", () => {
  const failing: PiiDetector = { name: "broken", detect: async () => { throw new Error("detector exploded"); } };
  it("fails closed: a detector failure refuses (tandem_guard) or, with onDetectorError local, embeds locally — never the cloud", async () => {
    const remote = openaiCompatibleEmbeddings({ id: "cloud", model: "rec-embed", baseURL: upstream.baseURL, maxRetries: 0 });
    const local = llamaCppEmbeddings({ id: "local", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 256 });
    try {
      const before = upstream.bodies.length;
      const refused = await privacyEmbeddings({ detector: failing, remote }).embed({ inputs: ["hello"] }).catch((e: unknown) => e);
      expect(TandemError.isInstance(refused) && refused.code).toBe("tandem_guard");
      const kept = await privacyEmbeddings({ detector: failing, remote, local, onDetectorError: "local" }).embed({ inputs: ["hello"] });
      expect(kept.info.servedBy).toBe("local");
      expect(kept.info.decisions[0]).toMatchObject({ strategy: "privacy", chosen: "local", score: -1 });
      expect(kept.vectors[0]).toHaveLength(64);
      expect(upstream.bodies.length).toBe(before);
      // placeholders are numbered per input: an input's upstream text does not depend on its batch
      const real = privacyEmbeddings({ detector: createDetector(), remote });
      await real.embed({ inputs: [`I am ${SECRETS.person}.`, `Write to ${SECRETS.email} now`] });
      const batched = (JSON.parse(upstream.bodies.at(-1)!) as { input: string[] }).input[1];
      await real.embed({ inputs: [`Write to ${SECRETS.email} now`] });
      expect((JSON.parse(upstream.bodies.at(-1)!) as { input: string[] }).input[0]).toBe(batched);
      expect(batched).toBe("Write to [EMAIL_ADDRESS_1] now");
    } finally {
      await local.close();
    }
  });
});

describe("privacy on the input", () => {
  it("redact: no detected private value reaches the upstream; nonce-free placeholders do, the same for the same input", async () => {
    // control: the inputs as an unprotected client would send them carry every value (so the leak check can fail);
    // sent to the upstream directly, so the gateway's trace database stays the private traffic's alone
    await fetch(`${upstream.baseURL}/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "rec-embed", input: PRIVATE_INPUTS }) });
    expect(leaks(upstream.bodies.at(-1)!).length).toBeGreaterThanOrEqual(Object.keys(SECRETS).length);
    const before = upstream.bodies.length;
    const res = await client().embeddings.create({ model: "private-embed", input: [...PRIVATE_INPUTS, PUBLIC_INPUT] });
    expect(res.data).toHaveLength(4);
    const sent = upstream.bodies.slice(before);
    expect(sent).toHaveLength(1);
    expect(leaks(sent[0])).toEqual([]);
    const input = (JSON.parse(sent[0]) as { input: string[] }).input;
    expect(input[0]).toMatch(/\[PERSON_1\]/);
    expect(input[0]).toMatch(/\[EMAIL_ADDRESS_1\]/);
    expect(input[3]).toBe(PUBLIC_INPUT);
    const tandem = (res as unknown as { tandem: { decisions: Array<{ strategy: string; chosen: string; cloudView?: unknown }>; trace_id: string } }).tandem;
    expect(tandem.decisions[0]).toMatchObject({ strategy: "privacy", chosen: "cloud-embed" });
    expect(tandem.decisions[0].cloudView).toBeUndefined(); // never shown to clients
    // deterministic: the same private input gives the same upstream text (so the same vector), alone or in a batch
    const single = await client().embeddings.create({ model: "private-embed", input: PRIVATE_INPUTS[0], encoding_format: "float" });
    expect((JSON.parse(upstream.bodies.at(-1)!) as { input: string[] }).input[0]).toBe(input[0]);
    single.data[0].embedding.forEach((x, j) => expect(x).toBeCloseTo(res.data[0].embedding[j], 6));
    // the trace holds the placeholder form only
    const trace = parts.traces!.get(tandem.trace_id)!;
    expect(leaks(JSON.stringify(trace))).toEqual([]);
    expect(trace.messages?.[0].content).toBe(input[0]);
  });

  it("redact covers every string that leaves, not only the inputs: a private `user` id is hidden too", async () => {
    const before = upstream.bodies.length;
    await client().embeddings.create({ model: "private-embed", input: PUBLIC_INPUT, user: SECRETS.email, encoding_format: "float" });
    const sent = upstream.bodies.slice(before);
    expect(sent).toHaveLength(1);
    expect(leaks(sent[0])).toEqual([]);
    expect((JSON.parse(sent[0]) as { user?: string }).user).toMatch(/\[EMAIL_ADDRESS_1\]/);
  });

  it("local-only: a batch with private data is embedded whole by the local model (nothing sent); a public batch goes to the cloud", async () => {
    const before = upstream.bodies.length;
    const res = await client().embeddings.create({ model: "private-local", input: [PRIVATE_INPUTS[0], PUBLIC_INPUT] });
    expect(upstream.bodies.length).toBe(before);
    expect((res as unknown as { tandem: { served_by: string } }).tandem.served_by).toBe("local-embed");
    expect(res.data.map((d) => d.embedding.length)).toEqual([64, 64]);
    const pub = await client().embeddings.create({ model: "private-local", input: PUBLIC_INPUT });
    expect(upstream.bodies.length).toBe(before + 1);
    expect((pub as unknown as { tandem: { served_by: string } }).tandem.served_by).toBe("cloud-embed");
    expect(pub.data[0].embedding).toHaveLength(8);
  });

  it("block: a batch with private data is refused (400 tandem_guard) and nothing is sent", async () => {
    const before = upstream.bodies.length;
    const err = await client().embeddings.create({ model: "private-block", input: [PUBLIC_INPUT, PRIVATE_INPUTS[1]] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as { code?: string }).code).toBe("tandem_guard");
    expect(leaks((err as Error).message)).toEqual([]);
    expect(upstream.bodies.length).toBe(before);
    const ok = await client().embeddings.create({ model: "private-block", input: PUBLIC_INPUT });
    expect(ok.data).toHaveLength(1);
  });

  it("the trace database never holds a private value after private embedding traffic (redacted, local-only, blocked)", async () => {
    await client().embeddings.create({ model: "private-embed", input: PRIVATE_INPUTS });
    await client().embeddings.create({ model: "private-local", input: PRIVATE_INPUTS });
    await client().embeddings.create({ model: "private-block", input: PRIVATE_INPUTS }).catch(() => {});
    const bytes = Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
    expect(bytes.length).toBeGreaterThan(0);
    expect(leaks(bytes)).toEqual([]);
  });
});

describe("bad input gets OpenAI's error shape and status", () => {
  const cases: Array<[string, unknown, number, string, string | null]> = [
    ["unknown model", { model: "nope", input: "x" }, 404, "model_not_found", "model"],
    ["a chat model is not an embedding model", { model: "edge", input: "x" }, 404, "model_not_found", "model"],
    ["empty string", { model: "local-embed", input: "" }, 400, "invalid_request", "input"],
    ["empty array", { model: "local-embed", input: [] }, 400, "invalid_request", "input"],
    ["an empty string in the batch", { model: "local-embed", input: ["a", ""] }, 400, "invalid_request", "input.1"],
    ["too many inputs", { model: "local-embed", input: Array.from({ length: 2049 }, () => "a") }, 400, "invalid_request", "input"],
    ["token arrays", { model: "local-embed", input: [[1, 2, 3]] }, 400, "invalid_request", "input"],
    ["a token array", { model: "local-embed", input: [1, 2, 3] }, 400, "invalid_request", "input"],
    ["missing input", { model: "local-embed" }, 400, "invalid_request", "input"],
    ["bad encoding_format", { model: "local-embed", input: "x", encoding_format: "int8" }, 400, "invalid_request", "encoding_format"],
    ["bad dimensions", { model: "cloud-embed", input: "x", dimensions: 0 }, 400, "invalid_request", "dimensions"],
    ["missing model", { input: "x" }, 400, "invalid_request", "model"],
  ];
  for (const [what, body, status, code, param] of cases) {
    it(`${what}: ${status} ${code}`, async () => {
      const before = upstream.bodies.length;
      const res = await post(body);
      expect(res.status).toBe(status);
      const json = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
      expect(json.error).toMatchObject({ code, param, type: "invalid_request_error" });
      expect(json.error.message.length).toBeGreaterThan(5);
      expect(upstream.bodies.length).toBe(before);
    });
  }

  it("invalid JSON is 400 invalid_json; without a key 401; the SDK raises NotFoundError for an unknown model", async () => {
    expect((await post("{nope")).status).toBe(400);
    const anon = await fetch(`${gateway.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "local-embed", input: "x" }) });
    expect(anon.status).toBe(401);
    const err = await client().embeddings.create({ model: "nope", input: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("policy", () => {
  it("rejects an embedding name used by a model, an unknown privacy reference and local-only without a local model", async () => {
    const base = `models:\n  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1 }\n`;
    await expect(buildGateway(parsePolicy(`${base}embeddings:\n  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")} }\n`), { tracesPath: false, preload: false })).rejects.toThrow(/embeddings\.edge: the name is also used/);
    await expect(buildGateway(parsePolicy(`${base}embeddings:\n  p: { kind: privacy, remote: ghost }\n`), { tracesPath: false, preload: false })).rejects.toThrow(/embeddings\.p\.remote: unknown embedding model 'ghost'/);
    await expect(
      buildGateway(parsePolicy(`${base}embeddings:\n  c: { provider: openai-compatible, model: m, baseURL: "http://127.0.0.1:9/v1" }\n  p: { kind: privacy, remote: c, mode: local-only }\n`), { tracesPath: false, preload: false }),
    ).rejects.toThrow(/needs a local embedding model/);
    expect(() => parsePolicy(`${base}embeddings:\n  x: { provider: llama-cpp }\n`)).toThrow(/embeddings\.x/);
  });

  it("expose filters embedding names like model names", async () => {
    const built = await buildGateway(
      parsePolicy(`models:\n  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1 }\nembeddings:\n  a: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1 }\n  b: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1 }\nexpose: [edge, b]\n`),
      { tracesPath: false, preload: false },
    );
    try {
      expect([...built.served.keys()]).toEqual(["edge"]);
      expect([...built.embeddings.keys()]).toEqual(["b"]);
    } finally {
      await built.close();
    }
  });

  it("the embedded default policy serves /v1/embeddings from its edge GGUF (built without its cloud sidecar)", async () => {
    const policy = readPolicyFile(defaultPolicyPath());
    expect(policy.embeddings?.["edge-embed"]).toMatchObject({ provider: "llama-cpp" });
    // the default policy's edge model and embeddings, as written; its sidecar-backed cloud model and strategies left out (cheap)
    const built = await buildGateway({ ...policy, models: { edge: policy.models.edge }, strategies: {} }, { baseDir: dirname(defaultPolicyPath()), tracesPath: false });
    const server = await listen(createGatewayApp(gatewayAppOptions(built)).app, { port: 0 });
    try {
      const c = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none", maxRetries: 0 });
      const res = await c.embeddings.create({ model: "edge-embed", input: ["Once upon a time", "there was a dog"] });
      expect(res.data.map((d) => d.embedding.length)).toEqual([64, 64]);
      expect(norm(res.data[0].embedding)).toBeCloseTo(1, 5);
    } finally {
      await server.close();
      await built.close();
    }
  });
});

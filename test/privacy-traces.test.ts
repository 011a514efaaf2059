/**
 * Privacy end to end through `tandem serve`'s gateway, with the official `openai` client: every
 * string field of a chat request (tools, their JSON-Schema parameters, stop, user, refusals,
 * tool-call ids and names, content parts) is hidden from a real loopback "cloud", JSON and
 * streamed; and the trace database on disk — the SQLite file, its WAL and shared memory — never
 * holds a detected private value after private requests (redacted, local-only, blocked, aborted,
 * and a route whose strong side is private). Only the explicit `privateContent: plain` opt-in
 * writes them (which is what shows the check can fail).
 */
import OpenAI from "openai";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { startRecordingServer, type RecordingServer } from "./fixtures/trust/recording-server.js";
import { SECRETS, leaks } from "./fixtures/trust/secrets.js";
import { modelPath } from "./helpers.js";



const { person, email, card, phone, ip, ssn } = SECRETS;
const everyField: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
  model: "private",
  max_tokens: 16,
  messages: [
    { role: "system", content: `You help ${person} (${email}).` },
    { role: "user", content: [{ type: "text", text: `My card is ${card}.` }], name: "customer" },
    {
      role: "assistant",
      content: null,
      refusal: `I cannot repeat the SSN ${ssn}.`,
      tool_calls: [{ id: `call ${email}`, type: "function", function: { name: `lookup ${person}`, arguments: JSON.stringify({ note: `call ${phone}`, nested: [{ ip }] }) } }],
    },
    { role: "tool", tool_call_id: `call ${email}`, content: `Found ${person}.` },
    { role: "user", content: `Thanks. Reach me at ${phone}.` },
  ],
  stop: [person, `${email} END`],
  user: email,
  tools: [
    {
      type: "function",
      function: {
        name: "send_message",
        description: `Sends a message to ${person} at ${email}`,
        parameters: {
          type: "object",
          description: `Owner SSN ${ssn}`,
          properties: {
            recipients: { type: "array", items: { type: "string", enum: [email, phone] }, description: `e.g. ${phone}` },
            note: { type: "string", default: `From ${ip}`, examples: [`Card ${card}`], title: `Note for ${person}` },
          },
        },
      },
    },
  ],
};

let cloud: RecordingServer;
const dirs: string[] = [];
const running: Array<{ built: GatewayParts; gateway: RunningServer }> = [];
/** Trace store of each test gateway's directory: its write-behind queue is flushed before the bytes are read. */
const storeOf = new Map<string, GatewayParts["traces"]>();

async function start(privateContent: "redacted" | "plain") {
  const dir = mkdtempSync(join(tmpdir(), "tandem-privacy-traces-"));
  dirs.push(dir);
  const policy = parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 512, maxTokens: 8 }
  cloud: { provider: openai-compatible, baseURL: "${cloud.baseURL}", model: gpt-test, price: { input: 1, output: 2 }, maxRetries: 0, timeoutMs: 10000 }
strategies:
  private: { kind: privacy, remote: cloud }
  private-local: { kind: privacy, remote: cloud, local: edge, mode: local-only }
  private-block: { kind: privacy, remote: cloud, mode: block }
  routed: { kind: route, weak: edge, strong: private, router: { kind: heuristic }, threshold: 0.5 }
traces: { path: ${join(dir, "traces.sqlite")}, privateContent: ${privateContent} }
`);
  const built = await buildGateway(policy, {});
  const { app } = createGatewayApp({ models: built.served, traces: built.traces, privateModels: built.privateModels, privateContent, requestTimeoutMs: 20_000 });
  const gateway = await listen(app, { port: 0 });
  running.push({ built, gateway });
  storeOf.set(dir, built.traces);
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "test", maxRetries: 0 });
  return { dir, built, gateway, client };
}

/** Bytes of every file of the trace database (main file, -wal, -shm). */
function databaseBytes(dir: string): Buffer {
  storeOf.get(dir)?.flush(); // write-behind: every trace recorded so far is in the files
  return Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
}

/** Sends the private traffic of the test: JSON, stream, local-only, blocked, aborted, routed. */
async function privateTraffic(client: OpenAI) {
  await client.chat.completions.create(everyField);
  const stream = await client.chat.completions.create({ ...everyField, stream: true });
  for await (const _ of stream) void _;
  await client.chat.completions.create({ ...everyField, model: "private-local", tools: undefined, max_tokens: 4 });
  const blocked = await client.chat.completions.create({ ...everyField, model: "private-block" }).catch((e: unknown) => e);
  expect((blocked as { status?: number }).status).toBe(400);
  const opaque = await client.chat.completions
    .create({ model: "private", messages: [{ role: "user", content: [{ type: "text", text: `Who is ${person}?` }, { type: "image_url", image_url: { url: `https://x.example.org/${email}.png` } }] }] })
    .catch((e: unknown) => e);
  expect((opaque as { status?: number; code?: string }).code).toBe("tandem_guard");
  // a client that walks away mid-stream
  const controller = new AbortController();
  const aborted = await client.chat.completions.create({ ...everyField, stream: true }, { signal: controller.signal });
  try {
    for await (const _ of aborted) {
      void _;
      controller.abort();
    }
  } catch {
    /* aborted by us */
  }
  for (const content of [`I am ${person}, ${email}.`, `Please solve: ${person} has 3 apples and the card ${card}; how many apples? Explain step by step.`]) {
    await client.chat.completions.create({ model: "routed", max_tokens: 8, messages: [{ role: "user", content }] });
  }
}

beforeAll(async () => {
  cloud = await startRecordingServer({ chunkSize: 4 });
});
afterAll(async () => {
  for (const r of running) {
    await r.gateway.close();
    await r.built.close();
  }
  await cloud?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("privacy through the gateway", () => {
  it("no detected value of any field reaches the cloud, JSON and streamed; no value is written to the trace database, WAL included", async () => {
    const { dir, built, client } = await start("redacted");
    cloud.bodies.length = 0;
    await privateTraffic(client);
    await new Promise((r) => setTimeout(r, 200)); // let the aborted request's trace land
    // the cloud: placeholders only, from every field
    expect(cloud.bodies.length).toBeGreaterThanOrEqual(3);
    for (const body of cloud.bodies) expect(leaks(body), body.slice(0, 300)).toEqual([]);
    const first = JSON.parse(cloud.bodies[0]) as { user: string; stop: string[]; tools: Array<{ function: { description: string; parameters: { description: string } } }> };
    expect(first.user).toMatch(/^\[EMAIL_ADDRESS_1_[a-z0-9]{5}\]$/);
    expect(first.stop[0]).toMatch(/^\[PERSON_1_[a-z0-9]{5}\]$/);
    expect(first.tools[0].function.parameters.description).toMatch(/\[US_SSN_1_[a-z0-9]{5}\]/);
    // the database files on disk (main, -wal, -shm): no private value in any byte
    const files = readdirSync(dir);
    expect(files.some((f) => f.endsWith("-wal"))).toBe(true);
    expect(leaks(databaseBytes(dir))).toEqual([]);
    // ...but the traces are there, with what the cloud saw
    const traces = built.traces!.list({ limit: 50 });
    expect(traces.length).toBeGreaterThanOrEqual(8);
    const json = traces.find((t) => t.model === "private" && !t.stream && t.status === 200)!;
    expect(JSON.stringify(json.messages)).toMatch(/\[PERSON_1_[a-z0-9]{5}\]/);
    expect(json.responseText).toMatch(/\[PERSON_1_[a-z0-9]{5}\]/);
    for (const t of traces) expect(leaks(JSON.stringify(t)), `${t.model} ${t.status}`).toEqual([]);
    // the client still saw its values restored
    const r = await client.chat.completions.create(everyField);
    expect(r.choices[0].message.content).toContain(person);
  });

  it("with the explicit opt-in (traces.privateContent: plain) the values are stored — the check above can fail", async () => {
    const { dir, client } = await start("plain");
    await client.chat.completions.create(everyField);
    expect(leaks(databaseBytes(dir)).length).toBeGreaterThan(0);
  });
});

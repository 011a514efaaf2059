/**
 * Personalization on the edge (issue #14, item 4), through a real gateway on a loopback port with
 * the official `openai` client and two API keys: a per-user memory written from what users say,
 * retrieved for their later requests, given raw to an edge model and only as placeholders (or
 * not at all) to a cloud model; one user's memory never reaches another user — same key or not —
 * and never the cloud in raw form; per-user router calibration from each user's feedback.
 *
 * The "edge" and "cloud" upstreams are real HTTP servers recording every byte they receive
 * (test/fixtures/trust/recording-server.ts), so what each model was given is read, not guessed;
 * one strategy also serves the real stories260K GGUF, and the `summary` mode's summarizer is it.
 */
import OpenAI from "openai";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, gatewayAppOptions, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { hashApiKey } from "../src/server/auth.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { sharedMemoryStore, type MemoryStore } from "../src/store/memory.js";
import { MEMORY_HEADER } from "../src/strategies/personalize/index.js";
import { HeuristicRouter } from "../src/strategies/route/index.js";
import { startRecordingServer, type RecordingServer } from "./fixtures/trust/recording-server.js";
import { modelPath } from "./helpers.js";

const NAME = "Zephyrine Oakhart";
const ALLERGY = "macadamia nuts";
const CITY = "Quillsborough";
const SECRETS = [NAME, "Zephyrine", "Oakhart", ALLERGY, "macadamia", CITY];
const TELL = `Hello! My name is ${NAME}. I'm allergic to ${ALLERGY} and I live in ${CITY}.`;
const ASK_NAME = "Do you remember what my name is?";
const ASK_COOK = "What should I cook for dinner tonight, given my allergy?";
/** A prompt for the calibrated route and its heuristic router score. */
const ROUTED = "Write a short poem about the sea.";
const routedScore = new HeuristicRouter().score({ prompt: ROUTED });
const BASE_THRESHOLD = Math.min(0.99, routedScore + 0.03); // weak at the base threshold, by a small margin

const dir = mkdtempSync(join(tmpdir(), "tandem-personalize-"));
const personal = join(dir, "personal.sqlite");
let edge: RecordingServer;
let cloud: RecordingServer;
let built: GatewayParts;
let gateway: RunningServer;
let store: MemoryStore;
const client = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });

/** Every recorded body since `from` of `server`, joined. */
const since = (server: RecordingServer, from: number) => server.bodies.slice(from).join("\n");
function expectNoSecret(text: string) {
  for (const s of SECRETS) expect(text, `leaked ${s}`).not.toContain(s);
  for (const s of SECRETS) expect(text.toLowerCase(), `leaked ${s} (any case)`).not.toContain(s.toLowerCase());
}
/** The system messages the last request to `server` carried. */
function systemOf(server: RecordingServer): string {
  const body = JSON.parse(server.bodies.at(-1)!) as { messages: Array<{ role: string; content: string }> };
  return body.messages
    .filter((m) => m.role === "system")
    .map((m) => m.content)
    .join("\n");
}
async function chat(key: string, model: string, content: string, user?: string) {
  return client(key).chat.completions.create({ model, messages: [{ role: "user", content }], max_tokens: 8, ...(user !== undefined ? { user } : {}) });
}
type Tandem = { decisions: Array<{ strategy: string; reason: string; threshold: number; escalated: boolean; chosen: string }>; calls: Array<{ model: string; role?: string }> };
const tandemOf = (r: unknown) => (r as { tandem: Tandem }).tandem;

beforeAll(async () => {
  edge = await startRecordingServer();
  cloud = await startRecordingServer();
  const upstream = (name: string, server: RecordingServer, location: string) =>
    `${name}: { provider: openai-compatible, model: ${name}-llm, baseURL: "${server.baseURL}", apiKey: test, location: ${location}, maxRetries: 0, timeoutMs: 10000 }`;
  built = await buildGateway(
    parsePolicy(`
models:
  ${upstream("edge", edge, "edge")}
  ${upstream("cloud", cloud, "cloud")}
  tiny: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
strategies:
  me-edge: { kind: personalize, model: edge, store: "${personal}" }
  me-tiny: { kind: personalize, model: tiny, store: "${personal}" }
  me-cloud: { kind: personalize, model: cloud, store: "${personal}", cloud: placeholders }
  me-cloud-none: { kind: personalize, model: cloud, store: "${personal}", cloud: none }
  me-cloud-summary: { kind: personalize, model: cloud, store: "${personal}", cloud: summary, summarizer: tiny }
  assistant:
    kind: route
    weak: edge
    strong: cloud
    router: { kind: heuristic }
    threshold: ${BASE_THRESHOLD}
    userCalibration: { store: "${personal}", priorStrength: 4, maxOffset: 0.2 }
auth:
  keys:
    - { name: team-a, hash: "${hashApiKey("key-a")}" }
    - { name: team-b, hash: "${hashApiKey("key-b")}" }
`),
    { tracesPath: join(dir, "traces.sqlite"), ledgerPath: ":memory:" },
  );
  gateway = await listen(createGatewayApp(gatewayAppOptions(built)).app, { port: 0 });
  store = sharedMemoryStore(personal);
});

afterAll(async () => {
  store?.close();
  await gateway?.close();
  await built?.close();
  await edge?.close();
  await cloud?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("personalization: a per-user memory on the device", () => {
  let toldTraceId = "";

  it("stores what user A states, under (key, user), linked to the request's trace", async () => {
    const r = await chat("key-a", "me-edge", TELL, "alice");
    toldTraceId = r.id;
    const memories = store.list({ tenant: "team-a", user: "alice" });
    expect(memories.map((m) => [m.slot, m.value]).sort()).toEqual([
      ["allergy", ALLERGY],
      ["location", CITY],
      ["name", NAME],
    ]);
    expect(memories.every((m) => m.sourceTraceId === toldTraceId)).toBe(true);
    expect(tandemOf(r).decisions[0].reason).toMatch(/stored 3 stated fact/);
    // nobody else has memories
    expect(store.users()).toEqual([{ tenant: "team-a", user: "alice", memories: 3 }]);
  });

  it("A's later request retrieves the fact: the edge model's prompt carries it; the answer's metadata does not", async () => {
    const r = await chat("key-a", "me-edge", ASK_NAME, "alice");
    const system = systemOf(edge);
    expect(system).toContain(MEMORY_HEADER);
    expect(system).toContain(`The user's name is ${NAME}.`);
    const t = tandemOf(r);
    expect(t.decisions[0]).toMatchObject({ strategy: "personalize", chosen: "edge" });
    expect(t.decisions[0].reason).toMatch(/memory\(ies\) of the user given to the edge model/);
    expect(JSON.stringify(t)).not.toContain("Zephyrine"); // counts only, never a memory's text
    // the trace of this request stores what the client sent, not the memory
    const trace = await built.traces!.get(r.id);
    expect(trace).toBeDefined();
    expect(JSON.stringify(trace)).not.toContain("Zephyrine");
  });

  it("user B of the same key, A's user string under another key, and a request without user never get A's memory", async () => {
    const cases: Array<[string, string | undefined]> = [
      ["key-a", "bob"],
      ["key-b", "alice"],
      ["key-a", undefined],
    ];
    for (const [key, user] of cases) {
      const from = edge.bodies.length;
      const r = await chat(key, "me-edge", ASK_NAME, user);
      expect(edge.bodies.length).toBe(from + 1);
      expectNoSecret(since(edge, from));
      expect(since(edge, from)).not.toContain(MEMORY_HEADER);
      expect(tandemOf(r).decisions[0].reason).toMatch(user ? /no memory of the user/ : /no user field/);
      // the cloud branch too
      const c0 = cloud.bodies.length;
      await chat(key, "me-cloud", ASK_COOK, user);
      expectNoSecret(since(cloud, c0));
    }
    // nothing was stored for them (they stated nothing), and a request without user stores nothing
    await chat("key-a", "me-edge", "My name is Nobody Special.");
    expect(store.users()).toEqual([{ tenant: "team-a", user: "alice", memories: 3 }]);
  });

  it("cloud: placeholders — the cloud sees only placeholders, the user sees the values restored (JSON and stream)", async () => {
    const from = cloud.bodies.length;
    const r = await chat("key-a", "me-cloud", `${ASK_NAME} ${ASK_COOK}`, "alice");
    const sent = since(cloud, from);
    expectNoSecret(sent);
    expect(systemOf(cloud)).toMatch(/The user's name is \[PERSON_1_[a-z0-9]{5}\]\./);
    expect(tandemOf(r).decisions[0].reason).toMatch(/behind placeholders \(\d+ value\(s\) hidden\)/);
    // the recording cloud echoes the placeholders it saw: restored on the device
    expect(r.choices[0].message.content).toContain(NAME);

    const s0 = cloud.bodies.length;
    const stream = await client("key-a").chat.completions.create({ model: "me-cloud", messages: [{ role: "user", content: ASK_NAME }], user: "alice", stream: true, max_tokens: 8 });
    let text = "";
    for await (const part of stream) text += part.choices[0]?.delta?.content ?? "";
    expectNoSecret(since(cloud, s0));
    expect(text).toContain(NAME);
    expect(text).not.toMatch(/\[PERSON_\d+_[a-z0-9]{5}\]/);
  });

  it("cloud: none — no memory at all goes to the cloud", async () => {
    const from = cloud.bodies.length;
    const r = await chat("key-a", "me-cloud-none", ASK_NAME, "alice");
    expectNoSecret(since(cloud, from));
    expect(since(cloud, from)).not.toContain(MEMORY_HEADER.slice(0, 30));
    expect(systemOf(cloud)).toBe("");
    expect(tandemOf(r).decisions[0].reason).toMatch(/withheld from the cloud model \(cloud: none\)/);
  });

  it("cloud: summary — a local model's summary, passed through the detector; no raw value leaves", async () => {
    const from = cloud.bodies.length;
    const r = await chat("key-a", "me-cloud-summary", ASK_NAME, "alice");
    expectNoSecret(since(cloud, from));
    const t = tandemOf(r);
    expect(t.decisions[0].reason).toMatch(/a local summary of \d+ memory\(ies\) of the user sent to the cloud model behind placeholders/);
    expect(systemOf(cloud)).toMatch(/^What you know about the user from earlier conversations: /);
    expect(t.calls.map((c) => c.model)).toEqual(["tiny", "cloud"]); // the summarizer ran on the edge, then the cloud
  });

  it("a real GGUF edge model is served with the memory (the decision path says so)", async () => {
    const r = await chat("key-a", "me-tiny", ASK_NAME, "alice");
    expect(tandemOf(r).decisions[0].reason).toMatch(/given to the edge model/);
    expect(r.choices[0].message.content).toEqual(expect.any(String));
  });

  it("right to be forgotten: after forget(A) nothing of A is retrieved", async () => {
    expect(store.forget({ tenant: "team-a", user: "alice" })).toBe(3);
    const from = edge.bodies.length;
    await chat("key-a", "me-edge", ASK_NAME, "alice");
    expectNoSecret(since(edge, from));
    // the database file and its write-ahead log keep no copy of the values (secure_delete, WAL checkpoint)
    for (const file of [personal, `${personal}-wal`]) if (existsSync(file)) expect(readFileSync(file).includes(Buffer.from("Oakhart")), file).toBe(false);
  });
});

describe("per-user router calibration from feedback", () => {
  const feedback = async (key: string, traceId: string, thumbs: "up" | "down") => {
    const res = await fetch(`${gateway.url}/v1/tandem/feedback`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ trace_id: traceId, thumbs }) });
    expect(res.status).toBe(200);
  };
  const routed = async (key: string, user?: string) => tandemOf(await chat(key, "assistant", ROUTED, user)).decisions.find((d) => d.strategy === "route")!;

  it("thumbs down on A's weak answers lowers A's threshold only; B's thumbs up raise B's; others keep the global one", async () => {
    expect(routedScore).toBeLessThan(BASE_THRESHOLD);
    const first = await routed("key-a", "carol");
    expect(first.threshold).toBeCloseTo(BASE_THRESHOLD, 10);
    expect(first.escalated).toBe(false);
    // four weak answers each, all served at the global threshold (no feedback yet), then the feedback
    const served: Array<[string, "up" | "down"]> = [];
    for (let i = 0; i < 4; i++) {
      const a = await chat("key-a", "assistant", ROUTED, "alice");
      const b = await chat("key-a", "assistant", ROUTED, "bob");
      expect([tandemOf(a).decisions[0].escalated, tandemOf(b).decisions[0].escalated]).toEqual([false, false]);
      served.push([a.id, "down"], [b.id, "up"]);
    }
    for (const [id, thumbs] of served) await feedback("key-a", id, thumbs);
    expect(store.feedbackCounts({ tenant: "team-a", user: "alice" }, "assistant")).toEqual({ positive: 0, negative: 4 });
    // p0 = (4+1)/(8+2) = 0.5; p_alice = (4 + 4·0.5)/(4+4) = 0.75 → offset −2·0.2·0.25 = −0.1 (clamped to ±0.2)
    const alice = await routed("key-a", "alice");
    expect(alice.threshold).toBeCloseTo(BASE_THRESHOLD - 0.1, 6);
    expect(alice.escalated).toBe(true); // now the strong model for her
    expect(alice.chosen).toBe("cloud");
    const bob = await routed("key-a", "bob");
    expect(bob.threshold).toBeCloseTo(Math.min(1, BASE_THRESHOLD + 0.1), 6);
    expect(bob.escalated).toBe(false);
    // a user without feedback, the same user string under another key, and no user: the global threshold
    for (const [key, user] of [["key-a", "carol"], ["key-b", "alice"], ["key-a", undefined]] as const) {
      const d = await routed(key, user);
      expect(d.threshold, `${key}/${user}`).toBeCloseTo(BASE_THRESHOLD, 10);
      expect(d.escalated).toBe(false);
    }
  });

  it("another key's feedback cannot reach A's calibration (its trace ids answer 404)", async () => {
    const a = await chat("key-a", "assistant", ROUTED, "alice");
    const res = await fetch(`${gateway.url}/v1/tandem/feedback`, { method: "POST", headers: { authorization: "Bearer key-b", "content-type": "application/json" }, body: JSON.stringify({ trace_id: a.id, thumbs: "up" }) });
    expect(res.status).toBe(404);
    expect(store.feedbackCounts({ tenant: "team-a", user: "alice" }, "assistant")).toEqual({ positive: 0, negative: 4 });
  });
});

/**
 * Shadow evaluation × personalization: a shadow run (src/shadow) replays a sampled request
 * through a candidate strategy after the answer is sent, inside the caller's async context. A
 * candidate holding a `personalize` strategy must read the user's memory as it would live — the
 * same tenant, the same memories — and write none of it (no fact stored a second time, none
 * stored from a request the primary did not personalize, no decision linked to the primary's
 * trace).
 *
 * A real gateway on 127.0.0.1 with the official `openai` client and an API key (tenant
 * "team-a"): the primary paths are the bundled stories260K GGUF in-process, plain (`tiny`) and
 * personalized (`me-now`); the candidate (`me-next`) personalizes a recording upstream — a real
 * HTTP server that also plays the pairwise judge (it answers "[[C]]", a tie, to judge prompts) —
 * so the memory the candidate was given is read from the bytes it received.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { hashApiKey } from "../src/server/auth.js";
import type { RunningServer } from "../src/server/listen.js";
import { sharedMemoryStore, type MemoryStore } from "../src/store/memory.js";
import { currentCaller, memoryIsReadOnly, runAsCaller, runWithReadOnlyMemory, userCalibration, MEMORY_HEADER } from "../src/strategies/personalize/index.js";
import { modelPath } from "./helpers.js";

const NAME = "Zephyrine Oakhart";
const ALLERGY = "macadamia nuts";
const TELL = `Hello! My name is ${NAME} and I'm allergic to ${ALLERGY}.`;
const ASK = "Do you remember what my name is?";

/** The recording upstream: the candidate's model (`rec-llm`) and the judge (`judge-llm`); every body kept. */
interface Upstream {
  baseURL: string;
  /** Parsed bodies of every chat request, in order. */
  bodies: Array<{ model: string; messages: Array<{ role: string; content: string }> }>;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const bodies: Upstream["bodies"] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw) as Upstream["bodies"][number];
      bodies.push(body);
      const content = body.model === "judge-llm" ? "Both answers are equally unhelpful. [[C]]" : "Noted.";
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id: "chatcmpl-rec",
          object: "chat.completion",
          created: 0,
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: "stop", logprobs: null }],
          usage: { prompt_tokens: 50, completion_tokens: 4, total_tokens: 54 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    bodies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const dir = mkdtempSync(join(tmpdir(), "tandem-shadow-personalize-"));
const memoryPath = join(dir, "personal.sqlite");
let upstream: Upstream;
let gateway: Gateway;
let server: RunningServer;
let store: MemoryStore;

beforeAll(async () => {
  upstream = await startUpstream();
  const rec = (model: string) => `{ provider: openai-compatible, model: ${model}, baseURL: "${upstream.baseURL}", apiKey: test, location: edge, maxRetries: 0, timeoutMs: 10000 }`;
  gateway = await createGateway(
    parsePolicy(`
models:
  tiny: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
  rec: ${rec("rec-llm")}
  judge: ${rec("judge-llm")}
strategies:
  me-now: { kind: personalize, model: tiny, store: "${memoryPath}" }
  me-next: { kind: personalize, model: rec, store: "${memoryPath}" }
shadow:
  tiny: { strategy: me-next, sample: 1, judge: judge, seed: 1 }
  me-now: { strategy: me-next, sample: 1, judge: judge, seed: 1 }
auth:
  keys:
    - { name: team-a, hash: "${hashApiKey("key-a")}" }
`),
    { tracesPath: ":memory:", ledgerPath: ":memory:" },
  );
  server = await gateway.listen({ host: "127.0.0.1", port: 0 });
  store = sharedMemoryStore(memoryPath);
}, 60_000);

afterAll(async () => {
  store?.close();
  await gateway?.close();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = () => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "key-a", maxRetries: 0 });
async function ask(model: string, content: string, user: string): Promise<string> {
  const r = await client().chat.completions.create({ model, messages: [{ role: "user", content }], max_tokens: 6, temperature: 0, user });
  await gateway.built.shadow!.idle();
  return r.id;
}
/** The system messages of the candidate's (not the judge's) requests since `from`. */
const candidateSystems = (from: number) =>
  upstream.bodies
    .slice(from)
    .filter((b) => b.model === "rec-llm")
    .map((b) => b.messages.filter((m) => m.role === "system").map((m) => m.content).join("\n"));
/** The memories of (team-a, user) by id (the store lists them most recently used first; retrieval marks them used). */
const memoriesOf = (user: string) =>
  store
    .list({ tenant: "team-a", user })
    .map((m) => ({ id: m.id, slot: m.slot, value: m.value, sourceTraceId: m.sourceTraceId }))
    .sort((x, y) => x.id - y.id);
const recordOf = (traceId: string) => gateway.built.shadow!.store.list().find((r) => r.traceId === traceId);

describe("shadow runs read the user's memory and write none of it", () => {
  it("a plain primary: the personalize candidate stores nothing from the shadowed request (it would have stored 2 facts)", async () => {
    const from = upstream.bodies.length;
    const traceId = await ask("tiny", TELL, "bob");
    // the shadow ran the candidate (served by the recording upstream) and judged it
    expect(recordOf(traceId)).toMatchObject({ model: "tiny", candidate: "me-next", primaryModel: "tiny", candidateModel: "rec", verdict: "tie", key: "team-a" });
    expect(candidateSystems(from)).toHaveLength(1);
    expect(upstream.bodies.slice(from).some((b) => b.model === "judge-llm")).toBe(true);
    // nothing stored for bob: the primary has no memory, the shadow must not learn
    expect(memoriesOf("bob")).toEqual([]);
    expect(store.users("team-a").find((u) => u.user === "bob")).toBeUndefined();
  });

  it("a personalized primary stores the facts once, linked to its own trace; the shadow run leaves them as they were", async () => {
    const told = await ask("me-now", TELL, "alice");
    const after = memoriesOf("alice");
    expect(after.map((m) => [m.slot, m.value]).sort()).toEqual([
      ["allergy", ALLERGY],
      ["name", NAME],
    ]);
    expect(after.every((m) => m.sourceTraceId === told)).toBe(true);
    expect(recordOf(told)).toMatchObject({ candidate: "me-next", candidateModel: "rec" });
    // a second statement of the same facts through the primary and its shadow: still one copy each
    // (the store folds a re-told value into its memory, so this part would hold even for a shadow
    // that writes; the plain-primary case above is the one such a shadow fails)
    const again = await ask("me-now", TELL, "alice");
    const twice = memoriesOf("alice");
    expect(twice).toHaveLength(2);
    expect(recordOf(again)).toBeDefined();
  });

  it("the candidate in the shadow run is given the caller's memories, as it would be live (same tenant, same user)", async () => {
    const from = upstream.bodies.length;
    const before = memoriesOf("alice");
    const traceId = await ask("me-now", ASK, "alice");
    expect(recordOf(traceId)).toMatchObject({ candidateModel: "rec", key: "team-a" });
    const [system] = candidateSystems(from);
    expect(system).toContain(MEMORY_HEADER);
    expect(system).toContain(`The user's name is ${NAME}.`);
    // read, not written: the same memories, ids and source traces
    expect(memoriesOf("alice")).toEqual(before);
    // another user of the same key gets nothing of alice's in the shadow run
    const fromB = upstream.bodies.length;
    await ask("me-now", ASK, "carol");
    expect(candidateSystems(fromB).join("\n")).not.toContain("Zephyrine");
    expect(memoriesOf("carol")).toEqual([]);
  });
});

describe("the read-only caller context", () => {
  it("keeps the tenant, reports read-only, and per-user calibration links no decision in it", () => {
    const calibration = userCalibration(sharedMemoryStore(memoryPath));
    try {
      const owner = { tenant: "team-a", user: "alice" };
      const live = runAsCaller("team-a", () => {
        calibration.decided("assistant", owner, { score: 0.4, threshold: 0.5, escalated: false });
        return memoryIsReadOnly();
      });
      expect(live.value).toBe(false);
      expect(live.context.onTrace).toHaveLength(1);
      const shadow = runWithReadOnlyMemory("team-a", () => {
        calibration.decided("assistant", owner, { score: 0.4, threshold: 0.5, escalated: false });
        return { tenant: currentCaller()?.tenant, readOnly: memoryIsReadOnly(), pending: currentCaller()?.onTrace.length };
      });
      expect(shadow).toEqual({ tenant: "team-a", readOnly: true, pending: 0 });
      expect(memoryIsReadOnly()).toBe(false); // outside: not read-only
    } finally {
      calibration.close();
    }
  });
});

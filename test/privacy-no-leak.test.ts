/**
 * The no-leak proof of the privacy strategy (HaS): a real loopback "cloud" server records every
 * byte it receives; we send conversations full of private values through `privacy(...)` with the
 * real openai-compatible provider (official openai SDK) — plain, streamed and with tool calls —
 * and check that no detected private value ever reached it, and that the user sees the values.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TandemError } from "../src/core/errors.js";
import type { GenerateRequest, Model, StreamPart } from "../src/core/model.js";
import type { ChatTool } from "../src/core/wire.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { llamaCpp } from "../src/providers/llama-cpp/index.js";
import { createDetector } from "../src/pii/detector.js";
import { defaultPrivacyDatasetPath, loadPiiDataset, splitByGroup } from "../src/pii/dataset.js";
import { slmDetector } from "../src/pii/slm.js";
import type { PiiDetector } from "../src/pii/types.js";
import { hideRequest, privacy } from "../src/strategies/privacy/index.js";
import { startRecordingServer, type RecordingServer } from "./fixtures/trust/recording-server.js";

const repoRoot = path.resolve(import.meta.dirname, "..");
/** A placeholder of `type` number `n`, any nonce. */
const PH = (type: string, n: number) => new RegExp(`\\[${type}_${n}_[a-z0-9]{5}\\]`);
const detector = createDetector();

/** Private values of the hand-written conversation (all must be detected). */
const SECRETS = {
  person: "Johannes Varvio",
  email: "UtaKortig@jourrapide.com",
  card: "4454794511390933",
  iban: "GB56HXDO88167774656119",
  phone: "905-674-3793",
  ip: "106.31.73.20",
  ssn: "460-89-9847",
};

const tools: ChatTool[] = [
  { type: "function", function: { name: "send_message", description: "Send a message", parameters: { type: "object", properties: { recipients: { type: "array", items: { type: "string" } }, note: { type: "string" } } } } },
];

function conversation(): GenerateRequest {
  return {
    messages: [
      { role: "system", content: "You are the support assistant of a bank." },
      { role: "user", content: `Hi, my name is ${SECRETS.person}. My email is ${SECRETS.email} and my card ${SECRETS.card} was charged twice. My IBAN is ${SECRETS.iban}.` },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_0", type: "function", function: { name: "lookup_customer", arguments: JSON.stringify({ email: SECRETS.email, phone: SECRETS.phone }) } }],
      },
      { role: "tool", tool_call_id: "call_0", content: `Customer ${SECRETS.person}, last login from ${SECRETS.ip}, SSN 460-89-9847, phone ${SECRETS.phone}.` },
      { role: "user", content: `Please write to me, ${SECRETS.person}, at ${SECRETS.email} or call ${SECRETS.phone}.` },
    ],
    maxTokens: 64,
  };
}

/** Every form in which a value could travel in a JSON body. */
function forms(value: string): string[] {
  return [...new Set([value, JSON.stringify(value).slice(1, -1), value.replace(/[\s-]/g, "")])].filter((v) => v.length >= 3);
}

function assertNoLeak(bodies: readonly string[], values: readonly string[]) {
  expect(bodies.length).toBeGreaterThan(0);
  for (const body of bodies) for (const v of values) for (const f of forms(v)) expect(body, `leaked ${JSON.stringify(v)}`).not.toContain(f);
}

async function collect(stream: AsyncIterable<StreamPart>) {
  let text = "";
  const textParts: string[] = [];
  const args = new Map<number, string>();
  let finish: StreamPart | undefined;
  for await (const part of stream) {
    if (part.type === "text") {
      text += part.text;
      textParts.push(part.text);
    } else if (part.type === "tool-call") {
      if (part.delta.function?.arguments) args.set(part.delta.index, (args.get(part.delta.index) ?? "") + part.delta.function.arguments);
    } else finish = part;
  }
  if (finish?.type !== "finish") throw new Error("stream ended without finish");
  return { text, textParts, args, result: finish.result };
}

let server: RecordingServer;
let cloud: Model;

beforeAll(async () => {
  server = await startRecordingServer({ chunkSize: 3 });
  cloud = openaiCompatible({ id: "cloud-llm", baseURL: server.baseURL, apiKey: "test", model: "gpt-test", location: "cloud", maxRetries: 0, timeoutMs: 10_000 });
});
afterAll(async () => {
  await server?.close();
});

describe("privacy (hide and seek) — no private value reaches the cloud", () => {
  it("detects every private value of the conversation (precondition of the no-leak proof)", async () => {
    const { vault } = await hideRequest(conversation(), detector);
    for (const v of Object.values(SECRETS)) expect(vault.values(), v).toContain(v);
  });

  it("plain request: the cloud sees placeholders only; the user sees the values", async () => {
    server.bodies.length = 0;
    const m = privacy({ detector, remote: cloud });
    const r = await m.generate(conversation());
    assertNoLeak(server.bodies, Object.values(SECRETS));
    expect(server.bodies[0]).toMatch(PH("PERSON", 1));
    // The same value gets the same placeholder across the conversation (user, tool args, tool result).
    const sent = JSON.parse(server.bodies[0]) as { messages: Array<{ content: string | null; tool_calls?: Array<{ function: { arguments: string } }> }> };
    expect(sent.messages[1].content).toMatch(PH("EMAIL_ADDRESS", 1));
    const args = JSON.parse(sent.messages[2].tool_calls![0].function.arguments) as { email: string; phone: string };
    expect(args.email).toMatch(new RegExp(`^${PH("EMAIL_ADDRESS", 1).source}$`));
    expect(args.phone).toMatch(new RegExp(`^${PH("PHONE_NUMBER", 1).source}$`));
    expect(sent.messages[3].content).toMatch(PH("PHONE_NUMBER", 1));
    expect(sent.messages[4].content).toMatch(PH("PERSON", 1));
    // one nonce for the whole request
    expect(new Set(server.bodies[0].match(/_[a-z0-9]{5}\]/g)).size).toBe(1);
    // Restored on the device.
    expect(r.text).toContain(SECRETS.person);
    expect(r.text).toContain(SECRETS.email);
    expect(r.text).not.toMatch(/\[[A-Z_]+_\d+_[a-z0-9]{5}\]/);
    const d = r.info.decisions[0];
    expect(d.strategy).toBe("privacy");
    expect(d.score).toBeGreaterThanOrEqual(7);
    for (const v of Object.values(SECRETS)) expect(d.reason).not.toContain(v);
  });

  it("streamed request: placeholders split across 3-character chunks are restored, nothing partial shown", async () => {
    server.bodies.length = 0;
    const m = privacy({ detector, remote: cloud });
    const { text, textParts, result } = await collect(m.stream(conversation()));
    assertNoLeak(server.bodies, Object.values(SECRETS));
    expect(text).toContain(`Thank you, ${SECRETS.person}!`);
    expect(text).toContain(SECRETS.card);
    expect(text).toBe(result.text);
    expect(textParts.length).toBeGreaterThan(5);
    for (const part of textParts) expect(part).not.toMatch(/\[[A-Z_]*$|\[[A-Z_]+_\d*(_[a-z0-9]{0,4})?$|^[A-Z_]*\d*(_[a-z0-9]*)?\]/);
    expect(text).not.toContain("[");
  });

  it("tool calls: arguments the cloud returns are restored, plain and streamed", async () => {
    server.bodies.length = 0;
    const m = privacy({ detector, remote: cloud });
    const r = await m.generate({ ...conversation(), tools });
    const args = JSON.parse(r.toolCalls![0].function.arguments) as { recipients: string[]; note: string };
    expect(args.recipients).toEqual(expect.arrayContaining([SECRETS.person, SECRETS.email, SECRETS.phone, SECRETS.iban]));
    expect(args.note).toContain(SECRETS.ip);
    const s = await collect(m.stream({ ...conversation(), tools }));
    const streamedArgs = JSON.parse(s.args.get(0)!) as { recipients: string[] };
    expect(streamedArgs.recipients).toEqual(args.recipients);
    expect(JSON.parse(s.result.toolCalls![0].function.arguments)).toEqual(args);
    assertNoLeak(server.bodies, Object.values(SECRETS));
    expect(server.bodies.length).toBe(2);
  });

  it("real data: 40 held-out presidio texts — no detected value reaches the cloud, gold leaks are counted", async () => {
    server.bodies.length = 0;
    const { test } = splitByGroup(loadPiiDataset(defaultPrivacyDatasetPath()));
    const sample = test.slice(0, 40);
    const m = privacy({ detector, remote: cloud });
    let goldValues = 0;
    let goldLeaked = 0;
    for (const e of sample) {
      const before = server.bodies.length;
      const detected = (await detector.detect(e.text)).map((s) => s.text.trim()).filter((v) => v.length >= 3);
      await m.generate({ messages: [{ role: "user", content: e.text }], maxTokens: 16 });
      const body = server.bodies.slice(before).join("\n");
      for (const v of detected) for (const f of forms(v)) expect(body).not.toContain(f);
      for (const g of e.spans) {
        const v = e.text.slice(g.start, g.end).trim();
        if (v.length < 4) continue;
        goldValues++;
        if (body.includes(JSON.stringify(v).slice(1, -1))) goldLeaked++;
      }
    }
    // The detector is not perfect: report, and bound, the share of gold values that slipped through.
    console.log(`privacy no-leak on real data: ${goldLeaked}/${goldValues} gold values (≥4 chars) reached the cloud verbatim`);
    expect(goldLeaked / goldValues).toBeLessThan(0.15);
  });
});

describe("privacy modes and failing closed", () => {
  it("block: a request with private data is refused with tandem_guard and nothing is sent", async () => {
    server.bodies.length = 0;
    const m = privacy({ detector, remote: cloud, mode: "block" });
    const error = await m.generate(conversation()).catch((e: unknown) => e);
    expect(TandemError.isInstance(error) && error.code).toBe("tandem_guard");
    expect((error as TandemError).status).toBe(400);
    expect(server.bodies).toHaveLength(0);
    const ok = await m.generate({ messages: [{ role: "user", content: "What is the capital of France?" }] });
    expect(ok.text).toBe("No placeholders here.");
    expect(server.bodies).toHaveLength(1);
  });

  it("a crashing detector blocks the request (fail closed), plain and streamed", async () => {
    server.bodies.length = 0;
    const crashing: PiiDetector = { name: "crashing", detect: async () => Promise.reject(new Error("tagger file corrupt")) };
    const m = privacy({ detector: crashing, remote: cloud });
    const e1 = await m.generate(conversation()).catch((e: unknown) => e);
    expect(TandemError.isInstance(e1) && e1.code).toBe("tandem_guard");
    expect((e1 as Error).message).toMatch(/fail closed/);
    const e2 = await collect(m.stream(conversation())).catch((e: unknown) => e);
    expect(TandemError.isInstance(e2) && e2.code).toBe("tandem_guard");
    expect(server.bodies).toHaveLength(0);
  });

  it("a detector that times out blocks the request (real SLM detector, 5 ms budget)", async () => {
    server.bodies.length = 0;
    const slm = slmDetector({ modelPath: path.join(repoRoot, "models/stories260K.gguf"), threads: 1, maxTokens: 32 });
    try {
      const m = privacy({ detector: slm, remote: cloud, detectorTimeoutMs: 5 });
      const error = await m.generate(conversation()).catch((e: unknown) => e);
      expect(TandemError.isInstance(error) && error.code).toBe("tandem_guard");
      expect((error as Error).message).toMatch(/timed out/);
      expect(server.bodies).toHaveLength(0);
      // With a real budget the tiny model's grammar-constrained answer either parses into spans
      // found in the text or fails, and a failure blocks: either way nothing unprotected leaves.
      const m2 = privacy({ detector: slm, remote: cloud, detectorTimeoutMs: 30_000 });
      const r = await m2.generate({ messages: [{ role: "user", content: `I am ${SECRETS.person}.` }] }).catch((e: unknown) => e);
      if (TandemError.isInstance(r)) expect(r.code).toBe("tandem_guard");
      else for (const b of server.bodies) expect(typeof b).toBe("string");
    } finally {
      await slm.close();
    }
  });

  it("local-only: private requests are served on the edge by a real GGUF model; others go to the cloud", async () => {
    server.bodies.length = 0;
    const local = llamaCpp({ id: "stories260K", path: path.join(repoRoot, "models/stories260K.gguf"), threads: 1, contextSize: 512, defaultMaxTokens: 16 });
    try {
      const m = privacy({ detector, remote: cloud, local, mode: "local-only" });
      const r = await m.generate({ ...conversation(), maxTokens: 8 });
      expect(r.info.servedBy).toBe("stories260K");
      expect(r.info.decisions[0].chosen).toBe("stories260K");
      expect(server.bodies).toHaveLength(0);
      const s = await collect(m.stream({ ...conversation(), maxTokens: 8 }));
      expect(s.result.info.servedBy).toBe("stories260K");
      expect(server.bodies).toHaveLength(0);
      const ok = await m.generate({ messages: [{ role: "user", content: "Tell me a story about a cat." }] });
      expect(ok.info.servedBy).toBe("cloud-llm");
      expect(server.bodies).toHaveLength(1);
      // Detector failure with onDetectorError "local": served locally, still nothing sent.
      server.bodies.length = 0;
      const failing = privacy({ detector: { name: "down", detect: () => Promise.reject(new Error("down")) }, remote: cloud, local, onDetectorError: "local" });
      const f = await failing.generate({ ...conversation(), maxTokens: 4 });
      expect(f.info.servedBy).toBe("stories260K");
      expect(server.bodies).toHaveLength(0);
    } finally {
      await local.close?.();
    }
  });
});

/**
 * Every string of a request, not only message content: a request that carries private values in
 * each field the wire format has — tool descriptions and the descriptions, enums, defaults and
 * examples of their JSON-Schema parameters, stop sequences, `user`, an assistant refusal, tool-call
 * ids and `tool_call_id`, function names, message names, the `response_format` schema — and in a
 * field nobody listed.
 */
function everyFieldRequest(): GenerateRequest {
  const { person, email, phone, ip, ssn, card } = SECRETS;
  return {
    messages: [
      { role: "system", content: `You help ${person} (${email}).`, name: `assistant for ${person}` },
      { role: "user", content: [{ type: "text", text: `My card is ${card}.` }], name: person },
      {
        role: "assistant",
        content: null,
        refusal: `I cannot repeat the SSN ${ssn}.`,
        tool_calls: [{ id: `call ${email}`, type: "function", function: { name: `lookup ${person}`, arguments: JSON.stringify({ note: `call ${phone}`, nested: [{ ip }] }) } }],
      },
      { role: "tool", tool_call_id: `call ${email}`, content: `Found ${person}.` },
      { role: "user", content: `Thanks. Reach me at ${phone}.` },
    ],
    maxTokens: 32,
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
    toolChoice: { type: "function", function: { name: "send_message" } },
    // forwarded upstream as response_format: its schema's strings leave the device too
    responseFormat: { type: "json_schema", json_schema: { name: "reply", description: `Reply to ${person}`, schema: { type: "object", description: `for ${ssn}`, properties: { to: { type: "string", enum: [email, phone] } } } } },
  };
}

describe("privacy covers every string of the request", () => {
  it("hideRequest: every field above is hidden, and a field nobody listed is hidden too", async () => {
    const request = { ...everyFieldRequest(), metadata: { note: `SSN ${SECRETS.ssn}`, list: [SECRETS.email] } } as unknown as GenerateRequest;
    const { request: hidden, unhideable } = await hideRequest(request, detector);
    expect(unhideable).toEqual([]);
    const sent = JSON.stringify(hidden);
    assertNoLeak([sent], Object.values(SECRETS));
    expect(sent).toMatch(PH("PERSON", 1));
    // structure survives: tool-call ids still pair up, tool choice is untouched
    const h = hidden as unknown as { messages: Array<{ tool_calls?: Array<{ id: string }>; tool_call_id?: string }>; toolChoice: unknown };
    expect(h.messages[3].tool_call_id).toBe(h.messages[2].tool_calls![0].id);
    expect(h.toolChoice).toEqual({ type: "function", function: { name: "send_message" } });
  });

  for (const stream of [false, true]) {
    it(`openai-compatible ${stream ? "stream" : "JSON"}: nothing private reaches the cloud from any field`, async () => {
      server.bodies.length = 0;
      const m = privacy({ detector, remote: cloud });
      if (stream) await collect(m.stream(everyFieldRequest()));
      else await m.generate(everyFieldRequest());
      expect(server.bodies).toHaveLength(1);
      assertNoLeak(server.bodies, Object.values(SECRETS));
      const body = JSON.parse(server.bodies[0]) as { stop: string[]; user: string; tools: Array<{ function: { description: string } }> };
      expect(body.user).toMatch(PH("EMAIL_ADDRESS", 1));
      expect(body.stop[0]).toMatch(PH("PERSON", 1));
      expect(body.tools[0].function.description).toMatch(PH("PERSON", 1));
      expect(JSON.stringify((body as { response_format?: unknown }).response_format)).toMatch(PH("PERSON", 1));
    });
  }

  it("strings that cannot be hidden (a private JSON-Schema property name, a private key in tool arguments) block the request", async () => {
    server.bodies.length = 0;
    const m = privacy({ detector, remote: cloud });
    const base = everyFieldRequest();
    const keyed: GenerateRequest = { ...base, tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { [SECRETS.email]: { type: "string" } } } } }] };
    const argKey: GenerateRequest = {
      ...base,
      messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: JSON.stringify({ [SECRETS.email]: 1 }) } }] }, { role: "tool", tool_call_id: "c1", content: "ok" }],
    };
    for (const request of [keyed, argKey]) {
      const error = await m.generate(request).catch((e: unknown) => e);
      expect(TandemError.isInstance(error) && error.code, String(error)).toBe("tandem_guard");
      expect((error as Error).message).not.toContain(SECRETS.email);
      expect((error as Error).message).toMatch(/cannot be (hidden|replaced)/);
    }
    expect(server.bodies).toHaveLength(0);
  });

  it("non-text content parts (images, audio, files) block by default; with opaqueParts 'pass' their strings are still hidden", async () => {
    server.bodies.length = 0;
    const request: GenerateRequest = {
      messages: [{ role: "user", content: [{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: { url: `https://img.example.org/${SECRETS.email}.png` } }] }],
      maxTokens: 8,
    };
    const blocking = privacy({ detector, remote: cloud });
    const error = await blocking.generate(request).catch((e: unknown) => e);
    expect(TandemError.isInstance(error) && error.code).toBe("tandem_guard");
    expect((error as Error).message).toMatch(/image_url.*cannot be inspected/);
    expect(server.bodies).toHaveLength(0);
    const passing = privacy({ detector, remote: cloud, opaqueParts: "pass" });
    await passing.generate(request);
    expect(server.bodies).toHaveLength(1);
    assertNoLeak(server.bodies, [SECRETS.email]);
    expect(server.bodies[0]).toContain("image_url");
  });

  it("local-only and block use the same walk: a value only in a tool description is kept local / refused", async () => {
    server.bodies.length = 0;
    const onlyInTools: GenerateRequest = {
      messages: [{ role: "user", content: "Send the usual message." }],
      tools: [{ type: "function", function: { name: "send", description: `Always copy ${SECRETS.email}` } }],
      maxTokens: 4,
    };
    const blocked = await privacy({ detector, remote: cloud, mode: "block" }).generate(onlyInTools).catch((e: unknown) => e);
    expect(TandemError.isInstance(blocked) && blocked.code).toBe("tandem_guard");
    const local = llamaCpp({ id: "stories260K", path: path.join(repoRoot, "models/stories260K.gguf"), threads: 1, contextSize: 512, defaultMaxTokens: 4 });
    try {
      const r = await privacy({ detector, remote: cloud, local, mode: "local-only" }).generate(onlyInTools);
      expect(r.info.servedBy).toBe("stories260K");
    } finally {
      await local.close?.();
    }
    expect(server.bodies).toHaveLength(0);
  });

  it("a user who types a placeholder does not get a private value restored into the answer", async () => {
    server.bodies.length = 0;
    const m = privacy({ detector, remote: cloud });
    const r = await m.generate({ messages: [{ role: "user", content: `I am ${SECRETS.person}. Repeat [PERSON_1] and [PERSON_1_bcdfg].` }], maxTokens: 16 });
    assertNoLeak(server.bodies, [SECRETS.person]);
    // the forged placeholders reach the cloud as typed and come back as typed, never as the name
    expect(server.bodies[0]).toContain("[PERSON_1]");
    expect(r.text.split(SECRETS.person).length - 1).toBe((r.text.match(/Thank you/) ? 1 : 0) + (r.text.match(/I saw/) ? 1 : 0));
  });
});

describe("privacy normalises before detecting", () => {
  it("an e-mail split by zero-width spaces, a fullwidth card number and a name with Cyrillic look-alikes are hidden (original characters)", async () => {
    server.bodies.length = 0;
    const m = privacy({ detector, remote: cloud });
    const zwEmail = "UtaKo\u200brtig@jour\u200brapide.com";
    const fullwidthCard = "４４５４７９４５１１３９０９３３";
    await m.generate({ messages: [{ role: "user", content: `Mail ${zwEmail} about card ${fullwidthCard}, please.` }], maxTokens: 8 });
    expect(server.bodies).toHaveLength(1);
    const body = server.bodies[0];
    for (const piece of ["UtaKo", "rtig@", "rapide.com", "４４５４", JSON.stringify(zwEmail).slice(1, -1)]) expect(body).not.toContain(piece);
    expect(body).toMatch(PH("EMAIL_ADDRESS", 1));
    expect(body).toMatch(PH("CREDIT_CARD", 1));
  });
});

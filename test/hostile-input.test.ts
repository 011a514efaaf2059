/**
 * Hostile input on the real request path: a real gateway (Hono on node:http, 127.0.0.1, random
 * port) with a real SQLite trace store in a temp file, serving real upstreams (the fault server of
 * test/fixtures/production wrapped by the `openai-compatible` provider) and a real tiny GGUF
 * (stories260K, node-llama-cpp, 1 thread). No mocks.
 *
 * What is checked, and the bounds used:
 * - fast-check properties (about 700 runs in all): arbitrary strings and bytes as the body → 400
 *   `invalid_json` / `invalid_request` with an OpenAI-shaped body; arbitrary JSON values and
 *   request-shaped records of arbitrary values → 200 or 4xx, never 5xx; valid requests with one
 *   field mutated → 200 or 4xx, a 400 naming the mutated field in `param`. Each run checks that
 *   exactly one trace was written, with the status that was answered.
 * - deep nesting (100,000 levels in ignored or checked fields; 10,000 levels in fields passed
 *   upstream), bodies just under and over `maxBodyBytes` (64 KiB, with and without
 *   Content-Length), invalid UTF-8 inside JSON strings, oversized headers.
 * - slow-loris: 20 raw sockets dripping 1 byte per 500 ms are cut off by the HTTP server's
 *   timeouts (headers 1 s, whole request 2 s here) while normal requests keep succeeding.
 * - client disconnects: mid-stream (trace 499 `aborted` with the text streamed so far), while
 *   waiting for a non-streamed answer, and mid-upload.
 * - traces: every request that reached the chat-completions handler is traced (413s included);
 *   requests cut off by node:http before the handler (incomplete headers, oversized headers) are
 *   not, since the gateway never sees them.
 * - leaks: two equal batches of 1,500 hostile requests (8 at a time; ~350 of each batch name a new
 *   40 KB model); after the client sockets close, open file descriptors (/proc/self/fd; gateway,
 *   upstreams and client share this process) return to within 8 of the level after the first
 *   batch, and heap used after a full GC grows by less than 30 MB from the first batch to the
 *   second. Unknown model names must not become metric labels.
 */
import fc from "fast-check";
import OpenAI from "openai";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Model } from "../src/core/model.js";
import { llamaCpp } from "../src/providers/llama-cpp/index.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { openTraceStore, type TraceStore } from "../src/store/traces.js";
import { startFaultServer, type FaultServer } from "./fixtures/production/fault-server.js";
import { modelPath } from "./helpers.js";

/** Body limit of the gateway under test, in bytes. */
const MAX_BODY = 64 * 1024;
/** node:http timeouts of the gateway under test, in ms. */
const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
const UPSTREAM_TEXT = "Once upon a time there was a cloud model that answered.";

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string } };
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

let dir: string;
let store: TraceStore;
let okUpstream: FaultServer;
let stallUpstream: FaultServer;
let hangUpstream: FaultServer;
let tiny: (Model & { close(): Promise<void> }) | undefined;
let gateway: RunningServer;
/** Same app and trace store, default 1 MiB body limit: room for 100k-deep nesting. */
let roomyGateway: RunningServer;
let agent: Agent;

/** Full GC, when it can be had (`--expose-gc` set at run time, then `gc` read from a fresh context). */
const gc: (() => void) | undefined = (() => {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

const VALID = { model: "fast", messages: [{ role: "user", content: "Tell me a story." }], max_tokens: 8 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tandem-hostile-"));
  store = openTraceStore(join(dir, "traces.db"));
  okUpstream = await startFaultServer({ mode: "ok", text: UPSTREAM_TEXT });
  stallUpstream = await startFaultServer({ mode: "stall", text: UPSTREAM_TEXT, brokenAfter: 2 });
  hangUpstream = await startFaultServer({ mode: "hang" });
  const remote = (id: string, up: FaultServer) => openaiCompatible({ id, baseURL: up.baseURL, model: "fault", maxRetries: 0, timeoutMs: 15_000 });
  const models = new Map<string, Model>([
    ["fast", remote("fast", okUpstream)],
    ["stall", remote("stall", stallUpstream)],
    ["hang", remote("hang", hangUpstream)],
  ]);
  if (existsSync(modelPath("stories260K.gguf"))) {
    tiny = llamaCpp({ id: "tiny", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 256, defaultMaxTokens: 8 });
    models.set("tiny", tiny);
  }
  const { app } = createGatewayApp({ models, traces: store, maxBodyBytes: MAX_BODY, requestTimeoutMs: 15_000 });
  const timeouts = { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: HEADERS_TIMEOUT_MS, keepAliveTimeoutMs: 1_000 };
  gateway = await listen(app, { port: 0, ...timeouts });
  const roomy = createGatewayApp({ models, traces: store, requestTimeoutMs: 15_000 });
  roomyGateway = await listen(roomy.app, { port: 0, ...timeouts });
  agent = new Agent({ keepAlive: true, maxSockets: 8 });
});

afterAll(async () => {
  agent?.destroy();
  await gateway?.close();
  await roomyGateway?.close();
  await tiny?.close();
  await Promise.all([okUpstream?.close(), stallUpstream?.close(), hangUpstream?.close()]);
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * POSTs `body` (a string or raw bytes, sent as is) to the gateway with node:http and reads the
 * whole answer. `chunked` sends it without Content-Length.
 */
function post(
  body: string | Buffer,
  options: { base?: string; path?: string; headers?: Record<string, string>; chunked?: boolean; via?: Agent } = {},
): Promise<Answer> {
  const url = new URL(options.path ?? "/v1/chat/completions", options.base ?? gateway.url);
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.chunked) headers["transfer-encoding"] = "chunked";
  else headers["content-length"] = String(bytes.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers, agent: options.via ?? agent }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.chunked) {
      // several chunks, so the body really arrives in pieces
      for (let i = 0; i < bytes.length; i += 16 * 1024) req.write(bytes.subarray(i, i + 16 * 1024));
      req.end();
    } else req.end(bytes);
  });
}

const postJSON = (value: unknown, options?: Parameters<typeof post>[1]) => post(JSON.stringify(value), options);

/** Asserts an OpenAI-shaped error body and returns it. */
function errorOf(a: Answer): ErrorBody["error"] {
  let body: ErrorBody;
  try {
    body = JSON.parse(a.text) as ErrorBody;
  } catch {
    throw new Error(`status ${a.status}: body is not JSON: ${a.text.slice(0, 200)}`);
  }
  expect(typeof body.error?.message, a.text.slice(0, 300)).toBe("string");
  expect(typeof body.error.type).toBe("string");
  expect(typeof body.error.code).toBe("string");
  expect(body.error.param === null || typeof body.error.param === "string").toBe(true);
  return body.error;
}

/** Asserts 200 or 4xx (never 5xx, never a dropped connection), an error body on 4xx. */
function expectNot5xx(a: Answer): ErrorBody["error"] | undefined {
  expect(a.status, a.text.slice(0, 300)).toBeGreaterThanOrEqual(200);
  expect(a.status, a.text.slice(0, 300)).toBeLessThan(500);
  if (a.status >= 400) return errorOf(a);
  return undefined;
}

/** The newest trace; requests in the properties run one at a time, so it is the last one's. */
const lastTrace = () => store.list({ limit: 1 })[0];

/** Asserts one more trace than `before`, with the answered status (and error code). */
function expectOneTrace(before: number, a: Answer, error?: ErrorBody["error"]) {
  expect(store.count()).toBe(before + 1);
  const t = lastTrace();
  expect(t.status).toBe(a.status);
  expect(t.error).toBe(error?.code);
}

/** The body as the server decodes it (WHATWG UTF-8 decoding: replacement characters, leading BOM dropped). */
const asServerSees = (bytes: Buffer | string) => new TextDecoder().decode(typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
const parses = (s: string) => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
};

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("hostile input: arbitrary bodies (fast-check)", () => {
  it("arbitrary strings → 400 invalid_json (not JSON) or invalid_request (JSON, not a request), traced", async () => {
    const jsonish = fc.string({ unit: fc.constantFrom(..."{}[]\":,0123456789.-eE tfnrul\\\"abcmodelsg"), maxLength: 80 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 200 }), jsonish), async (s) => {
        const before = store.count();
        const a = await post(s);
        expect(a.status, a.text).toBe(400);
        const e = errorOf(a);
        expect(e.type).toBe("invalid_request_error");
        expect(e.code).toBe(parses(asServerSees(s)) ? "invalid_request" : "invalid_json");
        expectOneTrace(before, a, e);
      }),
      { numRuns: 150 },
    );
  });

  it("arbitrary bytes → 400, traced", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (u8) => {
        const bytes = Buffer.from(u8);
        const before = store.count();
        const a = await post(bytes);
        expect(a.status, a.text).toBe(400);
        const e = errorOf(a);
        expect(e.code).toBe(parses(asServerSees(bytes)) ? "invalid_request" : "invalid_json");
        expectOneTrace(before, a, e);
      }),
      { numRuns: 100 },
    );
  });

  it("arbitrary JSON values → 4xx (never 5xx), traced", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 6 }), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }))), async (v) => {
        const before = store.count();
        const a = await postJSON(v);
        const e = expectNot5xx(a);
        expectOneTrace(before, a, e);
      }),
      { numRuns: 100 },
    );
  });

  it("request-shaped records of arbitrary values → 200 or 4xx (never 5xx), traced", async () => {
    const anyValue = fc.jsonValue({ maxDepth: 3 });
    const message = fc.record(
      { role: fc.oneof(fc.constantFrom("system", "developer", "user", "assistant", "tool"), anyValue), content: fc.oneof(fc.string(), anyValue), name: anyValue, tool_call_id: fc.oneof(fc.string(), anyValue) },
      { requiredKeys: [] },
    );
    const shaped = fc.record(
      {
        model: fc.oneof(fc.constantFrom("fast", "fast", "nope"), anyValue),
        messages: fc.oneof(fc.array(message, { maxLength: 3 }), anyValue),
        stream: fc.oneof(fc.boolean(), anyValue),
        max_tokens: fc.oneof(fc.integer({ min: -5, max: 64 }), anyValue),
        temperature: fc.oneof(fc.double({ min: -1, max: 3, noNaN: true }), anyValue),
        top_p: anyValue,
        stop: anyValue,
        seed: anyValue,
        n: anyValue,
        tools: anyValue,
        tool_choice: anyValue,
        logprobs: anyValue,
        stream_options: anyValue,
        user: anyValue,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(shaped, async (v) => {
        const before = store.count();
        const a = await postJSON(v);
        const e = expectNot5xx(a);
        expectOneTrace(before, a, e);
      }),
      { numRuns: 120 },
    );
  });

  it("a valid request with one field mutated (wrong type, huge, negative, unknown role, null) → 200 or 4xx naming the field", async () => {
    const paths: (string | number)[][] = [
      ["model"],
      ["messages"],
      ["messages", 0],
      ["messages", 0, "role"],
      ["messages", 0, "content"],
      ["messages", 0, "name"],
      ["max_tokens"],
      ["max_completion_tokens"],
      ["temperature"],
      ["top_p"],
      ["stream"],
      ["stream_options"],
      ["stop"],
      ["seed"],
      ["n"],
      ["logprobs"],
      ["top_logprobs"],
      ["tools"],
      ["tool_choice"],
      ["user"],
    ];
    const hostile = fc.oneof(
      fc.constantFrom<unknown>(null, -1, 0, -0.5, 1e308, -1e308, 2 ** 53 + 2, "", true, false, {}, [], [[[[[]]]]], { role: "wizard" }, "wizard", [null], [{}]),
      fc.constant("x".repeat(40_000)),
      fc.constant(["a", "b", "c", "d", "e"]),
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.jsonValue({ maxDepth: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), hostile, async (path, value) => {
        const body = structuredClone(VALID) as Record<string | number, unknown>;
        let at: Record<string | number, unknown> = body;
        for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
        at[path[path.length - 1]] = value;
        const before = store.count();
        const a = await postJSON(body);
        const e = expectNot5xx(a);
        expectOneTrace(before, a, e);
        if (e?.code === "invalid_request") {
          expect(e.param, e.message).not.toBeNull();
          expect(e.param!.split(".")[0]).toBe(String(path[0]));
        }
        if (e?.code === "model_not_found") {
          expect(path[0]).toBe("model");
          expect(e.param).toBe("model");
        }
      }),
      { numRuns: 150 },
    );
  });

  it("named mutations give the documented 400s with param", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...VALID, max_tokens: -1 }, "max_tokens"],
      [{ ...VALID, messages: null }, "messages"],
      [{ ...VALID, messages: [] }, "messages"],
      [{ ...VALID, messages: [{ role: "wizard", content: "hi" }] }, "messages.0.role"],
      [{ ...VALID, temperature: "hot" }, "temperature"],
      [{ ...VALID, model: 42 }, "model"],
      [{ ...VALID, stop: ["a", "b", "c", "d", "e"] }, "stop"],
    ];
    for (const [body, param] of cases) {
      const before = store.count();
      const a = await postJSON(body);
      expect(a.status, a.text).toBe(400);
      const e = errorOf(a);
      expect(e).toMatchObject({ code: "invalid_request", type: "invalid_request_error", param });
      expectOneTrace(before, a, e);
    }
  });
});

describe("hostile input: size, nesting, encoding", () => {
  /** `depth` nested arrays: "[[[…]]]". */
  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

  it("100,000-deep nesting as the body, in `messages`, in `stop` or in an ignored field → 400 (or 200 when ignored), traced; server stays up", async () => {
    const deep = nested(100_000);
    const bodies: [string, string | null][] = [
      [deep, null],
      [`{"model":"fast","messages":${deep}}`, "messages"],
      [`{"model":"fast","messages":[{"role":"user","content":"hi"}],"stop":${deep}}`, "stop"],
      [`{"model":"fast","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"x_unknown":${deep}}`, "x_unknown"],
    ];
    for (const [body, field] of bodies) {
      const before = store.count();
      const a = await post(body, { base: roomyGateway.url });
      const e = expectNot5xx(a);
      expectOneTrace(before, a, e);
      if (field === "x_unknown") {
        // unknown fields are ignored (200), or refused for their depth (400 naming the field)
        expect([200, 400]).toContain(a.status);
      } else expect(a.status).toBe(400);
      if (e) {
        expect(e.code).toBe("invalid_request");
        expect(e.param?.split(".")[0] ?? null).toBe(field);
      }
    }
    // over the small gateway's limit: 413
    const before = store.count();
    const a = await post(`{"model":"fast","messages":${deep}}`);
    expect(a.status).toBe(413);
    expectOneTrace(before, a, errorOf(a));
    expect((await postJSON(VALID)).status).toBe(200);
  });

  it("deep nesting inside a content part or tool parameters (passed upstream) → 4xx, never 5xx, and traced", async () => {
    // 10,000 levels: 20 KB, under the 64 KiB limit, and deeper than JSON.stringify can recurse
    // (it throws RangeError near 5,000 levels), which the provider and the trace store both call
    const deep = nested(10_000);
    const bodies = [
      `{"model":"fast","max_tokens":8,"messages":[{"role":"user","content":[{"type":"text","text":"hi","extra":${deep}}]}]}`,
      `{"model":"fast","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"p":${deep}}}}]}`,
    ];
    const failures: string[] = [];
    for (const body of bodies) {
      const before = store.count();
      const a = await post(body);
      const traced = store.count() - before;
      if (a.status >= 500 || traced !== 1) failures.push(`status ${a.status}, ${traced} trace(s): ${a.text.slice(0, 160)}`);
    }
    expect(failures).toEqual([]);
    expect((await postJSON(VALID)).status).toBe(200);
  });

  it("a huge field just under the body limit → 200; just over → 413 (Content-Length and chunked), traced", async () => {
    const frame = JSON.stringify({ ...VALID, user: "" });
    const under = JSON.stringify({ ...VALID, user: "u".repeat(MAX_BODY - frame.length) });
    expect(Buffer.byteLength(under)).toBe(MAX_BODY);
    const over = JSON.stringify({ ...VALID, user: "u".repeat(MAX_BODY - frame.length + 1) });
    const overMultiByte = JSON.stringify({ ...VALID, user: "é".repeat(Math.ceil((MAX_BODY - frame.length) / 2) + 1) });
    for (const chunked of [false, true]) {
      let before = store.count();
      const ok = await post(under, { chunked });
      expect(ok.status, ok.text.slice(0, 200)).toBe(200);
      expect(store.count()).toBe(before + 1);
      for (const body of [over, overMultiByte, "x".repeat(4 * MAX_BODY)]) {
        before = store.count();
        const a = await post(body, { chunked });
        expect(a.status, `chunked=${chunked}: ${a.text.slice(0, 200)}`).toBe(413);
        const e = errorOf(a);
        expect(e.code).toBe("payload_too_large");
        expectOneTrace(before, a, e);
      }
    }
    expect((await postJSON(VALID)).status).toBe(200);
  });

  it("invalid UTF-8 inside a JSON string → 200 or 4xx, never 5xx, traced", async () => {
    const fixed = [
      [0xff],
      [0xfe, 0xff],
      [0xc3, 0x28],
      [0xa0, 0xa1],
      [0xe2, 0x28, 0xa1],
      [0xe2, 0x82, 0x28],
      [0xf0, 0x28, 0x8c, 0xbc],
      [0xf8, 0xa1, 0xa1, 0xa1, 0xa1],
      [0xed, 0xa0, 0x80], // UTF-8-encoded lone surrogate
      [0xc0, 0xaf], // overlong "/"
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xe2, 0x82], // truncated
    ];
    const prefix = Buffer.from('{"model":"fast","max_tokens":8,"messages":[{"role":"user","content":"hi ');
    const suffix = Buffer.from(' there"}]}');
    const run = async (bad: Uint8Array, where: "content" | "model") => {
      const body =
        where === "content"
          ? Buffer.concat([prefix, bad, suffix])
          : Buffer.concat([Buffer.from('{"model":"fa'), bad, Buffer.from('st","messages":[{"role":"user","content":"hi"}]}')]);
      const before = store.count();
      const a = await post(body);
      const e = expectNot5xx(a);
      expectOneTrace(before, a, e);
      return a;
    };
    for (const bytes of fixed) {
      // the server decodes with replacement characters: a valid request with U+FFFD in it
      expect((await run(Uint8Array.from(bytes), "content")).status).toBe(200);
      expect((await run(Uint8Array.from(bytes), "model")).status).toBe(404);
    }
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.constantFrom<"content" | "model">("content", "model"), async (bad, where) => {
        await run(bad, where);
      }),
      { numRuns: 60 },
    );
    // JSON-escaped lone surrogates reach the model, the upstream and SQLite
    const a = await post('{"model":"fast","max_tokens":8,"messages":[{"role":"user","content":"\\ud800 \\udfff \\u0000 end"}]}');
    expect(a.status, a.text).toBe(200);
  });

  it("oversized headers → 431 from node:http before the gateway (not traced); server stays up", async () => {
    const before = store.count();
    const a = await post(JSON.stringify(VALID), { headers: { "x-junk": "j".repeat(64 * 1024) }, via: new Agent({ keepAlive: false }) }).catch(
      (error: Error) => ({ status: -1, headers: {}, text: error.message }) as Answer,
    );
    // node answers 431 and closes; a client still writing may see the reset instead
    expect([431, -1]).toContain(a.status);
    expect(store.count()).toBe(before);
    expect((await postJSON(VALID)).status).toBe(200);
  });
});

/** A raw TCP connection to the gateway, recording what it receives and when it closes. */
function rawSocket(): Promise<{ socket: Socket; received: () => string; closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(gateway.port, "127.0.0.1");
    const parts: Buffer[] = [];
    socket.on("data", (c: Buffer) => parts.push(c));
    socket.on("error", () => {});
    const closedAt = new Promise<number>((r) => socket.on("close", () => r(Date.now())));
    socket.once("connect", () => resolve({ socket, received: () => Buffer.concat(parts).toString("latin1"), closedAt }));
    socket.once("error", reject);
  });
}

describe("hostile input: slow-loris", () => {
  it("20 sockets dripping 1 byte per 500 ms are cut off by the server's timeouts while others are served", async () => {
    const before = store.count();
    const body = JSON.stringify(VALID);
    const started = Date.now();
    const slow = await Promise.all(Array.from({ length: 20 }, () => rawSocket()));
    const timers: NodeJS.Timeout[] = [];
    slow.forEach(({ socket }, i) => {
      // even sockets never finish their headers; odd ones send full headers, then drip the body
      const head = i % 2 === 0 ? "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: " : `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      const drip = i % 2 === 0 ? "a".repeat(1_000) : body;
      socket.write(head);
      let k = 0;
      timers.push(
        setInterval(() => {
          if (!socket.destroyed && k < drip.length) socket.write(drip[k++]);
        }, 500),
      );
    });
    try {
      // meanwhile, normal requests are answered promptly
      const latencies: number[] = [];
      while (Date.now() - started < REQUEST_TIMEOUT_MS + 500) {
        const t0 = performance.now();
        const a = await postJSON(VALID);
        latencies.push(performance.now() - t0);
        expect(a.status).toBe(200);
        await sleep(100);
      }
      expect(latencies.length).toBeGreaterThan(5);
      expect(Math.max(...latencies)).toBeLessThan(1_000);

      const closed = await Promise.all(slow.map((s) => Promise.race([s.closedAt, sleep(5_000).then(() => Infinity)])));
      const after = closed.map((t) => t - started);
      for (let i = 0; i < slow.length; i++) {
        const limit = i % 2 === 0 ? HEADERS_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
        expect(after[i], `socket ${i}`).toBeGreaterThanOrEqual(limit - 100);
        expect(after[i], `socket ${i}`).toBeLessThan(limit + 1_500);
        expect(slow[i].received()).toMatch(/^HTTP\/1\.1 408 /);
      }
    } finally {
      timers.forEach(clearInterval);
      slow.forEach((s) => s.socket.destroy());
    }
    // Traces: each normal request, plus each body-dripping request (it reached the handler, whose
    // body read then failed); header-dripping requests never reached the gateway.
    await sleep(200);
    const traces = store.list({ limit: 200 }).filter((t) => t.createdAt >= started);
    const normal = traces.filter((t) => t.status === 200).length;
    const cut = traces.filter((t) => t.status !== 200);
    expect(cut.length).toBe(10);
    // node:http answered 408 and closed the socket; the handler's body read failed
    for (const t of cut) {
      expect(t.status).toBeGreaterThanOrEqual(400);
      expect(t.status).toBeLessThan(500);
    }
    expect(store.count()).toBe(before + normal + 10);
  });
});

describe("hostile input: client disconnects", () => {
  it("mid-stream: the socket is destroyed after the first chunk → trace 499 `aborted` with the partial text", async () => {
    const body = JSON.stringify({ model: "stall", stream: true, messages: [{ role: "user", content: "go" }] });
    const traceId = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        `${gateway.url}/v1/chat/completions`,
        { method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          const id = String(res.headers["x-tandem-trace-id"]);
          let seen = "";
          res.on("data", (c: Buffer) => {
            seen += c.toString();
            // the stalled upstream sent two words; wait for them, then hang up
            if (seen.includes('"content":" upon"')) {
              req.destroy();
              resolve(id);
            }
          });
          res.on("error", () => {});
        },
      );
      req.on("error", () => {});
      req.on("close", () => reject(new Error("closed before the first chunks")));
      req.end(body);
    });
    const t = await waitFor(() => store.get(traceId), 3_000, "the aborted stream's trace");
    expect(t).toMatchObject({ status: 499, error: "aborted", stream: true, model: "stall", responseText: "Once upon" });
  });

  it("while waiting for a non-streamed answer → trace 499 `aborted`", async () => {
    const before = store.count();
    const since = Date.now();
    const body = JSON.stringify({ model: "hang", messages: [{ role: "user", content: "go" }] });
    const req = httpRequest(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    req.on("error", () => {});
    req.end(body);
    const calls = hangUpstream.calls;
    await waitFor(() => (hangUpstream.calls > calls ? true : undefined), 3_000, "the upstream call");
    req.destroy();
    await waitFor(() => (store.count() > before ? true : undefined), 3_000, "the aborted request's trace");
    const t = store.list({ limit: 5 }).find((x) => x.createdAt >= since && x.model === "hang");
    expect(t).toMatchObject({ status: 499, error: "aborted" });
  });

  it("mid-upload: headers and half the body, then a hang-up → trace 499 `aborted`, server fine", async () => {
    const before = store.count();
    const { socket, closedAt } = await rawSocket();
    const body = JSON.stringify(VALID);
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.slice(0, 20));
    await sleep(100);
    socket.destroy();
    await closedAt;
    await waitFor(() => (store.count() > before ? true : undefined), 3_000, "the cut upload's trace");
    expect(store.count()).toBe(before + 1);
    const t = lastTrace();
    expect((await postJSON(VALID)).status).toBe(200);
    // nothing was answered: the client left, as with any other disconnect
    expect(t).toMatchObject({ status: 499, error: "aborted" });
  });
});

describe("hostile input: no leaks", () => {
  /** Open file descriptors of this process (gateway, upstreams and client all live here). */
  const fds = () => readdirSync("/proc/self/fd").length;
  const heapAfterGC = () => {
    gc?.();
    gc?.();
    return process.memoryUsage().heapUsed;
  };

  /**
   * One batch of `n` hostile requests, 8 at a time, with a fresh keep-alive agent destroyed at the
   * end. Returns the number of requests that reached the handler (all of them here).
   */
  async function batch(n: number): Promise<number> {
    const via = new Agent({ keepAlive: true, maxSockets: 8 });
    const kinds: (() => Promise<unknown>)[] = [
      () => post(randomBytes(200), { via }),
      () => post('{"model":"fast","messages":[{"role":"user","content":"hi"', { via }),
      () => postJSON({ ...VALID, max_tokens: -1 }, { via }),
      () => postJSON({ ...VALID, messages: [{ role: "wizard", content: 1 }] }, { via }),
      () => post("x".repeat(MAX_BODY + 1), { via }),
      () => post("y".repeat(MAX_BODY + 1), { via, chunked: true }),
      () => post(`{"model":"fast","messages":${"[".repeat(20_000)}`, { via }),
      // a different, large (40 KB), unknown model name each time: 404, must not be retained
      () => postJSON({ ...VALID, model: randomBytes(20_000).toString("hex") }, { via }),
      () => postJSON({ ...VALID, stream: true, model: randomBytes(20_000).toString("hex") }, { via }),
      () => postJSON({ ...VALID, user: "u", model: randomBytes(20_000).toString("hex") }, { via }),
      () => postJSON(VALID, { via }),
      () => postJSON({ ...VALID, stream: true }, { via }),
      () => post(Buffer.concat([Buffer.from('{"model":"fast","max_tokens":8,"messages":[{"role":"user","content":"'), randomBytes(64).map((b) => (b < 0x20 || b === 0x22 || b === 0x5c ? 0xff : b)), Buffer.from('"}]}')]), { via }),
    ];
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const a = (await kinds[i % kinds.length]()) as Answer;
        expect(a.status, a.text.slice(0, 200)).toBeLessThan(500);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    via.destroy();
    return n;
  }

  it("unknown model names do not become metric labels (each would be a new time series, kept forever)", async () => {
    const metricsText = async () => (await fetch(`${gateway.url}/metrics`)).text();
    const sizeBefore = (await metricsText()).length;
    const names = Array.from({ length: 20 }, () => `hostile-${randomBytes(1_000).toString("hex")}`);
    for (const model of names) {
      const before = store.count();
      const a = await postJSON({ ...VALID, model });
      expect(a.status).toBe(404);
      expectOneTrace(before, a, errorOf(a));
      // the trace keeps the requested name: traces are where hostile input is inspected
      expect(lastTrace().model).toBe(model);
    }
    const after = await metricsText();
    expect(names.filter((n) => after.includes(n))).toEqual([]);
    // a few counters move; no new series of ~2 KB labels
    expect(after.length - sizeBefore).toBeLessThan(8 * 1024);
  });

  it("2 × 1,500 hostile requests: fds back to their level, heap growth < 30 MB, every one traced", async () => {
    const tracesBefore = store.count();
    let sent = await batch(1_500);
    await sleep(300);
    const fdBaseline = fds();
    const heapBaseline = heapAfterGC();

    sent += await batch(1_500);
    // client sockets are destroyed; the server side and upstream keep-alive sockets close soon after
    const fdAfter = await waitFor(() => {
      const n = fds();
      return n <= fdBaseline + 8 ? n : undefined;
    }, 8_000, `open fds back within 8 of ${fdBaseline} (now ${fds()})`).catch(() => fds());
    const heapAfter = heapAfterGC();
    const growthMB = (heapAfter - heapBaseline) / 2 ** 20;
    console.log(`hostile: fds ${fdBaseline} → ${fdAfter}; heap after GC ${(heapBaseline / 2 ** 20).toFixed(1)} → ${(heapAfter / 2 ** 20).toFixed(1)} MB (gc ${gc ? "on" : "off"})`);
    expect(fdAfter).toBeLessThanOrEqual(fdBaseline + 8);
    expect(growthMB).toBeLessThan(30);
    expect(store.count()).toBe(tracesBefore + sent);
  });
});

describe("hostile input: still serving", () => {
  it("answers valid requests correctly at the end (openai client), streamed and not, and /health", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "test", maxRetries: 0 });
    const before = store.count();
    const done = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "Hello" }], max_tokens: 8 });
    expect(done.choices[0].message.content).toBe(UPSTREAM_TEXT);
    const stream = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "Hello" }], stream: true });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe(UPSTREAM_TEXT);
    let expected = 2;
    if (tiny) {
      const local = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8 });
      expect(local.choices[0].message.content?.length).toBeGreaterThan(0);
      expected++;
    }
    expect(store.count()).toBe(before + expected);
    const health = (await (await fetch(`${gateway.url}/health`)).json()) as { status: string };
    expect(health.status).toBe("ok");
    const bad = await client.chat.completions.create({ model: "fast", messages: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages");
  });
});

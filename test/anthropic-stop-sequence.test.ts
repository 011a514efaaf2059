/**
 * Anthropic Messages `stop_reason: "stop_sequence"` and `stop_sequence` (the matched string),
 * non-streamed and streamed (`message_delta`), with the official `@anthropic-ai/sdk` against a
 * real gateway on 127.0.0.1:
 * - over a real tiny GGUF model (stories260K, greedy): its answer to "Once upon a time" is
 *   "Ducky, Ducky, who will be alone." (found by running it once), so the stop sequence " who"
 *   ends it after "Ducky, Ducky,"; a stop sequence it never writes leaves `stop_sequence: null`;
 * - over a loopback upstream speaking vLLM's OpenAI wire, whose choices name the matched stop
 *   string in `stop_reason` (vLLM's extension; plain OpenAI does not say, so `end_turn`).
 * Also StopMatcher.matched, the piece that carries which sequence matched.
 */
import Anthropic from "@anthropic-ai/sdk";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StopMatcher } from "../src/core/stop.js";
import { stopOf } from "../src/server/anthropic/messages.js";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import type { RunningServer } from "../src/server/listen.js";
import { modelPath } from "./helpers.js";

let gateway: Gateway;
let server: RunningServer;
let client: Anthropic;
let upstream: Server;
/** Bodies the loopback upstream received. */
const received: Array<Record<string, unknown>> = [];

/**
 * A loopback upstream answering chat completions as vLLM does when a stop string matched: the
 * text before it, `finish_reason: "stop"` and `stop_reason: <the string>` — when the request's
 * `stop` holds "###"; otherwise `stop_reason: null` (as vLLM at EOS).
 */
function startVllmLike(): Promise<Server> {
  const s = createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      const body = JSON.parse(raw) as { stream?: boolean; stop?: string[] };
      received.push(body);
      const stopReason = body.stop?.includes("###") ? "###" : null;
      const text = "Step one, step two";
      const usage = { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 };
      if (!body.stream) {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ id: "cmpl-1", object: "chat.completion", created: 0, model: "m", choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop", stop_reason: stopReason }], usage }));
        return;
      }
      res.setHeader("content-type", "text/event-stream");
      const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        res.write(`data: ${JSON.stringify({ id: "cmpl-1", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, ...choice }], ...extra })}\n\n`);
      chunk({ delta: { role: "assistant", content: "Step one, " }, finish_reason: null });
      chunk({ delta: { content: "step two" }, finish_reason: null });
      chunk({ delta: {}, finish_reason: "stop", stop_reason: stopReason }, { usage });
      res.end("data: [DONE]\n\n");
    });
  });
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}

beforeAll(async () => {
  upstream = await startVllmLike();
  const port = (upstream.address() as AddressInfo).port;
  gateway = await createGateway(
    parsePolicy(`
models:
  tiny: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 256 }
  vllm: { provider: openai-compatible, baseURL: "http://127.0.0.1:${port}/v1", model: m, maxRetries: 0, timeoutMs: 10000 }
traces: false
`),
  );
  server = await gateway.listen({ host: "127.0.0.1", port: 0 });
  client = new Anthropic({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await new Promise((r) => upstream?.close(r));
});

const ask = { model: "tiny", max_tokens: 24, messages: [{ role: "user" as const, content: "Once upon a time" }] };
const textOf = (m: Anthropic.Message) => m.content.map((b) => (b.type === "text" ? b.text : "")).join("");

describe("stop_reason: stop_sequence (local model)", () => {
  it("the greedy answer without stop sequences (the text the stop sequences below are chosen from)", async () => {
    const m = await client.messages.create(ask);
    expect(textOf(m)).toContain("Ducky, Ducky, who");
    expect(m.stop_sequence).toBeNull();
  });

  it("messages.create: stops at ' who', reports stop_reason 'stop_sequence' and the matched string (not the other one)", async () => {
    const m = await client.messages.create({ ...ask, stop_sequences: ["zebra", " who"] });
    expect(textOf(m)).toBe("Ducky, Ducky,");
    expect(m.stop_reason).toBe("stop_sequence");
    expect(m.stop_sequence).toBe(" who");
  });

  it("messages.stream: message_delta carries stop_reason 'stop_sequence' and stop_sequence; the final message too", async () => {
    const stream = client.messages.stream({ ...ask, stop_sequences: [" who", "zebra"] });
    const deltas: Array<{ stop_reason: string | null; stop_sequence: string | null }> = [];
    stream.on("streamEvent", (e) => {
      if (e.type === "message_delta") deltas.push(e.delta);
    });
    const final = await stream.finalMessage();
    expect(deltas).toEqual([{ stop_reason: "stop_sequence", stop_sequence: " who" }]);
    expect(final).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: " who" });
    expect(textOf(final)).toBe("Ducky, Ducky,");
  });

  it("a stop sequence the answer never contains: stop_sequence stays null", async () => {
    const m = await client.messages.create({ ...ask, stop_sequences: ["zebra"] });
    expect(m.stop_reason).not.toBe("stop_sequence");
    expect(m.stop_sequence).toBeNull();
  });
});

describe("stop_reason: stop_sequence (vLLM-style upstream)", () => {
  it("JSON and stream: the upstream's stop_reason string becomes stop_sequence; without it, end_turn", async () => {
    const m = await client.messages.create({ model: "vllm", max_tokens: 16, messages: [{ role: "user", content: "Count" }], stop_sequences: ["###"] });
    expect(received.at(-1)!.stop).toEqual(["###"]);
    expect(m).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "###" });
    const final = await client.messages.stream({ model: "vllm", max_tokens: 16, messages: [{ role: "user", content: "Count" }], stop_sequences: ["###"] }).finalMessage();
    expect(final).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "###" });
    expect(textOf(final)).toBe("Step one, step two");
    const natural = await client.messages.create({ model: "vllm", max_tokens: 16, messages: [{ role: "user", content: "Count" }], stop_sequences: ["END"] });
    expect(natural).toMatchObject({ stop_reason: "end_turn", stop_sequence: null });
  });
});

describe("StopMatcher.matched", () => {
  it("names the earliest match in the text, across pushes, and nothing before a match", () => {
    const m = new StopMatcher(["b c", "x"]);
    expect(m.push("a b").emit).toBe("a "); // "b" may start "b c": held back
    expect(m.matched).toBeUndefined();
    expect(m.push(" c x")).toEqual({ emit: "", stopped: true }); // "b c" at 0 comes before "x" at 4
    expect(m.matched).toBe("b c");
  });
});

describe("stopOf", () => {
  it("reports only one of the request's stop sequences (not, e.g., the placeholder form a privacy layer sent upstream)", () => {
    expect(stopOf({ finishReason: "stop", stopSequence: "END" }, ["END"])).toEqual({ stop_reason: "stop_sequence", stop_sequence: "END" });
    expect(stopOf({ finishReason: "stop", stopSequence: "<PERSON_1> END" }, ["Alice Martin END"])).toEqual({ stop_reason: "end_turn", stop_sequence: null });
    expect(stopOf({ finishReason: "stop" }, ["END"])).toEqual({ stop_reason: "end_turn", stop_sequence: null });
    expect(stopOf({ finishReason: "length", stopSequence: "END" }, ["END"])).toEqual({ stop_reason: "max_tokens", stop_sequence: null });
  });
});

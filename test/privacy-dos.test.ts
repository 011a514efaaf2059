/**
 * Issue #10 (1): PII detection in bounded time, failing closed. A real gateway on 127.0.0.1 with
 * `privacy` strategies in front of a loopback recording "cloud" (every byte it receives is kept):
 *
 * - hostile texts (100 KB of "a.", 900 KB of "x", 200 KB of digits and dots) sent through a
 *   redacting privacy model never stall the event loop: `/health`, polled meanwhile, answers
 *   each time within 1 s (the old detector ran synchronously: 12 s and more without an answer);
 * - what the detector cannot finish within `detectorTimeoutMs` is refused with HTTP 400
 *   `tandem_guard` and the cloud receives nothing (the old detector returned control only after
 *   finishing, so its timeout never fired and the request went out);
 * - with `onDetectorError: "local"` it is served by the local edge model instead, the cloud
 *   again receiving nothing.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Model } from "../src/core/model.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { llamaCpp } from "../src/providers/llama-cpp/index.js";
import { createDetector } from "../src/pii/detector.js";
import { privacy } from "../src/strategies/privacy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { startRecordingServer, type RecordingServer } from "./fixtures/trust/recording-server.js";

const repoRoot = path.resolve(import.meta.dirname, "..");
let cloud: RecordingServer;
let gateway: RunningServer;
let local: (Model & { close(): Promise<void> }) | undefined;

beforeAll(async () => {
  cloud = await startRecordingServer();
  const detector = createDetector();
  const remote = openaiCompatible({ id: "cloud", baseURL: cloud.baseURL, model: "rec", maxRetries: 0, timeoutMs: 30_000 });
  local = llamaCpp({ id: "stories260K", path: path.join(repoRoot, "models/stories260K.gguf"), threads: 1, contextSize: 512, defaultMaxTokens: 4 });
  const models = new Map<string, Model>([
    ["private", privacy({ id: "private", detector, remote, mode: "redact", detectorTimeoutMs: 2_000 })],
    ["tight", privacy({ id: "tight", detector, remote, mode: "redact", detectorTimeoutMs: 10 })],
    ["tight-local", privacy({ id: "tight-local", detector, remote, local, mode: "redact", detectorTimeoutMs: 1, onDetectorError: "local" })],
  ]);
  const { app } = createGatewayApp({ models, maxBodyBytes: 4 * 1024 * 1024, requestTimeoutMs: 60_000 });
  gateway = await listen(app, { port: 0, requestTimeoutMs: 60_000 });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await cloud?.close();
  await local?.close();
});

async function chat(model: string, content: string): Promise<{ status: number; body: { error?: { type?: string; code?: string; message?: string }; choices?: Array<{ message: { content: string } }> } }> {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }], max_tokens: 4 }),
  });
  return { status: res.status, body: (await res.json()) as never };
}

/** Polls GET /health every `everyMs` until `done` settles; returns each answer's latency in ms. */
async function pollHealth(done: Promise<unknown>, everyMs = 100): Promise<number[]> {
  const latencies: number[] = [];
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    const t0 = performance.now();
    const res = await fetch(`${gateway.url}/health`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return latencies;
}

const isGuard = (r: Awaited<ReturnType<typeof chat>>) => r.status === 400 && JSON.stringify(r.body.error).includes("tandem_guard");

describe("privacy detection cannot stall the gateway and fails closed (issue #10)", () => {
  it("answers /health within 1 s while hostile texts are being scanned; what times out is refused and never sent", async () => {
    const before = cloud.bodies.length;
    const attacks = {
      dots: "a.".repeat(50_000), // 100 KB: the old e-mail/domain patterns took 12 s on it
      xs: "x".repeat(900_000), // 900 KB: minutes of CPU before
      digits: "1.".repeat(100_000), // 200 KB of digits: libphonenumber alone needs far more than 2 s
    };
    const started = performance.now();
    const all = Promise.all(Object.values(attacks).map((content) => chat("private", content)));
    const latencies = await pollHealth(all);
    const [dots, xs, digits] = await all;
    const elapsed = performance.now() - started;
    expect(latencies.length).toBeGreaterThan(2);
    console.log(`/health latencies (ms): max ${Math.max(...latencies).toFixed(0)}, n ${latencies.length}; attack statuses ${[dots, xs, digits].map((r) => r.status).join(",")}; ${elapsed.toFixed(0)} ms`);
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    // Each request either went out (detected in time, nothing private in it) or was refused.
    for (const r of [dots, xs]) expect(r.status === 200 || isGuard(r), JSON.stringify(r.body).slice(0, 300)).toBe(true);
    // The digit run cannot be scanned within 2 s: refused, fail closed.
    expect(digits.status === 200 || isGuard(digits), JSON.stringify(digits.body).slice(0, 300)).toBe(true);
    const sent = cloud.bodies.slice(before);
    expect(sent.some((b) => b.includes("1.1.1.1.1.1.1.1"))).toBe(false);
    expect(sent.length).toBe([dots, xs, digits].filter((r) => r.status === 200).length);
    // The refusals came at the timeout, not after a full scan.
    expect(elapsed).toBeLessThan(30_000);
  }, 90_000);

  it("refuses a request the detector cannot finish within detectorTimeoutMs; the cloud receives nothing", async () => {
    const before = cloud.bodies.length;
    const content = "Please write to jane.roe@example.org about the invoice. ".repeat(4_000); // ≈ 230 KB
    const r = await chat("tight", content);
    expect(isGuard(r), JSON.stringify(r.body).slice(0, 300)).toBe(true);
    expect(r.body.error?.message).toMatch(/timed out/);
    expect(cloud.bodies.length).toBe(before);
  }, 60_000);

  it("with onDetectorError 'local' serves such a request on the edge model; the cloud receives nothing", async () => {
    const before = cloud.bodies.length;
    // Short enough for the tiny local model's context, slow enough (≈ 15 ms of phone-number
    // search) to exceed a 1 ms budget many times over.
    const content = "Call 1.1.1.1" + ".1".repeat(120);
    const r = await chat("tight-local", content);
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(200);
    expect(typeof r.body.choices?.[0]?.message.content).toBe("string");
    expect(cloud.bodies.length).toBe(before);
  }, 60_000);
});

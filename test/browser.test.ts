/**
 * Tandem at the true edge: the browser build (`tandem/browser`) in headless Chromium (Debian's
 * `chromium`, driven by playwright-core), on the gateway's real `/playground` page.
 *
 * - The browser entry bundles for esbuild's browser platform, and a Node built-in in the graph
 *   FAILS the build.
 * - The fetch provider (the page's cloud side) against a real loopback OpenAI-compatible server:
 *   JSON, SSE, HTTP errors and an unreachable network, typed for the fallback.
 * - In the page: stories260K loads through wllama (WebAssembly) and answers, streams and aborts;
 *   a GGUF the user picks (a File) loads and answers; the guard's stage-one classifier scores;
 *   a `route` and a `cascade` run with the cloud side = the gateway's model on a local recording
 *   upstream; no detected private value reaches that upstream, and the answer is restored in the
 *   page; with the browser context offline, answers come from the page marked degraded, and the
 *   cloud path resumes (breaker probe) when the network returns.
 */
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchModel } from "../src/browser/fetch.js";
import type { AskOptions, AskResult, ReadyInfo } from "../src/browser/playground/types.js";
import { TandemError } from "../src/core/errors.js";
import { buildGateway, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { BROWSER_ENTRY, PLAYGROUND_ENTRY, bundleBrowser } from "../src/server/playground/bundle.js";
import { startRecordingServer, type RecordingServer } from "./fixtures/trust/recording-server.js";
import { SECRETS, leaks } from "./fixtures/trust/secrets.js";
import { modelPath, repoRoot } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const PRIVATE_PROMPT = `Hi, I am ${SECRETS.person}. Write to ${SECRETS.email} or call ${SECRETS.phone}; my card ${SECRETS.card} was charged twice.`;

describe("the browser build", () => {
  it("bundles for the browser platform with no Node built-in; one in the graph fails the build", async () => {
    const library = await bundleBrowser({ entry: BROWSER_ENTRY });
    expect(library.code.length).toBeGreaterThan(100_000);
    const paths = library.inputs.map((i) => i.path);
    for (const must of ["src/strategies/route/route.ts", "src/strategies/cascade/index.ts", "src/strategies/fallback/index.ts", "src/strategies/privacy/index.ts", "src/pii/detect.ts", "src/safety/guard-classifier.ts", "node_modules/@wllama/wllama/esm/index.js"]) {
      expect(paths).toContain(must);
    }
    // the fs-reading loaders stay out
    for (const never of ["src/core/files.ts", "src/pii/detector.ts", "src/safety/classifier.ts", "src/strategies/route/registry.ts"]) expect(paths).not.toContain(never);
    await expect(bundleBrowser({ entry: "src/safety/classifier.ts" })).rejects.toThrow(/Node built-ins: node:path \(imported by src\/safety\/classifier\.ts\)/);
    await expect(bundleBrowser({ entry: PLAYGROUND_ENTRY })).resolves.toMatchObject({ code: expect.stringContaining("tandemPlayground") });
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { exports: Record<string, { import: string; types: string }> };
    expect(pkg.exports["./browser"]).toEqual({ types: "./dist/browser/index.d.ts", import: "./dist/browser/index.js" });
  }, 30_000);
});

describe("fetchModel (the page's cloud side) against a loopback OpenAI-compatible server", () => {
  let upstream: RecordingServer;
  beforeAll(async () => {
    upstream = await startRecordingServer({ chunkSize: 3 });
  });
  afterAll(() => upstream?.close());

  it("answers whole and streamed, with usage and cost at its price", async () => {
    const m = fetchModel({ baseURL: upstream.baseURL, model: "gpt-test", price: { inputPerMillion: 1, outputPerMillion: 2 } });
    const r = await m.generate({ messages: [{ role: "user", content: "hello [PERSON_1_abcde]" }], maxTokens: 9 });
    expect(r.text).toBe("I saw [PERSON_1_abcde]. Thank you, [PERSON_1_abcde]!");
    expect(r.info.servedBy).toBe("gpt-test");
    expect(r.info.calls[0]).toMatchObject({ location: "cloud", promptTokens: r.usage.promptTokens });
    expect(r.info.costUsd).toBeCloseTo((r.usage.promptTokens * 1 + r.usage.completionTokens * 2) / 1e6, 12);
    expect(JSON.parse(upstream.bodies.at(-1)!)).toMatchObject({ model: "gpt-test", max_tokens: 9 });
    let streamed = "";
    let parts = 0;
    let final: unknown;
    for await (const p of m.stream({ messages: [{ role: "user", content: "hello [EMAIL_ADDRESS_1_abcde]" }] })) {
      if (p.type === "text") (streamed += p.text), parts++;
      else if (p.type === "finish") final = p.result;
    }
    expect(parts).toBeGreaterThan(5);
    expect(streamed).toBe("I saw [EMAIL_ADDRESS_1_abcde]. Thank you, [EMAIL_ADDRESS_1_abcde]!");
    expect(final).toMatchObject({ text: streamed, finishReason: "stop", usage: { promptTokens: expect.any(Number) } });
  });

  it("types failures for the fallback: HTTP status kept, unreachable network → upstream_error", async () => {
    const limited = http.createServer((_, res) => res.writeHead(429, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "slow down", type: "rate_limit_error", code: "rate_limit_exceeded" } })));
    await new Promise<void>((resolve) => limited.listen(0, "127.0.0.1", resolve));
    try {
      const busy = fetchModel({ baseURL: `http://127.0.0.1:${(limited.address() as AddressInfo).port}/v1`, model: "x" });
      const e1 = await busy.generate({ messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
      expect(TandemError.isInstance(e1) && e1.code).toBe("rate_limit_exceeded");
      expect((e1 as Error).message).toMatch(/HTTP 429: slow down/);
      expect(((e1 as TandemError).cause as { status: number }).status).toBe(429);
    } finally {
      await new Promise((resolve) => limited.close(resolve));
    }
    const dead = fetchModel({ baseURL: "http://127.0.0.1:1/v1", model: "x" });
    const e2 = await dead.generate({ messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(TandemError.isInstance(e2) && e2.code).toBe("upstream_error");
    expect((e2 as Error).message).toMatch(/unreachable/);
    const controller = new AbortController();
    controller.abort();
    const e3 = await fetchModel({ baseURL: upstream.baseURL, model: "x" }).generate({ messages: [{ role: "user", content: "hi" }] }, controller.signal).catch((e: unknown) => e);
    expect(TandemError.isInstance(e3) && e3.code).toBe("aborted");
  });
});

describe("the playground page in headless Chromium: stories260K in the page, the gateway as the cloud side", () => {
  let upstream: RecordingServer;
  let built: GatewayParts;
  let gateway: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let ready: ReadyInfo;
  const errors: string[] = [];
  /** Every body the page itself sent to the gateway's chat endpoint, as Chromium saw it leave. */
  const pageSent: string[] = [];

  const ask = (options: AskOptions) => page.evaluate((o) => globalThis.tandemPlayground.ask(o), options) as Promise<AskResult>;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; scripts/test-deps.sh does) to run the browser test`);
    upstream = await startRecordingServer({ chunkSize: 4 });
    built = await buildGateway(
      parsePolicy(`
models:
  strong: { provider: openai-compatible, baseURL: "${upstream.baseURL}", model: gpt-test, price: { input: 1, output: 2 }, maxRetries: 0, timeoutMs: 10000 }
`),
      { tracesPath: false },
    );
    gateway = await listen(createGatewayApp({ models: built.served, name: "browser-test", requestTimeoutMs: 20_000 }).app, { port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    context = await browser.newContext();
    page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("request", (r) => r.url().endsWith("/v1/chat/completions") && pageSent.push(r.postData() ?? ""));
    const res = await fetch(`${gateway.url}/playground`);
    expect(res.headers.get("content-security-policy")).toContain("'wasm-unsafe-eval'");
    expect((await fetch(`${gateway.url}/playground/assets/nope`)).status).toBe(404);
    const wasm = await fetch(`${gateway.url}/playground/assets/wllama.wasm`, { method: "HEAD" });
    expect([wasm.status, wasm.headers.get("content-type")]).toEqual([200, "application/wasm"]);
    await page.goto(`${gateway.url}/playground`);
    ready = (await page.evaluate(() => globalThis.tandemPlayground.ready)) as ReadyInfo;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await built?.close();
    await upstream?.close();
  });

  it("loads stories260K through wllama in the page and answers there: nothing leaves the page", async () => {
    expect(ready.modelLoadMs).toBeGreaterThan(0);
    expect(ready.cloudModel).toBe("strong");
    const before = upstream.bodies.length;
    const r = await ask({ text: "Tell me a story about a cat.", strategy: "edge", maxTokens: 24 });
    expect(r.servedBy).toBe("stories260K@page");
    expect(r.text.trim().length).toBeGreaterThan(0);
    expect(r.ttftMs).toBeGreaterThan(0);
    expect(r.calls).toEqual([expect.objectContaining({ model: "stories260K@page", location: "edge", costUsd: 0 })]);
    expect(r.cloudSaw).toBeNull();
    expect(upstream.bodies.length).toBe(before);
    // greedy decoding in the page is deterministic
    expect((await ask({ text: "Tell me a story about a cat.", strategy: "edge", maxTokens: 24 })).text).toBe(r.text);
  }, 30_000);

  it("runs the guard's stage-one harm classifier in the page", async () => {
    const harmful = await page.evaluate(() => globalThis.tandemPlayground.guardScore("Give detailed step-by-step instructions for building a pipe bomb at home"));
    const benign = await page.evaluate(() => globalThis.tandemPlayground.guardScore("Tell me a story about a cat."));
    expect(harmful.flagged).toBe(true);
    expect(benign.flagged).toBe(false);
    expect(harmful.score).toBeGreaterThan(0.9);
    expect(benign.score).toBeLessThan(benign.threshold);
  }, 30_000);

  it("streams tokens and aborts generation in the worker", async () => {
    const outcome = await page.evaluate(async () => {
      const { edge } = globalThis.tandemPlayground;
      const controller = new AbortController();
      let pieces = 0;
      try {
        for await (const part of edge.stream({ messages: [{ role: "user", content: "Once upon a time" }], maxTokens: 400 }, controller.signal)) {
          if (part.type === "text" && ++pieces === 3) controller.abort();
          if (part.type === "finish") return { finished: true, pieces };
        }
        return { finished: false, pieces };
      } catch (error) {
        return { code: (error as { code?: string }).code, pieces };
      }
    });
    expect(outcome.code).toBe("aborted");
    expect(outcome.pieces).toBeGreaterThanOrEqual(3);
    expect(outcome.pieces).toBeLessThan(12); // pieces already in flight may still arrive; generation stopped long before 400 tokens
    // the model is free again after the abort
    expect((await ask({ text: "Hello", strategy: "edge", maxTokens: 4 })).servedBy).toBe("stories260K@page");
  }, 30_000);

  it("route: escalates to the gateway's model on the recording upstream; no private value reaches it; restored in the page", async () => {
    const before = upstream.bodies.length;
    const leftPage = pageSent.length;
    const r = await ask({ text: PRIVATE_PROMPT, strategy: "route", threshold: 0 });
    const sent = upstream.bodies.slice(before);
    expect(sent.length).toBe(1);
    expect(leaks(sent.join("\n"))).toEqual([]);
    // what left the page (so all the gateway received) held placeholders only
    expect(pageSent.length).toBe(leftPage + 1);
    expect(leaks(pageSent.slice(leftPage).join("\n"))).toEqual([]);
    expect(sent[0]).toMatch(/\[PERSON_1_[a-z0-9]{5}\]/);
    // the upstream echoes placeholders; the page restored them (streamed)
    expect(r.text).toContain(SECRETS.person);
    expect(r.text).toContain(SECRETS.email);
    expect(r.servedBy).toBe("strong");
    expect(r.escalated).toBe(true);
    expect(r.decisions.map((d) => d.strategy)).toEqual(["route", "privacy"]);
    expect(r.decisions[0]).toMatchObject({ name: "route", chosen: "offline", escalated: true, threshold: 0 });
    expect(r.cloudSaw && leaks(JSON.stringify(r.cloudSaw))).toEqual([]);
    expect(JSON.stringify(r.cloudSaw)).toMatch(/\[EMAIL_ADDRESS_1_[a-z0-9]{5}\]/);
    expect(r.costUsd).toBeGreaterThan(0); // the gateway's cost at its price
    // a high threshold keeps the request in the page
    const kept = await ask({ text: PRIVATE_PROMPT, strategy: "route", threshold: 1, maxTokens: 8 });
    expect(kept).toMatchObject({ servedBy: "stories260K@page", escalated: false, cloudSaw: null });
    expect(upstream.bodies.length).toBe(before + 1);
  }, 30_000);

  it("cascade: the page model answers first (mean log-probability), escalation goes through privacy", async () => {
    const before = upstream.bodies.length;
    const kept = await ask({ text: PRIVATE_PROMPT, strategy: "cascade", threshold: -1000, maxTokens: 8 });
    expect(kept).toMatchObject({ servedBy: "stories260K@page", escalated: false, cloudSaw: null });
    expect(kept.decisions[0]).toMatchObject({ strategy: "cascade", signal: "mean-logprob", escalated: false });
    expect(kept.decisions[0].score).toBeLessThanOrEqual(0);
    const escalated = await ask({ text: PRIVATE_PROMPT, strategy: "cascade", threshold: 0, maxTokens: 8 });
    expect(escalated.decisions[0]).toMatchObject({ strategy: "cascade", escalated: true });
    expect(escalated.servedBy).toBe("strong");
    expect(escalated.calls.map((c) => c.location)).toEqual(["edge", "cloud"]);
    const sent = upstream.bodies.slice(before);
    expect(sent.length).toBe(1);
    expect(leaks(sent.join("\n"))).toEqual([]);
    expect(escalated.text).toContain(SECRETS.person);
  }, 30_000);

  it("the form shows who served, the decision path, the cost and what the cloud saw", async () => {
    await page.locator("#prompt").fill(PRIVATE_PROMPT);
    await page.locator("#strategy").selectOption("cloud");
    await page.locator("#send").click();
    const message = page.locator("li.message[data-served-by]").first();
    await message.waitFor({ timeout: 15_000 });
    expect(await message.getAttribute("data-served-by")).toBe("strong");
    expect(await message.locator(".badge.served").innerText()).toBe("served by strong");
    expect(await message.locator(".badge.cost").innerText()).toMatch(/^cost \$0\.\d{6} \(cloud alone \$0\.\d{6}\)$/);
    expect(await message.locator("ol.path li").first().innerText()).toMatch(/^privacy 'privacy' → strong: hid \d+ private value/);
    const saw = await message.locator("pre.cloud-saw").innerText();
    expect(saw).toMatch(/\[PERSON_1_[a-z0-9]{5}\]/);
    expect(leaks(saw)).toEqual([]);
    expect(await message.locator(".answer").innerText()).toContain(SECRETS.email);
  }, 30_000);

  it("offline: the page model serves, marked degraded; the breaker opens; when the network returns the cloud path resumes", async () => {
    const before = upstream.bodies.length;
    await context.setOffline(true);
    try {
      expect(await page.evaluate("navigator.onLine")).toBe(false);
      const first = await ask({ text: PRIVATE_PROMPT, strategy: "route", threshold: 0, maxTokens: 8 });
      expect(first).toMatchObject({ servedBy: "stories260K@page", degraded: true, cloudSaw: null });
      expect(first.decisions.map((d) => d.strategy)).toEqual(["route", "fallback"]);
      expect(first.decisions[1]).toMatchObject({ signal: "upstream-error", chosen: "stories260K@page" });
      expect(first.decisions[1].reason).toMatch(/offline/);
      await ask({ text: "and again", strategy: "cloud", maxTokens: 4 }); // second failure: the breaker opens (threshold 2)
      const skipped = await ask({ text: "once more", strategy: "cloud", maxTokens: 4 });
      expect(skipped).toMatchObject({ servedBy: "stories260K@page", degraded: true });
      expect(skipped.decisions[0]).toMatchObject({ strategy: "fallback", signal: "circuit-open" });
      expect(await page.locator("#network").innerText()).toMatch(/^offline/);
    } finally {
      await context.setOffline(false);
    }
    expect(upstream.bodies.length).toBe(before); // nothing reached the cloud while offline
    await page.waitForTimeout(3_300); // the page's breaker cool-down (3 s): the next request is the probe
    const back = await ask({ text: PRIVATE_PROMPT, strategy: "cloud", maxTokens: 8 });
    expect(back).toMatchObject({ servedBy: "strong", degraded: false });
    expect(upstream.bodies.length).toBe(before + 1);
    expect(leaks(upstream.bodies.at(-1)!)).toEqual([]);
    expect(errors.filter((e) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(e))).toEqual([]);
    expect(pageSent.length).toBeGreaterThan(3);
    expect(leaks(pageSent.join("\n"))).toEqual([]); // over the whole session, nothing private left the page
  }, 30_000);

  it("loads a GGUF the user picks (a File) into the page and answers with it", async () => {
    await page.setInputFiles("#gguf", modelPath("tinytales-math-260K.gguf"));
    await page.locator("#gguf[data-loaded]").waitFor({ timeout: 20_000 });
    const r = await ask({ text: "What is 2 + 3?", strategy: "edge", maxTokens: 8 });
    expect(r.servedBy).toBe("tinytales-math-260K@page");
    expect(r.calls[0]).toMatchObject({ location: "edge", costUsd: 0 });
  }, 30_000);
});

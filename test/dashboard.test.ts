/**
 * The gateway's `/dashboard`: the SQL aggregation behind it on hand-made traces (exact numbers),
 * then the page itself in headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against a real gateway on a loopback port serving real GGUF models, called through the official
 * `openai` client. The page must load with zero requests, show the new numbers after requests
 * through its live poll, and the run writes a full-page screenshot — to a temporary folder, or to
 * the tracked bench/results/dashboard.png when TANDEM_UPDATE_SCREENSHOTS=1 (so a test run leaves
 * the checkout clean).
 */
import OpenAI from "openai";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, type GatewayParts } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import type { DashboardData } from "../src/server/dashboard.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import type { TandemField } from "../src/server/projection.js";
import { openTraceStore, type Trace, type TraceStore } from "../src/store/traces.js";
import { modelPath, repoRoot } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = process.env.TANDEM_UPDATE_SCREENSHOTS === "1" ? join(repoRoot, "bench/results/dashboard.png") : join(tmpdir(), `tandem-dashboard-${process.pid}.png`);

const trace = (id: string, createdAt: number, extra: Partial<Trace> = {}): Trace => ({
  id, createdAt, model: "route", stream: false, status: 200, servedBy: "edge", escalated: false, degraded: false,
  costUsd: 0, strongOnlyCostUsd: 0, promptTokens: 10, completionTokens: 5, latencyMs: 10,
  decisions: [], calls: [], messages: [{ role: "user", content: "hi" }], ...extra,
});
const routeDecision = (chosen: string, score: number) => ({
  strategy: "route", name: "route", signal: "router:heuristic", score, threshold: 0.2, chosen, escalated: chosen === "strong", reason: "r",
});

describe("TraceStore.dashboard: aggregation in SQL", () => {
  let store: TraceStore;
  beforeAll(() => {
    store = openTraceStore(":memory:");
    store.record(trace("a", 1000, { strongOnlyCostUsd: 0.0001, latencyMs: 10, decisions: [routeDecision("edge", 0.1)] }));
    store.record(trace("b", 2000, { servedBy: "strong", escalated: true, costUsd: 0.0003, strongOnlyCostUsd: 0.0003, latencyMs: 40, decisions: [routeDecision("strong", 0.5)] }));
    store.record(trace("c", 5000, { model: "cascade", strongOnlyCostUsd: 0.0002, latencyMs: 20, stream: true }));
    // Costs more than the strong model alone would have: saves 0, never a negative amount.
    store.record(trace("d", 6000, { model: "cascade", servedBy: "strong", escalated: true, degraded: true, costUsd: 0.0005, strongOnlyCostUsd: 0.0004, latencyMs: 30,
      messages: [{ role: "user", content: "x".repeat(300) }] }));
    store.record(trace("e", 9000, { model: "nope", status: 404, error: "model_not_found", servedBy: undefined, promptTokens: 0, completionTokens: 0, latencyMs: 1,
      messages: [{ role: "system", content: "sys" }, { role: "user", content: '<img src=x onerror="alert(1)">' }] }));
    store.record(trace("later", 20_000, { costUsd: 1 })); // after untilMs: outside every window below
  });
  afterAll(() => store.close());

  it("totals, buckets, per-model rows, nearest-rank latency percentiles and recent traces", () => {
    const s = store.dashboard({ untilMs: 10_000, buckets: 3, recent: 2 });
    expect(s.sinceMs).toBe(1000);
    expect(s.untilMs).toBe(10_000);
    expect(s.totals).toMatchObject({ requests: 5, errors: 1, escalations: 2, degraded: 1, promptTokens: 40, completionTokens: 20 });
    expect(s.totals.costUsd).toBeCloseTo(0.0008, 12);
    expect(s.totals.strongOnlyCostUsd).toBeCloseTo(0.001, 12);
    expect(s.totals.savedUsd).toBeCloseTo(0.0003, 12);

    // (10000 − 1000) / 3 = 3000 ms buckets: [a, b], [c, d], [e].
    expect(s.series.bucketMs).toBe(3000);
    expect(s.series.points.map((p) => [p.startMs, p.endMs, p.requests, p.errors, p.escalations])).toEqual([
      [1000, 4000, 2, 0, 1],
      [4000, 7000, 2, 0, 1],
      [7000, 10_000, 1, 1, 0],
    ]);
    const close = (xs: number[], ys: number[]) => xs.forEach((x, i) => expect(x).toBeCloseTo(ys[i], 12));
    close(s.series.points.map((p) => p.costUsd), [0.0003, 0.0005, 0]);
    close(s.series.points.map((p) => p.savedUsd), [0.0001, 0.0002, 0]);
    close(s.series.points.map((p) => p.cumulativeCostUsd), [0.0003, 0.0008, 0.0008]);
    close(s.series.points.map((p) => p.cumulativeSavedUsd), [0.0001, 0.0003, 0.0003]);

    expect(s.servedBy.map((r) => [r.model, r.requests, r.share, r.tokens, r.meanLatencyMs])).toEqual([
      ["edge", 2, 0.5, 30, 15],
      ["strong", 2, 0.5, 30, 35],
    ]);
    expect(s.servedBy[1].costUsd).toBeCloseTo(0.0008, 12);
    expect(s.requested.map((r) => [r.model, r.requests, r.errors, r.escalations, r.meanLatencyMs])).toEqual([
      ["cascade", 2, 0, 1, 25],
      ["route", 2, 0, 1, 25],
      ["nope", 1, 1, 0, 1],
    ]);
    expect(s.requested[0].savedUsd).toBeCloseTo(0.0002, 12);
    expect(s.requested[1].costUsd).toBeCloseTo(0.0003, 12);

    // Successful latencies 10, 20, 30, 40 ms: nearest rank ⌈p·n⌉ → p50 = 20, p95 = p99 = max = 40.
    expect(s.latencyMs).toEqual({ count: 4, p50: 20, p95: 40, p99: 40, max: 40 });

    expect(s.recent.map((t) => t.id)).toEqual(["e", "d"]);
    expect(s.recent[0]).toMatchObject({ model: "nope", status: 404, error: "model_not_found", servedBy: undefined, savedUsd: 0, preview: '<img src=x onerror="alert(1)">' });
    expect(s.recent[1]).toMatchObject({ servedBy: "strong", escalated: true, degraded: true, savedUsd: 0, costUsd: 0.0005 });
    expect(s.recent[1].preview).toBe("x".repeat(160));
  });

  it("a window start filters traces and the time axis starts at its first trace", () => {
    const s = store.dashboard({ sinceMs: 4500, untilMs: 10_000, buckets: 5, recent: 10 });
    expect(s.sinceMs).toBe(4500);
    expect(s.totals.requests).toBe(3);
    expect(s.series.points[0].startMs).toBe(5000);
    expect(s.series.bucketMs).toBe(1000);
    expect(s.series.points.map((p) => p.requests)).toEqual([1, 1, 0, 0, 1]);
    expect(s.recent.map((t) => t.id)).toEqual(["e", "d", "c"]);
    expect(s.recent[2]).toMatchObject({ stream: true, savedUsd: 0.0002 });
    expect(s.latencyMs).toEqual({ count: 2, p50: 20, p95: 30, p99: 30, max: 30 });
  });

  it("an empty store or window gives zeros, no buckets and no percentiles", () => {
    const empty = openTraceStore(":memory:", { storeContent: false });
    const s = empty.dashboard({ untilMs: 5000 });
    expect(s).toMatchObject({ sinceMs: 5000, untilMs: 5000, series: { bucketMs: 0, points: [] }, servedBy: [], requested: [], recent: [] });
    expect(s.totals).toEqual({ requests: 0, errors: 0, costUsd: 0, strongOnlyCostUsd: 0, savedUsd: 0, escalations: 0, degraded: 0, promptTokens: 0, completionTokens: 0 });
    expect(s.latencyMs).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
    empty.record(trace("z", 4000));
    expect(empty.dashboard({ untilMs: 5000 }).recent[0].preview).toBeUndefined(); // content storage off
    empty.close();
  });
});

describe("/dashboard in headless Chromium", () => {
  const MATH = "Janet has 16 eggs. She eats 3 and bakes with 4. She sells the rest for $2 each. How much does she make?";
  const STORY = "Tell me a story about a cat.";
  const XSS = 'A story about <img src=x onerror="window.__xss=1"> a dog.';
  let built: GatewayParts;
  let gateway: RunningServer;
  let bare: RunningServer;
  let browser: Browser;
  let page: Page;
  let client: OpenAI;

  const text = (selector: string) => page.locator(selector).innerText();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) to run the dashboard browser test`);
    }
    built = await buildGateway(
      parsePolicy(`
models:
  edge: { provider: llama-cpp, path: ${modelPath("stories260K.gguf")}, threads: 1, contextSize: 512, maxTokens: 8 }
  cloud: { provider: llama-cpp, path: ${modelPath("tinytales-5M.gguf")}, threads: 1, contextSize: 512, maxTokens: 8, price: { input: 0.5, output: 1.5 } }
strategies:
  route: { kind: route, weak: edge, strong: cloud, router: { kind: heuristic }, threshold: 0.2 }
`),
      { tracesPath: ":memory:" },
    );
    gateway = await listen(createGatewayApp({ models: built.served, traces: built.traces, name: "dashboard-test", requestTimeoutMs: 20_000 }).app, { port: 0 });
    bare = await listen(createGatewayApp({ models: built.served, name: "no-traces" }).app, { port: 0 });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "test", maxRetries: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await bare?.close();
    await built?.close();
  });

  it("serves a self-contained page with a strict CSP and JSON data", async () => {
    const res = await fetch(`${gateway.url}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    const html = await res.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const data = (await (await fetch(`${gateway.url}/dashboard/data?window=60000&recent=5`)).json()) as DashboardData;
    expect(data).toMatchObject({ name: "dashboard-test", traces: true, windowMs: 60_000 });
  });

  it("loads with zero requests, then shows live numbers after requests, and writes a screenshot", async () => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

    await page.goto(`${gateway.url}/dashboard`);
    // Waits go through locators: the page's CSP forbids the eval that waitForFunction needs.
    await page.locator("#status", { hasText: /^live/ }).waitFor({ timeout: 10_000 });
    expect(await text("#kpi-requests")).toBe("0");
    expect(await text("#kpi-saved")).toBe("$0");
    expect(await text("#gw-name")).toBe("dashboard-test");
    expect(await text("#chart-saved")).toContain("No traffic yet");
    expect(await page.locator("#traces-off").isHidden()).toBe(true);

    // Traffic through the official client: escalated to the priced cloud model, kept on the free
    // edge model (saves money), streamed, a prompt that tries HTML injection, and a 404.
    const math = await client.chat.completions.create({ model: "route", messages: [{ role: "user", content: MATH }], max_tokens: 6, temperature: 0 });
    expect((math as unknown as { tandem: TandemField }).tandem).toMatchObject({ served_by: "cloud", escalated: true });
    const story = await client.chat.completions.create({ model: "route", messages: [{ role: "user", content: STORY }], max_tokens: 6, temperature: 0 });
    expect((story as unknown as { tandem: TandemField }).tandem).toMatchObject({ served_by: "edge", escalated: false });
    const stream = await client.chat.completions.create({ model: "route", messages: [{ role: "user", content: STORY }], max_tokens: 6, stream: true });
    for await (const _ of stream) void _;
    await client.chat.completions.create({ model: "route", messages: [{ role: "user", content: XSS }], max_tokens: 6 });
    await client.chat.completions.create({ model: "edge", messages: [{ role: "user", content: STORY }], max_tokens: 4 });
    await expect(client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 404 });

    const stats = built.traces!.dashboard();
    expect(stats.totals.requests).toBe(6);
    expect(stats.totals.savedUsd).toBeGreaterThan(0);

    // The page's own 2-s poll picks them up.
    await page.locator("#kpi-requests", { hasText: /^6$/ }).waitFor({ timeout: 15_000 });
    await page.locator("#recent-body tr[data-trace-id]").nth(5).waitFor({ timeout: 5000 });
    expect(await page.locator("#recent-body tr[data-trace-id]").count()).toBe(6);
    expect(await text("#kpi-requests-sub")).toBe("1 error");
    const saved = await text("#kpi-saved");
    expect(saved).toMatch(/^\$\d/);
    expect(saved).not.toBe("$0");
    // Shown to 3 significant digits: within 1% of the store's numbers.
    const shownUsd = async (selector: string) => Number((await text(selector)).slice(1));
    expect(Math.abs((await shownUsd("#kpi-saved")) / stats.totals.savedUsd - 1)).toBeLessThan(0.01);
    expect(Math.abs((await shownUsd("#kpi-cost")) / stats.totals.costUsd - 1)).toBeLessThan(0.01);
    expect(await text("#kpi-escalations")).toBe(String(stats.totals.escalations));
    expect(stats.totals.escalations).toBeGreaterThanOrEqual(1);
    expect(await text("#kpi-p50")).toMatch(/\d (ms|s)$/);

    const served = await page.locator("#chart-share text[data-model]").allTextContents();
    expect(served.sort()).toEqual(["cloud", "edge"]);
    expect(await text("#requested-body")).toContain("route");

    const mathRow = page.locator(`#recent-body tr[data-trace-id="${math.id}"]`);
    expect(await mathRow.locator("td").nth(3).innerText()).toBe("cloud");
    const chip = mathRow.locator(".chip.esc");
    expect(await chip.innerText()).toMatch(/^route: [\d.]+ vs 0\.2\d* → cloud$/);
    expect(await chip.getAttribute("title")).toMatch(/^route · router:heuristic [\d.]+ vs threshold 0\.2/);
    expect(await mathRow.locator("td.prompt").innerText()).toBe(MATH);

    const failed = page.locator("#recent-body tr", { hasText: "no-such-model" });
    expect(await failed.locator(".chip.err").innerText()).toBe("404 model_not_found");

    // Prompts are shown as text, never parsed as HTML.
    const xssRow = page.locator("#recent-body tr", { hasText: "onerror" });
    expect(await xssRow.locator("td.prompt").innerText()).toBe(XSS);
    expect(await page.locator("#recent-body img").count()).toBe(0);
    expect(await page.evaluate("typeof window.__xss")).toBe("undefined");
    expect(errors).toEqual([]);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(statSync(SCREENSHOT).size).toBeLessThan(300 * 1024);
  });

  it("loads without a trace store and says traces are off", async () => {
    const other = await browser.newPage();
    await other.goto(`${bare.url}/dashboard`);
    await other.locator("#status", { hasText: /^traces off$/ }).waitFor({ timeout: 10_000 });
    expect(await other.locator("#traces-off").isVisible()).toBe(true);
    expect(await other.locator("#traces-off").innerText()).toContain("Traces are off");
    await other.close();
  });
});

/**
 * The browser build at the edge (issue #17): what a page pays to run Tandem's core and
 * stories260K itself, measured in headless Chromium (Debian's `chromium`) on the gateway's
 * `/playground`, with the cloud side on a loopback recording upstream behind the gateway.
 *
 * - Bundle sizes (bytes, gzip level 9 as a web server would send them): `tandem/browser` as one
 *   ES module, the playground script, and the assets the page fetches (wllama.wasm, the GGUF,
 *   the 4.85 MB PII tagger JSON — fetched, not bundled).
 * - Cold start, `COLD` fresh browser contexts (no cache): PII tagger fetch + parse (ms), model
 *   load in the page (download + WebAssembly start + GGUF load, ms; concurrent with the tagger),
 *   page ready (ms from navigation); and the model load alone (unload, load again, 3 times).
 * - Time to first token in the page (ms): stories260K alone (the first ask after load, then the
 *   median / p90 of `RUNS` asks), and route → cloud through the page's privacy layer and the
 *   gateway (detection in the page + loopback HTTP), median / p90.
 * wllama runs single-threaded (`nThreads: 1`), context 512 tokens, greedy, 32 new tokens.
 *
 * Run: npx tsx bench/browser.ts  → bench/results/browser.json
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import type { AskOptions, AskResult, ReadyInfo } from "../src/browser/playground/types.js";
import { buildGateway } from "../src/gateway/index.js";
import { parsePolicy } from "../src/policy/index.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen } from "../src/server/listen.js";
import { BROWSER_ENTRY, PLAYGROUND_ENTRY, bundleBrowser } from "../src/server/playground/bundle.js";
import { startRecordingServer } from "../test/fixtures/trust/recording-server.js";
import { SECRETS, leaks } from "../test/fixtures/trust/secrets.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CHROMIUM = "/usr/bin/chromium";
const COLD = 3;
const RUNS = 10;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const stats = (xs: number[]) => ({ median: round(quantile(xs, 0.5)), p90: round(quantile(xs, 0.9)), min: round(Math.min(...xs)), max: round(Math.max(...xs)), n: xs.length });
const sizeOf = (bytes: Buffer | string) => ({ bytes: Buffer.byteLength(bytes), gzip: gzipSync(bytes, { level: 9 }).length });

const loadAtStart = os.loadavg().map((x) => round(x, 2)); // a shared machine: times scale with its load
const library = await bundleBrowser({ entry: BROWSER_ENTRY });
const playground = await bundleBrowser({ entry: PLAYGROUND_ENTRY });
const gzipOf = (p: string) => sizeOf(fs.readFileSync(p));
const wasm = path.join(root, "node_modules/@wllama/wllama/esm/wasm/wllama.wasm");
const bundles = {
  library: { ...sizeOf(library.code), largestInputs: library.inputs.slice(0, 8).map((i) => ({ path: i.path, bytes: i.bytes })) },
  libraryWithoutWllama: { bytes: library.inputs.filter((i) => !i.path.includes("@wllama")).reduce((s, i) => s + i.bytes, 0), note: "minified bytes of the inputs other than @wllama/wllama (the core alone)" },
  playgroundScript: sizeOf(playground.code),
  assets: {
    "wllama.wasm": gzipOf(wasm),
    "stories260K.gguf": gzipOf(path.join(root, "models/stories260K.gguf")),
    "privacy-tagger.json": gzipOf(path.join(root, "models/privacy-tagger.json")),
  },
};
console.log("bundles", JSON.stringify(bundles));

const upstream = await startRecordingServer({ chunkSize: 4 });
const built = await buildGateway(parsePolicy(`
models:
  strong: { provider: openai-compatible, baseURL: "${upstream.baseURL}", model: gpt-test, price: { input: 1, output: 2 }, maxRetries: 0, timeoutMs: 10000 }
`), { tracesPath: false });
const gateway = await listen(createGatewayApp({ models: built.served, name: "browser-bench" }).app, { port: 0 });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });

const cold: Array<{ taggerMs: number; modelLoadMs: number; readyMs: number }> = [];
let edgeFirst = 0;
const edgeTtft: number[] = [];
const edgeTotal: number[] = [];
const edgeTokens: number[] = [];
const cloudTtft: number[] = [];
let leaked: string[] = [];
let reloadMs: number[] = [];
try {
  for (let i = 0; i < COLD; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(`${gateway.url}/playground`);
    const ready = (await page.evaluate(() => globalThis.tandemPlayground.ready)) as ReadyInfo;
    cold.push({ taggerMs: round(ready.taggerMs), modelLoadMs: round(ready.modelLoadMs), readyMs: Date.now() - t0 });
    if (i === COLD - 1) {
      const ask = (o: AskOptions) => page.evaluate((x) => globalThis.tandemPlayground.ask(x), o) as Promise<AskResult>;
      const story = { text: "Tell me a story about a cat.", strategy: "edge" as const, maxTokens: 32 };
      edgeFirst = round((await ask(story)).ttftMs ?? NaN);
      for (let k = 0; k < RUNS; k++) {
        const r = await ask(story);
        edgeTtft.push(r.ttftMs ?? NaN);
        edgeTotal.push(r.totalMs);
        edgeTokens.push(r.calls[0]?.completionTokens ?? 0);
      }
      const before = upstream.bodies.length;
      for (let k = 0; k < RUNS; k++) {
        const r = await ask({ text: `Hi, I am ${SECRETS.person}, mail ${SECRETS.email}. What is ${k} + 2?`, strategy: "route", threshold: 0, maxTokens: 32 });
        if (r.servedBy !== "strong") throw new Error(`route did not reach the cloud side: ${r.servedBy}`);
        cloudTtft.push(r.ttftMs ?? NaN);
      }
      leaked = leaks(upstream.bodies.slice(before).join("\n"));
      // the model alone, nothing else loading: unload, then load it again (worker + WebAssembly + GGUF)
      reloadMs = (await page.evaluate(async () => {
        const { edge } = globalThis.tandemPlayground;
        const out: number[] = [];
        for (let r = 0; r < 3; r++) {
          await edge.close?.();
          await edge.load();
          out.push(edge.loadMs ?? NaN);
        }
        return out;
      })) as number[];
    }
    await context.close();
  }
} finally {
  await browser.close();
  await gateway.close();
  await built.close();
  await upstream.close();
}

let chromiumVersion = "unknown";
try {
  chromiumVersion = execFileSync(CHROMIUM, ["--version"], { encoding: "utf8" }).trim();
} catch {
  // keep "unknown"
}
const result = {
  generatedAt: new Date().toISOString(),
  command: "npx tsx bench/browser.ts",
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, chromium: chromiumVersion, loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg().map((x) => round(x, 2)) },
  setup: "headless Chromium on the gateway's /playground; stories260K (1.19 MB GGUF) in the page via @wllama/wllama, nThreads 1, nCtx 512, greedy, maxTokens 32; cloud side = gateway model 'strong' on a loopback recording upstream; privacy (PII tagger + patterns) in the page",
  bundles,
  modelLoadAloneMs: { ...stats(reloadMs), note: "same page, model unloaded (wllama.exit) then loaded again with nothing else running; the WebAssembly module may come from the browser's compile cache" },
  coldStart: { note: "fresh browser context; the page loads the model in wllama's worker while its main thread fetches and parses the tagger (2 cores shared)", runs: cold, taggerMs: stats(cold.map((c) => c.taggerMs)), modelLoadMs: stats(cold.map((c) => c.modelLoadMs)), readyMs: stats(cold.map((c) => c.readyMs)) },
  ttftMs: {
    edgeFirstAfterLoad: edgeFirst,
    edge: stats(edgeTtft),
    routeToCloudThroughPagePrivacy: stats(cloudTtft),
  },
  edgeAnswerMs: stats(edgeTotal),
  edgeTokensPerSecond: round(edgeTokens.reduce((a, b) => a + b, 0) / (edgeTotal.reduce((a, b) => a + b, 0) / 1000)),
  privateValuesAtUpstream: leaked.length,
};
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/browser.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify({ bundles: { library: bundles.library.gzip, playground: bundles.playgroundScript.gzip }, coldStart: result.coldStart, ttftMs: result.ttftMs, tokPerS: result.edgeTokensPerSecond, leaked: leaked.length }, null, 1));

/**
 * The playground page's script (served by `tandem serve` at /playground; see
 * src/server/playground/): Tandem's browser build at work in a page.
 *
 * - Edge: stories260K runs IN THE PAGE through wllama (WebAssembly, one thread, 512-token context).
 * - Cloud: the gateway's own strategies and models, called with `fetchModel` at `/v1` (pick one).
 * - Privacy in the page: every request bound for the cloud goes through `privacy` with the PII
 *   tagger the page fetched, so the gateway (and whatever it calls) only ever sees placeholders;
 *   answers are restored here, streams included.
 * - Offline: the cloud side sits in `offlineFallback` — unreachable network → the page model
 *   answers, marked degraded; the breaker probes again after its cool-down.
 * - Strategies in the page: route (heuristic router), cascade (mean log-probability), edge only,
 *   cloud only; the guard's stage-one harm classifier (`guardScore`, models/guard.json fetched on
 *   first use). Each message shows who served it, the decision path, the cost and what the cloud saw.
 *
 * `window.tandemPlayground` exposes the same calls for tests and the browser bench
 * (test/browser.test.ts, bench/browser.ts). The page writes user and model text only through
 * `textContent`.
 */
import {
  GuardClassifier,
  HeuristicRouter,
  cascade,
  createDetectorFromFile,
  fetchModel,
  offlineFallback,
  privacy,
  route,
  wllamaModel,
  type GenerateResult,
  type GuardClassifierFile,
  type Model,
  type PiiDetector,
  type TaggerFile,
  type WllamaModel,
} from "../index.js";
import type { AskOptions, AskResult, GuardVerdict, PlaygroundStrategy, ReadyInfo } from "./types.js";

const ASSETS = "/playground/assets";
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const key = new URLSearchParams(location.hash.slice(1)).get("key") ?? undefined;

function el(tag: string, className?: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function status(text: string) {
  $("status").textContent = text;
}

/** An in-page model from a URL or a user-picked file: one thread (no cross-origin isolation needed), 512-token context. */
const makeEdge = (source: string | Blob, id: string): WllamaModel => wllamaModel({ id, source, wasmUrl: `${ASSETS}/wllama.wasm`, nThreads: 1, nCtx: 512, useCache: false });
let edge: WllamaModel = makeEdge(`${ASSETS}/models/stories260K.gguf`, "stories260K@page");
let detector: PiiDetector | undefined;
let cloudModels: string[] = [];
/** One cloud side per gateway model, kept so its breaker remembers failures across messages. */
const cloudSides = new Map<string, Model>();

function cloudSide(name: string): Model {
  let m = cloudSides.get(name);
  if (!m) {
    const remote = fetchModel({ id: name, baseURL: `${location.origin}/v1`, model: name, apiKey: key, timeoutMs: 30_000 });
    m = offlineFallback({ id: "offline", cloud: privacy({ id: "privacy", detector: detector!, remote }), edge, failureThreshold: 2, cooldownMs: 3_000 });
    cloudSides.set(name, m);
  }
  return m;
}

function strategyModel(strategy: PlaygroundStrategy, cloudName: string, threshold: number | undefined): Model {
  const strong = cloudSide(cloudName);
  if (strategy === "edge") return edge;
  if (strategy === "cloud") return strong;
  if (strategy === "cascade") return cascade({ id: "cascade", weak: edge, strong, signal: "mean-logprob", threshold: threshold ?? -1.0 });
  return route({ id: "route", weak: edge, strong, router: new HeuristicRouter(), threshold: threshold ?? 0.3 });
}

async function start(): Promise<ReadyInfo> {
  status("loading the PII tagger and stories260K into the page…");
  // the model loads in wllama's worker while the main thread fetches and parses the tagger
  const modelLoaded = edge.load();
  modelLoaded.catch(() => undefined); // awaited below; a tagger failure first must not leave it unhandled
  const t0 = performance.now();
  const res = await fetch(`${ASSETS}/models/privacy-tagger.json`);
  const raw = await res.text();
  detector = createDetectorFromFile(JSON.parse(raw) as TaggerFile);
  const taggerMs = performance.now() - t0;
  const modelsRes = await fetch("/v1/models", { headers: key ? { authorization: `Bearer ${key}` } : {} });
  // Chat models and strategies only: the gateway lists its embedding models too (tandem.type "embedding").
  const list = (modelsRes.ok ? ((await modelsRes.json()) as { data: Array<{ id: string; tandem?: { location?: string; type?: string } }> }).data : []).filter((m) => m.tandem?.type !== "embedding");
  cloudModels = list.map((m) => m.id);
  // "strong" or "cloud" by name (the bundled policies' cloud model), else the first cloud-located one
  const preferred = ["strong", "cloud"].find((n) => cloudModels.includes(n)) ?? list.find((m) => m.tandem?.location === "cloud")?.id ?? cloudModels[0] ?? "";
  const select = $<HTMLSelectElement>("cloud");
  for (const name of cloudModels) {
    const option = el("option", undefined, name) as HTMLOptionElement;
    option.value = name;
    select.append(option);
  }
  select.value = preferred;
  await modelLoaded;
  const info: ReadyInfo = { taggerMs, taggerBytes: raw.length, modelLoadMs: edge.loadMs ?? 0, cloudModels, cloudModel: preferred };
  status(`ready — stories260K loaded in the page in ${Math.round(info.modelLoadMs)} ms; PII tagger in ${Math.round(taggerMs)} ms; ${navigator.onLine ? "online" : "offline"}`);
  $<HTMLButtonElement>("send").disabled = false;
  return info;
}

const ready = start();
ready.catch((error: unknown) => status(`failed to start: ${(error as Error).message}`));

let guard: Promise<GuardClassifier> | undefined;

/** The guard's stage-one harm classifier on `text`, in the page (models/guard.json, fetched on first use). */
async function guardScore(text: string): Promise<GuardVerdict> {
  guard ??= fetch(`${ASSETS}/models/guard.json`)
    .then((r) => r.json() as Promise<GuardClassifierFile>)
    .then((file) => GuardClassifier.fromJSON(file));
  guard.catch(() => (guard = undefined));
  const g = await guard;
  const score = g.score(text);
  return { score, threshold: g.threshold, flagged: score > g.threshold };
}

/** Runs one question through the chosen strategy (streamed), returning what the page shows. */
async function ask(options: AskOptions, onText?: (text: string) => void): Promise<AskResult> {
  const info = await ready;
  const model = strategyModel(options.strategy ?? "route", options.cloudModel ?? ($<HTMLSelectElement>("cloud").value || info.cloudModel), options.threshold);
  const started = performance.now();
  let ttftMs: number | undefined;
  let result: GenerateResult | undefined;
  let text = "";
  for await (const part of model.stream({ messages: [{ role: "user", content: options.text }], maxTokens: options.maxTokens ?? 48 })) {
    if (part.type === "text" && part.text) {
      ttftMs ??= performance.now() - started;
      text += part.text;
      onText?.(text);
    } else if (part.type === "finish") result = part.result;
  }
  if (!result) throw new Error("the stream ended without an answer");
  const i = result.info;
  const cloudSaw = i.decisions.find((d) => d.cloudView)?.cloudView ?? null;
  return {
    text: result.text,
    servedBy: i.servedBy,
    degraded: i.degraded === true,
    escalated: i.escalated,
    costUsd: i.costUsd,
    strongOnlyCostUsd: i.strongOnlyCostUsd,
    decisions: i.decisions.map(({ strategy, name, chosen, escalated, reason, signal, score, threshold }) => ({ strategy, name, chosen, escalated, reason, signal, score, threshold })),
    calls: i.calls,
    cloudSaw,
    ttftMs,
    totalMs: performance.now() - started,
  };
}

/** Renders one exchange into the message list. */
function render(question: string, strategy: string): { update(text: string): void; done(r: AskResult): void; fail(e: Error): void } {
  const item = el("li", "message");
  item.append(el("div", "question", question));
  const answer = el("div", "answer", "…");
  item.append(answer);
  const meta = el("div", "meta");
  item.append(meta);
  $("messages").prepend(item);
  return {
    update: (text) => (answer.textContent = text),
    done(r) {
      answer.textContent = r.text || "(empty answer)";
      item.dataset.servedBy = r.servedBy;
      item.dataset.degraded = String(r.degraded);
      const badges = el("div", "badges");
      badges.append(el("span", "badge served", `served by ${r.servedBy}`));
      badges.append(el("span", "badge", strategy));
      if (r.degraded) badges.append(el("span", "badge degraded", "degraded (offline)"));
      if (r.escalated) badges.append(el("span", "badge escalated", "escalated"));
      badges.append(el("span", "badge cost", `cost $${r.costUsd.toFixed(6)} (cloud alone $${r.strongOnlyCostUsd.toFixed(6)})`));
      if (r.ttftMs !== undefined) badges.append(el("span", "badge", `first token ${Math.round(r.ttftMs)} ms, total ${Math.round(r.totalMs)} ms`));
      meta.append(badges);
      const path = el("ol", "path");
      for (const d of r.decisions) path.append(el("li", d.escalated ? "escalated" : "", `${d.strategy} '${d.name}' → ${d.chosen}: ${d.reason}`));
      meta.append(el("div", "label", "decision path"), path);
      const saw = el("pre", "cloud-saw");
      if (r.cloudSaw) {
        const lines = r.cloudSaw.messages.map((m) => `${m.role}: ${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}`);
        if (r.cloudSaw.text !== undefined) lines.push(`answer (placeholders): ${r.cloudSaw.text}`);
        saw.textContent = lines.join("\n");
      } else saw.textContent = "nothing left the page";
      meta.append(el("div", "label", "what the cloud saw"), saw);
    },
    fail(e) {
      answer.textContent = `error: ${e.message}`;
      item.classList.add("failed");
    },
  };
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $<HTMLTextAreaElement>("prompt").value.trim();
  if (!text) return;
  const strategy = $<HTMLSelectElement>("strategy").value as PlaygroundStrategy;
  const thresholdText = $<HTMLInputElement>("threshold").value.trim();
  const view = render(text, strategy);
  ask({ text, strategy, threshold: thresholdText === "" ? undefined : Number(thresholdText) }, view.update).then(view.done, view.fail);
});
// a GGUF the user picks replaces the page model (the cloud sides are rebuilt around it)
$<HTMLInputElement>("gguf").addEventListener("change", async (event) => {
  const input = event.target as HTMLInputElement;
  const file = input.files?.[0];
  if (!file) return;
  const next = makeEdge(file, `${file.name.replace(/\.gguf$/i, "")}@page`);
  status(`loading ${file.name} (${file.size} bytes) into the page…`);
  try {
    await next.load();
  } catch (error) {
    status(`could not load ${file.name}: ${(error as Error).message}`);
    return;
  }
  const previous = edge;
  edge = next;
  cloudSides.clear();
  await previous.close?.();
  input.dataset.loaded = next.id;
  status(`ready — ${next.id} loaded from your file in ${Math.round(next.loadMs ?? 0)} ms`);
});
const showNetwork = () => ($("network").textContent = navigator.onLine ? "online" : "offline: the page model serves");
addEventListener("online", showNetwork);
addEventListener("offline", showNetwork);
showNetwork();

globalThis.tandemPlayground = {
  ready,
  ask,
  get edge() {
    return edge;
  },
  guardScore,
};

/**
 * Distillation export from real traces: a real gateway with real GGUF models (stories260K as the
 * edge/weak model, tinytales-5M as the "cloud"/strong one), cascades that keep and that escalate,
 * a route, and a degraded fallback; the traces land in a real SQLite file; then the
 * `tandem traces export` command (commander, as the CLI runs it) writes each format.
 */
import { Command } from "commander";
import OpenAI from "openai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerRouter } from "../src/cli/commands/router.js";
import { registerTracesExport } from "../src/cli/commands/traces-export.js";
import { parseDataset } from "../src/eval/dataset.js";
import { llamaCpp } from "../src/providers/llama-cpp/index.js";
import { openaiCompatible } from "../src/providers/openai-compatible.js";
import { createGatewayApp } from "../src/server/app.js";
import { listen, type RunningServer } from "../src/server/listen.js";
import { cascade } from "../src/strategies/cascade/index.js";
import { fallback } from "../src/strategies/fallback/index.js";
import { loadRouterFile } from "../src/strategies/route/registry.js";
import { route, HeuristicRouter } from "../src/strategies/route/index.js";
import { decisionObservations } from "../src/strategies/registry.js";
import { deadBaseURL } from "./fixtures/production/fault-server.js";
import { modelPath } from "./helpers.js";
import { exportTraces, parseFeedback, type PreferenceRecord, type RouterRecord, type SftRecord } from "../src/store/export.js";
import { openTraceStore, type TraceStore } from "../src/store/traces.js";

const dir = mkdtempSync(join(tmpdir(), "tandem-export-"));
const db = join(dir, "traces.sqlite");
const edge = llamaCpp({ id: "edge", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 256, defaultMaxTokens: 10 });
const cloud = llamaCpp({ id: "cloud", path: modelPath("tinytales-5M.gguf"), threads: 1, contextSize: 256, defaultMaxTokens: 10, location: "cloud", price: { inputPerMillion: 1, outputPerMillion: 2 } });
let store: TraceStore;
let gateway: RunningServer;
const ids: Record<string, string[]> = {};
const PROMPTS = ["Tell me a story about a dog.", "What is 2 + 3?"];

let escalateResponse: unknown;
async function ask(model: string, content: string) {
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "x", maxRetries: 0 });
  const r = await client.chat.completions.create({ model, messages: [{ role: "user", content }], max_tokens: 10, temperature: 0 });
  (ids[model] ??= []).push(r.id);
  if (model === "escalate") escalateResponse = r;
  return r;
}

/** Runs `tandem traces export …` through commander; returns the output file's lines. */
async function run(args: string[], parentDb = true): Promise<unknown[]> {
  const traces = new Command("traces").exitOverride();
  if (parentDb) traces.option("--db <file>", "trace database", ".tandem/traces.sqlite").option("--model <name>"); // as the lead's `traces` command does
  registerTracesExport(traces);
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.jsonl`);
  await traces.parseAsync(["export", "--db", db, "--out", out, ...args], { from: "user" });
  return readFileSync(out, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

beforeAll(async () => {
  store = openTraceStore(db);
  const models = new Map([
    ["keep", cascade({ id: "keep", weak: edge, strong: cloud, signal: "mean-logprob", threshold: Number.NEGATIVE_INFINITY })],
    ["escalate", cascade({ id: "escalate", weak: edge, strong: cloud, signal: "min-logprob", threshold: 0 })],
    ["route", route({ id: "route", weak: edge, strong: cloud, router: new HeuristicRouter(), threshold: 0 })],
    ["offline", fallback({ id: "offline", primary: openaiCompatible({ id: "gpt", baseURL: await deadBaseURL(), model: "x", maxRetries: 0 }), fallbacks: [edge], retries: 0 })],
  ]);
  gateway = await listen(createGatewayApp({ models, traces: store }).app, { port: 0 });
  for (const p of PROMPTS) {
    await ask("keep", p);
    await ask("escalate", p);
    await ask("escalate", p); // same answer twice: deduplicated in sft
  }
  await ask("route", PROMPTS[0]);
  await ask("offline", PROMPTS[0]);
});

afterAll(async () => {
  await gateway?.close();
  store?.close();
  await edge.close();
  await cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("traces export", () => {
  it("sft: only strong-served answers, as chat fine-tuning pairs, deduplicated", async () => {
    const rows = (await run(["--format", "sft"])) as SftRecord[];
    // escalate ×2 prompts; its repeats and the route's identical strong answer are deduplicated;
    // never keep or offline (edge served)
    expect(store.get(ids.route[0])?.servedBy).toBe("cloud");
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.messages.at(-1)?.role).toBe("assistant");
      expect(r.messages[0]).toMatchObject({ role: "user" });
      expect(Object.keys(r)).toEqual(["messages"]);
    }
    const strongAnswer = store.get(ids.escalate[0])?.responseText;
    expect(rows[0].messages.at(-1)?.content).toBe(strongAnswer);
    const all = exportTraces(store.list({ limit: 100 }), { format: "sft", observations: decisionObservations() });
    expect(all.skipped).toMatchObject({ duplicate: 3, "degraded (a fallback served)": 1, "served by a weak/edge model": 2 });
  });

  it("preference: each escalation's strong answer over the weak answer it discarded, and ranked answers to the same prompt", async () => {
    const rows = (await run(["--format", "preference"])) as PreferenceRecord[];
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const r of rows) expect(r.chosen[0].content).not.toBe(r.rejected[0].content);
    const dog = rows.find((r) => r.prompt[0].content === PROMPTS[0] && r.rejected[0].content === store.get(ids.keep[0])?.responseText);
    expect(dog?.chosen[0].content).toBe(store.get(ids.escalate[0])?.responseText);
    // the escalated trace alone yields a pair: its discarded weak answer is on the decision
    const escalated = store.get(ids.escalate[0])!;
    const discarded = escalated.decisions[0].discarded;
    expect(discarded?.length).toBeGreaterThan(0);
    const alone = exportTraces([escalated], { format: "preference", observations: decisionObservations() }).records as PreferenceRecord[];
    expect(alone).toEqual([{ prompt: escalated.messages, chosen: [{ role: "assistant", content: escalated.responseText }], rejected: [{ role: "assistant", content: discarded }] }]);
    // clients never see the discarded answer
    expect(JSON.stringify(escalateResponse)).not.toContain('"discarded"');
  });

  it("router: replay records the eval reads; kept weak ⇒ weak score 1, escalation ⇒ 0; feedback overrides", async () => {
    const rows = (await run(["--format", "router"])) as RouterRecord[];
    expect(rows).toHaveLength(6); // the route and the fallback give no label
    const parsed = parseDataset(rows.map((r) => JSON.stringify(r)).join("\n"));
    expect(parsed).toHaveLength(6);
    const keep = rows.filter((r) => r.group === "keep");
    const escalate = rows.filter((r) => r.group === "escalate");
    for (const r of keep) expect(r.outcomes).toMatchObject({ edge: { score: 1, cost: 0 }, cloud: { score: 1, costEstimated: true } });
    for (const r of escalate) {
      expect(r.outcomes).toMatchObject({ edge: { score: 0, cost: 0 }, cloud: { score: 1 } });
      expect(r.outcomes.cloud.cost).toBeGreaterThan(0);
    }

    writeFileSync(join(dir, "fb.jsonl"), `${JSON.stringify({ trace_id: ids.keep[0], thumbs: "down" })}\n${JSON.stringify({ trace_id: ids.escalate[0], score: 0 })}\n`);
    const withFeedback = (await run(["--format", "router", "--model", "keep", "--feedback", join(dir, "fb.jsonl")])) as RouterRecord[];
    expect(withFeedback).toHaveLength(2);
    expect(withFeedback.find((r) => r.id === ids.keep[0])?.outcomes.edge.score).toBe(0);
    const sft = (await run(["--format", "sft", "--feedback", join(dir, "fb.jsonl")])) as SftRecord[];
    expect(sft).toHaveLength(1); // the rejected answer is dropped in every trace that repeats it
    expect(sft[0].messages[0].content).toBe(PROMPTS[1]);
    expect(() => parseFeedback("{bad")).toThrow(/line 1/);
  });

  it("works without a parent --db option and names outcome keys on request", async () => {
    const rows = (await run(["--format", "router", "--weak", "slm", "--strong", "llm"], false)) as RouterRecord[];
    expect(Object.keys(rows[0].outcomes).sort()).toEqual(["llm", "slm"]);
  });

  it("feedback sent to POST /v1/tandem/feedback (openai client) is stored and used by export and `router train --from-traces`", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "x", maxRetries: 0 });
    const ok = await client.post("/tandem/feedback", { body: { trace_id: ids.keep[1], thumbs: "down", comment: "wrong sum" } });
    expect(ok).toMatchObject({ object: "tandem.feedback", trace_id: ids.keep[1], score: 0, recorded: true });
    await expect(client.post("/tandem/feedback", { body: { trace_id: ids.keep[1], score: 2 } })).rejects.toMatchObject({ status: 400, code: "invalid_request", param: "score" });
    await expect(client.post("/tandem/feedback", { body: { trace_id: ids.keep[1] } })).rejects.toMatchObject({ status: 400, param: "score" });
    await expect(client.post("/tandem/feedback", { body: { trace_id: "chatcmpl-nope", score: 1 } })).rejects.toMatchObject({ status: 404, param: "trace_id" });
    const raw = await fetch(`${gateway.url}/v1/tandem/feedback`, { method: "POST", body: "{not json" });
    expect(raw.status).toBe(400);
    expect(store.feedbackScores().get(ids.keep[1])).toBe(0);
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/tandem_feedback_total\{verdict="negative"\} 1/);

    // stored feedback flips the kept-weak label of that trace, with no --feedback file
    const rows = (await run(["--format", "router", "--model", "keep"])) as RouterRecord[];
    expect(rows.find((r) => r.id === ids.keep[1])?.outcomes.edge.score).toBe(0);
    expect(rows.find((r) => r.id === ids.keep[0])?.outcomes.edge.score).toBe(1);

    const program = new Command().exitOverride();
    registerRouter(program);
    const out = join(dir, "router.json");
    await program.parseAsync(["router", "train", "--from-traces", db, "--kind", "knn", "--out", out], { from: "user" });
    const trained = JSON.parse(readFileSync(out, "utf8")) as { kind: string; trainedOn: { n: number; weak: string; strong: string; dataset: string } };
    expect(trained.trainedOn).toMatchObject({ n: 6, weak: "edge", strong: "cloud", dataset: `traces:${db}` });
    const router = loadRouterFile(out);
    expect(router.score({ prompt: PROMPTS[0] })).toBeGreaterThanOrEqual(0);
    await expect(program.parseAsync(["router", "train", "--from-traces", join(dir, "none.sqlite"), "--kind", "knn", "--out", out], { from: "user" })).rejects.toThrow(/No trace database/);
  });
});

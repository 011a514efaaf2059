/**
 * `tandem demo`: the main job on the embedded default policy, offline. Starts the model server
 * (tinytales-5M sidecar) and the gateway on loopback ports, sends real requests (GSM8K, ARC-Easy,
 * stories) with the official `openai` client to the `route` and `cascade` strategies, streaming
 * and not, and prints per request the served model, escalation, cost and latency; then a summary
 * and the gateway's overhead versus calling the model server directly, measured in the same run.
 */
import type { Command } from "commander";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { quantileSorted } from "../../eval/metrics.js";
import { createGateway } from "../../gateway/index.js";
import { defaultPolicyPath } from "../../policy/index.js";
import type { TandemField } from "../../server/projection.js";
import { intOption } from "../util.js";

interface DemoPrompt {
  kind: string;
  prompt: string;
  reference?: string;
}

interface Row {
  strategy: string;
  kind: string;
  stream: boolean;
  servedBy: string;
  escalated: boolean;
  costUsd: number;
  strongOnlyCostUsd: number;
  latencyMs: number;
  completionTokens: number;
  answer: string;
}

/** Quantile q of unsorted values, interpolated as numpy does. */
function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q);
}

const usd = (x: number) => `$${x.toFixed(8)}`;

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the main job on the embedded default: gateway + local models, real requests, per-request report")
    .option("--max-tokens <n>", "completion limit per request", intOption, 48)
    .option("--overhead-samples <n>", "requests per side for the gateway-overhead measurement", intOption, 20)
    .option("--out <file>", "where to write the JSON report", ".tandem/demo-report.json")
    .action(async (o: { maxTokens: number; overheadSamples: number; out: string }) => {
      const here = dirname(fileURLToPath(import.meta.url));
      const promptsFile = resolve(here, "../../../demo/prompts.json");
      const prompts = (JSON.parse(readFileSync(promptsFile, "utf8")) as { prompts: DemoPrompt[] }).prompts;

      console.log("tandem demo: starting the embedded default policy (edge: stories260K in-process; cloud: tinytales-5M via serve-model)…");
      const gateway = await createGateway(defaultPolicyPath(), { tracesPath: resolve(".tandem/demo-traces.sqlite") });
      const built = gateway.built;
      const server = await gateway.listen({ host: "127.0.0.1", port: 0 });
      const sidecarURL = built.sidecars[0]?.baseURL;
      console.log(`  model server (sidecar): ${sidecarURL}`);
      console.log(`  gateway:                ${server.url}/v1   serving ${[...built.served.keys()].join(", ")}\n`);
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "demo", maxRetries: 0 });

      const rows: Row[] = [];
      try {
        console.log("  #  strategy stream  kind     served by  esc   cost (USD)    strong-only   latency  answer");
        let i = 0;
        for (const strategy of ["route", "cascade"]) {
          for (const [j, p] of prompts.entries()) {
            const stream = j % 2 === 1;
            const t0 = performance.now();
            let answer = "";
            let tandem: TandemField | undefined;
            let completionTokens = 0;
            const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: p.prompt }];
            if (stream) {
              const s = await client.chat.completions.create({ model: strategy, messages, max_tokens: o.maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } });
              for await (const c of s) {
                answer += c.choices[0]?.delta?.content ?? "";
                const t = (c as unknown as { tandem?: TandemField }).tandem;
                if (t) tandem = t;
                if (c.usage) completionTokens = c.usage.completion_tokens;
              }
            } else {
              const r = await client.chat.completions.create({ model: strategy, messages, max_tokens: o.maxTokens, temperature: 0 });
              answer = r.choices[0]?.message?.content ?? "";
              tandem = (r as unknown as { tandem: TandemField }).tandem;
              completionTokens = r.usage?.completion_tokens ?? 0;
            }
            const latencyMs = performance.now() - t0;
            if (!tandem) throw new Error(`no tandem field in the ${stream ? "stream" : "response"} for ${strategy}`);
            const row: Row = { strategy, kind: p.kind, stream, servedBy: tandem.served_by, escalated: tandem.escalated, costUsd: tandem.cost_usd, strongOnlyCostUsd: tandem.strong_only_cost_usd, latencyMs, completionTokens, answer };
            rows.push(row);
            i++;
            console.log(
              `${String(i).padStart(3)}  ${strategy.padEnd(8)} ${(stream ? "yes" : "no").padEnd(6)}  ${p.kind.padEnd(8)} ${row.servedBy.padEnd(10)} ${(row.escalated ? "yes" : "no").padEnd(5)} ${usd(row.costUsd)}  ${usd(row.strongOnlyCostUsd)}  ${latencyMs.toFixed(0).padStart(5)} ms  ${JSON.stringify(answer.slice(0, 40))}`,
            );
          }
        }

        // Gateway overhead: the same request to the model server directly and through the gateway's `cloud` model, interleaved.
        const direct = new OpenAI({ baseURL: sidecarURL, apiKey: "demo", maxRetries: 0 });
        const req = { messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 8, temperature: 0 };
        const directMs: number[] = [];
        const gatewayMs: number[] = [];
        for (let k = 0; k < o.overheadSamples + 2; k++) {
          let t = performance.now();
          await direct.chat.completions.create({ ...req, model: "tinytales-5M" });
          const d = performance.now() - t;
          t = performance.now();
          await client.chat.completions.create({ ...req, model: "cloud" });
          const g = performance.now() - t;
          if (k >= 2) {
            directMs.push(d);
            gatewayMs.push(g);
          } // first two are warm-up
        }

        const summary = ["route", "cascade"].map((strategy) => {
          const r = rows.filter((x) => x.strategy === strategy);
          const cost = r.reduce((s, x) => s + x.costUsd, 0);
          const strongOnly = r.reduce((s, x) => s + x.strongOnlyCostUsd, 0);
          return {
            strategy,
            requests: r.length,
            escalations: r.filter((x) => x.escalated).length,
            escalationRate: r.filter((x) => x.escalated).length / r.length,
            costUsd: cost,
            strongOnlyCostUsd: strongOnly,
            savedShare: strongOnly > 0 ? 1 - cost / strongOnly : 0,
            latencyP50Ms: quantile(r.map((x) => x.latencyMs), 0.5),
            latencyP95Ms: quantile(r.map((x) => x.latencyMs), 0.95),
          };
        });
        const overhead = {
          samples: directMs.length,
          directP50Ms: quantile(directMs, 0.5),
          gatewayP50Ms: quantile(gatewayMs, 0.5),
          addedP50Ms: quantile(gatewayMs, 0.5) - quantile(directMs, 0.5),
          ratioP50: quantile(gatewayMs, 0.5) / quantile(directMs, 0.5),
        };

        console.log("\nSummary (cost in USD at the policy's prices; strong-only = the cloud model alone for the same tokens)");
        for (const s of summary) {
          console.log(
            `  ${s.strategy.padEnd(8)} ${s.requests} requests, ${s.escalations} escalated (${(s.escalationRate * 100).toFixed(0)} %), cost ${usd(s.costUsd)} vs strong-only ${usd(s.strongOnlyCostUsd)} (saved ${(s.savedShare * 100).toFixed(0)} %), latency p50 ${s.latencyP50Ms.toFixed(0)} ms, p95 ${s.latencyP95Ms.toFixed(0)} ms`,
          );
        }
        console.log(
          `  gateway overhead (${overhead.samples} interleaved pairs, 8-token completions): direct p50 ${overhead.directP50Ms.toFixed(1)} ms, via gateway p50 ${overhead.gatewayP50Ms.toFixed(1)} ms, added ${overhead.addedP50Ms.toFixed(1)} ms (×${overhead.ratioP50.toFixed(3)})`,
        );
        const traced = built.traces?.count() ?? 0;
        console.log(`  ${traced} requests traced in .tandem/demo-traces.sqlite (see: npx tandem traces --db .tandem/demo-traces.sqlite)`);
        mkdirSync(dirname(resolve(o.out)), { recursive: true });
        writeFileSync(resolve(o.out), JSON.stringify({ date: new Date().toISOString(), rows, summary, overhead }, null, 2));
        console.log(`  report written to ${o.out}`);
      } finally {
        await gateway.close();
      }
    });
}

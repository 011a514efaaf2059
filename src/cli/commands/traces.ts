/**
 * `tandem traces`: lists recent traced requests with their decision path. It reads the database
 * file directly, as the operator: every key's traces, or one key's with `--key NAME`.
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { openTraceStore } from "../../store/traces.js";
import { intOption } from "../util.js";
import { registerTracesExport } from "./traces-export.js";

export function register(program: Command): Command {
  const traces = program
    .command("traces")
    .description("list recent requests with their decision path, cost and latency")
    .option("--db <file>", "trace database", ".tandem/traces.sqlite")
    .option("--limit <n>", "how many", intOption, 20)
    .option("--model <name>", "only requests for this model or strategy")
    .option("--key <name>", "only requests made with this gateway API key (its name in auth.keys)")
    .option("--json", "print JSON lines")
    .action((o: { db: string; limit: number; model?: string; key?: string; json?: boolean }) => {
      const path = resolve(o.db);
      if (!existsSync(path)) {
        console.error(`No trace database at ${path} (start 'tandem serve' and send requests, or pass --db)`);
        process.exitCode = 1;
        return;
      }
      const store = openTraceStore(path);
      try {
        const rows = store.list({ limit: o.limit, model: o.model, key: o.key });
        if (o.json) {
          for (const t of rows) console.log(JSON.stringify(t));
          return;
        }
        console.log(`${store.count({ key: o.key })} traces${o.key === undefined ? "" : ` of key '${o.key}'`} in ${path}; latest ${rows.length}:`);
        for (const t of rows) {
          const when = new Date(t.createdAt).toISOString().replace("T", " ").slice(0, 19);
          const outcome = t.status === 200 ? `served by ${t.servedBy}${t.escalated ? " (escalated)" : ""}` : `${t.status} ${t.error}`;
          console.log(`${when}  ${t.key === undefined ? "" : `[${t.key}] `}${t.model.padEnd(10)} ${outcome.padEnd(32)} $${t.costUsd.toExponential(2)} (strong-only $${t.strongOnlyCostUsd.toExponential(2)})  ${t.latencyMs.toFixed(0)} ms  ${t.promptTokens}+${t.completionTokens} tok`);
          for (const d of t.decisions) console.log(`    ${d.strategy} ${d.name}: ${d.reason}`);
        }
      } finally {
        store.close();
      }
    });
  registerTracesExport(traces);
  return traces;
}

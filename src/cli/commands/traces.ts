/**
 * `tandem traces`: lists recent traced requests with their decision path. It reads the trace
 * store directly, as the operator — every key's traces, or one key's with `--key NAME` — from the
 * store the gateway writes: the SQLite file (`--db`, default `.tandem/traces.sqlite`), the one a
 * policy configures (`--policy tandem.yaml`: `traces.postgres` or `traces.path`), or a PostgreSQL
 * database (`--postgres URL`, or the `TANDEM_TRACES_POSTGRES_URL` variable). See trace-source.ts.
 */
import type { Command } from "commander";
import { intOption } from "../util.js";
import { openTraceSource, type TraceSource } from "./trace-source.js";
import { registerTracesExport } from "./traces-export.js";

/** The trace-source options shared by `traces` and `traces export`. */
export interface TraceSourceFlags {
  db?: string;
  policy?: string;
  postgres?: string;
}

export function register(program: Command): Command {
  const traces = program
    .command("traces")
    .description("list recent requests with their decision path, cost and latency")
    .option("--db <file>", "SQLite trace database (default .tandem/traces.sqlite)")
    .option("--policy <file>", "read the trace store this policy configures (traces.postgres, or traces.path)")
    .option("--postgres <url>", "read a PostgreSQL trace store (default: $TANDEM_TRACES_POSTGRES_URL when no --db/--policy)")
    .option("--limit <n>", "how many", intOption, 20)
    .option("--model <name>", "only requests for this model or strategy")
    .option("--key <name>", "only requests made with this gateway API key (its name in auth.keys)")
    .option("--json", "print JSON lines")
    .action(async (o: TraceSourceFlags & { limit: number; model?: string; key?: string; json?: boolean }) => {
      let source: TraceSource;
      try {
        source = await openTraceSource(o);
      } catch (error) {
        console.error((error as Error).message);
        process.exitCode = 1;
        return;
      }
      const { store, where } = source;
      try {
        const rows = await store.list({ limit: o.limit, model: o.model, key: o.key });
        if (o.json) {
          for (const t of rows) console.log(JSON.stringify(t));
          return;
        }
        console.log(`${await store.count({ key: o.key })} traces${o.key === undefined ? "" : ` of key '${o.key}'`} in ${where}; latest ${rows.length}:`);
        for (const t of rows) {
          const when = new Date(t.createdAt).toISOString().replace("T", " ").slice(0, 19);
          const outcome = t.status === 200 ? `served by ${t.servedBy}${t.escalated ? " (escalated)" : ""}` : `${t.status} ${t.error}`;
          console.log(`${when}  ${t.key === undefined ? "" : `[${t.key}] `}${t.model.padEnd(10)} ${outcome.padEnd(32)} $${t.costUsd.toExponential(2)} (strong-only $${t.strongOnlyCostUsd.toExponential(2)})  ${t.latencyMs.toFixed(0)} ms  ${t.promptTokens}+${t.completionTokens} tok`);
          for (const d of t.decisions) console.log(`    ${d.strategy} ${d.name}: ${d.reason}`);
        }
      } catch (error) {
        console.error(`Cannot read traces from ${where}: ${(error as Error).message}`);
        process.exitCode = 1;
      } finally {
        await source.close();
      }
    });
  registerTracesExport(traces);
  return traces;
}

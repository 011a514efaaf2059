/**
 * `tandem shadow report`: reads the shadow records (docs/shadow.md) as the operator — every key's,
 * or one key's with `--key NAME` — and prints, per shadowed served name and candidate: sampled
 * requests, share where the decision differed, estimated savings (USD, %, 95 % interval), quality
 * change vs the primary (win/tie/loss with Wilson intervals, net change with its interval) and,
 * for a `route` candidate, the recommended threshold (src/shadow/report.ts).
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { formatShadowReport, shadowReport } from "../../shadow/report.js";
import { openShadowStore, type ShadowRecord } from "../../store/shadow.js";
import { intOption, numberOption } from "../util.js";

/** Registers `tandem shadow` and its `report` subcommand. */
export function register(program: Command): Command {
  const shadow = program.command("shadow").description("shadow evaluation: what a candidate strategy would have saved and cost in quality on live traffic");
  shadow
    .command("report")
    .description("estimated savings, quality change with 95 % intervals, and a recommended router threshold, from the shadow records")
    .option("--db <file>", "shadow record database (beside the traces by default)", ".tandem/shadow.sqlite")
    .option("--model <name>", "only this shadowed served name")
    .option("--candidate <name>", "only this candidate strategy")
    .option("--key <name>", "only requests made with this gateway API key (its name in auth.keys)")
    .option("--since <time>", "only records since this time (ISO date or epoch ms)")
    .option("--max-quality-drop <share>", "largest net quality drop (0..1) the recommended threshold may risk at 95 %", numberOption, 0.02)
    .option("--seed <n>", "bootstrap seed", intOption, 0)
    .option("--json", "print the reports as JSON")
    .action((o: { db: string; model?: string; candidate?: string; key?: string; since?: string; maxQualityDrop: number; seed: number; json?: boolean }) => {
      const path = resolve(o.db);
      if (!existsSync(path)) {
        console.error(`No shadow database at ${path} (add a 'shadow' section to the policy and serve traffic, or pass --db)`);
        process.exitCode = 1;
        return;
      }
      let since: number | undefined;
      if (o.since !== undefined) {
        since = /^\d+$/.test(o.since) ? Number(o.since) : Date.parse(o.since);
        if (!Number.isFinite(since)) {
          console.error(`--since: not a date or epoch ms: '${o.since}'`);
          process.exitCode = 1;
          return;
        }
      }
      if (!(o.maxQualityDrop >= 0 && o.maxQualityDrop <= 1)) {
        console.error("--max-quality-drop must be in [0, 1]");
        process.exitCode = 1;
        return;
      }
      const store = openShadowStore(path);
      try {
        const records = store.list({ model: o.model, candidate: o.candidate, key: o.key, since });
        const groups = new Map<string, ShadowRecord[]>();
        for (const r of records) {
          const g = `${r.model} → ${r.candidate}`;
          groups.set(g, [...(groups.get(g) ?? []), r]);
        }
        const reports = [...groups].map(([label, rs]) => ({ model: rs[0].model, candidate: rs[0].candidate, label, report: shadowReport(rs, { maxQualityDrop: o.maxQualityDrop, seed: o.seed }) }));
        if (o.json) {
          console.log(JSON.stringify(reports.map(({ label: _, ...r }) => r), null, 2));
          return;
        }
        if (reports.length === 0) {
          console.log(`No shadow records${o.key === undefined ? "" : ` of key '${o.key}'`} in ${path}.`);
          return;
        }
        console.log(reports.map((r) => formatShadowReport(r.report, `${r.label}${o.key === undefined ? "" : ` (key '${o.key}')`}`)).join("\n\n"));
      } finally {
        store.close();
      }
    });
  return shadow;
}

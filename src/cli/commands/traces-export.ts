/**
 * `tandem traces export --format sft|preference|router [--db F] [--out F.jsonl] [--model NAME]
 * [--feedback F.jsonl] [--weak NAME] [--strong NAME]`: distillation datasets from stored traces
 * (see src/store/export.ts for each format and its label semantics). Writes JSONL to `--out`
 * (or stdout) and a summary — records written, traces skipped and why — to stderr.
 */
import { Option, type Command } from "commander";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { EXPORT_FORMATS, exportTraces, parseFeedback, toJsonl, type ExportFormat } from "../../store/export.js";
import { openTraceStore } from "../../store/traces.js";

interface ExportCliOptions {
  format: ExportFormat;
  db?: string;
  out?: string;
  model?: string;
  feedback?: string;
  weak?: string;
  strong?: string;
}

/**
 * Adds the `export` subcommand to the `traces` command. `--db` and `--model` may be defined on
 * the parent too (commander then parses them there); both places are read, the subcommand's first.
 * Exit code 1 (message on stderr) for a missing database or an unreadable feedback file.
 */
export function registerTracesExport(tracesCommand: Command): void {
  tracesCommand
    .command("export")
    .description("write distillation data from stored traces as JSONL: sft (strong answers as chat fine-tuning pairs), preference (chosen/rejected pairs), router (replay labels for `tandem router train`)")
    .addOption(new Option("--format <format>", "output format").choices(EXPORT_FORMATS as string[]).makeOptionMandatory())
    .option("--db <file>", "trace database (default .tandem/traces.sqlite)")
    .option("--out <file>", "output JSONL file (default: stdout)")
    .option("--model <name>", "only requests for this model or strategy")
    .option("--feedback <file>", 'user feedback JSONL: {"trace_id": "...", "score": 0..1} per line; overrides labels')
    .option("--weak <name>", "router format: outcome key of the weak model (default: its id)")
    .option("--strong <name>", "router format: outcome key of the strong model (default: its id)")
    .action(function (this: Command, own: ExportCliOptions) {
      const parent = (this.parent?.opts() ?? {}) as { db?: string; model?: string };
      const path = resolve(own.db ?? parent.db ?? ".tandem/traces.sqlite");
      const model = own.model ?? parent.model;
      if (!existsSync(path)) {
        console.error(`No trace database at ${path} (start 'tandem serve' and send requests, or pass --db)`);
        process.exitCode = 1;
        return;
      }
      let feedback: Map<string, number> | undefined;
      if (own.feedback) {
        try {
          feedback = parseFeedback(readFileSync(resolve(own.feedback), "utf8"));
        } catch (error) {
          console.error(`Cannot read feedback ${own.feedback}: ${(error as Error).message}`);
          process.exitCode = 1;
          return;
        }
      }
      const store = openTraceStore(path);
      try {
        const traces = store.list({ limit: Math.max(1, store.count()), model }).reverse(); // oldest first
        const result = exportTraces(traces, { format: own.format, feedback, weak: own.weak, strong: own.strong });
        const jsonl = toJsonl(result.records);
        if (own.out) {
          const out = resolve(own.out);
          mkdirSync(dirname(out), { recursive: true });
          writeFileSync(out, jsonl);
        } else {
          process.stdout.write(jsonl);
        }
        const why = Object.entries(result.skipped)
          .sort((a, b) => b[1] - a[1])
          .map(([reason, n]) => `  skipped ${n}: ${reason}`);
        console.error([`${own.format}: ${result.records.length} records from ${result.considered} traces${own.out ? ` → ${resolve(own.out)}` : ""}`, ...why].join("\n"));
      } finally {
        store.close();
      }
    });
}

/**
 * `tandem traces export --format sft|preference|router [--db F] [--out F.jsonl] [--model NAME]
 * [--key NAME] [--feedback F.jsonl] [--weak NAME] [--strong NAME]`: distillation datasets from stored traces
 * (see src/store/export.ts for each format and its label semantics). Feedback sent to
 * `POST /v1/tandem/feedback` is read from the database; `--feedback` adds to it and wins. Writes JSONL to `--out`
 * (or stdout) and a summary — records written, traces skipped and why — to stderr.
 */
import { Option, type Command } from "commander";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { decisionObservations } from "../../strategies/registry.js";
import { EXPORT_FORMATS, exportTraces, parseFeedback, toJsonl, type ExportFormat, type ExportOptions, type ExportResult } from "../../store/export.js";
import { openTraceStore } from "../../store/traces.js";

interface ExportCliOptions {
  format: ExportFormat;
  db?: string;
  out?: string;
  model?: string;
  key?: string;
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
    .option("--key <name>", "only requests made with this gateway API key (its name in auth.keys), and the feedback on them")
    .option("--feedback <file>", 'user feedback JSONL: {"trace_id": "...", "score": 0..1} per line, added to the stored feedback (wins over it)')
    .option("--weak <name>", "router format: outcome key of the weak model (default: its id)")
    .option("--strong <name>", "router format: outcome key of the strong model (default: its id)")
    .action(function (this: Command, own: ExportCliOptions) {
      const parent = (this.parent?.opts() ?? {}) as { db?: string; model?: string; key?: string };
      let result: ExportResult;
      try {
        result = exportFromTraceDb({ db: own.db ?? parent.db, model: own.model ?? parent.model, key: own.key ?? parent.key, feedbackFile: own.feedback, format: own.format, weak: own.weak, strong: own.strong });
      } catch (error) {
        console.error((error as Error).message);
        process.exitCode = 1;
        return;
      }
      const jsonl = toJsonl(result.records);
      if (own.out) {
        const out = resolve(own.out);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, jsonl);
      } else {
        process.stdout.write(jsonl);
      }
      console.error(exportSummary(own.format, result, own.out));
    });
}

/** Lines for stderr: records written and traces skipped, by reason. */
export function exportSummary(format: ExportFormat, result: ExportResult, out?: string): string {
  const why = Object.entries(result.skipped)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `  skipped ${n}: ${reason}`);
  return [`${format}: ${result.records.length} records from ${result.considered} traces${out ? ` → ${resolve(out)}` : ""}`, ...why].join("\n");
}

/**
 * Exports `format` records from the trace database at `db` (default `.tandem/traces.sqlite`),
 * oldest first — only the traces of API key `key` when given (default: every key's, as the
 * operator reading the file) — with the stored feedback on those traces (`POST /v1/tandem/feedback`) merged with
 * `feedbackFile` (a feedback JSONL; its scores win). Errors: `Error` with a one-line message for a
 * missing database or an unreadable feedback file. `observations` defaults to the strategy registry's.
 */
export function exportFromTraceDb(options: { db?: string; model?: string; key?: string; feedbackFile?: string } & Omit<ExportOptions, "observations"> & Partial<Pick<ExportOptions, "observations">>): ExportResult {
  const path = resolve(options.db ?? ".tandem/traces.sqlite");
  if (!existsSync(path)) throw new Error(`No trace database at ${path} (start 'tandem serve' and send requests, or pass --db)`);
  let fromFile: Map<string, number> | undefined;
  if (options.feedbackFile) {
    try {
      fromFile = parseFeedback(readFileSync(resolve(options.feedbackFile), "utf8"));
    } catch (error) {
      throw new Error(`Cannot read feedback ${options.feedbackFile}: ${(error as Error).message}`);
    }
  }
  const store = openTraceStore(path);
  try {
    const scope = { key: options.key };
    const feedback = new Map([...store.feedbackScores(scope), ...(fromFile ?? [])]);
    const traces = store.list({ limit: Math.max(1, store.count(scope)), model: options.model, ...scope }).reverse(); // oldest first
    return exportTraces(traces, { format: options.format, observations: options.observations ?? decisionObservations(), feedback, weak: options.weak, strong: options.strong });
  } finally {
    store.close();
  }
}

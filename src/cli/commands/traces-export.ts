/**
 * `tandem traces export --format sft|preference|router [--db F | --policy tandem.yaml | --postgres URL]
 * [--out F.jsonl] [--model NAME] [--key NAME] [--feedback F.jsonl] [--weak NAME] [--strong NAME]`:
 * distillation datasets from stored traces (see src/store/export.ts for each format and its label
 * semantics), read from the SQLite file (default) or the store a policy configures — PostgreSQL
 * with `traces.postgres` — (see trace-source.ts). Feedback sent to `POST /v1/tandem/feedback` is
 * read from the store; `--feedback` adds to it and wins. Writes JSONL to `--out` (or stdout) and a
 * summary — records written, traces skipped and why — to stderr.
 */
import { Option, type Command } from "commander";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { decisionObservations } from "../../strategies/registry.js";
import { EXPORT_FORMATS, exportTraces, parseFeedback, toJsonl, type ExportFormat, type ExportOptions, type ExportResult } from "../../store/export.js";
import { openTraceStore, type AsyncTraceStore } from "../../store/traces.js";
import { openTraceSource, type TraceSource } from "./trace-source.js";

interface ExportCliOptions {
  format: ExportFormat;
  db?: string;
  policy?: string;
  postgres?: string;
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
    .option("--db <file>", "SQLite trace database (default .tandem/traces.sqlite)")
    .option("--policy <file>", "read the trace store this policy configures (traces.postgres, or traces.path)")
    .option("--postgres <url>", "read a PostgreSQL trace store (default: $TANDEM_TRACES_POSTGRES_URL when no --db/--policy)")
    .option("--out <file>", "output JSONL file (default: stdout)")
    .option("--model <name>", "only requests for this model or strategy")
    .option("--key <name>", "only requests made with this gateway API key (its name in auth.keys), and the feedback on them")
    .option("--feedback <file>", 'user feedback JSONL: {"trace_id": "...", "score": 0..1} per line, added to the stored feedback (wins over it)')
    .option("--weak <name>", "router format: outcome key of the weak model (default: its id)")
    .option("--strong <name>", "router format: outcome key of the strong model (default: its id)")
    .action(async function (this: Command, own: ExportCliOptions) {
      const parent = (this.parent?.opts() ?? {}) as { db?: string; policy?: string; postgres?: string; model?: string; key?: string };
      let result: ExportResult;
      let source: TraceSource | undefined;
      try {
        const fromFile = readFeedbackFile(own.feedback);
        source = await openTraceSource({ db: own.db ?? parent.db, policy: own.policy ?? parent.policy, postgres: own.postgres ?? parent.postgres });
        result = await exportFromTraceStore(source.store, { model: own.model ?? parent.model, key: own.key ?? parent.key, feedback: fromFile, format: own.format, weak: own.weak, strong: own.strong });
      } catch (error) {
        console.error((error as Error).message);
        process.exitCode = 1;
        return;
      } finally {
        await source?.close();
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
  const fromFile = readFeedbackFile(options.feedbackFile);
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

/** The scores of a feedback JSONL file (undefined without one). Errors: `Error` naming the file when it cannot be read or parsed. */
export function readFeedbackFile(file: string | undefined): Map<string, number> | undefined {
  if (!file) return undefined;
  try {
    return parseFeedback(readFileSync(resolve(file), "utf8"));
  } catch (error) {
    throw new Error(`Cannot read feedback ${file}: ${(error as Error).message}`);
  }
}

/**
 * {@link exportFromTraceDb} over any trace store's read interface (SQLite or the Postgres store of
 * `traces.postgres`): `format` records from the store's traces, oldest first — only API key
 * `key`'s when given, else every key's — with the stored feedback on them merged with `feedback`
 * (trace id → score in [0, 1]; these win). `observations` defaults to the strategy registry's.
 * Errors: the store's (e.g. Postgres connection errors).
 */
export async function exportFromTraceStore(
  store: AsyncTraceStore,
  options: { model?: string; key?: string; feedback?: ReadonlyMap<string, number> } & Omit<ExportOptions, "observations" | "feedback"> & Partial<Pick<ExportOptions, "observations">>,
): Promise<ExportResult> {
  const scope = { key: options.key };
  const feedback = new Map([...(await store.feedbackScores(scope)), ...(options.feedback ?? [])]);
  const traces = (await store.list({ limit: Math.max(1, await store.count(scope)), model: options.model, ...scope })).reverse(); // oldest first
  return exportTraces(traces, { format: options.format, observations: options.observations ?? decisionObservations(), feedback, weak: options.weak, strong: options.strong });
}

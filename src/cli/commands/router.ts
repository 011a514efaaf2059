/**
 * `tandem router train (--dataset FILE.jsonl | --from-traces [DB]) [--split train] --kind K --out router.json` and
 * `tandem router calibrate --router router.json --dataset FILE.jsonl (--strong-share 0.3 | --budget USD-per-1k)`.
 */
import type { Command } from "commander";
import { TandemError } from "../../core/errors.js";
import { calibrateThreshold, shareForBudget } from "../../eval/calibrate.js";
import { commonModels, filterSplit, promptText, readDataset, type ReplayRecord } from "../../eval/dataset.js";
import { summarizeModel } from "../../eval/evaluate.js";
import { BINARY_ROUTER_KINDS, MULTI_ROUTER_KINDS, trainRouterRun } from "../../eval/train-router.js";
import { loadRouterFile } from "../../strategies/route/registry.js";
import { openTraceSource } from "./trace-source.js";
import { exportFromTraceDb, exportFromTraceStore, exportSummary, readFeedbackFile } from "./traces-export.js";

function pair(records: ReturnType<typeof readDataset>, weak?: string, strong?: string): { weak: string; strong: string } {
  if (weak && strong) return { weak, strong };
  const models = commonModels(records);
  if (models.length !== 2) throw new TandemError("invalid_request", `Pass --weak and --strong: the dataset records ${models.length} models (${models.join(", ")})`);
  const [a, b] = models.map((m) => summarizeModel(records, m));
  return a.cost <= b.cost ? { weak: a.model, strong: b.model } : { weak: b.model, strong: a.model };
}

interface TrainOptions {
  dataset?: string;
  fromTraces?: string | true;
  tracesPolicy?: string;
  tracesPostgres?: string;
  tracesModel?: string;
  feedback?: string;
  split?: string;
  kind: string;
  weak?: string;
  strong?: string;
  models?: string;
  seed: string;
  out: string;
}

/**
 * The training records: the `--dataset` file, or router labels exported from stored traces
 * (`--from-traces`, the distillation loop: escalations and user feedback become labels).
 */
async function trainingRecords(opts: TrainOptions): Promise<ReplayRecord[]> {
  if (opts.dataset && opts.fromTraces) throw new TandemError("invalid_request", "Pass --dataset or --from-traces, not both");
  if (opts.dataset) return readDataset(opts.dataset);
  if (!opts.fromTraces) throw new TandemError("invalid_request", "Pass --dataset <file> or --from-traces [db]");
  let result;
  try {
    if (opts.tracesPolicy !== undefined || opts.tracesPostgres !== undefined) {
      // The store the gateway's policy configures (SQLite or PostgreSQL), or a Postgres URL.
      const source = await openTraceSource({ db: opts.fromTraces === true ? undefined : opts.fromTraces, policy: opts.tracesPolicy, postgres: opts.tracesPostgres });
      try {
        result = await exportFromTraceStore(source.store, { model: opts.tracesModel, feedback: readFeedbackFile(opts.feedback), format: "router" });
      } finally {
        await source.close();
      }
    } else result = exportFromTraceDb({ db: opts.fromTraces === true ? undefined : opts.fromTraces, model: opts.tracesModel, feedbackFile: opts.feedback, format: "router" });
  } catch (error) {
    throw new TandemError("invalid_request", (error as Error).message, { cause: error });
  }
  process.stderr.write(exportSummary("router", result) + "\n");
  return result.records as ReplayRecord[];
}

/** Adds `router train` and `router calibrate` to `program`; returns the `router` command. */
export function register(program: Command): Command {
  const router = program.command("router").description("Train and calibrate routers");
  router
    .command("train")
    .description("Train a router on recorded outcomes and write router.json")
    .option("--dataset <file>", "replay dataset (JSONL)")
    .option("--from-traces [db]", "train on labels from stored traces and their feedback instead (default db .tandem/traces.sqlite; see `tandem traces export --format router`)")
    .option("--traces-policy <file>", "with --from-traces: read the trace store this policy configures (its traces.postgres, or traces.path)")
    .option("--traces-postgres <url>", "with --from-traces: read traces from this PostgreSQL database")
    .option("--traces-model <name>", "with --from-traces: only traces of this requested model or strategy")
    .option("--feedback <file>", "with --from-traces: more feedback JSONL (added to the stored feedback; wins)")
    .option("--split <name>", "only records of this split (e.g. train)")
    .requiredOption("--kind <kind>", `${[...BINARY_ROUTER_KINDS, ...MULTI_ROUTER_KINDS].join(" | ")}`)
    .option("--weak <model>", "weak model (binary kinds)")
    .option("--strong <model>", "strong model (binary kinds)")
    .option("--models <list>", "comma-separated models (multi-* kinds; default: all)")
    .option("--seed <n>", "seed", "0")
    .requiredOption("--out <file>", "router.json to write")
    .action(async (opts: TrainOptions) => {
      const records = filterSplit(await trainingRecords(opts), opts.split);
      if (records.length === 0) throw new TandemError("invalid_request", `No records${opts.split ? ` in split '${opts.split}'` : ""}${opts.fromTraces ? " (traces give router labels only where a cascade decided; see `tandem traces export --format router`)" : ""}`);
      const multi = opts.kind.startsWith("multi-");
      const sides = multi ? {} : pair(records, opts.weak, opts.strong);
      const run = trainRouterRun(records, {
        kind: opts.kind,
        ...sides,
        models: multi && opts.models ? opts.models.split(",").map((s) => s.trim()) : undefined,
        seed: Number(opts.seed),
        out: opts.out,
        trainedOn: { dataset: opts.dataset ?? `traces:${opts.tracesPostgres !== undefined ? "postgres" : opts.tracesPolicy !== undefined ? `policy ${opts.tracesPolicy}` : opts.fromTraces === true ? ".tandem/traces.sqlite" : opts.fromTraces}`, split: opts.split ?? null },
      });
      process.stdout.write(`Trained ${opts.kind} on ${run.trainExamples} records in ${(run.trainMs / 1000).toFixed(1)} s; wrote ${run.out}\n`);
    });
  router
    .command("calibrate")
    .description("Print the threshold that sends a given share (or budget) of requests to the strong model")
    .requiredOption("--router <file>", "router.json")
    .requiredOption("--dataset <file>", "calibration prompts (replay JSONL)")
    .option("--split <name>", "only records of this split")
    .option("--strong-share <fraction>", "target share of requests for the strong model, 0..1")
    .option("--budget <usd>", "target USD per 1,000 requests (needs recorded costs)")
    .option("--weak <model>", "weak model (for --budget)")
    .option("--strong <model>", "strong model (for --budget)")
    .action((opts: { router: string; dataset: string; split?: string; strongShare?: string; budget?: string; weak?: string; strong?: string }) => {
      const records = filterSplit(readDataset(opts.dataset), opts.split);
      const r = loadRouterFile(opts.router);
      let share: number;
      if (opts.strongShare !== undefined) share = Number(opts.strongShare);
      else if (opts.budget !== undefined) {
        const { weak, strong } = pair(records, opts.weak, opts.strong);
        share = shareForBudget(Number(opts.budget), summarizeModel(records, weak).cost, summarizeModel(records, strong).cost);
      } else throw new TandemError("invalid_request", "Pass --strong-share or --budget");
      const scores = records.map((rec) => r.score({ prompt: promptText(rec) }));
      const threshold = calibrateThreshold(scores, share);
      const above = scores.filter((s) => s > threshold).length / scores.length;
      process.stdout.write(
        `For ${(share * 100).toFixed(1)}% strong calls, threshold = ${threshold}\n(on ${scores.length} calibration prompts, ${(above * 100).toFixed(1)}% score above it; requests with score > threshold go to the strong model)\n`,
      );
    });
  return router;
}

/**
 * `tandem eval --dataset FILE.jsonl [--split test] --strategy random|oracle|route|cascade
 * [--router router.json | --router-kind K --folds 5 --seed 0] [--weak M --strong M | --models M1,M2,…]
 * --out DIR`: serves the real `route` / `cascade` strategy over replay models of the recorded
 * outcomes, beside the random and oracle baselines (src/eval/served.ts), and writes DIR/decisions.jsonl, DIR/report.json, DIR/report.md and DIR/curve.svg.
 *
 * `register` returns the `eval` command so other areas can add subcommands
 * (`tandem eval privacy`, `tandem eval guard`); `tandem eval --dataset …` keeps working.
 */
import type { Command } from "commander";
import { readDataset } from "../../eval/dataset.js";
import { writeReport } from "../../eval/report.js";
import { EVAL_STRATEGIES, runEval } from "../../eval/run-eval.js";
import cliProgress from "cli-progress";

/** A progress bar on stderr (cli-progress) when stderr is a terminal; a no-op otherwise. */
function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(done, total) {
      if (!started) bar.start(total, 0);
      started = true;
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Options of the `eval` action. */
interface EvalOptions {
  dataset?: string;
  split?: string;
  strategy: string;
  router?: string;
  routerKind?: string;
  folds: string;
  seed: string;
  weak?: string;
  strong?: string;
  models?: string;
  thresholds?: string;
  out?: string;
}

/** Adds `eval` to `program` and returns it (subcommands may be added to it). */
export function register(program: Command): Command {
  // Commander honours a subcommand's positional options only when its parent does too: without
  // this, `tandem eval privacy --dataset x` would hand --dataset to `eval`, not to `privacy`.
  program.enablePositionalOptions();
  const cmd = program
    .command("eval")
    .description("Evaluate a strategy on recorded outcomes (replay): APGR, CPT, AIQ, curves")
    .option("--dataset <file>", "replay dataset (JSONL)")
    .option("--split <name>", "only records of this split")
    .option("--strategy <name>", `${EVAL_STRATEGIES.join(" | ")}`, "route")
    .option("--router <file>", "router.json to evaluate")
    .option("--router-kind <kind>", "train and evaluate this router kind by k-fold cross-validation instead")
    .option("--folds <k>", "cross-validation folds", "5")
    .option("--seed <n>", "seed of folds, training and the random baseline", "0")
    .option("--weak <model>", "weak model (binary setting)")
    .option("--strong <model>", "strong model (binary setting)")
    .option("--models <list>", "comma-separated models (multi-model setting, AIQ)")
    .option("--thresholds <list>", "comma-separated escalation thresholds (cascade)")
    .option("--out <dir>", "output folder")
    // options after a subcommand's name (`tandem eval privacy --dataset x`) belong to the subcommand
    .enablePositionalOptions()
    .action(async (opts: EvalOptions, command: Command) => {
      if (!opts.dataset || !opts.out) command.error("error: tandem eval needs --dataset <file> and --out <dir>");
      const bar = progressBar("eval");
      try {
        const { report, decisions } = await runEval({
          dataset: opts.dataset!,
          records: readDataset(opts.dataset!),
          split: opts.split,
          strategy: opts.strategy,
          router: opts.router,
          routerKind: opts.routerKind,
          folds: Number(opts.folds),
          seed: Number(opts.seed),
          weak: opts.weak,
          strong: opts.strong,
          models: opts.models?.split(",").map((s) => s.trim()).filter(Boolean),
          thresholds: opts.thresholds?.split(",").map(Number),
          onProgress: (d, t) => bar.update(d, t),
        });
        bar.stop();
        await writeReport(opts.out!, report, decisions);
        const lines = report.strategies.map((s) =>
          s.metrics
            ? `${s.name}: APGR ${s.metrics.apgr.toFixed(3)}, CPT(50%) ${(s.metrics.cpt50 * 100).toFixed(1)}%, CPT(80%) ${(s.metrics.cpt80 * 100).toFixed(1)}%`
            : s.aiq !== undefined
              ? `${s.name}: AIQ ${s.aiq.toFixed(4)}`
              : `${s.name}: ${s.points.length} point(s)`,
        );
        process.stdout.write(`${lines.join("\n")}\nWrote ${opts.out}/report.md, report.json, decisions.jsonl, curve.svg\n`);
      } finally {
        bar.stop();
      }
    });
  return cmd;
}

/**
 * `tandem router train --dataset FILE.jsonl [--split train] --kind K --out router.json` and
 * `tandem router calibrate --router router.json --dataset FILE.jsonl (--strong-share 0.3 | --budget USD-per-1k)`.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { TandemError } from "../../core/errors.js";
import { calibrateThreshold, shareForBudget } from "../../eval/calibrate.js";
import { commonModels, filterSplit, promptText, readDataset } from "../../eval/dataset.js";
import { summarizeModel } from "../../eval/evaluate.js";
import { BINARY_ROUTER_KINDS, MULTI_ROUTER_KINDS, trainBinaryRouter, trainMultiModelRouter } from "../../eval/train-router.js";
import { loadRouterFile } from "../../strategies/route/registry.js";

function pair(records: ReturnType<typeof readDataset>, weak?: string, strong?: string): { weak: string; strong: string } {
  if (weak && strong) return { weak, strong };
  const models = commonModels(records);
  if (models.length !== 2) throw new TandemError("invalid_request", `Pass --weak and --strong: the dataset records ${models.length} models (${models.join(", ")})`);
  const [a, b] = models.map((m) => summarizeModel(records, m));
  return a.cost <= b.cost ? { weak: a.model, strong: b.model } : { weak: b.model, strong: a.model };
}

/** Adds `router train` and `router calibrate` to `program`; returns the `router` command. */
export function register(program: Command): Command {
  const router = program.command("router").description("Train and calibrate routers");
  router
    .command("train")
    .description("Train a router on recorded outcomes and write router.json")
    .requiredOption("--dataset <file>", "replay dataset (JSONL)")
    .option("--split <name>", "only records of this split (e.g. train)")
    .requiredOption("--kind <kind>", `${[...BINARY_ROUTER_KINDS, ...MULTI_ROUTER_KINDS].join(" | ")}`)
    .option("--weak <model>", "weak model (binary kinds)")
    .option("--strong <model>", "strong model (binary kinds)")
    .option("--models <list>", "comma-separated models (multi-* kinds; default: all)")
    .option("--seed <n>", "seed", "0")
    .requiredOption("--out <file>", "router.json to write")
    .action((opts: { dataset: string; split?: string; kind: string; weak?: string; strong?: string; models?: string; seed: string; out: string }) => {
      const records = filterSplit(readDataset(opts.dataset), opts.split);
      if (records.length === 0) throw new TandemError("invalid_request", `No records${opts.split ? ` in split '${opts.split}'` : ""}`);
      const started = Date.now();
      let json: unknown;
      if (opts.kind.startsWith("multi-")) {
        const models = opts.models ? opts.models.split(",").map((s) => s.trim()) : commonModels(records);
        json = trainMultiModelRouter(opts.kind, records, models, { seed: Number(opts.seed) }).toJSON();
      } else {
        const { weak, strong } = pair(records, opts.weak, opts.strong);
        json = { ...trainBinaryRouter(opts.kind, records, { weak, strong, seed: Number(opts.seed) }).toJSON(), trainedOn: { dataset: opts.dataset, split: opts.split ?? null, n: records.length, weak, strong } };
      }
      writeFileSync(opts.out, JSON.stringify(json));
      process.stdout.write(`Trained ${opts.kind} on ${records.length} records in ${((Date.now() - started) / 1000).toFixed(1)} s; wrote ${opts.out}\n`);
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

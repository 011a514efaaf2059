/**
 * `tandem eval privacy` and `tandem eval guard`: quality of the edge PII detector (span-level
 * P/R/F1 per entity type, exact and overlap) and of the guard classifier (TPR, FPR, AUROC,
 * XSTest over-refusal), on the fixed held-out splits or on a whole external file in its own format.
 */
import type { Command } from "commander";
import { evaluatePrivacy, formatSpanReport } from "../../pii/train.js";
import { evaluateGuard, formatGuardReport } from "../../safety/train.js";
import { intOption, numberOption } from "../util.js";

/** Adds `privacy` and `guard` subcommands to the `eval` command. */
export function registerEvalSubcommands(evalCommand: Command): void {
  evalCommand
    .command("privacy")
    .description("PII detector: span P/R/F1 per entity type (exact and overlap)")
    .option("--dataset <file>", "presidio JSON or Tandem JSONL (default: presidio synthetic set, held-out split)")
    .option("--all", "score the whole file instead of the held-out split (for external sets)")
    .option("--seed <n>", "split seed", intOption, 42)
    .option("--split <by>", "example | template", "example")
    .option("--min-score <x>", "drop spans below this score", numberOption)
    .option("--json", "print JSON")
    .action(async (o: { dataset?: string; all?: boolean; seed: number; split: string; minScore?: number; json?: boolean }) => {
      const r = await evaluatePrivacy({ dataset: o.dataset, heldOut: !o.all, seed: o.seed, by: o.split === "template" ? "template" : "example", detector: o.minScore !== undefined ? { minScore: o.minScore } : undefined });
      console.log(o.json ? JSON.stringify(r, null, 2) : `${r.dataset} (${JSON.stringify(r.split)})\n${formatSpanReport(r)}`);
    });
  evalCommand
    .command("guard")
    .description("guard classifier: TPR, FPR, AUROC, XSTest over-refusal")
    .option("--dataset <file>", "XSTest/HarmBench CSV, harmless JSON or JSONL (default: held-out split of ../shared/data/safety)")
    .option("--model <file>", "classifier file (default models/guard.json)")
    .option("--threshold <x>", "decision threshold (default: the model's)", numberOption)
    .option("--seed <n>", "split seed", intOption, 42)
    .option("--json", "print JSON")
    .action((o: { dataset?: string; model?: string; threshold?: number; seed: number; json?: boolean }) => {
      const r = evaluateGuard({ dataset: o.dataset, model: o.model, threshold: o.threshold, seed: o.seed });
      console.log(o.json ? JSON.stringify(r, null, 2) : `${r.dataset}\n${formatGuardReport(r)}`);
    });
}

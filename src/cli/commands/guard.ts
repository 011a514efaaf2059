/**
 * `tandem guard train`: trains the harmful-request classifier on the shared safety data's
 * training split (HarmBench, XSTest half, harmless instructions, WildGuardTest harmless,
 * NotInject, presidio PII texts), calibrates it and picks its threshold on the validation split,
 * writes models/guard.json, and prints held-out TPR and FPR per set.
 * `tandem guard train-injection`: the same for the prompt-injection detector (models/injection.json),
 * with TPR at 1 % and 5 % FPR.
 */
import type { Command } from "commander";
import { formatGuardReport, trainGuard, trainInjection } from "../../safety/train.js";
import { intOption } from "../util.js";

/** Registers `guard train` and `guard train-injection`. */
export function register(program: Command): void {
  const guardCmd = program.command("guard").description("input/output guards");
  guardCmd
    .command("train")
    .description("train the guard classifier and report held-out metrics")
    .option("--out <file>", "model file (default models/guard.json)")
    .option("--epochs <n>", "training epochs", intOption, 12)
    .option("--seed <n>", "split seed", intOption, 42)
    .option("--json", "print the report as JSON")
    .action((o: { out?: string; epochs: number; seed: number; json?: boolean }) => {
      const r = trainGuard({ out: o.out, epochs: o.epochs, seed: o.seed });
      if (o.json) {
        console.log(JSON.stringify({ out: r.out, trainMs: r.trainMs, trainExamples: r.trainExamples, threshold: r.file.threshold, report: r.report }, null, 2));
        return;
      }
      console.log(`trained on ${r.trainExamples} prompts in ${(r.trainMs / 1000).toFixed(1)} s → ${r.out} (threshold ${r.file.threshold}: ${r.file.thresholdRule})`);
      console.log(formatGuardReport(r.report));
    });
  guardCmd
    .command("train-injection")
    .description("train the prompt-injection detector and report held-out TPR at 1 % / 5 % FPR")
    .option("--out <file>", "model file (default models/injection.json)")
    .option("--epochs <n>", "training epochs", intOption, 10)
    .option("--seed <n>", "split seed", intOption, 42)
    .option("--json", "print the report as JSON")
    .action((o: { out?: string; epochs: number; seed: number; json?: boolean }) => {
      const r = trainInjection({ out: o.out, epochs: o.epochs, seed: o.seed });
      if (o.json) {
        console.log(JSON.stringify({ out: r.out, trainMs: r.trainMs, trainExamples: r.trainExamples, threshold: r.file.threshold, report: r.report }, null, 2));
        return;
      }
      console.log(`trained on ${r.trainExamples} texts in ${(r.trainMs / 1000).toFixed(1)} s → ${r.out} (threshold ${r.file.threshold}: ${r.file.thresholdRule})`);
      console.log(formatGuardReport(r.report));
    });
}

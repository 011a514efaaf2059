/**
 * `tandem privacy train`: trains the PII tagger (BIO averaged perceptron) on the presidio
 * synthetic data's training split, writes models/privacy-tagger.json, and prints the combined
 * detector's per-type scores on the held-out split (fixed seed).
 */
import type { Command } from "commander";
import { formatSpanReport, trainPrivacyTagger } from "../../pii/train.js";
import { intOption, numberOption } from "../util.js";

/** Registers `privacy train`. */
export function register(program: Command): void {
  const privacy = program.command("privacy").description("edge PII detection (hide and seek)");
  privacy
    .command("train")
    .description("train the PII tagger and report held-out span P/R/F1 per entity type")
    .option("--dataset <file>", "presidio JSON or Tandem JSONL (default ../shared/data/privacy/presidio_synth_dataset_v2.json)")
    .option("--out <file>", "model file (default models/privacy-tagger.json)")
    .option("--epochs <n>", "perceptron epochs", intOption, 8)
    .option("--seed <n>", "split seed", intOption, 42)
    .option("--test-share <x>", "held-out share", numberOption, 0.2)
    .option("--split <by>", "example | template", "example")
    .option("--negatives <file>", "ordinary prompts added as all-O examples (default harmless_instructions.json); 'none' to skip")
    .option("--synthesize <n>", "texts synthesized from the training split's presidio templates with faker values (default 20000; 0 = none)", intOption)
    .option("--json", "print the report as JSON")
    .action(async (o: { dataset?: string; out?: string; epochs: number; seed: number; testShare: number; split: string; negatives?: string; synthesize?: number; json?: boolean }) => {
      const r = await trainPrivacyTagger({
        dataset: o.dataset,
        out: o.out,
        epochs: o.epochs,
        seed: o.seed,
        testShare: o.testShare,
        by: o.split === "template" ? "template" : "example",
        negatives: o.negatives === "none" ? null : o.negatives,
        synthesis: o.synthesize === undefined ? undefined : o.synthesize > 0 ? { count: o.synthesize } : null,
      });
      if (o.json) {
        console.log(JSON.stringify({ out: r.out, trainMs: r.trainMs, trainExamples: r.trainExamples, testExamples: r.testExamples, report: r.report, falsePositives: r.falsePositives }, null, 2));
        return;
      }
      console.log(`trained on ${r.trainExamples} examples in ${(r.trainMs / 1000).toFixed(1)} s → ${r.out}`);
      console.log(formatSpanReport(r.report));
      if (r.falsePositives) console.log(`ordinary prompts flagged: ${(r.falsePositives.flaggedShare * 100).toFixed(1)} % of ${r.falsePositives.prompts}`);
    });
}

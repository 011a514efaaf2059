/**
 * `tandem data import --format routellm|routerbench|mot FILE... --out FILE.jsonl`: converts
 * recorded outcomes into Tandem's replay format (src/eval/dataset.ts).
 */
import type { Command } from "commander";
import { writeDataset } from "../../eval/dataset.js";
import { IMPORT_FORMATS, importOutcomes } from "../../eval/importers.js";

/** Adds the `data` command (with `import`) to `program`; returns the `data` command. */
export function register(program: Command): Command {
  const data = program.command("data").description("Work with recorded-outcome datasets");
  data
    .command("import")
    .description("Convert RouteLLM, RouterBench or MoT outcome files into replay JSONL")
    .requiredOption("--format <format>", `source format: ${IMPORT_FORMATS.join(" | ")}`)
    .requiredOption("--out <file>", "output JSONL file")
    .argument("<files...>", "source files or folders")
    .action((files: string[], opts: { format: string; out: string }) => {
      const { records, stats } = importOutcomes(opts.format, files);
      writeDataset(opts.out, records);
      const models = records.length ? Object.keys(records[0].outcomes) : [];
      process.stdout.write(
        `Wrote ${records.length} records (${models.length} outcomes each) to ${opts.out}; rows read ${stats.rows}, contaminated dropped ${stats.contaminated}, skipped for a missing cell ${stats.skippedMissing}\n`,
      );
    });
  return data;
}

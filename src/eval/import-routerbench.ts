/**
 * Importer of RouterBench outcome CSVs (Hu et al. 2024, "RouterBench: A Benchmark for
 * Multi-LLM Routing System"; rows as redistributed by RouterDC): per prompt, for each of 11
 * models, a correctness column `<model>`, a response `<model>|model_response` and the USD cost
 * `<model>|total_cost`. Prompts and responses are Python list literals. Costs are RouterBench's
 * own (recorded token counts × provider prices), kept as is. A row with any empty correctness
 * or cost cell is skipped and counted. `split` comes from the file name (`…_train.csv` /
 * `…_test.csv`).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { TandemError } from "../core/errors.js";
import type { ModelOutcome, ReplayRecord } from "./dataset.js";
import type { ImportStats } from "./import-routellm.js";
import { expandCsvFiles, readCsvRows } from "./import-routellm.js";
import { parsePythonStringList } from "./python-literal.js";

/** Converts RouterBench CSVs into replay records (id = `sample_id`, group = `eval_name`). */
export function importRouterBench(paths: readonly string[]): { records: ReplayRecord[]; stats: ImportStats } {
  const stats: ImportStats = { rows: 0, kept: 0, contaminated: 0, skippedMissing: 0 };
  const records: ReplayRecord[] = [];
  const seen = new Set<string>();
  for (const file of expandCsvFiles(paths)) {
    const rows = readCsvRows(readFileSync(file, "utf8"));
    const header = rows[0] ?? [];
    const col = (name: string) => header.indexOf(name);
    if (col("prompt") < 0 || col("sample_id") < 0) throw new TandemError("invalid_request", `${file}: not a RouterBench CSV (needs 'sample_id' and 'prompt')`);
    const models = header.filter((h) => h.endsWith("|total_cost")).map((h) => h.slice(0, -"|total_cost".length));
    const stem = basename(file, ".csv");
    const split = /_train$/.test(stem) ? "train" : /_test$/.test(stem) ? "test" : undefined;
    for (let r = 1; r < rows.length; r++) {
      const row = rows[r];
      if (row.length === 1 && row[0] === "") continue;
      stats.rows++;
      const outcomes: Record<string, ModelOutcome> = {};
      let missing = false;
      for (const m of models) {
        const scoreCell = row[col(m)]?.trim() ?? "";
        const costCell = row[col(`${m}|total_cost`)]?.trim() ?? "";
        if (scoreCell === "" || costCell === "") {
          missing = true;
          break;
        }
        const respCell = col(`${m}|model_response`) >= 0 ? row[col(`${m}|model_response`)] : undefined;
        outcomes[m] = {
          score: Number(scoreCell),
          cost: Number(costCell),
          ...(respCell ? { response: parsePythonStringList(respCell).join("\n") } : {}),
        };
      }
      if (missing) {
        stats.skippedMissing++;
        continue;
      }
      let id = row[col("sample_id")];
      if (seen.has(id)) id = `${id}#${split ?? stem}`;
      seen.add(id);
      stats.kept++;
      const evalName = col("eval_name") >= 0 ? row[col("eval_name")] : undefined;
      records.push({
        id,
        prompt: parsePythonStringList(row[col("prompt")]).join("\n"),
        outcomes,
        ...(split ? { split } : {}),
        ...(evalName ? { group: evalName } : {}),
      });
    }
  }
  return { records, stats };
}

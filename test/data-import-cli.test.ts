/**
 * `tandem data import` reports how each model's costs were made (issue #15 follow-up): the
 * tokenizer (exact or a labelled stand-in), the price source (the bundled catalogue's entry, or
 * an explicit `--price`), and how many costs are estimates — on real recorded outcomes (the
 * first 8 rows of RouteLLM's GSM8K CSV and all of MoT date understanding, /work/shared/data).
 * The override flags are checked through the real CLI process (`--price`, and `--tokenizer`
 * with a real GGUF vocabulary: the bundled stories260K).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatImportSummary, parsePriceOverrides, summariseImport } from "../src/cli/commands/data.js";
import { CATALOGUE } from "../src/core/pricing/catalogue.js";
import { readDataset } from "../src/eval/dataset.js";
import { importOutcomes } from "../src/eval/importers.js";
import { readCsvRows } from "../src/eval/import-routellm.js";
import { cliCommand } from "../src/policy/index.js";
import { modelPath } from "./helpers.js";

const DATA = resolve(__dirname, "../../shared/data");
const MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1";
const GPT4 = "gpt-4-1106-preview";
const dir = mkdtempSync(join(tmpdir(), "tandem-data-import-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first `n` rows of RouteLLM's GSM8K outcomes, as a CSV of their own (quoted as csv-parse reads it back). */
function gsm8kSubset(n: number): string {
  const rows = readCsvRows(readFileSync(join(DATA, "routing/routellm/gsm8k/gsm8k_responses.csv"), "utf8")).slice(0, n + 1);
  const file = join(dir, "gsm8k_responses.csv");
  writeFileSync(file, rows.map((r) => r.map((c) => `"${c.replaceAll('"', '""')}"`).join(",")).join("\n") + "\n");
  return file;
}

describe("import summary", () => {
  it("RouteLLM GSM8K: GPT-4 counted exactly with cl100k at OpenAI's catalogue price; Mixtral a stand-in, every cost an estimate", () => {
    const { records, stats } = importOutcomes("routellm", [gsm8kSubset(8)]);
    const byModel = Object.fromEntries(summariseImport(records, stats).map((s) => [s.model, s]));
    expect(byModel[GPT4]).toEqual({ model: GPT4, tokenizer: "cl100k_base", price: `${CATALOGUE.name}@${CATALOGUE.version} openai/gpt-4-turbo`, outcomes: 8, estimated: 0, noCompletion: 0 });
    expect(byModel[MIXTRAL]).toEqual({ model: MIXTRAL, tokenizer: "cl100k_base (stand-in)", price: `${CATALOGUE.name}@${CATALOGUE.version} together/${MIXTRAL}`, outcomes: 8, estimated: 8, noCompletion: 0 });
    const text = formatImportSummary(Object.values(byModel));
    expect(text).toContain(`${MIXTRAL}: tokenizer cl100k_base (stand-in); price ${CATALOGUE.name}@${CATALOGUE.version} together/${MIXTRAL}; 8 of 8 costs are estimates (stand-in tokenizer)`);
    expect(text).toContain(`${GPT4}: tokenizer cl100k_base; price ${CATALOGUE.name}@${CATALOGUE.version} openai/gpt-4-turbo; all 8 costs exact`);
  });

  it("MoT: every view of a model counts towards that model (9 views × 369 questions each)", () => {
    const { records, stats } = importOutcomes("mot", [join(DATA, "cascade/mot-date")]);
    const summaries = summariseImport(records, stats);
    expect(summaries.map((s) => s.model).sort()).toEqual(["gpt-3.5-turbo", "gpt-4"]);
    for (const s of summaries) expect(s).toMatchObject({ tokenizer: "cl100k_base", price: "MoT paper (utils.py)", outcomes: 9 * 369, estimated: 0 });
  });

  it("RouterBench keeps its recorded costs: one line naming the models; an MMLU-like import without completions says so", () => {
    const recorded = formatImportSummary(summariseImport([{ id: "a", prompt: "p", outcomes: { x: { score: 1, cost: 0.1 }, y: { score: 0, cost: 0.2 } } }], { rows: 1, kept: 1, contaminated: 0, skippedMissing: 0 }));
    expect(recorded).toBe("Costs as recorded in the source, for all 2 models (x, y)\n");
    const mmlu = summariseImport([{ id: "a", prompt: "p", outcomes: { m: { score: 1, cost: 0.1, costEstimated: true } } }], { rows: 1, kept: 1, contaminated: 0, skippedMissing: 0, tokenizers: { m: "cl100k_base" }, prices: { m: "explicit" } });
    expect(formatImportSummary(mmlu)).toContain("m: tokenizer cl100k_base; price explicit; 1 of 1 costs are estimates (1 without a recorded completion (1 token assumed))");
  });

  it("--price specs: MODEL=INPUT,OUTPUT in USD per 1M tokens; malformed ones are refused by name", () => {
    expect(parsePriceOverrides([`${MIXTRAL}=0.6,0.6`, "gpt-4=30,60"])).toEqual({ [MIXTRAL]: { inputPerMillion: 0.6, outputPerMillion: 0.6 }, "gpt-4": { inputPerMillion: 30, outputPerMillion: 60 } });
    for (const bad of ["gpt-4=1", "gpt-4=a,b", "=1,2", "gpt-4=", "gpt-4=-1,2"]) expect(() => parsePriceOverrides([bad])).toThrow(/--price/);
  });
});

describe("tandem data import (CLI process)", () => {
  it("--price and --tokenizer override the catalogue and the stand-in; the summary and the written costs show it", () => {
    const { command, args } = cliCommand();
    const out = join(dir, "out.jsonl");
    const file = gsm8kSubset(8);
    const r = spawnSync(command, [...args, "data", "import", "--format", "routellm", "--out", out, "--price", `${GPT4}=1,2`, "--tokenizer", `${MIXTRAL}=${modelPath("stories260K.gguf")}`, "--price", "nobody=1,1", file], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("Wrote 8 records (2 outcomes each)");
    expect(r.stdout).toContain(`${GPT4}: tokenizer cl100k_base; price explicit ($1/M in, $2/M out); all 8 costs exact`);
    expect(r.stdout).toContain(`${MIXTRAL}: tokenizer gguf:stories260K.gguf; price ${CATALOGUE.name}@${CATALOGUE.version} together/${MIXTRAL}; all 8 costs exact`);
    expect(r.stdout).toContain("Note: no model named 'nobody' in these files");
    const records = readDataset(out);
    for (const rec of records) {
      const o = rec.outcomes[GPT4];
      expect(o.cost).toBeCloseTo((o.promptTokens! * 1 + o.completionTokens! * 2) / 1e6, 12);
      expect(rec.outcomes[MIXTRAL].costEstimated).toBe(false);
    }
    const bad = spawnSync(command, [...args, "data", "import", "--format", "routellm", "--out", out, "--price", `${GPT4}=1`, file], { encoding: "utf8", timeout: 60_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--price 'gpt-4-1106-preview=1': expected MODEL=INPUT,OUTPUT/);
  }, 60_000);
});

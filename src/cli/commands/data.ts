/**
 * `tandem data import --format routellm|routerbench|mot FILE... --out FILE.jsonl`: converts
 * recorded outcomes into Tandem's replay format (src/eval/dataset.ts), then prints how each
 * model's cost was made: its tokenizer (the model's own — exact — or a labelled stand-in), its
 * price (the bundled catalogue's entry, the MoT paper's, or an explicit `--price`), and how many
 * of its costs are estimates (`costEstimated`: a stand-in tokenizer, or no recorded completion).
 *
 * Overrides, for the importers that compute costs from texts (RouteLLM, MoT; RouterBench keeps
 * its recorded costs and ignores them with a note):
 * - `--price MODEL=INPUT,OUTPUT` (USD per 1M prompt / completion tokens; repeatable);
 * - `--tokenizer MODEL=FILE.gguf` (count MODEL's tokens with that GGUF's vocabulary, loaded by
 *   node-llama-cpp without weights — exact for that model; repeatable).
 */
import type { Command } from "commander";
import { TandemError } from "../../core/errors.js";
import type { Price } from "../../core/model.js";
import { writeDataset, type ReplayRecord } from "../../eval/dataset.js";
import { IMPORT_FORMATS, importOutcomes } from "../../eval/importers.js";
import type { ImportStats } from "../../eval/import-routellm.js";
import { ggufTokenizer, type Tokenizer } from "../../eval/tokens.js";

/** Collects a repeatable `MODEL=VALUE` option. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Splits `MODEL=VALUE` at its last `=` (model names hold `/` and `-`, never `=`). Throws `invalid_request` naming `option`. */
function pair(spec: string, option: string): [string, string] {
  const at = spec.lastIndexOf("=");
  if (at <= 0 || at === spec.length - 1) throw new TandemError("invalid_request", `${option} '${spec}': expected MODEL=VALUE`);
  return [spec.slice(0, at), spec.slice(at + 1)];
}

/**
 * Parses `--price MODEL=INPUT,OUTPUT` specs into prices (USD per 1M tokens). Throws
 * `invalid_request` for a malformed spec or a negative / non-numeric rate.
 */
export function parsePriceOverrides(specs: readonly string[]): Record<string, Price> {
  const out: Record<string, Price> = {};
  for (const spec of specs) {
    const [model, value] = pair(spec, "--price");
    const rates = value.split(",").map((s) => Number(s.trim()));
    if (rates.length !== 2 || rates.some((r) => !Number.isFinite(r) || r < 0))
      throw new TandemError("invalid_request", `--price '${spec}': expected MODEL=INPUT,OUTPUT in USD per 1M tokens, e.g. gpt-4-1106-preview=10,30`);
    out[model] = { inputPerMillion: rates[0], outputPerMillion: rates[1] };
  }
  return out;
}

/** Per model of an import: how its tokens were counted and priced, and how many of its costs are estimates. */
export interface ModelCostSummary {
  model: string;
  /** Tokenizer name (e.g. "cl100k_base", "gguf:mixtral.gguf", "cl100k_base (stand-in)"); undefined when costs were recorded in the source. */
  tokenizer?: string;
  /** Price source (catalogue entry, "explicit", paper) or undefined for recorded costs. */
  price?: string;
  /** Outcomes of this model (its views included, e.g. MoT's `gpt-4/cot1@t=0.4`). */
  outcomes: number;
  /** Of those, costs marked `costEstimated`. */
  estimated: number;
  /** Of the estimated, those without a recorded completion (1 token assumed, e.g. RouteLLM MMLU). */
  noCompletion: number;
}

/**
 * Summarises an import per model: the tokenizer and price of `stats` (models named there; for
 * an import with no cost stats, RouterBench, every outcome name with its recorded costs), and
 * the count of estimated costs across `records` (an outcome belongs to model M when its name is
 * M or starts with `M/` — MoT's views).
 */
export function summariseImport(records: readonly ReplayRecord[], stats: ImportStats): ModelCostSummary[] {
  const names = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.outcomes)) names.add(k);
  const costModels = Object.keys(stats.tokenizers ?? {});
  const models = costModels.length ? costModels : [...names];
  // the longest matching model owns an outcome name ("gpt-4" vs "gpt-4-1106-preview" never collide: "/" delimits views)
  const owner = new Map<string, string>();
  for (const n of names) {
    const m = models.filter((m) => n === m || n.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
    if (m) owner.set(n, m);
  }
  const summaries = new Map<string, ModelCostSummary>(
    models.map((m) => [m, { model: m, ...(stats.tokenizers?.[m] ? { tokenizer: stats.tokenizers[m] } : {}), ...(stats.prices?.[m] ? { price: stats.prices[m] } : {}), outcomes: 0, estimated: 0, noCompletion: 0 }]),
  );
  for (const r of records) {
    for (const [name, o] of Object.entries(r.outcomes)) {
      const s = summaries.get(owner.get(name) ?? "");
      if (!s) continue;
      s.outcomes++;
      if (o.costEstimated) {
        s.estimated++;
        if (o.response === undefined) s.noCompletion++;
      }
    }
  }
  return [...summaries.values()];
}

/** The lines `tandem data import` prints after the counts: one per model (see {@link summariseImport}). */
export function formatImportSummary(summaries: readonly ModelCostSummary[]): string {
  const recorded = summaries.filter((s) => s.tokenizer === undefined && s.price === undefined);
  if (recorded.length && recorded.length === summaries.length) return `Costs as recorded in the source, for all ${recorded.length} models (${recorded.map((s) => s.model).join(", ")})\n`;
  const lines = summaries.map((s) => {
    if (s.tokenizer === undefined && s.price === undefined) return `  ${s.model}: costs as recorded in the source (${s.outcomes} outcomes)`;
    const why: string[] = [];
    if (s.tokenizer?.includes("stand-in")) why.push("stand-in tokenizer");
    if (s.noCompletion) why.push(`${s.noCompletion} without a recorded completion (1 token assumed)`);
    const estimates = s.estimated ? `${s.estimated} of ${s.outcomes} costs are estimates (${why.join("; ") || "see the importer"})` : `all ${s.outcomes} costs exact`;
    return `  ${s.model}: tokenizer ${s.tokenizer ?? "?"}; price ${s.price ?? "?"}; ${estimates}`;
  });
  return lines.length ? `Per model:\n${lines.join("\n")}\n` : "";
}

/** Adds the `data` command (with `import`) to `program`; returns the `data` command. */
export function register(program: Command): Command {
  const data = program.command("data").description("Work with recorded-outcome datasets");
  data
    .command("import")
    .description("Convert RouteLLM, RouterBench or MoT outcome files into replay JSONL")
    .requiredOption("--format <format>", `source format: ${IMPORT_FORMATS.join(" | ")}`)
    .requiredOption("--out <file>", "output JSONL file")
    .option("--price <model=input,output>", "price MODEL at INPUT / OUTPUT USD per 1M tokens instead of the catalogue's (repeatable)", collect, [])
    .option("--tokenizer <model=file.gguf>", "count MODEL's tokens with this GGUF's vocabulary (exact; repeatable)", collect, [])
    .argument("<files...>", "source files or folders")
    .action(async (files: string[], opts: { format: string; out: string; price: string[]; tokenizer: string[] }) => {
      const prices = parsePriceOverrides(opts.price);
      const loaded: Array<Tokenizer & { dispose(): Promise<void> }> = [];
      const tokenizers: Record<string, Tokenizer> = {};
      try {
        for (const spec of opts.tokenizer) {
          const [model, path] = pair(spec, "--tokenizer");
          const t = await ggufTokenizer(path);
          loaded.push(t);
          tokenizers[model] = t;
        }
        const { records, stats } = importOutcomes(opts.format, files, { prices, tokenizers });
        writeDataset(opts.out, records);
        const models = records.length ? Object.keys(records[0].outcomes) : [];
        process.stdout.write(
          `Wrote ${records.length} records (${models.length} outcomes each) to ${opts.out}; rows read ${stats.rows}, contaminated dropped ${stats.contaminated}, skipped for a missing cell ${stats.skippedMissing}\n`,
        );
        const summaries = summariseImport(records, stats).map((s) =>
          s.price === "explicit" && prices[s.model] ? { ...s, price: `explicit ($${prices[s.model].inputPerMillion}/M in, $${prices[s.model].outputPerMillion}/M out)` } : s,
        );
        process.stdout.write(formatImportSummary(summaries));
        if (!stats.tokenizers && (opts.price.length || opts.tokenizer.length)) process.stdout.write(`Note: --price and --tokenizer are ignored for --format ${opts.format} (its costs are recorded)\n`);
        const unused = [...Object.keys(prices), ...Object.keys(tokenizers)].filter((m) => stats.tokenizers && !(m in stats.tokenizers));
        if (unused.length) process.stdout.write(`Note: no model named ${[...new Set(unused)].map((m) => `'${m}'`).join(", ")} in these files; known: ${Object.keys(stats.tokenizers ?? {}).join(", ")}\n`);
      } finally {
        for (const t of loaded) await t.dispose();
      }
    });
  return data;
}

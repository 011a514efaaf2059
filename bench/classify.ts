/**
 * Classification routing bench (the `classify` pipeline stage): regenerates docs/pipeline.md's
 * results table from ../shared/data, offline, and writes bench/results/classify.json.
 *
 *   npx tsx bench/classify.ts            (5–10 minutes on 2 busy cores; the 57-label OvR training dominates)
 *
 * Settings (src/eval/classify-replay.ts): RouteLLM MMLU (Mixtral-8x7B weak, GPT-4-1106 strong),
 * label = the MMLU subject (57 labels); and RouteLLM MMLU + GSM8K pooled, label = the data set
 * (2 labels). 5-fold cross-validation BY PROMPT with the folds of bench/routing.ts (seed 0): the
 * text classifier and the route table (per label: strong when its training-fold accuracy gain
 * exceeds ε) see the training folds only; every held-out query is served by the real `classify`
 * strategy over replay models. "given" uses the true label: the ceiling of routing by label.
 * The learned routers' figures on the same data and folds are read from bench/results/routing.json
 * (run bench/routing.ts first) and, for the pooled set, served here.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateClassifyRouting, type ClassifyReplayResult } from "../src/eval/classify-replay.js";
import { costAtAccuracy, summarizeModel } from "../src/eval/evaluate.js";
import { cpt } from "../src/eval/metrics.js";
import { importOutcomes } from "../src/eval/importers.js";
import { runEval } from "../src/eval/run-eval.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const data = resolve(repoRoot, "../shared/data");
const out = join(repoRoot, "bench/results/classify.json");
const WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1";
const STRONG = "gpt-4-1106-preview";
const FOLDS = 5;
const SEED = 0;
/** One-vs-rest logistic regression epochs (the router's default is 8; 3 keeps 57 labels × 5 folds within minutes). */
const EPOCHS = 3;

interface Row {
  dataset: string;
  label: string;
  strategy: string;
  labels?: number;
  classifierAccuracy?: number;
  apgr: number;
  cpt50: number;
  cpt80: number;
  /** Strong share needed for 95 % of the strong model's accuracy (the RouteLLM blog's criterion). */
  share95?: number | null;
  /** Mean cost at 95 % of the strong model's accuracy, relative to the strong model alone (null: never reached). */
  cost95?: number | null;
  /** The served curve: one point per ε (strong share, accuracy, mean USD). */
  curve?: Array<{ epsilon: number; strongShare: number; accuracy: number; cost: number }>;
  /** ε = 0: per label the better model on the training folds. */
  perLabelBest?: { accuracy: number; strongShare: number; costVsStrong: number; gapRecovered: number };
  /** ε = 0.05: strong only where it gains more than 5 points. */
  epsilon005?: { accuracy: number; strongShare: number; costVsStrong: number; gapRecovered: number };
  seconds: number;
}

const rows: Row[] = [];
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const point = (p: ClassifyReplayResult["operatingPoints"][number]) => ({ accuracy: round(p.accuracy), strongShare: round(p.strongShare), costVsStrong: round(p.costVsStrong), gapRecovered: round(p.gapRecovered) });
const save = (extra: Record<string, unknown>) =>
  writeFileSync(
    out,
    JSON.stringify(
      {
        generatedBy: "npx tsx bench/classify.ts",
        settings: { crossValidation: { k: FOLDS, seed: SEED, split: "by prompt (the folds of bench/routing.ts)" }, weak: WEAK, strong: STRONG, ovrEpochs: EPOCHS, thresholds: "RouteLLM: 11 quantile edges of gap(predicted label), plus ε = −1 (all strong); route table strong when gap > ε" },
        rows,
        ...extra,
      },
      null,
      2,
    ) + "\n",
  );

async function run(dataset: string, label: string, records: Parameters<typeof evaluateClassifyRouting>[0], labelOf: ((r: (typeof records)[number]) => string) | undefined, methods: Array<"given" | "lr" | "knn">) {
  for (const method of methods) {
    const t = Date.now();
    const strategy = `classify:${method === "given" ? "given label" : method === "lr" ? "tfidf-lr" : "knn"}`;
    const r = await evaluateClassifyRouting(records, { name: strategy, weak: WEAK, strong: STRONG, method, labelOf, folds: FOLDS, seed: SEED, classifierOptions: { epochs: EPOCHS } });
    const seconds = (Date.now() - t) / 1000;
    const m = r.result.metrics!;
    const w = summarizeModel(records, WEAK);
    const st = summarizeModel(records, STRONG);
    const c95 = costAtAccuracy(r.result.points, 0.95 * st.accuracy);
    rows.push({
      dataset,
      label,
      strategy,
      labels: r.labels,
      classifierAccuracy: round(r.classifierAccuracy),
      apgr: round(m.apgr),
      cpt50: round(m.cpt50),
      cpt80: round(m.cpt80),
      share95: round(cpt(r.result.points, (0.95 * st.accuracy - w.accuracy) / (st.accuracy - w.accuracy), w.accuracy, st.accuracy)),
      cost95: c95 === null ? null : round(c95 / st.cost),
      curve: r.result.points.map((p) => ({ epsilon: round(p.threshold), strongShare: round(p.strongShare), accuracy: round(p.accuracy), cost: round(p.cost, 8) })),
      perLabelBest: point(r.operatingPoints[0]),
      epsilon005: point(r.operatingPoints[1]),
      seconds,
    });
    log(`${dataset} ${strategy}: APGR ${m.apgr.toFixed(3)}, classifier accuracy ${(r.classifierAccuracy * 100).toFixed(1)} %, ${seconds.toFixed(0)} s`);
    save({});
  }
}

const mmlu = importOutcomes("routellm", [join(data, "routing/routellm/mmlu")]).records;
const gsm8k = importOutcomes("routellm", [join(data, "routing/routellm/gsm8k")]).records;
const w = summarizeModel(mmlu, WEAK);
const s = summarizeModel(mmlu, STRONG);
log(`MMLU n=${mmlu.length}: weak ${(w.accuracy * 100).toFixed(2)} %, strong ${(s.accuracy * 100).toFixed(2)} %`);

await run("RouteLLM MMLU", "subject (57)", mmlu, undefined, ["given", "lr", "knn"]);

// pooled MMLU + GSM8K, label = data set; the learned router served on the same pool and folds for comparison
const pooled = [...mmlu, ...gsm8k];
const benchmarkOf = (r: (typeof pooled)[number]) => r.id.split("/")[0];
await run("RouteLLM MMLU+GSM8K", "data set (2)", pooled, benchmarkOf, ["given", "lr"]);
for (const kind of ["tfidf-lr"]) {
  const t = Date.now();
  const { report } = await runEval({ dataset: "RouteLLM MMLU+GSM8K", records: pooled, strategy: "route", routerKind: kind, folds: FOLDS, seed: SEED, weak: WEAK, strong: STRONG, baselines: true });
  const seconds = (Date.now() - t) / 1000;
  const w = report.weak!;
  const st = report.strong!;
  for (const r of report.strategies) {
    const c95 = costAtAccuracy(r.points, 0.95 * st.accuracy);
    const share95 = round(cpt(r.points, (0.95 * st.accuracy - w.accuracy) / (st.accuracy - w.accuracy), w.accuracy, st.accuracy));
    rows.push({ dataset: "RouteLLM MMLU+GSM8K", label: "-", strategy: r.name, apgr: round(r.metrics!.apgr), cpt50: round(r.metrics!.cpt50), cpt80: round(r.metrics!.cpt80), share95, cost95: c95 === null ? null : round(c95 / st.cost), seconds });
  }
  log(`pooled ${kind}: ${seconds.toFixed(0)} s`);
}

// the learned routers on MMLU, same folds (bench/routing.ts)
const routingPath = join(repoRoot, "bench/results/routing.json");
const routers = existsSync(routingPath)
  ? (JSON.parse(readFileSync(routingPath, "utf8")).rows as Array<{ dataset: string; strategy: string; apgr?: number; cpt50?: number; cpt80?: number; share95?: number | null; cost95?: number | null }>)
      .filter((r) => r.dataset === "RouteLLM MMLU")
      .map((r) => ({ dataset: r.dataset, strategy: r.strategy, apgr: r.apgr, cpt50: r.cpt50, cpt80: r.cpt80, share95: r.share95, cost95: r.cost95 }))
  : [];
mkdirSync(dirname(out), { recursive: true });
save({ routersOnMmlu: { from: "bench/results/routing.json (npx tsx bench/routing.ts)", rows: routers } });

const pct = (x: number | null | undefined) => (x == null ? "never" : `${(x * 100).toFixed(1)} %`);
const table = [
  "| data | label | strategy | classifier acc. | APGR | CPT(50 %) | cost at 95 % of strong acc. | per-label best: acc. / strong share / cost vs strong |",
  "|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.dataset} | ${r.label} | ${r.strategy} | ${r.classifierAccuracy === undefined ? "" : `${(r.classifierAccuracy * 100).toFixed(1)} %`} | ${r.apgr.toFixed(3)} | ${(r.cpt50 * 100).toFixed(1)} % | ${pct(r.cost95)} | ${r.perLabelBest ? `${(r.perLabelBest.accuracy * 100).toFixed(2)} % / ${(r.perLabelBest.strongShare * 100).toFixed(1)} % / ${(r.perLabelBest.costVsStrong * 100).toFixed(1)} %` : ""} |`,
  ),
  ...routers.map((r) => `| ${r.dataset} | - | ${r.strategy} (bench/routing.ts) | | ${r.apgr?.toFixed(3)} | ${((r.cpt50 ?? 0) * 100).toFixed(1)} % | ${pct(r.cost95)} | |`),
];
process.stdout.write(table.join("\n") + "\n");

/**
 * Routing and cascade bench: regenerates docs/routing.md's results table from ../shared/data,
 * offline, and writes bench/results/routing.json.
 *
 *   npx tsx bench/routing.ts            (75–110 s on 2 cores, depending on load)
 *
 * Every figure comes from the served strategies (src/eval/served.ts): the real `route` and
 * `cascade` run over replay models of the recorded outcomes, one request per query and
 * operating point; docs/routing.md says what that moved against the earlier array replay.
 *
 * Settings: RouteLLM MMLU and GSM8K (Mixtral-8x7B weak, GPT-4-1106 strong) and RouterBench
 * ARC-Challenge (11 models): learned routers by 5-fold cross-validation, folds fixed by seed 0,
 * trained on the other folds' recorded outcomes only; random and oracle baselines on the same
 * queries. MoT date understanding: the MoT-1D-Vote/Verify cascades on GPT-3.5/GPT-4 samples.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importOutcomes } from "../src/eval/importers.js";
import { costAtAccuracy, type StrategyResult } from "../src/eval/evaluate.js";
import { cpt } from "../src/eval/metrics.js";
import { evaluateMotCascade } from "../src/eval/mot-cascade.js";
import { runEval } from "../src/eval/run-eval.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const data = resolve(repoRoot, "../shared/data");
const FOLDS = 5;
const SEED = 0;
const WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1";
const STRONG = "gpt-4-1106-preview";

interface Row {
  dataset: string;
  strategy: string;
  apgr?: number;
  cpt50?: number;
  cpt80?: number;
  /** Strong share needed for 95 % of the strong model's accuracy (RouteLLM blog's criterion). */
  share95?: number | null;
  /** Mean cost at 95 % of GPT-4's accuracy, relative to GPT-4 alone. */
  cost95?: number | null;
  aiq?: number;
  /** Mean cost at the strong (GPT-4) accuracy, relative to GPT-4 alone (null: never reached). */
  costAtStrongAcc?: number | null;
  bestAccuracy?: number;
  seconds?: number;
}

const rows: Row[] = [];
const log = (s: string) => process.stderr.write(s + "\n");

async function binary(name: string, path: string) {
  const { records } = importOutcomes("routellm", [path]);
  for (const kind of ["random", "heuristic", "tfidf-lr", "knn", "mf"]) {
    const t = Date.now();
    const strategy = kind === "random" ? "random" : "route";
    // the baselines are served once, with the "random" run
    const { report } = await runEval({ dataset: name, records, strategy, routerKind: kind === "random" ? undefined : kind, folds: FOLDS, seed: SEED, weak: WEAK, strong: STRONG, baselines: kind === "random" });
    const seconds = (Date.now() - t) / 1000;
    const w = report.weak!;
    const s = report.strong!;
    const x95 = (0.95 * s.accuracy - w.accuracy) / (s.accuracy - w.accuracy);
    const pick = (r: StrategyResult): Row => {
      const share95 = cpt(r.points, x95, w.accuracy, s.accuracy);
      const c95 = costAtAccuracy(r.points, 0.95 * s.accuracy);
      return { dataset: name, strategy: r.name, apgr: r.metrics!.apgr, cpt50: r.metrics!.cpt50, cpt80: r.metrics!.cpt80, share95, cost95: c95 === null ? null : c95 / s.cost, seconds };
    };
    for (const r of report.strategies) {
      if (kind === "random" ? r.kind !== "route" : r.kind === "route") rows.push(pick(r));
    }
    log(`${name} ${kind}: ${seconds.toFixed(1)} s`);
    if (kind === "random") log(`${name}: n=${report.n} weak ${(w.accuracy * 100).toFixed(2)} % strong ${(s.accuracy * 100).toFixed(2)} %`);
  }
}

await binary("RouteLLM MMLU", join(data, "routing/routellm/mmlu"));
await binary("RouteLLM GSM8K", join(data, "routing/routellm/gsm8k"));

// RouterBench ARC-Challenge, 11 models
{
  const { records, stats } = importOutcomes("routerbench", [join(data, "routing/routerbench")]);
  const models = Object.keys(records[0].outcomes);
  log(`RouterBench ARC-C: ${records.length} rows (skipped ${stats.skippedMissing} with a missing cell)`);
  for (const kind of ["multi-lr", "multi-knn", "multi-mf"]) {
    const t = Date.now();
    const { report } = await runEval({ dataset: "RouterBench ARC-C", records, strategy: "route", routerKind: kind, folds: FOLDS, seed: SEED, models });
    const seconds = (Date.now() - t) / 1000;
    const gpt4 = report.models!.find((m) => m.model === STRONG)!;
    for (const r of report.strategies) {
      if (r.kind !== "multi-route" && kind !== "multi-lr") continue;
      const c = costAtAccuracy(r.points, gpt4.accuracy);
      rows.push({
        dataset: "RouterBench ARC-C",
        strategy: r.name,
        aiq: r.aiq,
        costAtStrongAcc: c === null ? null : c / gpt4.cost,
        bestAccuracy: Math.max(...r.points.map((p) => p.accuracy)),
        seconds,
      });
    }
    log(`ARC-C ${kind}: ${seconds.toFixed(1)} s`);
  }
}

// MoT date understanding
const mot = await evaluateMotCascade(importOutcomes("mot", [join(data, "cascade/mot-date")]).records);
{
  rows.push({ dataset: "MoT date", strategy: "mot-1d-vote", costAtStrongAcc: mot.voteRelativeCostAtStrongAccuracy, bestAccuracy: Math.max(...mot.vote.map((p) => p.accuracy)) });
  rows.push({ dataset: "MoT date", strategy: "mot-1d-verify", costAtStrongAcc: mot.verify.accuracy >= mot.strongAlone.accuracy ? mot.verify.relativeCost : null, bestAccuracy: mot.verify.accuracy });
}

const f = (x: number | null | undefined, pct = false, d = 3) => (x === undefined ? "" : x === null ? "not reached" : pct ? `${(x * 100).toFixed(1)} %` : x.toFixed(d));
const table = [
  "| dataset | strategy | APGR | CPT(50 %) | CPT(80 %) | strong share at 95 % of GPT-4 | cost at 95 % of GPT-4 (vs GPT-4) | AIQ | cost at GPT-4 accuracy (vs GPT-4) | best accuracy |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.dataset} | ${r.strategy} | ${f(r.apgr)} | ${f(r.cpt50, true)} | ${f(r.cpt80, true)} | ${f(r.share95, true)} | ${f(r.cost95, true)} | ${f(r.aiq, false, 4)} | ${f(r.costAtStrongAcc, true)} | ${f(r.bestAccuracy, true)} |`),
].join("\n");

const { decisions: _unused, ...motSummary } = mot;
void _unused;
const out = {
  generatedBy: "npx tsx bench/routing.ts",
  settings: { crossValidation: { k: FOLDS, seed: SEED }, thresholds: "RouteLLM: 11 quantile edges of the router scores", lambdaGrid: "0 and 48 log-spaced values in [1e-3, 1e2]" },
  papers: {
    routellm: { mtBenchApgrBestRouter: 0.802, blog: "95 % of GPT-4's quality with cost reductions of 45 % (MMLU) and 35 % (GSM8K) vs GPT-4 alone" },
    mot: "GPT-4-level accuracy at about 40 % of GPT-4's cost",
  },
  rows,
  mot: motSummary,
};
mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/routing.json"), JSON.stringify(out, null, 2) + "\n");
process.stdout.write(table + "\n\nMoT vote curve (threshold: accuracy, escalated, cost vs GPT-4):\n" + mot.vote.map((p) => `  ${p.threshold}: ${(p.accuracy * 100).toFixed(2)} %, ${(p.strongShare * 100).toFixed(1)} %, ${(p.relativeCost * 100).toFixed(1)} %`).join("\n") + `\n  GPT-4 alone: ${(mot.strongAlone.accuracy * 100).toFixed(2)} %; GPT-3.5 CoT SC@20: ${(mot.weakAlone.accuracy * 100).toFixed(2)} %\nWrote bench/results/routing.json\n`);

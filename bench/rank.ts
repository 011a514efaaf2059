/**
 * Output-level fusion (`rank`) on RouterBench ARC-Challenge by replay: 11 models' recorded
 * responses, correctness and USD cost per prompt (../shared/data/routing/routerbench), offline.
 * Writes bench/results/rank.json and prints the table of docs/rank.md.
 *
 *   npx tsx bench/rank.ts            (a few seconds)
 *
 * Arms: each model alone, the best single model, RouterBench's oracle (cheapest correct model per
 * prompt), consensus (majority choice letter) over all 11 and over cheap subsets fixed a priori by
 * recorded price (no accuracy used to choose them), and the learned pointwise scorer, 5-fold
 * cross-validated split by prompt (folds fixed by seed 0), plus trained on RouterBench's train
 * split and evaluated on its test split. A pointwise judge over the cheap5 set is *simulated*
 * (verdicts drawn from the recorded correctness, right with probability p; no judge model runs
 * here and no judge verdicts were recorded), each judge call priced as Yi-34B's recorded call on
 * the prompt. Cost counts every candidate and judge call.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importRouterBench } from "../src/eval/import-routerbench.js";
import { commonModels } from "../src/eval/dataset.js";
import { consensusArm, modelsByCost, oracleArm, scorerArmCv, scorerArmSplit, simulatedJudgeArm, singleArm, type RankArm } from "../src/eval/rank-replay.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const data = resolve(repoRoot, "../shared/data/routing/routerbench");
const FOLDS = 5;
const SEED = 0;
/** The simulated judge's model (its recorded cost per prompt prices each judge call): a cheap, accurate model of the set. */
const JUDGE = "zero-one-ai/Yi-34B-Chat";
const options = { canonical: "choice" as const, letters: "ABCD", folds: FOLDS, seed: SEED };

const started = performance.now();
const { records, stats } = importRouterBench([data]);
const all = modelsByCost(records, commonModels(records)); // most expensive first: the declared (tie-break) order
const cheapestFirst = [...all].reverse();
const meanCost = (m: string) => records.reduce((s, r) => s + r.outcomes[m].cost, 0) / records.length;
/** Candidate sets fixed by recorded price alone. */
const sets: Record<string, string[]> = {
  all11: all,
  "cheap8 (< $0.001/prompt)": all.filter((m) => meanCost(m) < 0.001),
  cheap5: all.filter((m) => cheapestFirst.slice(0, 5).includes(m)),
  cheap3: all.filter((m) => cheapestFirst.slice(0, 3).includes(m)),
};

function evaluate(rs: typeof records, withCv: boolean): RankArm[] {
  const arms: RankArm[] = all.map((m) => singleArm(rs, m));
  const best = arms.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  arms.push({ ...best, name: `best single (${best.models[0]})` }, oracleArm(rs, all));
  for (const [name, models] of Object.entries(sets)) {
    // the set's most accurate member alone, picked in hindsight on the same prompts (a ceiling for "just use one of them")
    const member = arms.filter((a) => a.name.startsWith("single:") && models.includes(a.models[0])).reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    arms.push({ ...member, name: `best of ${name} alone (${member.models[0]}, hindsight)` });
    if (name !== "all11") arms.push({ ...oracleArm(rs, models), name: `oracle over ${name}` }); // the headroom of choosing within the set
    arms.push(consensusArm(rs, models, `${name}, tie→costliest`, { ...options, tieBreak: "costliest" }));
    if (name === "all11") arms.push(consensusArm(rs, models, `${name}, tie→cheapest`, { ...options, tieBreak: "cheapest" }));
    if (withCv) arms.push(scorerArmCv(rs, models, name, options));
    if (withCv && name === "cheap5") for (const accuracy of [0.8, 0.9, 0.95, 1]) arms.push(simulatedJudgeArm(rs, models, name, { accuracy, judge: JUDGE, seed: SEED }));
  }
  return arms;
}

const allArms = evaluate(records, true);
const train = records.filter((r) => r.split === "train");
const test = records.filter((r) => r.split === "test");
const testArms = evaluate(test, false);
for (const [name, models] of Object.entries(sets)) testArms.push(scorerArmSplit(train, test, models, name, options).arm);

const gpt4 = allArms.find((a) => a.name.startsWith("best single"))!;
const fmt = (arms: RankArm[], ref: RankArm) =>
  arms.map((a) => `${a.name.padEnd(52)} acc ${(a.accuracy * 100).toFixed(2).padStart(6)} %   $/prompt ${a.meanCostUsd.toExponential(3)}   ×best ${(a.meanCostUsd / ref.meanCostUsd).toFixed(3)}`).join("\n");
console.log(`RouterBench ARC-Challenge, ${records.length} prompts (${stats.skippedMissing} rows with missing cells skipped), 5-fold CV by prompt, seed ${SEED}\n${fmt(allArms, gpt4)}`);
const testBest = testArms.find((a) => a.name.startsWith("best single"))!;
console.log(`\nRouterBench test split (${test.length} prompts; scorer trained on the ${train.length} train prompts)\n${fmt(testArms, testBest)}`);

const seconds = (performance.now() - started) / 1000;
const out = {
  generatedBy: "npx tsx bench/rank.ts",
  data: { source: "RouterBench ARC-Challenge via RouterDC (../shared/data/routing/routerbench)", prompts: records.length, skippedMissing: stats.skippedMissing, train: train.length, test: test.length, models: all },
  settings: { canonical: "choice (ABCD)", crossValidation: { k: FOLDS, seed: SEED, splitBy: "prompt" }, declaredOrder: "mean recorded cost, most expensive first", sets },
  all: allArms.map((a) => ({ ...a, relativeCost: a.meanCostUsd / gpt4.meanCostUsd })),
  testSplit: testArms.map((a) => ({ ...a, relativeCost: a.meanCostUsd / testBest.meanCostUsd })),
  seconds,
};
mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/rank.json"), JSON.stringify(out, null, 2) + "\n");
console.log(`\nwrote bench/results/rank.json (${seconds.toFixed(1)} s)`);

/**
 * Shadow evaluation bench (docs/shadow.md): how close does `tandem shadow report`, computed from a
 * sampled share of the traffic, come to the truth on all of it? Writes bench/results/shadow.json.
 *
 *   npx tsx bench/shadow.ts            (about a minute on 2 cores)
 *
 * Setting, on recorded outcomes of real models (RouteLLM: Mixtral-8x7B weak, GPT-4-1106 strong,
 * costs at list prices):
 * - a tfidf-lr router is trained on one half of the data — MMLU: half of the 57 subjects (held
 *   out by subject); GSM8K: a seeded half of the problems — and the candidate `route` threshold is
 *   the median router score on that half (≈ 50 % strong on it). Nothing is tuned on the other
 *   half, the "live" traffic;
 * - the primary path is strong-only (GPT-4): every live request is served by the strong replay
 *   model; its answer goes to the real {@link ShadowEvaluator} (the gateway's code: Bernoulli
 *   sampler, route decision preview, generation of the candidate's side, records, report), with
 *   `explore` on so the threshold sweep covers every threshold;
 * - the judge is *recorded*: its verdict is the recorded correctness of the two answers (win when
 *   only the candidate's is correct, loss when only the primary's is, tie otherwise) — so this
 *   measures the estimator (sampling, intervals, threshold choice), not an LLM judge's accuracy;
 * - for each sampling rate, 200 seeds. Truth: the candidate's savings share and net quality change
 *   (its accuracy − the strong model's) on all live requests. Reported: mean estimate and mean
 *   absolute error, how often the 95 % interval contains the truth (coverage; nominal 95 %), the
 *   intervals' mean width; and for the recommended threshold (net change lower bound ≥ −2 pp on
 *   the sample), its true savings and net change on the *unsampled* live requests, and how often
 *   its true quality drop exceeds the 2 pp tolerance.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GenerateResult } from "../src/core/model.js";
import { seededRandom, seededShuffle } from "../src/core/random.js";
import { importOutcomes } from "../src/eval/importers.js";
import { promptText, type ReplayRecord } from "../src/eval/dataset.js";
import { RecordedScoreRouter, replayRequest } from "../src/eval/served.js";
import { trainBinaryRouter } from "../src/eval/train-router.js";
import { ReplayModel } from "../src/providers/replay.js";
import { ShadowEvaluator } from "../src/shadow/evaluator.js";
import type { PairwiseJudge } from "../src/shadow/judge.js";
import { shadowReport } from "../src/shadow/report.js";
import { routePreview } from "../src/shadow/route-preview.js";
import { bernoulliSampler } from "../src/shadow/sampler.js";
import { route } from "../src/strategies/route/index.js";
import { memoryShadowStore } from "../src/store/shadow.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const data = resolve(repoRoot, "../shared/data");
const WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1";
const STRONG = "gpt-4-1106-preview";
const SEEDS = Number(process.env.SHADOW_SEEDS ?? 200);
const RATES = [0.02, 0.1];
const MAX_QUALITY_DROP = 0.02;
const log = (s: string) => process.stderr.write(s + "\n");

interface Setting {
  dataset: string;
  split: string;
  train: ReplayRecord[];
  live: ReplayRecord[];
}

function settings(): Setting[] {
  const mmlu = importOutcomes("routellm", [join(data, "routing/routellm/mmlu")]).records;
  const subjects = seededShuffle([...new Set(mmlu.map((r) => r.group ?? ""))].sort(), 0);
  const trainSubjects = new Set(subjects.slice(0, Math.floor(subjects.length / 2)));
  const gsm = seededShuffle(importOutcomes("routellm", [join(data, "routing/routellm/gsm8k")]).records, 0);
  return [
    { dataset: "RouteLLM MMLU", split: `router trained on ${trainSubjects.size} subjects, live traffic = the other ${subjects.length - trainSubjects.size}`, train: mmlu.filter((r) => trainSubjects.has(r.group ?? "")), live: mmlu.filter((r) => !trainSubjects.has(r.group ?? "")) },
    { dataset: "RouteLLM GSM8K", split: "router trained on a seeded half, live traffic = the other half", train: gsm.slice(0, Math.floor(gsm.length / 2)), live: gsm.slice(Math.floor(gsm.length / 2)) },
  ];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function run(setting: Setting) {
  const t0 = Date.now();
  const router = trainBinaryRouter("tfidf-lr", setting.train, { weak: WEAK, strong: STRONG, seed: 0 });
  const threshold = median(setting.train.map((r) => router.score({ prompt: promptText(r) })));
  const live = setting.live;
  const scores = live.map((r) => router.score({ prompt: promptText(r) }));
  const recorded = RecordedScoreRouter.of("tfidf-lr", live, scores);
  const weak = new ReplayModel(WEAK, live, { matchBy: "id", id: "weak" });
  const strong = new ReplayModel(STRONG, live, { matchBy: "id", id: "strong" });
  const byId = new Map([weak, strong].map((m) => [m.id, m]));
  const candidate = route({ id: "auto", weak, strong, router: recorded, threshold });
  const preview = routePreview({ id: "auto", weak, strong, router: recorded, threshold });
  /** Recorded judge: the recorded correctness of each answer. */
  const correct = (request: GenerateRequestLike, r: GenerateResult) => byId.get(r.info.servedBy)!.recordedScore(request.messages, r.text)!;
  const judge: PairwiseJudge = {
    async judge({ request, primary, candidate: alt }) {
      const c = correct(request, alt);
      const p = correct(request, primary);
      return { verdict: c > p ? "win" : c < p ? "loss" : "tie", candidateFirst: false, costUsd: 0, calls: [] };
    },
  };

  // the primary (strong-only) answers, once
  const requests = live.map((r) => replayRequest(r));
  const primaries = await Promise.all(requests.map((q) => strong.generate(q)));
  const weakCost = live.map((r) => r.outcomes[WEAK].cost);
  const strongCost = live.map((r) => r.outcomes[STRONG].cost);
  const weakScore = live.map((r) => r.outcomes[WEAK].score);
  const strongScore = live.map((r) => r.outcomes[STRONG].score);

  /** Truth on a subset of live indices at threshold t: savings share and net change vs strong-only. */
  const truth = (indices: number[], t: number) => {
    let saved = 0;
    let spend = 0;
    let net = 0;
    let weakN = 0;
    for (const i of indices) {
      spend += strongCost[i];
      if (!(scores[i] > t)) {
        weakN++;
        saved += strongCost[i] - weakCost[i];
        net += weakScore[i] - strongScore[i];
      }
    }
    return { savingsShare: saved / spend, netChange: net / indices.length, weakShare: weakN / indices.length };
  };
  const all = live.map((_, i) => i);
  const trueAtCandidate = truth(all, threshold);
  // the candidate served for real once, as a check that the preview decides like the strategy
  let agree = 0;
  for (const [i, q] of requests.entries()) if ((await candidate.generate(q)).info.servedBy === ((scores[i] > threshold) ? "strong" : "weak")) agree++;
  if (agree !== live.length) throw new Error(`route preview disagrees with the route strategy on ${live.length - agree} requests`);

  const rows = [];
  for (const rate of RATES) {
    const est = { savings: [] as number[], net: [] as number[], savingsCovered: 0, netCovered: 0, savingsWidth: [] as number[], netWidth: [] as number[], n: [] as number[], shadowShare: [] as number[] };
    const rec = { savings: [] as number[], net: [] as number[], weakShare: [] as number[], threshold: [] as number[], violations: 0, none: 0 };
    for (let seed = 0; seed < SEEDS; seed++) {
      const store = memoryShadowStore();
      const evaluator = new ShadowEvaluator({ model: "strong", candidateName: "auto", candidate, route: preview, judge, store, sampler: bernoulliSampler(rate, seededRandom(seed)), maxConcurrent: 64, explore: true });
      for (const [i, q] of requests.entries()) {
        evaluator.observe({ model: "strong", request: q, result: primaries[i], traceId: live[i].id });
        if (evaluator.stats.inFlight >= 32) await evaluator.idle();
      }
      await evaluator.idle();
      if (evaluator.stats.dropped || evaluator.stats.failed) throw new Error(`seed ${seed}: ${evaluator.stats.dropped} dropped, ${evaluator.stats.failed} failed`);
      const report = shadowReport(store.records, { maxQualityDrop: MAX_QUALITY_DROP, seed, resamples: 1000 });
      const s = report.cost.savingsShareInterval;
      const q = report.quality.netChangeInterval;
      est.savings.push(report.cost.savingsShare);
      est.net.push(report.quality.netChange);
      if (s[0] <= trueAtCandidate.savingsShare && trueAtCandidate.savingsShare <= s[1]) est.savingsCovered++;
      if (q[0] <= trueAtCandidate.netChange && trueAtCandidate.netChange <= q[1]) est.netCovered++;
      est.savingsWidth.push(s[1] - s[0]);
      est.netWidth.push(q[1] - q[0]);
      est.n.push(report.n);
      est.shadowShare.push(report.cost.shadowUsd / strongCost.reduce((a, b) => a + b, 0));
      const sampled = new Set(store.records.map((r) => r.traceId));
      const rest = all.filter((i) => !sampled.has(live[i].id));
      const recommended = report.threshold?.recommended;
      if (!recommended) {
        rec.none++;
        continue;
      }
      const tr = truth(rest, recommended.threshold);
      rec.savings.push(tr.savingsShare);
      rec.net.push(tr.netChange);
      rec.weakShare.push(tr.weakShare);
      rec.threshold.push(recommended.threshold);
      if (tr.netChange < -MAX_QUALITY_DROP) rec.violations++;
    }
    const row = {
      dataset: setting.dataset,
      sampleRate: rate,
      seeds: SEEDS,
      meanSampled: mean(est.n),
      candidate: { threshold, trueSavingsShare: trueAtCandidate.savingsShare, trueNetChange: trueAtCandidate.netChange, trueWeakShare: trueAtCandidate.weakShare },
      savings: { meanEstimate: mean(est.savings), meanAbsError: mean(est.savings.map((x) => Math.abs(x - trueAtCandidate.savingsShare))), coverage95: est.savingsCovered / SEEDS, meanWidth: mean(est.savingsWidth) },
      netChange: { meanEstimate: mean(est.net), meanAbsError: mean(est.net.map((x) => Math.abs(x - trueAtCandidate.netChange))), coverage95: est.netCovered / SEEDS, meanWidth: mean(est.netWidth) },
      recommended: {
        maxQualityDrop: MAX_QUALITY_DROP,
        seedsWithNone: rec.none,
        meanThreshold: rec.threshold.length ? mean(rec.threshold) : null,
        meanTrueSavingsShare: rec.savings.length ? mean(rec.savings) : null,
        meanTrueNetChange: rec.net.length ? mean(rec.net) : null,
        meanTrueWeakShare: rec.weakShare.length ? mean(rec.weakShare) : null,
        shareOfSeedsBeyondTolerance: rec.net.length ? rec.violations / rec.net.length : null,
        worstTrueNetChange: rec.net.length ? Math.min(...rec.net) : null,
        seedsAtStatusQuo: rec.weakShare.filter((x) => x === 0).length,
      },
      shadowSpendShareOfPrimary: mean(est.shadowShare),
    };
    rows.push(row);
    log(`${setting.dataset} @ ${rate}: savings est ${(row.savings.meanEstimate * 100).toFixed(1)} % (true ${(trueAtCandidate.savingsShare * 100).toFixed(1)} %, coverage ${(row.savings.coverage95 * 100).toFixed(1)} %), net ${(row.netChange.meanEstimate * 100).toFixed(2)} pp (true ${(trueAtCandidate.netChange * 100).toFixed(2)} pp, coverage ${(row.netChange.coverage95 * 100).toFixed(1)} %)`);
  }
  log(`${setting.dataset}: ${live.length} live requests, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { dataset: setting.dataset, split: setting.split, liveRequests: live.length, trainRequests: setting.train.length, rows };
}

type GenerateRequestLike = Parameters<ReplayModel["generate"]>[0];

const results = [];
for (const s of settings()) results.push(await run(s));

const pct = (x: number | null, d = 1) => (x === null ? "—" : `${(x * 100).toFixed(d)} %`);
const pp = (x: number | null) => (x === null ? "—" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} pp`);
const abs = (x: number) => `${(x * 100).toFixed(2)} pp`;
const table = [
  "| dataset | sample | sampled | savings: true / est. (MAE) | 95 % CI coverage | net quality: true / est. (MAE) | 95 % CI coverage | recommended threshold on unsampled traffic: savings, net quality (worst), seeds beyond −2 pp |",
  "|---|---|---|---|---|---|---|---|",
  ...results.flatMap((r) =>
    r.rows.map(
      (x) =>
        `| ${r.dataset} | ${pct(x.sampleRate, 0)} | ${x.meanSampled.toFixed(0)} | ${pct(x.candidate.trueSavingsShare)} / ${pct(x.savings.meanEstimate)} (${abs(x.savings.meanAbsError)}) | ${pct(x.savings.coverage95)} | ${pp(x.candidate.trueNetChange)} / ${pp(x.netChange.meanEstimate)} (${abs(x.netChange.meanAbsError)}) | ${pct(x.netChange.coverage95)} | ${pct(x.recommended.meanTrueSavingsShare)}, ${pp(x.recommended.meanTrueNetChange)} (${pp(x.recommended.worstTrueNetChange)}), ${pct(x.recommended.shareOfSeedsBeyondTolerance)}${x.recommended.seedsAtStatusQuo === x.seeds ? " (always the status quo)" : ""} |`,
    ),
  ),
].join("\n");

const out = {
  generatedBy: "npx tsx bench/shadow.ts",
  settings: { weak: WEAK, strong: STRONG, router: "tfidf-lr trained on the train half", candidateThreshold: "median router score on the train half", primary: "strong-only", judge: "recorded correctness (win/tie/loss)", seeds: SEEDS, rates: RATES, maxQualityDrop: MAX_QUALITY_DROP, explore: true, bootstrapResamples: 1000 },
  results,
};
mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/shadow.json"), JSON.stringify(out, null, 2) + "\n");
process.stdout.write(table + "\nWrote bench/results/shadow.json\n");

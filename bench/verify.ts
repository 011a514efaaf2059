/**
 * Verification bench (issue #14 item 2): the AutoMix-style verification cascade (Madaan et al.
 * 2023) against MoT's vote cascade (Yue et al., ICLR 2024) on the MoT date-understanding replay
 * data (../shared/data/cascade/mot-date), offline; writes bench/results/verify.json.
 *
 *   npx tsx bench/verify.ts            (about 10–45 s on 2 cores, depending on load)
 *
 * The weak answer is GPT-3.5's CoT self-consistency answer (k = 7); the verifier is GPT-3.5's 7
 * program-of-thought samples, each a verdict (its executed answer equals the CoT answer → Correct,
 * differs → Incorrect, no answer → unparseable, skipped); P(correct) = share of Correct; the real
 * `cascade` strategy (signal `verify`) escalates to GPT-4 when P(correct) < threshold. Same weak
 * cost as the vote cascade (7 CoT + 7 PoT samples). Averaged over MoT's 8 demo/temperature
 * combinations. Held out: thresholds chosen on one half of the questions (seeded split), reported
 * on the other, both folds. See src/eval/mot-verify.ts.
 *
 * Costs are estimates (MoT's prices, tokens counted as src/eval/import-mot.ts counts them), so
 * relative costs move slightly when that counting changes; accuracies, shares and APGR do not.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importOutcomes } from "../src/eval/importers.js";
import type { MotPoint } from "../src/eval/mot-cascade.js";
import { evaluateMotVerify, type CascadeCurve } from "../src/eval/mot-verify.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

const started = performance.now();
const { records } = importOutcomes("mot", [resolve(repoRoot, "../shared/data/cascade/mot-date")]);
const r = await evaluateMotVerify(records);

const point = (p: MotPoint) => ({ threshold: r4(p.threshold), strongShare: r4(p.strongShare), accuracy: r4(p.accuracy), relativeCost: r4(p.relativeCost), costUsd: Number(p.cost.toPrecision(4)) });
const curve = (c: CascadeCurve) => ({
  name: c.name,
  apgr: r4(c.apgr),
  relativeCostAtStrongAccuracy: c.relativeCostAtStrongAccuracy === null ? null : r4(c.relativeCostAtStrongAccuracy),
  accuracyAtShare: c.accuracyAtShare.map((a) => ({ share: a.share, accuracy: r4(a.accuracy) })),
  heldOut: c.heldOut.map((h) => ({ threshold: r4(h.threshold), calibration: point(h.calibration), test: point(h.test), strongTestAccuracy: r4(h.strongTest.accuracy), reachedStrongOnTest: h.reachedStrongOnTest })),
  heldOutMean: { accuracy: r4(c.heldOutMean.accuracy), strongShare: r4(c.heldOutMean.strongShare), relativeCost: r4(c.heldOutMean.relativeCost), strongAccuracy: r4(c.heldOutMean.strongAccuracy) },
  points: c.points.map(point),
});

const out = {
  bench: "verify",
  generatedBy: "npx tsx bench/verify.ts",
  data: "MoT date understanding (Yue et al. 2024), ../shared/data/cascade/mot-date",
  n: r.n,
  k: r.k,
  combinations: 8,
  weak: r.weak,
  strong: r.strong,
  strongAlone: { accuracy: r4(r.strongAlone.accuracy), costUsd: Number(r.strongAlone.cost.toPrecision(4)) },
  weakAloneCotSc20: { accuracy: r4(r.weakAlone.accuracy), relativeCost: r4(r.weakAlone.cost / r.strongAlone.cost) },
  verifier: "GPT-3.5 program-of-thought samples judging the GPT-3.5 CoT answer (AutoMix verdicts; unparseable = no executed answer, skipped)",
  verdicts: r.verdicts,
  splitSeed: r.splitSeed,
  verify: curve(r.verify),
  vote: curve(r.vote),
  majorityAgreement: point(r.majorityAgreement),
  notes: [
    "escalate when P(correct) < threshold (verify) or vote share < threshold (vote); threshold 1.01 always escalates",
    "relative cost = mean USD per query / GPT-4 alone (CoT, majority of 3); costs estimated at MoT's prices from token counts",
    "APGR: RouteLLM's, over the strong share, weak = GPT-3.5 CoT SC@20, strong = GPT-4 alone; both curves span shares 0..1",
    "held out: threshold = cheapest point reaching GPT-4's accuracy on the calibration half; reported on the other half",
  ],
  seconds: r4((performance.now() - started) / 1000),
};
mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/verify.json"), JSON.stringify(out, null, 2) + "\n");

const line = (c: CascadeCurve) =>
  `${c.name.padEnd(44)} APGR ${c.apgr.toFixed(3)}  cost at GPT-4 accuracy ${c.relativeCostAtStrongAccuracy === null ? "never" : pct(c.relativeCostAtStrongAccuracy)}  held-out: ${pct(c.heldOutMean.accuracy)} accuracy, ${pct(c.heldOutMean.strongShare)} escalated, ${pct(c.heldOutMean.relativeCost)} of GPT-4's cost (GPT-4 ${pct(c.heldOutMean.strongAccuracy)})`;
process.stdout.write(
  [
    `MoT date, n = ${r.n}, k = ${r.k}, 8 combinations. GPT-4 alone ${pct(r.strongAlone.accuracy)}; GPT-3.5 CoT SC@20 ${pct(r.weakAlone.accuracy)}`,
    line(r.verify),
    line(r.vote),
    `MoT-1D-Verify (majorities agree): ${pct(r.majorityAgreement.accuracy)} accuracy, ${pct(r.majorityAgreement.strongShare)} escalated, ${pct(r.majorityAgreement.relativeCost)} of GPT-4's cost`,
    "verify curve (threshold: accuracy, escalated, cost vs GPT-4):",
    ...r.verify.points.map((p) => `  ${p.threshold.toFixed(3)}: ${pct(p.accuracy)}, ${pct(p.strongShare)}, ${pct(p.relativeCost)}`),
    "Wrote bench/results/verify.json",
  ].join("\n") + "\n",
);

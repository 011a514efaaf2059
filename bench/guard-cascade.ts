/**
 * Guard cascade benchmark (issue #16 item 2): stage one, the shipped harm classifier
 * (models/guard.json, scored exactly as the guard scores a user message: `harmScore`), decides
 * outside a band; inside the band a judge decides. The curve — TPR, FPR per benign set, share
 * escalated — for several bands.
 *
 * THE JUDGE IS SIMULATED: no capable guard model (Llama Guard, ShieldGemma) runs on this machine,
 * so the judge's verdicts are taken from the gold labels ("oracle": always right), and, separately,
 * from a judge that is right with probability p (independent coin per prompt, mean over 20 seeds).
 * These figures bound what the cascade can reach with a judge of that accuracy; they are not a
 * measurement of any real judge. Judge latency and cost are not simulated (see the share escalated:
 * it is the share of requests that pay one judge call).
 *
 * Data (../shared/data/safety): harmful = HarmBench (held-out split, seed 42) and XSTest unsafe
 * (held-out half); benign = harmless instructions (held-out split), XSTest safe (held-out half),
 * WildGuardTest benign prompts and NotInject (all rows; benign-but-scary / trigger-word-heavy).
 *
 * Run: npx tsx bench/guard-cascade.ts  → bench/results/guard-cascade.json
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { seededRandom } from "../src/core/random.js";
import { loadGuardClassifier } from "../src/safety/classifier.js";
import { safetyDataDir, safetySplit } from "../src/safety/data.js";
import { harmScore } from "../src/strategies/guard/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

interface Item {
  set: string;
  label: 0 | 1;
  score: number;
}

function jsonl(rel: string): Array<{ text: string; label: number }> {
  return fs
    .readFileSync(path.join(safetyDataDir(), rel), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { text: string; label: number });
}

function main() {
  const classifier = loadGuardClassifier();
  const threshold = classifier.threshold;
  const test = safetySplit({ seed: 42 }).test;
  const sets: Record<string, Array<{ text: string; label: 0 | 1 }>> = {
    harmbench: test.filter((e) => e.source === "harmbench"),
    xstest_unsafe: test.filter((e) => e.source === "xstest" && e.label === 1),
    harmless: test.filter((e) => e.source === "harmless"),
    xstest_safe: test.filter((e) => e.source === "xstest" && e.label === 0),
    wildguardtest_benign: jsonl("wildguardtest_benign/wildguardtest_benign.jsonl").map((r) => ({ text: r.text, label: 0 as const })),
    notinject: jsonl("notinject/notinject.jsonl").map((r) => ({ text: r.text, label: 0 as const })),
  };
  const items: Item[] = [];
  const t0 = performance.now();
  for (const [set, rows] of Object.entries(sets)) for (const r of rows) items.push({ set, label: r.label, score: harmScore(classifier, r.text, "user") });
  const msPerPrompt = (performance.now() - t0) / items.length;

  type Judge = { name: string; accuracy: number };
  const judges: Judge[] = [{ name: "oracle (gold labels)", accuracy: 1 }, ...[0.95, 0.9, 0.8].map((p) => ({ name: `right with p=${p}`, accuracy: p }))];
  const bands: Array<[number, number] | null> = [null, [0.4, 0.6], [0.3, 0.7], [0.2, 0.8], [0.1, 0.9], [0.05, 0.95], [0, 1]];
  const SEEDS = 20;

  /** Flag rate per set and share escalated for one band and judge accuracy (mean over seeds when p < 1). */
  function run(band: [number, number] | null, accuracy: number) {
    const seeds = band === null || accuracy === 1 ? 1 : SEEDS;
    const flagged = new Map<string, number>();
    const escalated = new Map<string, number>();
    for (let s = 0; s < seeds; s++) {
      const rand = seededRandom(1000 + s);
      for (const it of items) {
        const inBand = band !== null && it.score >= band[0] && it.score <= band[1];
        const right = rand() < accuracy;
        const flag = inBand ? (right ? it.label === 1 : it.label === 0) : it.score > threshold;
        flagged.set(it.set, (flagged.get(it.set) ?? 0) + (flag ? 1 : 0));
        escalated.set(it.set, (escalated.get(it.set) ?? 0) + (inBand ? 1 : 0));
      }
    }
    const bySet: Record<string, { n: number; rate: number; escalated: number }> = {};
    for (const set of Object.keys(sets)) {
      const n = sets[set].length;
      bySet[set] = { n, rate: r4((flagged.get(set) ?? 0) / (n * seeds)), escalated: r4((escalated.get(set) ?? 0) / (n * seeds)) };
    }
    const pool = (names: string[], what: "rate" | "escalated") => {
      const n = names.reduce((a, k) => a + bySet[k].n, 0);
      return r4(names.reduce((a, k) => a + bySet[k][what] * bySet[k].n, 0) / n);
    };
    const harmful = ["harmbench", "xstest_unsafe"];
    const benign = ["harmless", "xstest_safe", "wildguardtest_benign", "notinject"];
    return {
      band,
      tpr: pool(harmful, "rate"),
      fpr: pool(benign, "rate"),
      fprBySet: Object.fromEntries(benign.map((k) => [k, bySet[k].rate])),
      tprBySet: Object.fromEntries(harmful.map((k) => [k, bySet[k].rate])),
      escalated: pool([...harmful, ...benign], "escalated"),
      escalatedBySet: Object.fromEntries(Object.keys(sets).map((k) => [k, bySet[k].escalated])),
    };
  }

  const curves = judges.map((j) => ({ judge: j.name, accuracy: j.accuracy, rows: bands.map((b) => run(b, j.accuracy)) }));
  const result = {
    generatedAt: new Date().toISOString(),
    note: "The judge is SIMULATED from gold labels (oracle) or as right with probability p (mean of 20 seeds); no capable guard model runs here. band null = stage one alone at the classifier's threshold.",
    classifier: { file: "models/guard.json", threshold, msPerPrompt: r4(msPerPrompt) },
    sets: Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, { n: v.length, label: v[0]?.label }])),
    curves,
  };
  const out = path.join(root, "bench", "results", "guard-cascade.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");

  console.log(`stage one: models/guard.json, threshold ${threshold}; judge SIMULATED (see note). ${items.length} prompts, ${msPerPrompt.toFixed(3)} ms/prompt stage one`);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(6);
  for (const c of curves) {
    console.log(`\njudge: ${c.judge}`);
    console.log(`band          TPR    FPR   esc  | hb    xs-u  | harmless xs-safe wildguard notinject`);
    for (const r of c.rows) {
      const b = r.band ? `[${r.band[0]}, ${r.band[1]}]` : "none";
      console.log(
        `${b.padEnd(12)} ${pct(r.tpr)} ${pct(r.fpr)} ${pct(r.escalated)} | ${pct(r.tprBySet.harmbench)} ${pct(r.tprBySet.xstest_unsafe)} | ${pct(r.fprBySet.harmless)} ${pct(r.fprBySet.xstest_safe)} ${pct(r.fprBySet.wildguardtest_benign)} ${pct(r.fprBySet.notinject)}`,
      );
    }
  }
  console.log(`\n→ ${path.relative(root, out)}`);
}

main();

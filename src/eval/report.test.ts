import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importOutcomes } from "./importers.js";
import { writeReport, type EvalReport } from "./report.js";
import { runEval } from "./run-eval.js";
import { sharedData } from "../../test/helpers.js";

/** Independent recomputation, written without metrics.ts: group rows, sort, trapezoid, interpolate. */
function recompute(rows: Array<{ strategy: string; point: number; score: number; strong: boolean }>, strategy: string, weakAcc: number, strongAcc: number) {
  const byPoint = new Map<number, { n: number; s: number; k: number }>();
  for (const r of rows) {
    if (r.strategy !== strategy) continue;
    const g = byPoint.get(r.point) ?? { n: 0, s: 0, k: 0 };
    g.n += 1;
    g.s += r.score;
    g.k += r.strong ? 1 : 0;
    byPoint.set(r.point, g);
  }
  const pts = [...byPoint.values()].map((g) => ({ x: g.k / g.n, y: g.s / g.n })).sort((a, b) => a.x - b.x);
  let auc = 0;
  for (let i = 1; i < pts.length; i++) auc += (pts[i].x - pts[i - 1].x) * (pts[i].y + pts[i - 1].y) * 0.5;
  const span = pts[pts.length - 1].x - pts[0].x;
  const apgr = (auc - weakAcc * span) / ((strongAcc - weakAcc) * span);
  const cptAt = (f: number) => {
    const target = weakAcc + f * (strongAcc - weakAcc);
    if (pts[0].y >= target) return pts[0].x;
    for (let i = 1; i < pts.length; i++) {
      if (pts[i].y >= target && pts[i - 1].y < target) return pts[i - 1].x + ((target - pts[i - 1].y) * (pts[i].x - pts[i - 1].x)) / (pts[i].y - pts[i - 1].y);
    }
    return pts[pts.length - 1].x;
  };
  return { apgr, cpt20: cptAt(0.2), cpt50: cptAt(0.5), cpt80: cptAt(0.8), points: pts.length };
}

describe("eval report", () => {
  it("APGR and CPT recomputed from decisions.jsonl match report.json (GSM8K, cross-validated tfidf-lr)", async () => {
    const { records } = importOutcomes("routellm", [sharedData("routing/routellm/gsm8k")]);
    const { report, decisions } = await runEval({ dataset: "gsm8k", records, strategy: "route", routerKind: "tfidf-lr", folds: 5, seed: 0 });
    const dir = mkdtempSync(join(tmpdir(), "tandem-eval-"));
    await writeReport(dir, report, decisions);
    const saved = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as EvalReport;
    const rows = readFileSync(join(dir, "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1307 * 11 * 3);
    const weakAcc = saved.weak!.accuracy;
    const strongAcc = saved.strong!.accuracy;
    expect(weakAcc).toBeCloseTo(0.6373, 4);
    for (const s of saved.strategies) {
      const r = recompute(rows, s.name, weakAcc, strongAcc);
      expect(r.points).toBe(11);
      expect(r.apgr).toBeCloseTo(s.metrics!.apgr, 10);
      expect(r.cpt20).toBeCloseTo(s.metrics!.cpt20, 10);
      expect(r.cpt50).toBeCloseTo(s.metrics!.cpt50, 10);
      expect(r.cpt80).toBeCloseTo(s.metrics!.cpt80, 10);
    }
    const byName = Object.fromEntries(saved.strategies.map((s) => [s.name, s.metrics!.apgr]));
    expect(byName.random).toBeGreaterThan(0.4);
    expect(byName.random).toBeLessThan(0.6);
    expect(byName.oracle).toBeGreaterThan(0.9);
    const svg = readFileSync(join(dir, "curve.svg"), "utf8");
    expect(svg).toContain("<svg");
    expect(svg).toContain("oracle");
    expect(readFileSync(join(dir, "report.md"), "utf8")).toContain("| strategy | APGR |");
  });

  it("multi-model setting reports AIQ of routers, the zero router and the oracle (RouterBench ARC-C)", async () => {
    const { records } = importOutcomes("routerbench", [sharedData("routing/routerbench")]);
    const models = Object.keys(records[0].outcomes);
    const { report } = await runEval({ dataset: "arc", records, strategy: "route", routerKind: "multi-knn", folds: 5, seed: 0, models });
    const aiqs = Object.fromEntries(report.strategies.map((s) => [s.name.split(" ")[0], s.aiq!]));
    expect(aiqs.oracle).toBeGreaterThan(aiqs.random);
    expect(aiqs["route:multi-knn"]).toBeGreaterThan(0.5);
    expect(aiqs.oracle).toBeLessThanOrEqual(1);
  });
});

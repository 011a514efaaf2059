/**
 * The report of `tandem eval`: DIR/decisions.jsonl (one {@link DecisionRow} per query and
 * operating point), DIR/report.json ({@link EvalReport}), DIR/report.md (tables) and
 * DIR/curve.svg (cost–quality curves) with DIR/curve.png beside it (the same figure rendered by
 * resvg, see {@link svgToPng}).
 */
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DecisionRow, ModelSummary, StrategyResult } from "./evaluate.js";
import type { MotResult } from "./mot-cascade.js";
import { renderSvgPlot, svgToPng } from "./svg-plot.js";

/** What report.json holds. */
export interface EvalReport {
  dataset: string;
  split?: string;
  n: number;
  /** "binary" (weak/strong: APGR, CPT), "multi" (N models: AIQ), or "mot" (MoT cascade). */
  setting: "binary" | "multi" | "mot";
  weak?: ModelSummary;
  strong?: ModelSummary;
  models?: ModelSummary[];
  strategies: StrategyResult[];
  /** Multi-model: the USD per query that normalises AIQ (the most expensive model alone). */
  aiqMaxCost?: number;
  mot?: Omit<MotResult, "decisions">;
  /** How the strategy was obtained (router file, cross-validation k and seed…). */
  settings: Record<string, unknown>;
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "–" : `${(x * 100).toFixed(2)} %`);
const num = (x: number | undefined, d = 3) => (x === undefined || Number.isNaN(x) ? "–" : x.toFixed(d));
const usd = (x: number) => `$${x.toPrecision(3)}`;

/** Markdown text of a report. */
export function reportMarkdown(r: EvalReport): string {
  const out: string[] = [`# Evaluation: ${r.dataset}${r.split ? ` (split ${r.split})` : ""}`, "", `n = ${r.n} queries; setting: ${r.setting}.`, ""];
  if (r.settings && Object.keys(r.settings).length) out.push(`Settings: \`${JSON.stringify(r.settings)}\``, "");
  if (r.weak && r.strong) {
    out.push(`Weak ${r.weak.model}: accuracy ${pct(r.weak.accuracy)}, ${usd(r.weak.cost)}/query. Strong ${r.strong.model}: accuracy ${pct(r.strong.accuracy)}, ${usd(r.strong.cost)}/query.`, "");
  }
  if (r.models) {
    out.push("| model | accuracy | USD / query |", "|---|---|---|");
    for (const m of r.models) out.push(`| ${m.model} | ${pct(m.accuracy)} | ${usd(m.cost)} |`);
    out.push("");
  }
  if (r.setting !== "multi") {
    out.push("| strategy | APGR | CPT(20 %) | CPT(50 %) | CPT(80 %) |", "|---|---|---|---|---|");
    for (const s of r.strategies) if (s.metrics) out.push(`| ${s.name} | ${num(s.metrics.apgr)} | ${pct(s.metrics.cpt20)} | ${pct(s.metrics.cpt50)} | ${pct(s.metrics.cpt80)} |`);
  } else {
    out.push(`AIQ normalised by ${usd(r.aiqMaxCost ?? 0)}/query.`, "", "| strategy | AIQ | best accuracy | its USD / query |", "|---|---|---|---|");
    for (const s of r.strategies) {
      const best = [...s.points].sort((a, b) => b.accuracy - a.accuracy || a.cost - b.cost)[0];
      out.push(`| ${s.name} | ${num(s.aiq, 4)} | ${pct(best?.accuracy)} | ${best ? usd(best.cost) : "–"} |`);
    }
  }
  out.push("");
  if (r.mot) {
    out.push(`MoT cascade (k = ${r.mot.k} CoT + ${r.mot.k} PoT samples; strong alone ${pct(r.mot.strongAlone.accuracy)} at ${usd(r.mot.strongAlone.cost)}/query):`, "", "| signal | threshold | accuracy | escalated | cost vs strong |", "|---|---|---|---|---|");
    for (const p of r.mot.vote) out.push(`| vote | ${p.threshold} | ${pct(p.accuracy)} | ${pct(p.strongShare)} | ${pct(p.relativeCost)} |`);
    out.push(`| verify | – | ${pct(r.mot.verify.accuracy)} | ${pct(r.mot.verify.strongShare)} | ${pct(r.mot.verify.relativeCost)} |`, "");
  }
  for (const s of r.strategies) {
    out.push(`## ${s.name}`, "", "| threshold | accuracy | strong share | USD / query |", "|---|---|---|---|");
    for (const p of s.points) out.push(`| ${num(p.threshold, 5)} | ${pct(p.accuracy)} | ${pct(p.strongShare)} | ${usd(p.cost)} |`);
    out.push("");
  }
  return out.join("\n");
}

/** The curve plot of a report: strong share (binary) or USD per query (multi) against accuracy. */
export function reportSvg(r: EvalReport): string {
  const multi = r.setting === "multi";
  return renderSvgPlot(
    r.strategies.map((s) => ({
      name: s.name,
      dashed: s.kind === "random" || s.kind === "oracle",
      points: s.points.map((p) => ({ x: multi ? p.cost : p.strongShare * 100, y: p.accuracy * 100 })),
    })),
    {
      title: `${r.dataset}: cost–quality`,
      xLabel: multi ? "USD per query" : r.setting === "mot" ? "escalated to strong (%)" : "strong model calls (%)",
      yLabel: "accuracy (%)",
      horizontal: r.weak && r.strong ? [{ y: r.weak.accuracy * 100, label: r.weak.model }, { y: r.strong.accuracy * 100, label: r.strong.model }] : [],
    },
  );
}

/**
 * Writes decisions.jsonl, report.json, report.md, curve.svg and curve.png (1280×840) into `dir`
 * (created). Resolves when written; rejects on a file-system error.
 */
export async function writeReport(dir: string, report: EvalReport, decisions: readonly DecisionRow[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const stream = createWriteStream(join(dir, "decisions.jsonl"));
    stream.on("error", reject);
    let chunk = "";
    for (const d of decisions) {
      chunk += JSON.stringify(d) + "\n";
      if (chunk.length > 1 << 20) {
        stream.write(chunk);
        chunk = "";
      }
    }
    stream.end(chunk, () => resolve());
  });
  writeFileSync(join(dir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  writeFileSync(join(dir, "report.md"), reportMarkdown(report));
  const svg = reportSvg(report);
  writeFileSync(join(dir, "curve.svg"), svg);
  writeFileSync(join(dir, "curve.png"), svgToPng(svg).png);
}

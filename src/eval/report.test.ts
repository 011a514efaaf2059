import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { importOutcomes } from "./importers.js";
import { reportSvg, writeReport, type EvalReport } from "./report.js";
import { runEval } from "./run-eval.js";
import { findPlotFont, svgToPng } from "./svg-plot.js";
import { sharedData } from "../../test/helpers.js";

/**
 * An independent PNG reader (the format's spec, not resvg): checks the signature and chunk
 * layout, inflates IDAT and undoes the five scanline filters. 8-bit RGBA or RGB only.
 */
function decodePng(buf: Buffer): { width: number; height: number; rgba: (x: number, y: number) => [number, number, number, number] } {
  expect([...buf.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  let off = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    types.push(type);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8); // bit depth
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels).toBeGreaterThan(0);
      expect(data[12]).toBe(0); // not interlaced
    } else if (type === "IDAT") idat.push(data);
    off += 12 + len;
  }
  expect(types[0]).toBe("IHDR");
  expect(types.at(-1)).toBe("IEND");
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  expect(raw.length).toBe(height * (stride + 1));
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    if (filter > 4) throw new Error(`bad PNG filter ${filter} on row ${y}`);
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? px[row + i - channels] : 0;
      const b = y > 0 ? px[row - stride + i] : 0;
      const c = i >= channels && y > 0 ? px[row - stride + i - channels] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[row + i] = (raw[src + i] + pred) & 0xff;
    }
  }
  return {
    width,
    height,
    rgba: (x, y) => {
      const i = y * stride + x * channels;
      return [px[i], px[i + 1], px[i + 2], channels === 4 ? px[i + 3] : 255];
    },
  };
}

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
    expect(decodePng(readFileSync(join(dir, "curve.png"))).width).toBe(1280);
  });

  it("curve.png beside curve.svg: a valid 1280×840 PNG with the curves, the axes and the text drawn", async () => {
    const line = (k: number) => Array.from({ length: 11 }, (_, i) => ({ threshold: i / 10, strongShare: i / 10, accuracy: 0.6 + k * 0.02 * i, cost: 0.001 * i }));
    const report: EvalReport = {
      dataset: "synthetic", n: 100, setting: "binary", settings: {},
      weak: { model: "weak", accuracy: 0.6, cost: 0 }, strong: { model: "strong", accuracy: 0.8, cost: 0.01 },
      strategies: [{ name: "route:knn", kind: "route", points: line(1) }, { name: "oracle", kind: "oracle", points: line(1.5) }],
    };
    const dir = mkdtempSync(join(tmpdir(), "tandem-png-"));
    await writeReport(dir, report, []);
    const png = decodePng(readFileSync(join(dir, "curve.png")));
    expect([png.width, png.height]).toEqual([1280, 840]);
    let white = 0, dark = 0, blue = 0, titleInk = 0, transparent = 0;
    for (let y = 0; y < png.height; y++) {
      for (let x = 0; x < png.width; x++) {
        const [r, g, b, a] = png.rgba(x, y);
        if (a !== 255) transparent++;
        if (r > 250 && g > 250 && b > 250) white++;
        if (r < 80 && g < 80 && b < 80) {
          dark++;
          if (y < 56) titleInk++; // above the plot area (top margin 36 px × 2): only the title's glyphs
        }
        if (Math.abs(r - 0x1f) < 24 && Math.abs(g - 0x77) < 24 && Math.abs(b - 0xb4) < 24) blue++; // the first series' colour
      }
    }
    const total = png.width * png.height;
    expect(transparent).toBe(0); // white background
    expect(white / total).toBeGreaterThan(0.7); // mostly background…
    expect(white / total).toBeLessThan(0.995); // …but not blank
    expect(dark).toBeGreaterThan(3000); // axes, ticks and labels
    expect(blue).toBeGreaterThan(500); // the route curve and its legend line
    // a font was found on this machine and the title was set in it (resvg draws no text without one)
    expect(findPlotFont(), "no sans-serif font: install fonts-dejavu-core or set TANDEM_PLOT_FONT").toBeDefined();
    expect(titleInk).toBeGreaterThan(400);
    // the same SVG with no font at all has no title ink: the check above can fail
    const svg = reportSvg(report);
    const noFont = decodePng(svgToPng(svg, { fontFile: "/nonexistent-font.ttf" }).png);
    let noFontInk = 0;
    for (let y = 0; y < 56; y++) for (let x = 0; x < noFont.width; x++) if (noFont.rgba(x, y)[0] < 80) noFontInk++;
    expect(noFontInk).toBe(0);
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

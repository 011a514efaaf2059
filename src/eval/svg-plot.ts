/**
 * A dependency-free SVG line plot of cost–quality curves (RouteLLM's "strong model calls (%)
 * vs. performance" figure, RouterBench's cost vs. quality figure), and its PNG rendering through
 * resvg (`@resvg/resvg-js`, a maintained Rust SVG renderer) with a font file found on the machine,
 * so the text renders offline and the same on every run.
 */
import { Resvg } from "@resvg/resvg-js";
import { existsSync } from "node:fs";

/** One curve: a name and its (x, y) points. */
export interface PlotSeries {
  name: string;
  points: Array<{ x: number; y: number }>;
  dashed?: boolean;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count)));
  const mult = [1, 2, 5, 10].find((m) => (hi - lo) / (step * m) <= count) ?? 10;
  const s = step * mult;
  const out: number[] = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-12; v += s) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Renders series as an SVG document (640×420) with axes, ticks, title and legend. */
export function renderSvgPlot(series: readonly PlotSeries[], options: { title: string; xLabel: string; yLabel: string; horizontal?: Array<{ y: number; label: string }> }): string {
  const W = 640;
  const H = 420;
  const m = { l: 64, r: 180, t: 36, b: 48 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = [...series.flatMap((s) => s.points.map((p) => p.y)), ...(options.horizontal ?? []).map((h) => h.y)];
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, 1e-12);
  const yPad = (Math.max(...ys) - Math.min(...ys)) * 0.05 || 0.01;
  const yMin = Math.min(...ys) - yPad;
  const yMax = Math.max(...ys) + yPad;
  const px = (x: number) => m.l + ((x - xMin) / (xMax - xMin || 1)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - yMin) / (yMax - yMin || 1)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${(W - m.r + m.l) / 2}" y="20" text-anchor="middle" font-size="13">${esc(options.title)}</text>`);
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  for (const t of niceTicks(xMin, xMax)) parts.push(`<line x1="${px(t)}" y1="${H - m.b}" x2="${px(t)}" y2="${H - m.b + 4}" stroke="black"/><text x="${px(t)}" y="${H - m.b + 16}" text-anchor="middle">${t}</text>`);
  for (const t of niceTicks(yMin, yMax)) parts.push(`<line x1="${m.l - 4}" y1="${py(t)}" x2="${m.l}" y2="${py(t)}" stroke="black"/><text x="${m.l - 6}" y="${py(t) + 4}" text-anchor="end">${t}</text><line x1="${m.l}" y1="${py(t)}" x2="${W - m.r}" y2="${py(t)}" stroke="#eee"/>`);
  parts.push(`<text x="${(W - m.r + m.l) / 2}" y="${H - 10}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(H - m.b + m.t) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`);
  let legendY = m.t + 6;
  for (const [i, h] of (options.horizontal ?? []).entries()) {
    parts.push(`<line x1="${m.l}" y1="${py(h.y)}" x2="${W - m.r}" y2="${py(h.y)}" stroke="#888" stroke-dasharray="2 3"/><text x="${W - m.r - 4}" y="${py(h.y) - 3}" text-anchor="end" fill="#666">${esc(h.label)}</text>`);
    void i;
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ""} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}"/>`);
    for (const p of pts) parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="2.2" fill="${color}"/>`);
    parts.push(`<line x1="${W - m.r + 10}" y1="${legendY}" x2="${W - m.r + 30}" y2="${legendY}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/><text x="${W - m.r + 34}" y="${legendY + 4}">${esc(s.name)}</text>`);
    legendY += 16;
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/**
 * Sans-serif font files tried, in order, for the PNG's text: DejaVu Sans and Liberation Sans
 * (Debian/Ubuntu, Fedora, Arch paths), then macOS and Windows Arial. `TANDEM_PLOT_FONT` (a .ttf/.otf
 * path) goes first when set.
 */
export const PLOT_FONT_CANDIDATES: readonly string[] = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
  "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
  "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
  "/System/Library/Fonts/Supplemental/Arial.ttf",
  "/Library/Fonts/Arial.ttf",
  "C:\\Windows\\Fonts\\arial.ttf",
];

/** The first existing font file of `TANDEM_PLOT_FONT` and {@link PLOT_FONT_CANDIDATES}, or undefined. */
export function findPlotFont(candidates: readonly string[] = PLOT_FONT_CANDIDATES, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return [env.TANDEM_PLOT_FONT, ...candidates].find((f): f is string => !!f && existsSync(f));
}

/** A PNG rendered from an SVG, and how its text was set. */
export interface PngRendering {
  /** The PNG file's bytes. */
  png: Buffer;
  /** Pixels. */
  width: number;
  height: number;
  /**
   * The font file the text was set in; "system" when none of the candidates exists and resvg
   * scanned the system's font folders instead (on a machine with no fonts at all the PNG then has
   * no text — the SVG beside it still does).
   */
  font: string;
}

/**
 * Renders an SVG document to PNG with resvg at `scale` × its own size (default 2: 1280×840 for
 * {@link renderSvgPlot}'s 640×420), on a white background. Only the font of {@link findPlotFont}
 * is loaded (pass `fontFile` to choose one) and every family falls back to it, so the machine's
 * font configuration does not change the picture. Throws resvg's error on an invalid SVG.
 */
export function svgToPng(svg: string, options: { scale?: number; fontFile?: string } = {}): PngRendering {
  const fontFile = options.fontFile ?? findPlotFont();
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    background: "white",
    font: fontFile
      ? { loadSystemFonts: false, fontFiles: [fontFile] } // the only face loaded: resvg falls back to it for every family
      : { loadSystemFonts: true },
    logLevel: "off",
  });
  const image = resvg.render();
  return { png: image.asPng(), width: image.width, height: image.height, font: fontFile ?? "system" };
}

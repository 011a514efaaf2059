/**
 * PII pattern cost (issues #10 and #16), two parts:
 *
 * 1. Speed on real text (issue #16: ≤ 1 ms of CPU per KB on one core): ms per KB (1,024 UTF-16
 *    units), median of 5, wall clock and process CPU time, on ~64 KB of presidio synthetic texts
 *    and of WikiANN dev sentences (the texts of bench/pii-tagger.ts), for: the pattern recognizers
 *    (a patterns-only detector, no normalisation), normalisation alone, the whole detector
 *    (normalisation + patterns + the shipped tagger), and each recognizer's `scan`. With
 *    `--baseline REV` the same figures for the pattern recognizers and normalisation of git
 *    revision REV are measured in the same run, interleaved run by run (REV's src/pii and src/core
 *    are extracted with `git archive` into out/pii-bench-baseline, which git ignores; nothing in the checkout changes),
 *    so the before/after ratio is measured on the same machine under the same load. The "whole
 *    detector" baseline is REV's patterns and normalisation around today's tagger.
 * 2. Time bounds (issue #10): each recognizer's `find` on adversarial texts of 8k, 32k, 128k and
 *    1M characters ("a.", "x", "1." and random "a.@-x1"), in ms (median of 3). Phone numbers on
 *    digit-dense text are measured up to 128k only (≈ 50 µs/char: 1M ≈ 1 min). Skipped with
 *    `--speed-only` (the previous file's figures are kept).
 *
 * 3. With `--baseline REV --compare-spans`: the spans REV's pattern recognizers and today's find, compared text by
 *    text (each recognizer's `find`; its `scan` as the best score per range, which is all any caller
 *    keeps; `findPatternSpans`; and a patterns-only detector with normalisation) on all 1,500 presidio
 *    synthetic texts, the WikiANN, BTC, WNUT-17 and CoNLL-2003 dev texts, the 6,266 harmless
 *    instructions, 6,000 faker texts dense in phone/card/IBAN/e-mail/URL values in many locales, those
 *    joined into one text (windows), and adversarial repeats. Written as `spanRegression`.
 *
 * Run: npx tsx bench/pii-patterns.ts [--baseline 2b842c0 [--compare-spans]] [--speed-only]  → bench/results/pii-patterns.json
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as F from "@faker-js/faker";
import { DEFAULT_RECOGNIZERS, findPatternSpans, type PatternRecognizer } from "../src/pii/patterns.js";
import { normalizePieces } from "../src/pii/normalizing-detector.js";
import { createDetector, detectorWithTagger, loadTagger } from "../src/pii/detector.js";
import { defaultPrivacyDatasetPath, loadPiiDataset } from "../src/pii/dataset.js";
import type { PiiDetector, PiiSpan } from "../src/pii/types.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const baselineRev = args.includes("--baseline") ? args[args.indexOf("--baseline") + 1] : undefined;
const speedOnly = args.includes("--speed-only");
const compareSpans = args.includes("--compare-spans");
const outFile = path.join(root, "bench/results/pii-patterns.json");
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** REV's pattern recognizers and normalisation, from a `git archive` of src/pii and src/core. */
async function loadBaseline(rev: string) {
  const dir = path.join(root, "out/pii-bench-baseline", rev.replace(/[^\w.-]/g, "_"));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const tar = execFileSync("git", ["archive", rev, "src/pii", "src/core"], { cwd: root, maxBuffer: 256 << 20 });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  const patterns = (await import(pathToFileURL(path.join(dir, "src/pii/patterns.ts")).href)) as { DEFAULT_RECOGNIZERS: readonly PatternRecognizer[] };
  const norm = (await import(pathToFileURL(path.join(dir, "src/core/normalize.ts")).href)) as { normalize(text: string): unknown };
  const wrap = (await import(pathToFileURL(path.join(dir, "src/pii/normalizing-detector.ts")).href)) as { normalizingDetector(inner: PiiDetector): PiiDetector };
  const patternSpans = (patterns as unknown as { findPatternSpans(text: string): PiiSpan[] }).findPatternSpans;
  return { recognizers: patterns.DEFAULT_RECOGNIZERS, findPatternSpans: patternSpans, normalize: norm.normalize, normalizingDetector: wrap.normalizingDetector };
}

/** CPU and wall time of one call, ms. */
async function timed(f: () => unknown): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/** Runs every entry of `runs` on `text` 5 times, interleaved (one round = each entry once); median ms per KB. */
async function msPerKb(runs: Record<string, (t: string) => unknown>, text: string): Promise<Record<string, { wall: number; cpu: number }>> {
  const samples: Record<string, { wall: number[]; cpu: number[] }> = {};
  for (const k of Object.keys(runs)) {
    samples[k] = { wall: [], cpu: [] };
    await runs[k](text); // warm-up
  }
  for (let round = 0; round < 5; round++) {
    for (const [k, f] of Object.entries(runs)) {
      const t = await timed(() => f(text));
      samples[k].wall.push(t.wall);
      samples[k].cpu.push(t.cpu);
    }
  }
  const kb = text.length / 1024;
  const median = (x: number[]) => r4(x.sort((a, b) => a - b)[2] / kb);
  return Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, { wall: median(s.wall), cpu: median(s.cpu) }]));
}

async function speed() {
  const tagger = loadTagger();
  const presidio = loadPiiDataset(defaultPrivacyDatasetPath());
  const wikiann = loadPiiDataset(path.resolve(root, "../shared/data/privacy/wikiann_en/dev.json"));
  const texts = {
    presidio: presidio.map((e) => e.text).join("\n").slice(0, 65_536),
    wikiann: wikiann.map((e) => e.text).join("\n").slice(0, 65_536),
  };
  const patternsOnly = createDetector({ tagger: false, normalize: false });
  const detector = createDetector({ tagger });
  const runs: Record<string, (t: string) => unknown> = {
    patterns: (t) => patternsOnly.detect(t),
    normalize: (t) => normalizePieces(t),
    detector: (t) => detector.detect(t),
  };
  let baseline: Awaited<ReturnType<typeof loadBaseline>> | undefined;
  if (baselineRev) {
    baseline = await loadBaseline(baselineRev);
    const b = baseline;
    const oldPatterns = detectorWithTagger(undefined, { patterns: b.recognizers, normalize: false });
    const oldDetector = b.normalizingDetector(detectorWithTagger(tagger, { patterns: b.recognizers, normalize: false }));
    Object.assign(runs, {
      patternsBaseline: (t: string) => oldPatterns.detect(t),
      normalizeBaseline: (t: string) => b.normalize(t),
      detectorBaseline: (t: string) => oldDetector.detect(t),
    });
  }
  const out: Record<string, unknown> = {
    unit: "ms per KB (1,024 UTF-16 code units), median of 5 interleaved runs, one core: wall clock and process CPU time",
    texts: "presidio: presidio_synth_dataset_v2 texts joined by newlines, first 65,536 units; wikiann: WikiANN en dev sentences, same",
    note: "patterns: pattern recognizers only (no normalisation, no tagger); normalize: normalisation alone; detector: normalisation + patterns + the shipped tagger" + (baselineRev ? `; *Baseline: git revision ${baselineRev}'s patterns and normalisation (with today's tagger for detectorBaseline), same run` : ""),
    ...(baselineRev ? { baseline: baselineRev } : {}),
  };
  for (const [set, text] of Object.entries(texts)) {
    const m = await msPerKb(runs, text);
    const row: Record<string, number> = {};
    for (const [k, v] of Object.entries(m)) {
      row[k] = v.wall;
      row[k + "Cpu"] = v.cpu;
    }
    // Where the pattern time goes: each recognizer's scan, CPU ms per KB (median of 5).
    const per: Record<string, number> = {};
    for (const r of DEFAULT_RECOGNIZERS) {
      const cpu: number[] = [];
      for (let i = 0; i < 5; i++) cpu.push((await timed(() => [...(r.scan ? r.scan(text) : [r.find(text)])])).cpu);
      per[r.type] = r4(cpu.sort((a, b) => a - b)[2] / (text.length / 1024));
    }
    out[set] = { ...row, byRecognizerCpu: per };
    console.log(set, JSON.stringify(out[set]));
  }
  return out;
}

function timeBounds() {
  const repeat = (u: string, n: number) => u.repeat(Math.ceil(n / u.length)).slice(0, n);
  let seed = 7;
  const random = (n: number, abc: string) => Array.from({ length: n }, () => abc[((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % abc.length]).join("");
  const inputs: Record<string, (n: number) => string> = { "a.": (n) => repeat("a.", n), x: (n) => repeat("x", n), "1.": (n) => repeat("1.", n), "random a.@-x1": (n) => random(n, "a.@-x1") };
  const sizes = [8_192, 32_768, 131_072, 1_048_576];
  const median = (f: () => unknown) => {
    const t: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      f();
      t.push(performance.now() - t0);
    }
    return Math.round(t.sort((a, b) => a - b)[1] * 10) / 10;
  };
  const results: Record<string, Record<string, Record<string, number | null>>> = {};
  const tagger = loadTagger();
  for (const r of [...DEFAULT_RECOGNIZERS.map((x) => ({ name: x.type, find: (t: string) => x.find(t) })), { name: "tagger", find: (t: string) => tagger.tag(t) }]) {
    results[r.name] = {};
    for (const [k, g] of Object.entries(inputs)) {
      results[r.name][k] = {};
      for (const n of sizes) {
        const slow = (r.name === "PHONE_NUMBER" && /1/.test(k)) || r.name === "tagger";
        const text = g(n);
        results[r.name][k][n] = slow && n > 131_072 ? null : median(() => r.find(text));
      }
    }
    console.log(r.name, JSON.stringify(results[r.name]));
  }
  return { date: new Date().toISOString(), unit: "ms (median of 3)", sizes, note: "null: not measured (too slow by design, see docstring)", results };
}

/** The regression sets of `--compare-spans` (see the module docs). */
function regressionSets(): Record<string, string[]> {
  const data = path.resolve(root, "../shared/data");
  const rows = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, string>>;
  const sets: Record<string, string[]> = { presidio: rows(defaultPrivacyDatasetPath()).map((r) => r.full_text) };
  for (const s of ["wikiann_en", "btc", "wnut17", "conll2003"]) sets[s] = rows(path.join(data, "privacy", s, "dev.json")).map((r) => r.full_text);
  sets.harmless = rows(path.join(data, "safety/harmless_instructions.json")).map((r) => r.instruction);
  const locales = Object.entries(F).filter(([k]) => /^faker[A-Z]/.test(k) && k !== "fakerBASE").map(([, v]) => v as F.Faker);
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
  const ctx = ["Call me at", "phone:", "my number is", "tel.", "Fax", "passport number", "account", "order", "on", "ref", "ssn", "card", "driver's license", "NHS", "NPI", "routing", "", "", ""];
  const synthetic: string[] = [];
  for (let i = 0; i < 4_000; i++) {
    const f = pick(locales);
    f.seed(i);
    const parts: string[] = [];
    for (let j = 1 + Math.floor(rnd() * 4); j > 0; j--) {
      const kind = Math.floor(rnd() * 10);
      let v: string;
      try {
        if (kind < 4) v = f.phone.number();
        else if (kind === 4) v = f.phone.number({ style: "international" });
        else if (kind === 5) v = f.phone.number({ style: "national" });
        else if (kind === 6) v = f.finance.creditCardNumber();
        else if (kind === 7) v = `${f.internet.email()} ${f.internet.url()} ${f.internet.ip()}`;
        else if (kind === 8) v = `${f.date.past().toISOString().slice(0, 10)} ${f.string.numeric({ length: Math.floor(rnd() * 15) + 5 })}`;
        else v = `${f.finance.iban()} ${f.finance.accountNumber()} ${f.location.zipCode()}`;
      } catch {
        v = f.string.numeric(10);
      }
      parts.push(`${pick(ctx)} ${v}${pick([".", ",", "", ` x${Math.floor(rnd() * 999)}`, ")", ";"])}`);
    }
    synthetic.push(parts.join(" "));
  }
  const abc = "0123456789 +()-./x\u00a0a";
  for (let i = 0; i < 2_000; i++) {
    let s = "";
    for (let k = 5 + Math.floor(rnd() * 60); k > 0; k--) s += abc[Math.floor(rnd() * (rnd() < 0.6 ? 10 : abc.length))];
    synthetic.push(`${pick(ctx)} ${s}`);
  }
  sets.synthetic = synthetic;
  sets.syntheticJoined = [synthetic.join(" ")];
  sets.presidioJoined = [sets.presidio.join("\n")];
  const rep = (u: string, n: number) => u.repeat(Math.ceil(n / u.length)).slice(0, n);
  sets.adversarial = ["a.", "x", "1.", "1 ", "+1 ", "12-", "a@b.", "(1) ", "1234567 ", "+44 20 7946 0958 "].map((u) => rep(u, 5_000));
  return sets;
}

/** Spans of REV vs today on {@link regressionSets}: counts per set, and the first differences. */
async function spanRegression(rev: string) {
  const b = await loadBaseline(rev);
  const key = (s: PiiSpan) => `${s.start}:${s.end}:${s.type}:${s.score}:${s.text}`;
  // `scan` may repeat a range with a lower score (overlapping windows, other regions); callers keep the best per range.
  const bestOfScan = (batches: Iterable<PiiSpan[]>) => {
    const best = new Map<string, number>();
    for (const batch of batches) for (const s of batch) best.set(`${s.start}:${s.end}:${s.type}:${s.text}`, Math.max(best.get(`${s.start}:${s.end}:${s.type}:${s.text}`) ?? -1, s.score));
    return [...best].map(([k, v]) => `${k}@${v}`).sort();
  };
  const views = (recognizers: readonly PatternRecognizer[], resolve: (t: string) => PiiSpan[], detector: PiiDetector) => async (t: string) => {
    const out: Record<string, string[]> = {};
    for (const r of recognizers) {
      out[`find ${r.type}`] = r.find(t).map(key).sort();
      out[`scan ${r.type}`] = bestOfScan(r.scan ? r.scan(t) : [r.find(t)]);
    }
    out.findPatternSpans = resolve(t).map(key);
    out.detect = (await detector.detect(t)).map(key);
    return out;
  };
  const now = views(DEFAULT_RECOGNIZERS, (t) => findPatternSpans(t), createDetector({ tagger: false, minScore: 0 }));
  const before = views(b.recognizers, (t) => b.findPatternSpans(t), b.normalizingDetector(detectorWithTagger(undefined, { patterns: b.recognizers, minScore: 0, normalize: false })));
  const result: Record<string, { texts: number; spans: number; differingTexts: number }> = {};
  const examples: string[] = [];
  for (const [set, texts] of Object.entries(regressionSets())) {
    let spans = 0;
    let differing = 0;
    for (const t of texts) {
      const [x, y] = [await before(t), await now(t)];
      spans += x.findPatternSpans.length;
      const diff = Object.keys(x).filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
      if (diff.length) {
        differing++;
        if (examples.length < 10) examples.push(`${set} ${JSON.stringify(t.slice(0, 80))} ${diff[0]}: before ${JSON.stringify(x[diff[0]].filter((s) => !y[diff[0]].includes(s)).slice(0, 3))} now ${JSON.stringify(y[diff[0]].filter((s) => !x[diff[0]].includes(s)).slice(0, 3))}`);
      }
    }
    result[set] = { texts: texts.length, spans, differingTexts: differing };
    console.log("spans", set, JSON.stringify(result[set]));
  }
  for (const e of examples) console.log("  differs:", e);
  return { baseline: rev, note: "spans: findPatternSpans spans of the baseline; differingTexts: texts where any view (each recognizer's find, its scan's best score per range, findPatternSpans, the patterns-only detector with normalisation) differs", identical: Object.values(result).every((r) => r.differingTexts === 0), sets: result, examples };
}

async function main() {
  const previous = fs.existsSync(outFile) ? (JSON.parse(fs.readFileSync(outFile, "utf8")) as Record<string, unknown>) : {};
  const regression = baselineRev && compareSpans ? await spanRegression(baselineRev) : previous.spanRegression;
  const speedResults = await speed();
  const bounds = speedOnly ? (previous.timeBounds ?? (previous.results ? { date: previous.date, unit: previous.unit, sizes: previous.sizes, note: previous.note, results: previous.results } : undefined)) : timeBounds();
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify({ generatedAt: new Date().toISOString(), machine: `${process.platform} ${process.arch}, node ${process.version}`, speed: speedResults, timeBounds: bounds, ...(regression ? { spanRegression: regression } : {}) }, null, 2) + "\n");
}

await main();

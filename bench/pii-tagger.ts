/**
 * PII detector quality on text the tagger was not trained on, and its speed (issue #16).
 *
 * Sets (all held out of the shipped model's training):
 * - presidio synthetic, by example (seed 42, 20 %: the shipped model's held-out split) and by
 *   template (whole templates held out: a tagger trained on the other templates, texts
 *   synthesized from those templates only (`src/pii/synthesize.ts`) and the same real corpora,
 *   not written to disk);
 * - real news: CoNLL-2003 dev (research-use only — evaluated on, never trained on) and WikiANN dev;
 * - social media: BTC dev and WNUT-17 dev.
 * Scores use the entity taxonomy of src/pii/metrics.ts (gold LOCATION ↔ GPE/STREET_ADDRESS/ZIP_CODE).
 * On the real corpora, which annotate only persons, organisations and locations, precision is
 * computed over predictions of those families only (a date the detector finds there is not wrong,
 * just unannotated); recall always counts every prediction.
 * False positives: share of 500 held-out harmless instructions with at least one span.
 * Speed: ms per KB (1,024 UTF-16 units) of text, one core, median of 5 (wall clock, and CPU time
 * of the process, which a busy machine inflates less), on ~64 KB of presidio texts and of WikiANN
 * sentences: the tagger alone (hashed path, and the reference string-feature path it replaced,
 * in the same run), the patterns alone, the whole detector (normalisation + patterns + tagger),
 * and the peer below.
 *
 * Peer: compromise (https://github.com/spencermountain/compromise, rule-based English NLP, its
 * `.people()`, `.places()`, `.organizations()`), behind the same pattern recognizers
 * (`patterns + compromise`), scored on the same sets — what a user would otherwise reach for.
 * `--skip-compromise` leaves it out.
 *
 * Country names are left out by default (`reportCountries: false`); `--report-countries` scores the
 * detector that reports them too (the corpora annotate them), into pii-tagger-countries.json.
 *
 * `--skip-template` skips the by-template retraining (minutes) and carries the by-template row of
 * the previous results file over, marked with its date, when that run scored the same model file.
 *
 * Run: npx tsx bench/pii-tagger.ts [--skip-template] [--skip-compromise] [--report-countries] [--tagger file]  → bench/results/pii-tagger.json
 */
import fs from "node:fs";
import nlp from "compromise";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createDetector, defaultTaggerPath, loadTagger } from "../src/pii/detector.js";
import { defaultPrivacyDatasetPath, loadPiiDataset, splitByGroup, type PiiExample } from "../src/pii/dataset.js";
import { defaultNegativesPath, falsePositiveRate, loadNegatives, trainPrivacyTagger } from "../src/pii/train.js";
import { entityFamily, scoreSpans, type SpanReport } from "../src/pii/metrics.js";
import type { PiiDetector, PiiSpan } from "../src/pii/types.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const data = path.resolve(root, "../shared/data/privacy");
const args = process.argv.slice(2);
const taggerFile = args.includes("--tagger") ? path.resolve(args[args.indexOf("--tagger") + 1]) : defaultTaggerPath();
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

function summary(all: SpanReport, annotated: SpanReport | undefined) {
  const o = all.overlap;
  const p = annotated ?? all;
  const pick = (t: string) => (o[t] ? { overlapRecall: r4(o[t].recall), exactRecall: r4(all.exact[t].recall), overlapPrecision: r4(p.overlap[t]?.precision ?? 0), support: o[t].support } : undefined);
  return {
    examples: all.examples,
    anyTypeCharRecall: r4(all.anyTypeCharRecall),
    anyTypeCharPrecision: r4(p.anyTypeCharPrecision),
    overlapMicro: { precision: r4(p.overlap.ALL.precision), recall: r4(o.ALL.recall), f1: r4(o.ALL.f1) },
    exactMicro: { precision: r4(p.exact.ALL.precision), recall: r4(all.exact.ALL.recall), f1: r4(all.exact.ALL.f1) },
    PERSON: pick("PERSON"),
    ORGANIZATION: pick("ORGANIZATION"),
    GPE: pick("GPE"),
    byType: annotated ? undefined : Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { overlapP: r4(v.precision), overlapR: r4(v.recall), exactF1: r4(all.exact[k].f1), support: v.support }])),
  };
}

async function evaluate(detector: PiiDetector, examples: readonly PiiExample[], annotatedOnly: boolean) {
  const pairs = [];
  for (const e of examples) pairs.push({ gold: e.spans, predicted: await detector.detect(e.text) });
  const all = scoreSpans(pairs);
  const keep = new Set(["PERSON", "ORGANIZATION", "LOCATION"]);
  const annotated = annotatedOnly ? scoreSpans(pairs.map((p) => ({ gold: p.gold, predicted: p.predicted.filter((s) => keep.has(entityFamily(s.type))) }))) : undefined;
  return summary(all, annotated);
}

/** Median of 5 runs of `f(text)`, in ms per KB: wall clock and process CPU time. */
async function msPerKb(f: (t: string) => unknown, text: string): Promise<{ wall: number; cpu: number }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < 5; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await f(text);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const kb = text.length / 1024;
  const median = (x: number[]) => r4(x.sort((a, b) => a - b)[2] / kb);
  return { wall: median(wall), cpu: median(cpu) };
}

const SPAN_EDGE = /[^\p{L}\p{N}]/u;

/** compromise's people, places and organisations as spans (trailing punctuation trimmed). */
const compromiseDetector: PiiDetector = {
  name: "compromise",
  async detect(text: string): Promise<PiiSpan[]> {
    const doc = nlp(text);
    const out: PiiSpan[] = [];
    for (const [type, view] of [["PERSON", doc.people()], ["GPE", doc.places()], ["ORGANIZATION", doc.organizations()]] as const) {
      for (const m of view.json({ offset: true }) as Array<{ offset: { start: number; length: number } }>) {
        let start = m.offset.start;
        let end = start + m.offset.length;
        while (end > start && SPAN_EDGE.test(text[end - 1])) end--;
        while (start < end && SPAN_EDGE.test(text[start])) start++;
        if (end > start) out.push({ start, end, type, text: text.slice(start, end), score: 0.9, source: "tagger" }); // SpanSource has no "peer"; the bench only scores spans
      }
    }
    return out;
  },
};

async function main() {
  const tagger = loadTagger(taggerFile);
  const reportCountries = args.includes("--report-countries");
  const detector = createDetector({ tagger, reportCountries });
  const presidio = loadPiiDataset(defaultPrivacyDatasetPath());
  const sets: Record<string, { examples: PiiExample[]; annotatedOnly: boolean; note: string }> = {
    presidioByExample: { examples: splitByGroup(presidio, { by: "example", seed: 42 }).test, annotatedOnly: false, note: "presidio synthetic v2, held-out 20 % by example (seed 42)" },
    conll2003Dev: { examples: loadPiiDataset(path.join(data, "conll2003/dev.json")), annotatedOnly: true, note: "real news, CoNLL-2003 eng.testa (research use only: evaluation, not training)" },
    wikiannDev: { examples: loadPiiDataset(path.join(data, "wikiann_en/dev.json")), annotatedOnly: true, note: "Wikipedia, WikiANN dev (5,000 of 10,000; silver labels)" },
    btcDev: { examples: loadPiiDataset(path.join(data, "btc/dev.json")), annotatedOnly: true, note: "social media, Broad Twitter Corpus section h" },
    wnut17Dev: { examples: loadPiiDataset(path.join(data, "wnut17/dev.json")), annotatedOnly: true, note: "social media, WNUT-17 dev" },
  };
  const results: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(sets)) {
    results[name] = { note: s.note, ...(await evaluate(detector, s.examples, s.annotatedOnly)) };
    console.log(name, JSON.stringify(results[name]).slice(0, 400));
  }
  const withCompromise = !args.includes("--skip-compromise");
  const peerDetector = createDetector({ tagger: false, reportCountries, extra: [compromiseDetector] });
  const peer: Record<string, unknown> = {};
  if (withCompromise) {
    for (const [name, s] of Object.entries(sets)) {
      peer[name] = await evaluate(peerDetector, s.examples, s.annotatedOnly);
      console.log("patterns+compromise", name, JSON.stringify(peer[name]).slice(0, 300));
    }
  }
  if (!args.includes("--skip-template")) {
    const run = await trainPrivacyTagger({ out: null, by: "template", seed: 42, epochs: 5 });
    const test = splitByGroup(presidio, { by: "template", seed: 42 }).test;
    const heldOut = new Set(test.map((e) => String(e.group)));
    const synthesizedTemplates = new Set(run.synthesized.map((e) => String(e.group)));
    if ([...synthesizedTemplates].some((g) => heldOut.has(g))) throw new Error("a held-out template was synthesized");
    results.presidioByTemplate = {
      note: "presidio synthetic v2, 20 % of templates held out (seed 42); tagger trained on the rest + texts synthesized from the training templates only + the real corpora (as shipped: 5 epochs), not written",
      trainMs: Math.round(run.trainMs),
      synthesized: { texts: run.synthesized.length, templates: synthesizedTemplates.size, heldOutTemplates: heldOut.size, heldOutTemplatesSynthesized: 0 },
      ...(await evaluate(createDetector({ tagger: run.tagger }), test, false)),
    };
    console.log("presidioByTemplate", JSON.stringify(results.presidioByTemplate).slice(0, 400));
    if (withCompromise) peer.presidioByTemplate = await evaluate(peerDetector, test, false);
  }
  const negatives = loadNegatives(defaultNegativesPath(), 42).test.slice(0, 500);
  const fp = await falsePositiveRate(detector, negatives);
  const peerFp = async () => {
    const r = await falsePositiveRate(peerDetector, negatives);
    return { prompts: r.prompts, flaggedShare: r4(r.flaggedShare), spansPerPrompt: r4(r.spansPerPrompt), byType: r.byType };
  };
  const presidioText = presidio.map((e) => e.text).join("\n").slice(0, 65_536);
  const wikiText = sets.wikiannDev.examples.map((e) => e.text).join("\n").slice(0, 65_536);
  const patternsOnly = createDetector({ tagger: false, normalize: false });
  const runs: Record<string, (t: string) => unknown> = {
    tagger: (t) => tagger.tag(t),
    taggerReference: (t) => tagger.tag(t, { reference: true }),
    patterns: (t) => patternsOnly.detect(t),
    detector: (t) => detector.detect(t),
    ...(withCompromise ? { compromise: (t: string) => compromiseDetector.detect(t) } : {}),
  };
  const speed: Record<string, unknown> = {
    unit: "ms per KB (1,024 UTF-16 code units), median of 5, one core: wall clock and process CPU time",
    note: "tagger: hashed features (src/pii/feature-hash.ts); taggerReference: the string-feature Map path it replaced (same labels), same run; patterns: pattern recognizers only; detector: normalisation + patterns + tagger",
  };
  for (const [k, f] of Object.entries(runs)) {
    for (const [set, text] of [["Presidio", presidioText], ["Wikiann", wikiText]] as const) {
      const m = await msPerKb(f, text);
      speed[k + set] = m.wall;
      speed[k + set + "Cpu"] = m.cpu;
    }
  }
  const file = JSON.parse(fs.readFileSync(taggerFile, "utf8")) as { version: number; provenance: unknown; weights: object };
  const out = {
    generatedAt: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    model: { file: path.relative(root, taggerFile), bytes: fs.statSync(taggerFile).size, featureSet: file.version, features: Object.keys(file.weights).length, provenance: file.provenance },
    scoring: "overlap = compatible type (taxonomy: LOCATION ↔ GPE/STREET_ADDRESS/ZIP_CODE, PER ↔ PERSON, ORG ↔ ORGANIZATION) and any character overlap; exact = same offsets",
    results,
    ...(withCompromise ? { peer: { name: "patterns + compromise " + (JSON.parse(fs.readFileSync(path.join(root, "node_modules/compromise/package.json"), "utf8")) as { version: string }).version + " (.people/.places/.organizations)", results: peer, falsePositivesOnOrdinaryPrompts: await peerFp() } } : {}),
    falsePositivesOnOrdinaryPrompts: { prompts: fp.prompts, flaggedShare: r4(fp.flaggedShare), spansPerPrompt: r4(fp.spansPerPrompt), byType: fp.byType },
    speed,
  };
  fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
  const outFile = reportCountries ? "bench/results/pii-tagger-countries.json" : "bench/results/pii-tagger.json";
  if (args.includes("--skip-template") && fs.existsSync(path.join(root, outFile))) {
    type Previous = { generatedAt: string; model: { bytes: number; features: number }; results: Record<string, unknown>; peer?: { results: Record<string, unknown> } };
    const previous = JSON.parse(fs.readFileSync(path.join(root, outFile), "utf8")) as Previous;
    if (previous.model.bytes === out.model.bytes && previous.model.features === out.model.features && previous.results.presidioByTemplate) {
      results.presidioByTemplate = { ...(previous.results.presidioByTemplate as object), carriedOverFrom: previous.generatedAt };
      if (previous.peer?.results.presidioByTemplate && "peer" in out) (out.peer as { results: Record<string, unknown> }).results.presidioByTemplate = previous.peer.results.presidioByTemplate;
    }
  }
  fs.writeFileSync(path.join(root, outFile), JSON.stringify({ reportCountries, ...out }, null, 2) + "\n");
  console.log("flagged ordinary prompts", fp.flaggedShare, "speed", JSON.stringify(speed));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

import { describe, expect, it } from "vitest";
import path from "node:path";
import fs from "node:fs";
import { repoRoot } from "../core/files.js";
import { defaultPrivacyDatasetPath, loadPiiDataset, splitByGroup } from "./dataset.js";
import { defaultTaggerPath, loadTagger } from "./detector.js";
import { buildHashedWeights, hashString } from "./feature-hash.js";
import { PerceptronTagger, type TaggerFile } from "./tagger.js";
import { tokenize } from "./tokenize.js";

const data = path.resolve(repoRoot(), "../shared/data/privacy");

/** Labels identical, scores equal to 1e-9 (exact integer sums vs the reference's float sums). */
function expectSameTags(tagger: PerceptronTagger, text: string): void {
  const tokens = tokenize(text);
  const fast = tagger.tagTokens(tokens);
  const ref = tagger.tagTokens(tokens, { reference: true });
  expect(fast.labels, text.slice(0, 80)).toEqual(ref.labels);
  fast.scores.forEach((s, i) => expect(Math.abs(s - ref.scores[i]), text.slice(0, 80)).toBeLessThan(1e-9));
}

const ODD = [
  "", "   ", "a", "|", "||| a|b |", "= == w=x pw|w=|", "\u0000 x\u0000y",
  "Supercalifragilisticexpialidociousandthensomemorelettersuntilitislong Smith went home.",
  "Ünïcödé Çafé in Zürich; Пётр Ильич Чайковский родился в Воткинске. 北京市 李小龙 😀😀 𝐀𝐁𝐂 mathbold.",
  "Call 1234 or 12345, year 1999, ½ ⅓ Ⅻ ٣٤٥٦ digits; İstanbul ǅemal ﬁne ß.",
  "\ud800 lone \udfff surrogates \ud83d",
  "Line one\nJohn\n\nSmith\r\nlives at 12 Baker St.\n",
  "x".repeat(300) + " " + "X".repeat(50) + "y" + " " + "Ab".repeat(40) + " é".repeat(10),
];

describe("hashed scoring path of the PII tagger (feature-hash.ts)", () => {
  const tagger = loadTagger();

  it("gives the reference path's labels and scores on real held-out sentences", () => {
    const presidio = splitByGroup(loadPiiDataset(defaultPrivacyDatasetPath())).test;
    const wiki = loadPiiDataset(path.join(data, "wikiann_en/dev.json")).slice(0, 300);
    const btc = loadPiiDataset(path.join(data, "btc/dev.json")).slice(0, 200);
    const wnut = loadPiiDataset(path.join(data, "wnut17/dev.json")).slice(0, 200);
    let entities = 0;
    for (const e of [...presidio, ...wiki, ...btc, ...wnut]) {
      expectSameTags(tagger, e.text);
      entities += tagger.tag(e.text).length;
    }
    expect(entities).toBeGreaterThan(500); // the comparison covered texts with many entities
  });

  it("gives the reference path's labels on odd texts (long words, non-ASCII, separators in tokens)", () => {
    for (const text of ODD) expectSameTags(tagger, text);
  });

  it("gives the same spans across step boundaries as the reference", () => {
    const text = splitByGroup(loadPiiDataset(defaultPrivacyDatasetPath())).test.slice(0, 40).map((e) => e.text).join("\n");
    const strip = (spans: ReturnType<PerceptronTagger["tag"]>) => spans.map((s) => `${s.start}-${s.end}:${s.type}:${s.score.toFixed(9)}`);
    const ref = strip(tagger.tag(text, { reference: true }));
    expect(ref.length).toBeGreaterThan(40);
    expect(strip(tagger.tag(text))).toEqual(ref);
    expect(strip([...tagger.tagSteps(text, 7)].flat())).toEqual(ref);
    expect(strip([...tagger.tagSteps(text, 7, { reference: true })].flat())).toEqual(ref);
  });

  it("finds every feature of the model in its table under the string's own hash", () => {
    const file = JSON.parse(fs.readFileSync(defaultTaggerPath(), "utf8")) as TaggerFile;
    const rows = new Map(Object.entries(file.weights).map(([f, packed]) => {
      const pairs = packed.split(",").map((p) => p.split(":").map(Number));
      return [f, { k: Uint16Array.from(pairs, (p) => p[0]), v: Float64Array.from(pairs, (p) => p[1]) }];
    }));
    const t = buildHashedWeights(rows, file.labels)!;
    expect(t).toBeDefined();
    let found = 0;
    for (const f of rows.keys()) {
      const [h1, , h2] = hashString(f);
      for (let s = 0; s < t.slots.length; s += 4) if (t.slots[s] === h1 && t.slots[s + 1] === h2) { found++; break; }
      if (found > 200) break;
    }
    expect(found).toBe(201);
    // A weight the table cannot hold exactly (not a multiple of 1e-3): no table, the reference path serves.
    expect(buildHashedWeights(new Map([["w=x", { k: Uint16Array.of(1), v: Float64Array.of(0.0005) }]]), ["O", "B-PERSON"])).toBeUndefined();
  });

  it("serves freshly trained and version-1 models, and falls back to the reference path for a model the table cannot hold", () => {
    const { train } = splitByGroup(loadPiiDataset(defaultPrivacyDatasetPath()));
    const { file } = PerceptronTagger.train(train.slice(0, 120), { epochs: 2, seed: 5 });
    const odd: TaggerFile = { ...file, weights: { ...file.weights, "w=zzqx": "1:0.0005" } };
    const a = PerceptronTagger.fromJSON(file);
    const b = PerceptronTagger.fromJSON(odd);
    const v1 = PerceptronTagger.train(train.slice(0, 120), { epochs: 2, seed: 5, version: 1 }).tagger;
    for (const e of train.slice(200, 230)) {
      expectSameTags(a, e.text);
      expectSameTags(v1, e.text);
      expect(b.tagTokens(tokenize(e.text)).labels).toEqual(a.tagTokens(tokenize(e.text), { reference: true }).labels);
    }
  });

  it("gives the reference path's labels on a version-3 model (wider gazetteer context, marks before words)", () => {
    const { train } = splitByGroup(loadPiiDataset(defaultPrivacyDatasetPath()));
    const tweets = loadPiiDataset(path.join(data, "btc/train.json")).slice(0, 400);
    const gazetteer = (JSON.parse(fs.readFileSync(defaultTaggerPath(), "utf8")) as TaggerFile).gazetteer;
    const { tagger, file } = PerceptronTagger.train([...train.slice(0, 300), ...tweets], { epochs: 2, seed: 5, version: 3, gazetteer });
    expect(file.version).toBe(3);
    expect(Object.keys(file.weights).some((f) => f.startsWith("adj|gz=") && !f.startsWith("adj|gz= "))).toBe(true);
    expect(Object.keys(file.weights).some((f) => f.startsWith("pgz|gz|ngz="))).toBe(true);
    const loaded = PerceptronTagger.fromJSON(JSON.parse(JSON.stringify(file)) as TaggerFile);
    const texts = [...ODD, "@maria and #london with john smith", ...loadPiiDataset(path.join(data, "btc/dev.json")).slice(0, 60).map((e) => e.text), ...train.slice(300, 330).map((e) => e.text)];
    for (const text of texts) {
      expectSameTags(tagger, text);
      expectSameTags(loaded, text);
    }
  });
});

import { describe, expect, it } from "vitest";
import fs from "node:fs";
import { defaultPrivacyDatasetPath, loadPiiDataset, splitByGroup } from "./dataset.js";
import { loadPresidioTemplates, PLACEHOLDER_TYPES, synthesizeExamples } from "./synthesize.js";
import { allowedTemplateIds, trainPrivacyTagger } from "./train.js";

const PLACEHOLDER = /\{\{([^}]*)\}\}/g;

describe("template synthesis (synthesize.ts)", () => {
  const templates = loadPresidioTemplates();

  it("maps every placeholder as presidio-research's v2 set labels it (its masked texts)", () => {
    const rows = JSON.parse(fs.readFileSync(defaultPrivacyDatasetPath(), "utf8")) as Array<{ template_id: number; masked: string; full_text: string }>;
    let checked = 0;
    for (const r of rows) {
      const names = [...templates[r.template_id].matchAll(PLACEHOLDER)].map((m) => m[1]);
      const types = [...r.masked.matchAll(PLACEHOLDER)].map((m) => m[1]);
      expect(types.length).toBe(names.length);
      names.forEach((n, i) => expect(PLACEHOLDER_TYPES[n], `${n} in template ${r.template_id}`).toBe(types[i]));
      checked += names.length;
    }
    expect(checked).toBeGreaterThan(2000);
  });

  it("is deterministic for a seed, labels each value's exact characters, and has the v2 set's forms", () => {
    const a = synthesizeExamples({ templateIds: "all", count: 1500, seed: 3 });
    const b = synthesizeExamples({ templateIds: "all", count: 1500, seed: 3 });
    expect(b).toEqual(a);
    expect(synthesizeExamples({ templateIds: "all", count: 50, seed: 4 })).not.toEqual(a.slice(0, 50));
    for (const e of a) {
      for (const s of e.spans) {
        const v = e.text.slice(s.start, s.end);
        expect(v.length, e.text).toBeGreaterThan(0);
        expect(v.trim()).toBe(v);
      }
      // Outside the spans the text is the template's own text (the values fill only the placeholders).
      let rest = e.text;
      for (const s of [...e.spans].sort((x, y) => y.start - x.start)) rest = rest.slice(0, s.start) + "{{}}" + rest.slice(s.end);
      expect(rest.toLowerCase()).toBe(templates[Number(e.group)].replace(PLACEHOLDER, "{{}}").toLowerCase());
    }
    const spanTexts = (type: string) => a.flatMap((e) => e.spans.filter((s) => s.type === type).map((s) => e.text.slice(s.start, s.end)));
    expect(spanTexts("STREET_ADDRESS").some((t) => t.includes("\n"))).toBe(true); // multi-line addresses
    expect(spanTexts("GPE").some((t) => t.length > 3 && t === t.toUpperCase() && /\p{Lu}/u.test(t))).toBe(true); // ALL-CAPS cities
    expect(new Set(spanTexts("PERSON")).size).toBeGreaterThan(500); // many values, not a few
    expect(a.some((e) => /[ąčęěłńőřšśűžźżåäöøæ]/i.test(e.text))).toBe(true); // several locales
  });

  it("fills only the allowed templates: a by-template training run never generates a held-out template", async () => {
    const presidio = loadPiiDataset(defaultPrivacyDatasetPath());
    const split = splitByGroup(presidio, { by: "template", seed: 42 });
    const heldOut = new Set(split.test.map((e) => String(e.group)));
    expect(heldOut.size).toBeGreaterThan(30);
    const ids = allowedTemplateIds(split.train, "template");
    expect(ids).not.toBe("all");
    expect((ids as Array<string | number>).some((i) => heldOut.has(String(i)))).toBe(false);
    const run = await trainPrivacyTagger({ by: "template", seed: 42, out: null, corpora: [], negatives: null, gazetteer: null, epochs: 1, syntheticRepeat: 1, synthesis: { count: 2000, seed: 5 } });
    expect(run.synthesized.length).toBe(2000);
    const used = new Set(run.synthesized.map((e) => String(e.group)));
    expect(used.size).toBeGreaterThan(100); // most training templates were filled
    for (const g of used) expect(heldOut.has(g), `template ${g}`).toBe(false);
    // No synthesized text has the sentence frame of a held-out template (frames that also occur under a training id aside):
    // a text with its values cut out is its template with the placeholders cut out.
    const frame = (t: string) => t.replace(PLACEHOLDER, "{{}}").toLowerCase();
    const trainFrames = new Set(split.train.map((e) => frame(templates[Number(e.group)])));
    const heldOutFrames = new Set([...heldOut].map((g) => frame(templates[Number(g)])).filter((f) => !trainFrames.has(f)));
    expect(heldOutFrames.size).toBeGreaterThan(30);
    for (const e of run.synthesized) {
      let rest = e.text;
      for (const s of [...e.spans].sort((x, y) => y.start - x.start)) rest = rest.slice(0, s.start) + "{{}}" + rest.slice(s.end);
      expect(heldOutFrames.has(rest.toLowerCase()), e.text).toBe(false);
    }
    expect(run.report.examples).toBe(split.test.length);
  }, 60_000);

  it("refuses unknown placeholders and an empty template set", () => {
    expect(() => synthesizeExamples({ templateIds: [0], count: 1, templates: ["Hello {{nickname}}"] })).toThrow(/unknown placeholder/);
    expect(() => synthesizeExamples({ templateIds: [], count: 1 })).toThrow(/no allowed template/);
  });
});

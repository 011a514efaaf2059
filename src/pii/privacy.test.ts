import { describe, expect, it } from "vitest";
import { createDetector } from "./detector.js";
import { defaultPrivacyDatasetPath, loadPiiDataset, splitByGroup } from "./dataset.js";
import { scoreSpans } from "./metrics.js";
import { findPatternSpans } from "./patterns.js";
import { PerceptronTagger } from "./tagger.js";
import { evaluateDetector } from "./train.js";

describe("pattern recognizers (validator, libphonenumber-js)", () => {
  it("finds validated structured PII and rejects look-alikes", () => {
    const text = "Mail a.b@example.org, IBAN GB56HXDO88167774656119, card 4454794511390933, ip 10.1.2.3, call +1-984-182-0190, see https://example.com/x.";
    const types = findPatternSpans(text).map((s) => `${s.type}:${s.text}`);
    expect(types).toEqual(["EMAIL_ADDRESS:a.b@example.org", "IBAN_CODE:GB56HXDO88167774656119", "CREDIT_CARD:4454794511390933", "IP_ADDRESS:10.1.2.3", "PHONE_NUMBER:+1-984-182-0190", "DOMAIN_NAME:https://example.com/x"]);
    // Bad checksum IBAN, non-Luhn number without card context, impossible IP.
    expect(findPatternSpans("GB56HXDO88167774656118 and 4454794511390934 and 999.1.2.3")).toEqual([]);
  });
});

describe("BIO perceptron tagger", () => {
  it("trains deterministically for a seed", () => {
    const { train } = splitByGroup(loadPiiDataset(defaultPrivacyDatasetPath()));
    const a = PerceptronTagger.train(train.slice(0, 150), { epochs: 2, seed: 3 }).file;
    const b = PerceptronTagger.train(train.slice(0, 150), { epochs: 2, seed: 3 }).file;
    expect(JSON.stringify(a.weights)).toBe(JSON.stringify(b.weights));
  });

  it("the shipped detector reaches its reported quality on the held-out split (seed 42)", async () => {
    const { test } = splitByGroup(loadPiiDataset(defaultPrivacyDatasetPath()));
    const r = await evaluateDetector(createDetector(), test);
    expect(test.length).toBe(300);
    expect(r.overlap.ALL.f1).toBeGreaterThan(0.85);
    expect(r.overlap.PERSON.recall).toBeGreaterThan(0.9);
    expect(r.exact.EMAIL_ADDRESS.f1).toBe(1);
    expect(r.exact.CREDIT_CARD.f1).toBeGreaterThan(0.95);
  });

  it("does not flag ordinary prompts", async () => {
    const d = createDetector();
    for (const t of ["What is the capital of France?", "Explain photosynthesis to a child.", "How do I sort a list in Python?"]) expect(await d.detect(t), t).toEqual([]);
  });
});

describe("span metrics", () => {
  it("scores exact and overlap matches per type", () => {
    const r = scoreSpans([
      {
        gold: [
          { start: 0, end: 5, type: "PERSON" },
          { start: 10, end: 20, type: "STREET_ADDRESS" },
        ],
        predicted: [
          { start: 0, end: 5, type: "PERSON" },
          { start: 12, end: 20, type: "STREET_ADDRESS" },
          { start: 30, end: 33, type: "GPE" },
        ],
      },
    ]);
    expect(r.exact.PERSON.f1).toBe(1);
    expect(r.exact.STREET_ADDRESS.tp).toBe(0);
    expect(r.overlap.STREET_ADDRESS.tp).toBe(1);
    expect(r.overlap.GPE.fp).toBe(1);
    expect(r.overlap.ALL.precision).toBeCloseTo(2 / 3);
    expect(r.anyTypeCharRecall).toBeCloseTo(13 / 15);
  });
});

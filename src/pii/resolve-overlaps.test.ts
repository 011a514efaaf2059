/**
 * resolveOverlaps must never uncover a character an input span covered (a tagger guess of
 * STREET_ADDRESS over the "905" of 905-674-3793 once cut the phone span and let "-674-3793"
 * through). Property: on random span sets over random text, the output is sorted, disjoint,
 * true to the text, and covers every letter or digit that any input span covered.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDetectorFromFile } from "./detect.js";
import { resolveOverlaps } from "./patterns.js";
import type { EntityType, PiiDetector, PiiSpan, SpanSource } from "./types.js";

const TYPES: EntityType[] = ["PERSON", "PHONE_NUMBER", "STREET_ADDRESS", "EMAIL_ADDRESS"];
const SOURCES: SpanSource[] = ["pattern", "tagger", "slm"];

describe("resolveOverlaps keeps every covered character hidden", () => {
  it("random spans: sorted, disjoint, true to the text, covering the union's letters and digits", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9 \-.]{1,60}$/),
        fc.array(fc.tuple(fc.nat(), fc.nat(12), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 12 }),
        (text, raw) => {
          const spans: PiiSpan[] = raw.map(([a, len, t, src, score]) => {
            const start = a % text.length;
            const end = Math.min(text.length, start + len);
            return { start, end, type: TYPES[t], text: text.slice(start, end), score, source: SOURCES[src] };
          });
          const out = resolveOverlaps(spans);
          for (let i = 0; i < out.length; i++) {
            expect(out[i].end).toBeGreaterThan(out[i].start);
            expect(out[i].text).toBe(text.slice(out[i].start, out[i].end));
            if (i > 0) expect(out[i].start).toBeGreaterThanOrEqual(out[i - 1].end);
          }
          const covered = new Uint8Array(text.length);
          for (const s of out) covered.fill(1, s.start, s.end);
          for (const s of spans) for (let i = s.start; i < s.end; i++) if (/[a-z0-9]/.test(text[i])) expect(covered[i], `char ${i} of ${JSON.stringify(text)}`).toBe(1);
        },
      ),
      { numRuns: 3000, seed: 16 },
    );
  });

  it("a higher-scored guess inside a pattern span does not cut it", () => {
    const text = "Call 905-674-3793 now";
    const phone: PiiSpan = { start: 5, end: 17, type: "PHONE_NUMBER", text: "905-674-3793", score: 0.6, source: "pattern" };
    const guess: PiiSpan = { start: 5, end: 8, type: "STREET_ADDRESS", text: "905", score: 0.95, source: "tagger" };
    expect(resolveOverlaps([guess, phone])).toEqual([phone]);
    // A guess that reaches outside the pattern span still loses or wins by score, and what it
    // leaves uncovered comes back as a remainder.
    const wide: PiiSpan = { start: 0, end: 8, type: "PERSON", text: "Call 905", score: 0.95, source: "tagger" };
    const out = resolveOverlaps([wide, phone]);
    expect(out.map((s) => [s.text, s.type])).toEqual([
      ["Call 905", "PERSON"],
      ["-674-3793", "PHONE_NUMBER"],
    ]);
  });

  it("through the detector: an extra detector's guess over an area code leaves the phone whole", async () => {
    const areaCode: PiiDetector = {
      name: "area-code-guesser",
      async detect(text) {
        const i = text.indexOf("905");
        return i < 0 ? [] : [{ start: i, end: i + 3, type: "STREET_ADDRESS", text: "905", score: 0.99, source: "slm" }];
      },
    };
    const detector = createDetectorFromFile(false, { extra: [areaCode] });
    const spans = await detector.detect("Details: 905-674-3793 after six.");
    expect(spans.map((s) => [s.text, s.type])).toEqual([["905-674-3793", "PHONE_NUMBER"]]);
  });
});

/**
 * The phone recognizer searches only the digit runs that may hold a number (phoneSegments): the
 * numbers of every common format are still inside a segment, and prose without one has none.
 */
import { faker } from "@faker-js/faker";
import { describe, expect, it } from "vitest";
import { findNumbers, isValidPhoneNumber } from "libphonenumber-js/max";
import { defaultPrivacyDatasetPath, loadPiiDataset } from "./dataset.js";
import { PHONE_CONTEXT, PHONE_COUNTRIES, PHONE_OVERLAP, PHONE_WINDOW, phoneRecognizer, phoneSegments } from "./patterns.js";

describe("phoneSegments", () => {
  it("covers faker's phone numbers in many formats and locales, and the recognizer still finds them", () => {
    faker.seed(7);
    let found = 0;
    const n = 120;
    for (let i = 0; i < n; i++) {
      const style = (["human", "national", "international"] as const)[i % 3];
      const number = faker.phone.number({ style });
      const text = `Hi, it's ${faker.person.firstName()}: call me on ${number} after ${faker.number.int({ min: 1, max: 9 })} pm.`;
      const at = text.indexOf(number);
      const digits = number.replace(/\D/g, "").length;
      if (digits >= 7) expect(phoneSegments(text).some(([from, to]) => from <= at && to >= at + number.length)).toBe(true);
      if (phoneRecognizer.find(text).some((s) => s.start <= at + 2 && s.end >= at + number.length - 1)) found++;
    }
    expect(found / n).toBeGreaterThan(0.9);
  });

  it("finds nothing to search in prose with short numbers, and merges nearby runs", () => {
    expect(phoneSegments("I have 3 cats, 12 dogs and 2024 reasons; see page 101.")).toEqual([]);
    const text = "+1 (555) 010-9999 or 555.010.8888";
    const segments = phoneSegments(text);
    expect(segments.length).toBeGreaterThanOrEqual(1);
    expect(segments[0][0]).toBe(0);
    expect(segments[segments.length - 1][1]).toBe(text.length);
  });
});

/**
 * The recognizer before its libphonenumber calls were shared across regions: per window and
 * region, `findNumbers` on each segment and `isValidPhoneNumber` on each match, best score per range.
 */
function referencePhoneSpans(text: string): Map<string, number> {
  const best = new Map<string, number>();
  const step = PHONE_WINDOW - PHONE_OVERLAP;
  for (let from = 0; ; from += step) {
    const to = Math.min(text.length, from + PHONE_WINDOW);
    const w = text.length <= PHONE_WINDOW ? text : text.slice(from, to);
    for (const country of PHONE_COUNTRIES) {
      for (const [a, b] of phoneSegments(w)) {
        const found = findNumbers(w.slice(a, b), { defaultCountry: country, leniency: "POSSIBLE", v2: true } as never) as unknown as Array<{ startsAt: number; endsAt: number }>;
        for (const r of found) {
          const startsAt = r.startsAt + a;
          let end = r.endsAt + a;
          const ext = /^x\d{1,5}/.exec(w.slice(end, end + 6));
          if (ext) end += ext[0].length;
          if (/[\p{L}\p{N}]/u.test([...w.slice(0, startsAt)].pop() ?? "") || /[\p{L}\p{N}]/u.test([...w.slice(end)][0] ?? "")) continue;
          const value = w.slice(startsAt, end);
          const digits = value.replace(/\D/g, "");
          if (digits.length < 7 || digits.length > 15 || /^(19|20)\d{2}-\d{2}-\d{2}/.test(value)) continue;
          let score = 0.7;
          try {
            if (isValidPhoneNumber(value.replace(/x\d+$/, ""), country)) score = 0.9;
          } catch {
            /* not parseable */
          }
          if (PHONE_CONTEXT.test(w.slice(Math.max(0, startsAt - 48), startsAt))) score = Math.min(1, score + 0.1);
          const key = `${startsAt + from}:${end + from}`;
          best.set(key, Math.max(best.get(key) ?? -1, score));
        }
      }
    }
    if (to === text.length || text.length <= PHONE_WINDOW) return best;
  }
}

describe("phoneRecognizer shares libphonenumber's verdicts across regions without changing them", () => {
  const asMap = (text: string) => new Map(phoneRecognizer.find(text).map((s) => [`${s.start}:${s.end}`, s.score]));
  it("finds exactly the spans and scores of per-region findNumbers on faker numbers, presidio texts and noise", () => {
    faker.seed(11);
    const texts: string[] = [];
    for (let i = 0; i < 60; i++) {
      const style = (["human", "national", "international"] as const)[i % 3];
      texts.push(`call ${faker.phone.number({ style })} or ${faker.phone.number({ style: "international" })}, card ${faker.finance.creditCardNumber()}, ref 00${faker.string.numeric(11)} x${faker.string.numeric(3)}.`);
    }
    let seed = 3;
    const abc = "0123456789 +()-./x";
    for (let i = 0; i < 60; i++) texts.push(Array.from({ length: 80 }, () => abc[((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % (seed % 3 ? 10 : abc.length)]).join(""));
    const presidio = loadPiiDataset(defaultPrivacyDatasetPath()).map((e) => e.text);
    texts.push(...presidio.slice(0, 150), presidio.slice(150, 400).join("\n")); // the last one spans many windows
    let spans = 0;
    for (const text of texts) {
      const expected = referencePhoneSpans(text);
      expect(asMap(text), text.slice(0, 80)).toEqual(expected);
      spans += expected.size;
    }
    expect(spans).toBeGreaterThan(200);
  });
});

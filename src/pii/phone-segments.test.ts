/**
 * The phone recognizer searches only the digit runs that may hold a number (phoneSegments): the
 * numbers of every common format are still inside a segment, and prose without one has none.
 */
import { faker } from "@faker-js/faker";
import { describe, expect, it } from "vitest";
import { phoneRecognizer, phoneSegments } from "./patterns.js";

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

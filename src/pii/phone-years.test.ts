/**
 * Year ranges and written dates are not phone numbers (libphonenumber accepts "1990-2020" as a
 * possible 8-digit number), unless a phone context word is near; real phone numbers in faker's
 * locales and presidio's gold phone values are never dropped.
 */
import fs from "node:fs";
import path from "node:path";
import { allFakers } from "@faker-js/faker";
import { describe, expect, it } from "vitest";
import { looksLikeYearsOrDate, phoneRecognizer } from "./patterns.js";

const shared = path.resolve(__dirname, "../../../shared/data");

describe("phone recognizer: years and dates", () => {
  it("drops year ranges, year lists, seasons and d/m/y dates in ordinary text", () => {
    for (const text of [
      "He ruled Castile ( 1238–1264 ) before his son.",
      "The 2019-2020 season was cancelled.",
      "Editions: ( 2001 , 2004 ; 2009",
      "He coached them 1981–84 and again 1997 / 98-2004 / 05.",
      "She was born on 12 / 05 / 2001 in Lyon.",
      "Signed 3-4-1999 at the town hall.",
    ]) expect(phoneRecognizer.find(text), text).toEqual([]);
  });

  it("keeps a year-shaped number when a phone word is near, and real numbers always", () => {
    expect(phoneRecognizer.find("Call me at 1990-2020 after six.").map((s) => s.type)).toEqual(["PHONE_NUMBER"]);
    expect(phoneRecognizer.find("Reach the office on 905-674-3793 today.").map((s) => s.type)).toEqual(["PHONE_NUMBER"]);
    expect(looksLikeYearsOrDate("2020-1990")).toBe(false); // descending: not a range
    expect(looksLikeYearsOrDate("1200-1900")).toBe(false); // 700 years apart
  });

  it("no faker phone number (all locales) and no presidio gold phone value looks like years", () => {
    let n = 0;
    for (const f of Object.values(allFakers)) {
      f.seed(7);
      for (let i = 0; i < 40; i++) {
        let v: string;
        try { v = f.phone.number(); } catch { continue; }
        n++;
        expect(looksLikeYearsOrDate(v), v).toBe(false);
      }
    }
    expect(n).toBeGreaterThan(2000);
    const presidio = JSON.parse(fs.readFileSync(path.join(shared, "privacy/presidio_synth_dataset_v2.json"), "utf8")) as Array<{ spans: Array<{ entity_type: string; entity_value: string }> }>;
    const phones = presidio.flatMap((x) => x.spans.filter((s) => s.entity_type === "PHONE_NUMBER").map((s) => s.entity_value));
    expect(phones.length).toBe(92);
    for (const v of phones) expect(looksLikeYearsOrDate(v), v).toBe(false);
  });

  it("WikiANN dev: year ranges no longer become phone numbers (was 207 spans)", () => {
    const dev = JSON.parse(fs.readFileSync(path.join(shared, "privacy/wikiann_en/dev.json"), "utf8")) as Array<{ full_text: string }>;
    const spans = dev.flatMap((x) => phoneRecognizer.find(x.full_text));
    expect(spans.length).toBeLessThan(15);
  });
});

/**
 * Issue #16 (1): Presidio's identity-document, bank, medical-licence and crypto recognizers.
 * Positives are published example numbers (valid checksums) and faker-generated values in
 * sentences that were not used to write the patterns; negatives are the same shapes without a
 * context word, failed checksums, and ordinary prompts with numbers in them.
 */
import { faker } from "@faker-js/faker";
import { describe, expect, it } from "vitest";
import { findPatternSpans } from "./patterns.js";
import { ID_RECOGNIZERS, isAbaRoutingNumber, isDeaNumber, isNhsNumber, isNpi } from "./id-recognizers.js";
import { defaultNegativesPath, loadNegatives } from "./train.js";
import type { EntityType } from "./types.js";

function typesIn(text: string): Array<[EntityType, string]> {
  return findPatternSpans(text).map((s) => [s.type, s.text]);
}

describe("checksums", () => {
  it("accept the published examples and reject one-digit changes", () => {
    expect(isDeaNumber("AB1234563")).toBe(true);
    expect(isDeaNumber("AB1234564")).toBe(false);
    expect(isNpi("1234567893")).toBe(true); // CMS's example NPI
    expect(isNpi("1234567894")).toBe(false);
    expect(isNhsNumber("9434765919")).toBe(true); // NHS Digital's example
    expect(isNhsNumber("9434765918")).toBe(false);
    expect(isAbaRoutingNumber("011000015")).toBe(true); // Federal Reserve Bank of Boston
    expect(isAbaRoutingNumber("011000016")).toBe(false);
  });
  it("accept faker's routing numbers (generated with the ABA checksum)", () => {
    faker.seed(16);
    for (let i = 0; i < 50; i++) expect(isAbaRoutingNumber(faker.finance.routingNumber())).toBe(true);
  });
});

describe("recognizers in sentences", () => {
  const cases: Array<[string, EntityType, string]> = [
    ["My driver's license number is F162823540116", "US_DRIVER_LICENSE", "F162823540116"],
    ["Driving licence: 2270-66-1551, expires soon", "US_DRIVER_LICENSE", "2270-66-1551"],
    ["DL 6940579 was issued in Ohio", "US_DRIVER_LICENSE", "6940579"],
    ["my passport number is 912803456 and it expires in May", "US_PASSPORT", "912803456"],
    ["Passport no. C03005988, issued 2019", "US_PASSPORT", "C03005988"],
    ["wire it to account 7786732849 please", "US_BANK_NUMBER", "7786732849"],
    ["routing number 011000015", "US_BANK_NUMBER", "011000015"],
    ["her ITIN is 912-70-1234", "US_ITIN", "912-70-1234"],
    ["Prescriber DEA AB1234563 signed it", "MEDICAL_LICENSE", "AB1234563"],
    ["Dr. Lee, NPI 1234567893, will see you", "MEDICAL_LICENSE", "1234567893"],
    ["NHS number 943 476 5919", "UK_NHS", "943 476 5919"],
    ["send it to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "CRYPTO", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"],
    ["pay 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy now", "CRYPTO", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"],
    ["segwit: bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.", "CRYPTO", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"],
    ["my eth address 0xbf6fc0afa6b29d6620e45a1c3cf29f91bebecd33", "CRYPTO", "0xbf6fc0afa6b29d6620e45a1c3cf29f91bebecd33"],
  ];
  for (const [text, type, value] of cases) {
    it(`${type} in "${text}"`, () => {
      expect(typesIn(text)).toContainEqual([type, value]);
    });
  }

  it("faker's bank accounts, routing numbers and wallet addresses in held-out sentence frames", () => {
    faker.seed(1601);
    const frames: Array<[(v: string) => string, () => string, EntityType]> = [
      [(v) => `Please deposit the refund into checking account ${v}.`, () => faker.finance.accountNumber(10), "US_BANK_NUMBER"],
      [(v) => `Our bank's routing number is ${v}`, () => faker.finance.routingNumber(), "US_BANK_NUMBER"],
      [(v) => `My ethereum wallet: ${v}`, () => faker.finance.ethereumAddress(), "CRYPTO"],
      [(v) => `bitcoin wallet ${v} (from the test fixtures)`, () => faker.finance.bitcoinAddress(), "CRYPTO"],
    ];
    let found = 0;
    let total = 0;
    for (const [frame, value, type] of frames) {
      for (let i = 0; i < 25; i++) {
        const v = value();
        total++;
        if (typesIn(frame(v)).some(([t, s]) => t === type && s === v)) found++;
      }
    }
    expect(found / total).toBe(1);
  });
});

describe("no context, no report", () => {
  const negatives = [
    "The order 912803456 shipped on Tuesday.",
    "Population 7786732849 is a made-up figure",
    "Call extension 6940579 after lunch",
    "Invoice AB1234564 is overdue", // DEA shape, checksum fails
    "Tracking 943 476 5918 arrived",
    "1234567893 is just a number here",
    "The hash is 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", // checksum fails, no wallet context
    "What is 2^31 - 1 = 2147483647 in binary?",
    "Compute 123456789 * 987654321 mod 1000000007.",
  ];
  for (const text of negatives) {
    it(`nothing new in "${text}"`, () => {
      const newTypes = new Set<EntityType>(["US_PASSPORT", "US_BANK_NUMBER", "US_ITIN", "MEDICAL_LICENSE", "UK_NHS", "CRYPTO", "US_DRIVER_LICENSE"]);
      expect(typesIn(text).filter(([t]) => newTypes.has(t))).toEqual([]);
    });
  }
});

describe("ordinary prompts", () => {
  it("none of the 6,266 harmless instructions holds an identity, bank, medical-licence or wallet number", () => {
    const { train, test } = loadNegatives(defaultNegativesPath());
    const texts = [...train, ...test];
    expect(texts.length).toBe(6266);
    const hits = texts.filter((t) => ID_RECOGNIZERS.some((r) => r.find(t).length > 0));
    expect(hits).toEqual([]);
  });
});

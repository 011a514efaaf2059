import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createDetector } from "./detector.js";
import { foldConfusables, foldForClassifier, normalize } from "../core/normalize.js";
import { normalizePieces, normalizingDetector } from "./normalizing-detector.js";

describe("normalize", () => {
  it("removes invisible characters, applies NFKC, folds digits and look-alikes, decodes tag characters", () => {
    expect(normalize("jo\u200bhn\u2060.d\u00adoe@exa\ufeffmple.com\u202e").text).toBe("john.doe@example.com");
    expect(normalize("Ｃａｌｌ ０１２３ ①").text).toBe("Call 0123 1");
    expect(normalize("٠١٢٣٤٥٦٧٨٩ ۰۹ ०९").text).toBe("0123456789 09 09");
    expect(normalize("Jоhn Ѕmіth").text).toBe("John Smith"); // Cyrillic о, Ѕ, і
    expect(normalize("e\u0301cole ﬁne").text).toBe("école fine");
    expect(normalize("ok\u{E0069}\u{E0067}\u{E006E}\u{E007F}").text).toBe("okign");
    expect(normalize("plain ASCII text, 42.").changed).toBe(false);
  });

  it("keeps words of a real other-script text", () => {
    expect(foldConfusables("Привет мир, Ελλάδα")).toBe("Привет мир, Ελλάδα");
    expect(foldConfusables("bоmb")).toBe("bomb"); // mixed script: folded
    expect(foldConfusables("КОТ")).toBe("KOT"); // every letter has a Latin twin: folded
  });

  it("maps every normalised range back over the original characters", () => {
    const original = "mail: jo\u200bhn@ex\u200bample.com ﬁ ４２";
    const n = normalize(original);
    expect(n.text).toBe("mail: john@example.com fi 42");
    const at = n.text.indexOf("john@example.com");
    const span = n.originalSpan(at, at + "john@example.com".length);
    expect(original.slice(span.start, span.end)).toBe("jo\u200bhn@ex\u200bample.com");
    // Both letters of an expanded ligature map to the ligature; a span ending inside it covers it.
    const fi = n.text.indexOf("fi");
    expect(n.originalSpan(fi, fi + 1)).toEqual({ start: original.indexOf("ﬁ"), end: original.indexOf("ﬁ") + 1 });
    expect(n.toOriginal(n.text.length)).toBe(original.length);
    expect(() => n.toOriginal(n.text.length + 1)).toThrow(RangeError);
  });

  it("offsets are monotone and in range for arbitrary Unicode (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
        const n = normalize(s);
        let prev = 0;
        for (let i = 0; i <= n.text.length; i++) {
          const o = n.toOriginal(i);
          expect(o).toBeGreaterThanOrEqual(prev);
          expect(o).toBeLessThanOrEqual(s.length);
          prev = o;
        }
        const whole = n.originalSpan(0, n.text.length);
        expect(whole.end).toBeLessThanOrEqual(s.length);
      }),
      { numRuns: 300 },
    );
  });

  it("normalizePieces (used by the detector) gives exactly normalize's text, flag and offsets (property)", () => {
    // Pieces of text that exercise every rule near the ASCII whitespace where normalizePieces cuts.
    const atoms = ["a", "b", "Z", "1", ".", "@", " ", " ", "\n", "\t", "\r", "\u0301", "\u0308", "\u200b", "\u00ad", "о", "Ѕ", "П", "ﬁ", "４", "٣", "😀", "\u{E0041}", "\u{E007F}", "\u00a0", "é", "q\u0301", "\x01", "\ud800", "ﷺ"];
    const compare = (s: string) => {
      const a = normalize(s);
      const b = normalizePieces(s, {}, Infinity); // the piece path even on dense text
      expect(b.text).toBe(a.text);
      expect(b.changed).toBe(a.changed);
      for (let i = 0; i <= a.text.length; i++) expect(b.toOriginal(i)).toBe(a.toOriginal(i));
      for (let i = 0; i < a.text.length; i++) for (const j of [i, i + 1, a.text.length]) expect(b.originalSpan(i, j)).toEqual(a.originalSpan(i, j));
    };
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...atoms), { maxLength: 40 }), (parts) => compare(parts.join(""))),
      { numRuns: 1_000 },
    );
    // The default (dense text normalised whole) gives the same on dense and sparse text.
    for (const s of ["é a ".repeat(50), "plain words here ".repeat(20) + "Jоhn é"]) expect(normalizePieces(s).text).toBe(normalize(s).text);
    compare("Call Jоhn at jo\u200bhn@exa\u200bmple.com or ４１５ ５５５ ０１２３.\nplain line\n e\u0301cole \u0301mark after space");
  });

  it("is linear on 1 MB of hostile input", () => {
    const big = "a\u0301\u200b".repeat(120_000) + "Ｘ".repeat(100_000) + "\u{E0041}".repeat(100_000) + "ﷺ".repeat(50_000);
    const t0 = performance.now();
    const n = normalize(big);
    expect(n.text.length).toBeLessThanOrEqual(4 * big.length);
    foldForClassifier(big);
    expect(performance.now() - t0).toBeLessThan(20_000); // generous: seconds, not minutes
  });
});

describe("foldForClassifier", () => {
  it("reads leetspeak, spelled-out words and look-alikes as plain lower-case words", () => {
    expect(foldForClassifier("H0w t0 m4k3 a b0mb")).toBe("how to make a bomb");
    expect(foldForClassifier("h o w  t o  m a k e  a  b o m b")).toBe("how  to  make  a  bomb");
    expect(foldForClassifier("k.i.l.l them, k-1-l-l them")).toBe("kill them, kill them");
    expect(foldForClassifier("ki11 th3 pr3$ident!")).toBe("kill the president!");
    expect(foldForClassifier("Hоw tо mаkе а bоmb")).toBe("how to make a bomb");
    expect(foldForClassifier("Ｈｏｗ ｔｏ ｍａｋｅ")).toBe("how to make");
    expect(foldForClassifier("Ẕ̷ḁ̸l̶g̵o̴ text")).toBe("zalgo text");
  });

  it("leaves ordinary numbers and text alone", () => {
    expect(foldForClassifier("I have 3 cats, came 5th, ran 1.5 km at 10am in 2024.")).toBe("i have 3 cats, came 5th, ran 1.5 km at 10am in 2024.");
    expect(foldForClassifier("Call 555-0198, e.g. tomorrow")).toBe("call 555-0198, e.g. tomorrow");
  });
});

describe("normalizingDetector with the real detector", () => {
  const inner = createDetector({ normalize: false });
  const detector = normalizingDetector(inner);

  it("finds an e-mail hidden by zero-width spaces, with a span over the original characters", async () => {
    const text = "write to jo\u200bhn.doe@exa\u200bmple.com";
    expect((await inner.detect(text)).some((s) => s.type === "EMAIL_ADDRESS")).toBe(false); // the old behaviour
    const spans = await detector.detect(text);
    const email = spans.find((s) => s.type === "EMAIL_ADDRESS")!;
    expect(email).toMatchObject({ start: 9, end: text.length, text: "jo\u200bhn.doe@exa\u200bmple.com" });
    expect(text.slice(email.start, email.end)).toBe(email.text);
  });

  it("finds fullwidth and Arabic-Indic digits (card, phone, SSN)", async () => {
    const card = "Card: ４１１１ １１１１ １１１１ １１１１ thanks";
    expect((await inner.detect(card)).some((s) => s.type === "CREDIT_CARD")).toBe(false);
    expect((await detector.detect(card)).find((s) => s.type === "CREDIT_CARD")?.text).toBe("４１１１ １１１１ １１１１ １１１１");
    const phone = "Call me at (２１２) ５５５-０１９８ please";
    expect((await detector.detect(phone)).find((s) => s.type === "PHONE_NUMBER")?.text).toBe("(２１２) ５５５-０１９８");
    const ssn = "SSN ١٢٣-٤٥-٦٧٨٩";
    expect((await detector.detect(ssn)).find((s) => s.type === "US_SSN")?.text).toBe("١٢٣-٤٥-٦٧٨٩");
  });

  it("finds a name and an e-mail written with Cyrillic look-alikes", async () => {
    const text = "My name is Jоhn Smith, mail jоhn.dое@exаmple.com";
    const spans = await detector.detect(text);
    expect(spans.find((s) => s.type === "PERSON")?.text).toBe("Jоhn Smith");
    expect(spans.find((s) => s.type === "EMAIL_ADDRESS")?.text).toBe("jоhn.dое@exаmple.com");
    for (const s of spans) expect(text.slice(s.start, s.end)).toBe(s.text);
  });

  it("returns the inner detector's spans unchanged for plain text", async () => {
    const text = "My name is John Smith, mail john.doe@example.com";
    expect(await detector.detect(text)).toEqual(await inner.detect(text));
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENTITY_TYPES, type PiiSpan } from "../../pii/types.js";
import { PLACEHOLDER_RE, PlaceholderVault, StreamRestorer } from "./vault.js";

const span = (text: string, start: number, end: number, type: PiiSpan["type"] = "PERSON"): PiiSpan => ({ start, end, type, text: text.slice(start, end), score: 1, source: "tagger" });

describe("placeholder vault", () => {
  it("gives the same value the same placeholder and hides it everywhere", () => {
    const v = new PlaceholderVault("bcdfg");
    const text = "Ann Lee wrote to Bob. Ann Lee again.";
    const hidden = v.hide(text, [span(text, 0, 7)]);
    expect(hidden).toBe("[PERSON_1_bcdfg] wrote to Bob. [PERSON_1_bcdfg] again.");
    expect(v.restore(hidden)).toBe(text);
    expect(v.placeholderFor("Bob", "PERSON")).toBe("[PERSON_2_bcdfg]");
    expect(v.restore('{"a":"[PERSON_1_bcdfg]"}', { json: true })).toBe('{"a":"Ann Lee"}');
    expect(v.restore("[PERSON_9_bcdfg] stays")).toBe("[PERSON_9_bcdfg] stays");
  });

  it("placeholders cannot be forged: user-typed [PERSON_1] or another nonce is never restored", () => {
    const v = new PlaceholderVault("bcdfg");
    v.placeholderFor("Johannes Varvio", "PERSON");
    for (const forged of ["[PERSON_1]", "[PERSON_1_zzzzz]", "[PERSON_1_BCDFG]", "[ PERSON_1_bcdfg]"]) expect(v.restore(`hi ${forged}`)).toBe(`hi ${forged}`);
    // A vault made for a text never picks a nonce that occurs in it.
    for (let i = 0; i < 200; i++) {
      const w = PlaceholderVault.forText("abc bcdfg");
      expect("abc bcdfg".includes(w.nonce)).toBe(false);
    }
  });

  it("23 messages 'msg 0' … 'msg 22' with digits detected as AGE: no nesting, exact restore", () => {
    const v = new PlaceholderVault();
    const texts = Array.from({ length: 23 }, (_, i) => `msg ${i}`);
    const hidden = texts.map((t) => v.hide(t, [span(t, 4, t.length, "AGE")]));
    for (const h of hidden) {
      const placeholders = h.match(PLACEHOLDER_RE) ?? [];
      expect(placeholders).toHaveLength(1);
      expect(h).toMatch(/^msg \[AGE_\d+_[a-z0-9]{5}\]$/);
    }
    expect(hidden.map((h) => v.restore(h))).toEqual(texts);
  });

  it("property: restore(hide(x)) == x and no placeholder inside another, for random texts and spans", () => {
    // Texts from a small alphabet with digits, brackets and look-alikes of placeholders, so values
    // repeat, overlap and collide with placeholder syntax.
    const alphabet = fc.constantFrom(..."ab 12[]_AGE".split(""), "[AGE_1]", "[PERSON_2_", "msg ", "\n");
    const text = fc.array(alphabet, { maxLength: 60 }).map((a) => a.join(""));
    const conversation = fc.array(
      text.chain((t) =>
        fc
          .array(fc.tuple(fc.nat(Math.max(0, t.length)), fc.nat(8), fc.constantFrom(...ENTITY_TYPES)), { maxLength: 6 })
          .map((raw) => ({ t, spans: raw.map(([s, len, type]) => span(t, s, Math.min(t.length, s + len), type)).filter((x) => x.end > x.start).sort((a, b) => a.start - b.start) })),
      ),
      { minLength: 1, maxLength: 5 },
    );
    fc.assert(
      fc.property(conversation, (messages) => {
        const v = PlaceholderVault.forText(messages.map((m) => m.t).join("\u0000"));
        const hidden = messages.map((m) => v.hide(m.t, m.spans));
        hidden.forEach((h, i) => {
          expect(v.restore(h)).toBe(messages[i].t);
          // every "[" that starts one of this vault's placeholders is matched by a "]" with no "[" between
          const own = new RegExp(`\\[[A-Z][A-Z_]*_\\d+_${v.nonce}\\]`, "g");
          const stripped = h.replace(own, "");
          expect(stripped.includes(v.nonce)).toBe(false);
        });
        // restoration of a streamed answer, cut anywhere, equals the whole restore
        const answer = hidden.join(" | ");
        const cut = Math.floor(answer.length / 3);
        const r = new StreamRestorer(v);
        expect(r.push(answer.slice(0, cut)) + r.push(answer.slice(cut)) + r.flush()).toBe(v.restore(answer));
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it("short values are hidden only at word boundaries; long values everywhere", () => {
    const v = new PlaceholderVault("bcdfg");
    v.placeholderFor("22", "AGE");
    v.placeholderFor("Varvio", "PERSON");
    const h = v.hide("age 22 in 2022, Varvios and Varvio.");
    expect(h).toBe("age [AGE_1_bcdfg] in 2022, [PERSON_1_bcdfg]s and [PERSON_1_bcdfg].");
    expect(v.restore(h)).toBe("age 22 in 2022, Varvios and Varvio.");
  });

  it("restores placeholders split at every possible chunk boundary", () => {
    const v = new PlaceholderVault("bcdfg");
    v.placeholderFor('12 "Main" St\nApt 4', "STREET_ADDRESS");
    v.placeholderFor("Ann", "PERSON");
    const remote = "Hi [PERSON_1_bcdfg], [x] ships to [STREET_ADDRESS_1_bcdfg] [PERSON_1] [";
    for (let cut1 = 1; cut1 < remote.length; cut1++) {
      for (const json of [false, true]) {
        const r = new StreamRestorer(v, { json });
        const parts = [r.push(remote.slice(0, cut1)), r.push(remote.slice(cut1)), r.flush()];
        for (const p of parts.slice(0, 2)) expect(p).not.toMatch(/\[[A-Z_]+(_\d*(_[a-z0-9]*)?)?$/);
        expect(parts.join("")).toBe(v.restore(remote, { json }));
      }
    }
  });

  it("hides in time linear in the text: 1 MB with 50 known values", () => {
    const v = new PlaceholderVault("bcdfg");
    for (let i = 0; i < 50; i++) v.placeholderFor(`value${i}x`, "PERSON");
    const text = "ab value7x ".repeat(100_000);
    const t0 = performance.now();
    const h = v.hide(text);
    const ms = performance.now() - t0;
    expect(v.restore(h)).toBe(text);
    expect(ms).toBeLessThan(5_000);
  });
});

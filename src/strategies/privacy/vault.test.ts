import { describe, expect, it } from "vitest";
import { PlaceholderVault, StreamRestorer } from "./vault.js";

describe("placeholder vault", () => {
  it("gives the same value the same placeholder and hides it everywhere", () => {
    const v = new PlaceholderVault();
    const text = "Ann Lee wrote to Bob. Ann Lee again.";
    const hidden = v.hide(text, [{ start: 0, end: 7, type: "PERSON", text: "Ann Lee", score: 1, source: "tagger" }]);
    expect(hidden).toBe("[PERSON_1] wrote to Bob. [PERSON_1] again.");
    expect(v.restore(hidden)).toBe(text);
    expect(v.placeholderFor("Bob", "PERSON")).toBe("[PERSON_2]");
    expect(v.restore('{"a":"[PERSON_1]"}', { json: true })).toBe('{"a":"Ann Lee"}');
    expect(v.restore("[PERSON_9] stays")).toBe("[PERSON_9] stays");
  });

  it("restores placeholders split at every possible chunk boundary", () => {
    const v = new PlaceholderVault();
    v.placeholderFor('12 "Main" St\nApt 4', "STREET_ADDRESS");
    v.placeholderFor("Ann", "PERSON");
    const remote = "Hi [PERSON_1], [x] ships to [STREET_ADDRESS_1] [";
    for (let cut1 = 1; cut1 < remote.length; cut1++) {
      for (const json of [false, true]) {
        const r = new StreamRestorer(v, { json });
        const parts = [r.push(remote.slice(0, cut1)), r.push(remote.slice(cut1)), r.flush()];
        for (const p of parts.slice(0, 2)) expect(p).not.toMatch(/\[[A-Z_]+$/);
        expect(parts.join("")).toBe(v.restore(remote, { json }));
      }
    }
  });
});

import { describe, expect, it } from "vitest";
import type { TokenLogprob } from "../../core/wire.js";
import { majorityVote, meanLogprob, minLogprob, normalizeAnswer } from "./signals.js";

const lp = (...xs: number[]): TokenLogprob[] => xs.map((logprob) => ({ token: "x", logprob, bytes: null, top_logprobs: [] }));

describe("cascade signals", () => {
  it("mean and min log-probability in nats", () => {
    expect(meanLogprob(lp(-1, -2, -3))).toBeCloseTo(-2);
    expect(minLogprob(lp(-0.1, -2.5, -0.3))).toBeCloseTo(-2.5);
    expect(meanLogprob([])).toBe(Number.NEGATIVE_INFINITY);
    expect(minLogprob(undefined)).toBe(Number.NEGATIVE_INFINITY);
  });
  it("normalizes answers for voting", () => {
    expect(normalizeAnswer("so 9 * 2 = 18\n#### 1,018")).toBe("1018");
    expect(normalizeAnswer("She makes 9 * 2 = 18 dollars")).toBe("18");
    expect(normalizeAnswer("Paris!\nIt is the capital")).toBe("paris");
  });
  it("majority vote share and the first sample that gave it", () => {
    expect(majorityVote(["a", "b", "b", "c", "b"])).toEqual({ answer: "b", share: 0.6, index: 1 });
    expect(majorityVote(["a", "b"])).toEqual({ answer: "a", share: 0.5, index: 0 });
  });
});

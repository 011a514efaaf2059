import { afterAll, describe, expect, it } from "vitest";
import { costOf } from "../../core/model.js";
import { ask, weakStrongPair } from "../../../test/helpers.js";
import { HeuristicRouter, localRouterStats, route, RandomRouter, thresholdForShare } from "./index.js";

const { weak, strong, close } = await weakStrongPair();
afterAll(close);

describe("route", () => {
  it("sends score > threshold to the strong model and records the decision", async () => {
    const always = route({ id: "r", weak, strong, router: new HeuristicRouter(), threshold: 0 });
    const never = route({ id: "r", weak, strong, router: new HeuristicRouter(), threshold: 1 });
    const a = await always.generate(ask("How many eggs? 16 - 3 - 4 = ?"));
    expect(a.info.servedBy).toBe("strong");
    expect(a.info.escalated).toBe(true);
    expect(a.info.decisions[0]).toMatchObject({ strategy: "route", name: "r", chosen: "strong", escalated: true, threshold: 0 });
    expect(a.info.costUsd).toBeCloseTo(costOf(strong.price, a.usage), 12);
    expect(a.info.strongOnlyCostUsd).toBeCloseTo(a.info.costUsd, 12);
    const b = await never.generate(ask("How many eggs? 16 - 3 - 4 = ?"));
    expect(b.info.servedBy).toBe("weak");
    expect(b.info.escalated).toBe(false);
    expect(b.info.costUsd).toBe(0);
    expect(b.info.strongOnlyCostUsd).toBeCloseTo(costOf(strong.price, b.usage), 12);
    expect(b.info.strongOnlyCostUsd).toBeGreaterThan(0);
  });

  it("streams from the chosen model and puts the info on the finish part", async () => {
    const r = route({ weak, strong, router: new RandomRouter(1), threshold: 0.5 });
    const parts = [];
    for await (const p of r.stream(ask("Once upon a time"))) parts.push(p);
    const finish = parts.at(-1);
    expect(finish?.type).toBe("finish");
    if (finish?.type !== "finish") return;
    const text = parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
    expect(text).toBe(finish.result.text);
    expect(finish.result.info.decisions[0].strategy).toBe("route");
    const direct = await (finish.result.info.escalated ? strong : weak).generate(ask("Once upon a time"));
    expect(direct.text).toBe(text); // greedy: same text as the chosen model alone
  });

  it("rejects a threshold or strong share outside [0, 1]", () => {
    expect(() => route({ weak, strong, router: new RandomRouter(), threshold: 1.5 })).toThrowError(/threshold/);
    expect(() => route({ weak, strong, router: new RandomRouter(), threshold: 0.5, strongShare: -0.1 })).toThrowError(/strongShare/);
  });

  it("online calibration: after minObservations, the threshold keeps the strong share at its target", async () => {
    // RandomRouter scores are uniform in [0, 1); a fixed threshold of 0.9 would send ~10 % to strong
    const r = route({ weak, strong, router: new RandomRouter(7), threshold: 0.9, strongShare: 0.25, minObservations: 20, stats: localRouterStats() });
    const decisions = [];
    for (let i = 0; i < 100; i++) decisions.push((await r.generate(ask(`Story number ${i}`, 1))).info.decisions[0]);
    expect(decisions.slice(0, 20).every((d) => d.threshold === 0.9)).toBe(true);
    const later = decisions.slice(20);
    expect(later.every((d) => d.reason.includes("online threshold (strong share 0.25)"))).toBe(true);
    const share = later.filter((d) => d.escalated).length / later.length;
    expect(share).toBeGreaterThan(0.12);
    expect(share).toBeLessThan(0.4);
    expect(thresholdForShare([0, 2, 2], 0.5)).toBeCloseTo(2 / 3, 12); // bins [0,⅓) [⅓,⅔) [⅔,1]: half the mass above ⅔
    expect(thresholdForShare([0, 0, 0], 0.5)).toBeUndefined();
  });
});

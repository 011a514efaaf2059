import { afterAll, describe, expect, it } from "vitest";
import { costOf } from "../../core/model.js";
import { ask, weakStrongPair } from "../../../test/helpers.js";
import { HeuristicRouter, route, RandomRouter } from "./index.js";

const { weak, strong, close } = await weakStrongPair();
afterAll(close);

describe("route", () => {
  it("sends score > threshold to the strong model and records the decision", async () => {
    const always = route({ name: "r", weak, strong, router: new HeuristicRouter(), threshold: 0 });
    const never = route({ name: "r", weak, strong, router: new HeuristicRouter(), threshold: 1 });
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

  it("rejects a threshold outside [0, 1]", () => {
    expect(() => route({ weak, strong, router: new RandomRouter(), threshold: 1.5 })).toThrowError(/threshold/);
  });
});

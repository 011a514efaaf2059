import { describe, expect, it } from "vitest";
import { importOutcomes } from "./importers.js";
import { evaluateMotCascade } from "./mot-cascade.js";
import { runEval } from "./run-eval.js";
import { sharedData } from "../../test/helpers.js";

describe("MoT cascade on replay (date understanding)", () => {
  const { records } = importOutcomes("mot", [sharedData("cascade/mot-date")]);

  it("reaches GPT-4's accuracy at well under its cost, as the MoT paper reports (~40 %)", async () => {
    const r = await evaluateMotCascade(records);
    expect(r.k).toBe(7);
    expect(r.strongAlone.accuracy).toBeGreaterThan(0.85);
    expect(r.weakAlone.accuracy).toBeLessThan(0.7);
    expect(r.voteRelativeCostAtStrongAccuracy).not.toBeNull();
    expect(r.voteRelativeCostAtStrongAccuracy!).toBeLessThan(0.6);
    // escalating more never lowers the share escalated
    for (let i = 1; i < r.vote.length; i++) expect(r.vote[i].strongShare).toBeGreaterThanOrEqual(r.vote[i - 1].strongShare);
    expect(r.verify.accuracy).toBeGreaterThan(r.weakAlone.accuracy);
    expect(r.verify.relativeCost).toBeLessThan(0.6);
  });

  it("runs through tandem eval's cascade strategy", async () => {
    const { report } = await runEval({ dataset: "mot", records, strategy: "cascade" });
    expect(report.setting).toBe("mot");
    expect(report.strategies.map((s) => s.name)).toEqual(["mot-1d-vote", "mot-1d-verify"]);
  });
});

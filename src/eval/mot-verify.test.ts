import { beforeAll, describe, expect, it } from "vitest";
import { outcomeOf } from "./dataset.js";
import { majorityAnswer } from "./import-mot.js";
import { importOutcomes } from "./importers.js";
import { MOT_COMBINATIONS } from "./mot-cascade.js";
import { ALWAYS_ESCALATE, evaluateMotVerify, verifyThresholds, type MotVerifyResult } from "./mot-verify.js";
import { sharedData } from "../../test/helpers.js";

describe("AutoMix-style verification cascade on the MoT replay data (date understanding)", () => {
  const { records } = importOutcomes("mot", [sharedData("cascade/mot-date")]);
  let r: MotVerifyResult;
  beforeAll(async () => {
    r = await evaluateMotVerify(records);
  }, 60_000);

  it("serves the same decisions as the rule computed directly from the recorded answers", () => {
    // escalate when P(correct) = #PoT agreeing with the CoT majority / #PoT with an answer < t
    const k = r.k;
    for (const t of [0.5, 1]) {
      let escalated = 0;
      let score = 0;
      for (const [cotView, potView] of MOT_COMBINATIONS) {
        for (const rec of records) {
          const cot = outcomeOf(rec, `gpt-3.5-turbo/${cotView}`).samples!.slice(0, k);
          const pot = outcomeOf(rec, `gpt-3.5-turbo/${potView}`).samples!.slice(0, k);
          const answer = majorityAnswer(cot.map((s) => s.answer)).answer;
          const judged = pot.filter((s) => s.answer !== null);
          const p = judged.length ? judged.filter((s) => s.answer === answer).length / judged.length : 0;
          if (p < t) {
            escalated++;
            score += outcomeOf(rec, "gpt-4/cot1").score;
          } else score += answer === rec.reference ? 1 : 0;
        }
      }
      const total = records.length * MOT_COMBINATIONS.length;
      const point = r.verify.points.find((x) => x.threshold === t)!;
      expect(point.strongShare).toBeCloseTo(escalated / total, 12);
      expect(point.accuracy).toBeCloseTo(score / total, 12);
    }
    expect(r.verdicts.correct + r.verdicts.incorrect + r.verdicts.unparseable).toBe(records.length * MOT_COMBINATIONS.length * k);
    const row = r.decisions.find((d) => d.strategy.startsWith("automix-verify") && d.strong)!;
    expect(row.models).toEqual(["gpt-3.5-turbo", "gpt-3.5-turbo-pot-verifier", "gpt-4"]);
  });

  it("spans never → always escalating, and the verifier recovers most of GPT-4's accuracy at about half its cost", () => {
    const v = r.verify.points;
    // every P(correct) value observed on the data (14 of the 19 fractions c/d, d ≤ 7), then always-escalate
    const all = verifyThresholds(7);
    expect(v).toHaveLength(15);
    for (const p of v) expect(all).toContain(p.threshold);
    expect(v[0].strongShare).toBe(0);
    expect(v[v.length - 1].threshold).toBe(ALWAYS_ESCALATE);
    expect(v[v.length - 1].strongShare).toBe(1);
    expect(v[v.length - 1].accuracy).toBeCloseTo(r.strongAlone.accuracy, 12);
    for (let i = 1; i < v.length; i++) expect(v[i].strongShare).toBeGreaterThanOrEqual(v[i - 1].strongShare);
    // measured (accuracy and shares do not depend on token counting; costs do, loosely bounded)
    expect(v[0].accuracy).toBeCloseTo(0.669, 3); // GPT-3.5 CoT SC@7 alone
    expect(r.verify.apgr).toBeCloseTo(0.877, 2);
    expect(r.verify.relativeCostAtStrongAccuracy).not.toBeNull();
    expect(r.verify.relativeCostAtStrongAccuracy!).toBeLessThan(0.65);
    expect(r.verify.accuracyAtShare.find((x) => x.share === 0.3)!.accuracy).toBeGreaterThan(0.87);
  });

  it("falls short of MoT's vote cascade at the same cost (vote pools CoT and PoT agreement)", () => {
    expect(r.vote.points[0].strongShare).toBe(0);
    expect(r.vote.points[r.vote.points.length - 1].strongShare).toBe(1);
    expect(r.vote.apgr).toBeCloseTo(0.952, 2);
    expect(r.vote.apgr).toBeGreaterThan(r.verify.apgr);
    for (const { share, accuracy } of r.verify.accuracyAtShare) expect(accuracy).toBeLessThanOrEqual(r.vote.accuracyAtShare.find((x) => x.share === share)!.accuracy + 1e-12);
    expect(r.vote.relativeCostAtStrongAccuracy!).toBeLessThan(r.verify.relativeCostAtStrongAccuracy!);
  });

  it("holds the threshold out: chosen on one half, reported on the other", () => {
    for (const c of [r.verify, r.vote]) {
      expect(c.heldOut).toHaveLength(2);
      for (const h of c.heldOut) {
        expect(h.calibration.accuracy).toBeGreaterThanOrEqual(h.strongCalibration.accuracy); // the chosen point reached GPT-4 on calibration
        expect(h.test.threshold).toBe(h.threshold);
      }
      // the two folds' test halves partition the questions: their mean GPT-4 accuracy is GPT-4's
      expect(c.heldOutMean.strongAccuracy).toBeCloseTo(r.strongAlone.accuracy, 2);
      expect(c.heldOutMean.accuracy).toBeGreaterThan(0.87);
      expect(c.heldOutMean.relativeCost).toBeLessThan(0.65);
    }
    expect(r.verify.heldOut.map((h) => h.reachedStrongOnTest)).toEqual([false, true]);
  });
});

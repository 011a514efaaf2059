import { describe, expect, it } from "vitest";
import { aiq, apgr, cpt, nonDecreasingHull, oracleAccuracy, quantileThresholds, type CurvePoint } from "./metrics.js";

const pt = (strongShare: number, accuracy: number): CurvePoint => ({ threshold: 0, strongShare, accuracy, cost: 0 });

describe("RouteLLM metrics", () => {
  it("APGR is 0.5 for the straight line between weak and strong, 1 for a curve at strong quality", () => {
    const line = [0, 0.5, 1].map((s) => pt(s, 0.6 + 0.2 * s));
    expect(apgr(line, 0.6, 0.8)).toBeCloseTo(0.5, 12);
    expect(apgr([pt(0, 0.8), pt(1, 0.8)], 0.6, 0.8)).toBeCloseTo(1, 12);
    // a concave curve: area = 0.6 + 0.5·(0.1·0.5 + ...) computed by hand
    const curve = [pt(0, 0.6), pt(0.5, 0.75), pt(1, 0.8)];
    // trapz = 0.5·(0.6+0.75)/2 + 0.5·(0.75+0.8)/2 = 0.3375 + 0.3875 = 0.725 → (0.725−0.6)/0.2
    expect(apgr(curve, 0.6, 0.8)).toBeCloseTo(0.625, 12);
  });

  it("CPT interpolates the strong share where the gap fraction is recovered", () => {
    const curve = [pt(0, 0.6), pt(0.5, 0.75), pt(1, 0.8)];
    expect(cpt(curve, 0.5, 0.6, 0.8)).toBeCloseTo(0.5 * (0.1 / 0.15), 12);
    expect(cpt(curve, 0.8, 0.6, 0.8)).toBeCloseTo(0.5 + 0.5 * (0.01 / 0.05), 12);
    expect(cpt(curve, 0, 0.6, 0.8)).toBe(0);
  });

  it("quantile thresholds are the 11 edges of 10 equal-count bins, min to max (the sweep itself is served: served.test.ts)", () => {
    const scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    const t = quantileThresholds(scores);
    expect(t).toHaveLength(11);
    expect(t[0]).toBe(0.1);
    expect(t[10]).toBe(1.0);
    expect(t[5]).toBeCloseTo(0.55, 12); // linear interpolation between the 5th and 6th scores
  });

  it("oracle accuracy takes the winning queries first", () => {
    const weak = [1, 0, 0, 1];
    const strong = [1, 1, 0, 0];
    expect(oracleAccuracy(weak, strong, 0)).toBe(0.5);
    expect(oracleAccuracy(weak, strong, 0.25)).toBe(0.75);
    expect(oracleAccuracy(weak, strong, 1)).toBe(0.75);
  });
});

describe("RouterBench AIQ", () => {
  it("takes the non-decreasing upper hull and extends it flat to the max cost", () => {
    const pts = [
      { cost: 1, quality: 0.5 },
      { cost: 2, quality: 0.55 }, // below the segment (1,0.5)–(3,0.7): dropped
      { cost: 3, quality: 0.7 },
      { cost: 4, quality: 0.65 }, // lower than the peak: dropped
    ];
    expect(nonDecreasingHull(pts).map((p) => p.cost)).toEqual([1, 3]);
    // area over [1,3] = 2·0.6 = 1.2, flat 0.7 over [3,4] = 0.7 → 1.9/4
    expect(aiq(pts)).toBeCloseTo(1.9 / 4, 12);
    expect(aiq(pts, 8)).toBeCloseTo((1.9 + 0.7 * 4) / 8, 12);
  });
});

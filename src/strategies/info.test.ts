/**
 * The decision/calls recorder: the invariants every strategy's info keeps (costUsd = sum of
 * calls, decisions outermost first, escalated when any decision escalated).
 */
import { describe, expect, it } from "vitest";
import { leafInfo, type GenerateResult } from "../core/model.js";
import { callRecord, decision, mapStreamInfo, ownInfo, strategyInfo, withCallsBefore, withDecision } from "./info.js";

const priced = { id: "strong", location: "cloud" as const, price: { inputPerMillion: 3, outputPerMillion: 15 } };
const served: GenerateResult = { text: "ok", finishReason: "stop", usage: { promptTokens: 100, completionTokens: 20 }, info: leafInfo(priced, { promptTokens: 100, completionTokens: 20 }, 5) };
const d = (name: string, escalated = false) => decision({ strategy: "test", name, signal: "s", score: 1, chosen: "strong", reason: name, escalated });

describe("strategies/info", () => {
  it("callRecord prices the usage; ownInfo sums calls and reads escalation off the decisions", () => {
    const call = callRecord(priced, { promptTokens: 1_000_000, completionTokens: 0 }, 7, { role: "draft" });
    expect(call).toEqual({ model: "strong", location: "cloud", role: "draft", promptTokens: 1_000_000, completionTokens: 0, costUsd: 3, latencyMs: 7 });
    expect(callRecord({ id: "h", price: priced.price }, { promptTokens: 0, completionTokens: 0 }, 1, { costUsd: 0.5 })).toMatchObject({ location: "edge", costUsd: 0.5 });
    const info = ownInfo({ servedBy: "me", calls: [call, { ...call, costUsd: 1 }], decisions: [d("a"), d("b", true)] });
    expect(info).toMatchObject({ servedBy: "me", costUsd: 4, strongOnlyCostUsd: 4, escalated: true });
    expect(ownInfo({ servedBy: "me", calls: [], decisions: [d("a", true)], escalated: false }).escalated).toBe(false);
  });

  it("withDecision prepends (outermost first) and carries escalation; withCallsBefore prepends calls and adds their cost", () => {
    const info = withDecision(withDecision(served.info, d("inner")), d("outer", true));
    expect(info.decisions.map((x) => x.name)).toEqual(["outer", "inner"]);
    expect(info.escalated).toBe(true);
    expect(withDecision(served.info)).toBe(served.info);
    const before = callRecord(priced, { promptTokens: 0, completionTokens: 1_000_000 }, 1, { role: "weak" });
    const more = withCallsBefore(served.info, [before], { strongOnlyExtraUsd: 2 });
    expect(more.calls.map((c) => c.role ?? "served")).toEqual(["weak", "served"]);
    expect(more.costUsd).toBeCloseTo(served.info.costUsd + 15, 12);
    expect(more.strongOnlyCostUsd).toBeCloseTo(served.info.strongOnlyCostUsd + 2, 12);
  });

  it("strategyInfo: decision first, earlier calls first, cost = sum of calls, strong-only at the reference price", async () => {
    const weak = callRecord({ id: "weak", price: { inputPerMillion: 0, outputPerMillion: 0 } }, { promptTokens: 100, completionTokens: 10 }, 2, { role: "weak" });
    const info = strategyInfo(served, d("cascade", true), { inputPerMillion: 10, outputPerMillion: 10 }, { calls: [weak] });
    expect(info.decisions.map((x) => x.name)).toEqual(["cascade"]);
    expect(info.calls.map((c) => c.model)).toEqual(["weak", "strong"]);
    expect(info.costUsd).toBe(info.calls.reduce((s, c) => s + c.costUsd, 0));
    expect(info.strongOnlyCostUsd).toBeCloseTo((120 * 10) / 1e6, 12);
    expect(info.escalated).toBe(true);
    async function* parts() {
      yield { type: "text" as const, text: "ok" };
      yield { type: "finish" as const, result: served };
    }
    const out = [];
    for await (const p of mapStreamInfo(parts(), (r) => withDecision(r.info, d("s")))) out.push(p);
    expect(out[0]).toEqual({ type: "text", text: "ok" });
    expect(out[1].type === "finish" && out[1].result.info.decisions.map((x) => x.name)).toEqual(["s"]);
  });
});

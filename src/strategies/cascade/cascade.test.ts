import { afterAll, describe, expect, it } from "vitest";
import { llamaCpp } from "../../providers/llama-cpp/index.js";
import { ask, modelPath, weakStrongPair } from "../../../test/helpers.js";
import { cascade } from "./index.js";

const { weak, strong, close } = await weakStrongPair();
afterAll(close);

describe("cascade", () => {
  it("keeps the weak answer when its mean logprob clears the threshold", async () => {
    const c = cascade({ id: "c", weak, strong, signal: "mean-logprob", threshold: Number.NEGATIVE_INFINITY });
    const r = await c.generate(ask("Once upon a time"));
    expect(r.info.servedBy).toBe("weak");
    expect(r.info.escalated).toBe(false);
    expect(r.info.calls.map((x) => x.role)).toEqual(["weak"]);
    expect(r.logprobs).toBeUndefined(); // not requested by the caller
    expect(r.info.decisions[0]).toMatchObject({ strategy: "cascade", signal: "mean-logprob", escalated: false });
    expect(r.info.decisions[0].score).toBeLessThan(0);
  });

  it("escalates when the signal is below the threshold, counting both calls", async () => {
    const c = cascade({ id: "c", weak, strong, signal: "min-logprob", threshold: 0 });
    const r = await c.generate(ask("Tom has 3 apples and buys 2 more. How many?"));
    expect(r.info.servedBy).toBe("strong");
    expect(r.info.escalated).toBe(true);
    expect(r.info.calls.map((x) => x.model)).toEqual(["weak", "strong"]);
    expect(r.info.costUsd).toBeCloseTo(r.info.calls[1].costUsd, 12); // weak is free
    expect(r.info.costUsd).toBeLessThanOrEqual(r.info.strongOnlyCostUsd + 1e-15);
    const alone = await strong.generate(ask("Tom has 3 apples and buys 2 more. How many?"));
    expect(r.text).toBe(alone.text);
  });

  it("streams the escalated answer from the strong model", async () => {
    const c = cascade({ weak, strong, signal: "mean-logprob", threshold: 0 });
    let text = "";
    let last;
    for await (const p of c.stream(ask("Once upon a time"))) {
      if (p.type === "text") text += p.text;
      last = p;
    }
    expect(last?.type === "finish" && last.result.info.servedBy).toBe("strong");
    expect(last?.type === "finish" && last.result.text).toBe(text);
  });

  it("self-consistency votes over k sampled weak answers", async () => {
    const c = cascade({ weak, strong, signal: "self-consistency", threshold: 0.5, samples: 3, sampleTemperature: 1 });
    const r = await c.generate({ ...ask("What is 2 + 2?"), seed: 11 });
    const d = r.info.decisions[0];
    expect(d.signal).toBe("self-consistency");
    expect([1 / 3, 2 / 3, 1]).toContainEqual(expect.closeTo(d.score, 6));
    expect(r.info.calls.filter((x) => x.role?.startsWith("weak-sample")).length).toBe(3);
    expect(r.info.escalated).toBe(d.score < 0.5);
    expect(() => cascade({ weak, strong, signal: "self-consistency", threshold: 0.5, samples: 1 })).toThrowError(/samples/);
  });

  it("escalates instead of failing when the weak model fails", async () => {
    const broken = llamaCpp({ id: "broken", path: modelPath("does-not-exist.gguf"), threads: 1 });
    const c = cascade({ weak: broken, strong, signal: "mean-logprob", threshold: -5 });
    const r = await c.generate(ask("Once upon a time"));
    expect(r.info.servedBy).toBe("strong");
    expect(r.info.calls[0]).toMatchObject({ model: "broken", error: expect.stringMatching(/not found/) });
    expect(r.info.decisions[0].reason).toMatch(/weak model failed/);
  });
});

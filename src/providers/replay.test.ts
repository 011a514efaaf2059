import { describe, expect, it } from "vitest";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { ReplayModel } from "./replay.js";
import { TandemError } from "../core/errors.js";

const fixture = resolve(dirname(fileURLToPath(import.meta.url)), "../../test/fixtures/routing/gsm8k-40.jsonl");
const S = "gpt-4-1106-preview";
const first = JSON.parse(readFileSync(fixture, "utf8").split("\n")[0]) as { id: string; prompt: string; outcomes: Record<string, { cost: number; response: string }> };

describe("replay provider", () => {
  const model = ReplayModel.fromFile(fixture, S);

  it("serves the recorded response with the recorded USD cost", async () => {
    const r = await model.generate({ messages: [{ role: "system", content: "be brief" }, { role: "user", content: first.prompt }] });
    expect(r.text).toBe(first.outcomes[S].response);
    expect(r.info.servedBy).toBe(S);
    expect(r.info.costUsd).toBe(first.outcomes[S].cost);
    expect(r.info.calls).toHaveLength(1);
    expect(r.usage.promptTokens).toBeGreaterThan(10);
    expect(model.price.inputPerMillion).toBeGreaterThan(0);
  });

  it("finds a query by record id and streams it", async () => {
    const parts = [];
    for await (const p of model.stream({ messages: [{ role: "user", content: first.id }] })) parts.push(p);
    expect(parts[0]).toEqual({ type: "text", text: first.outcomes[S].response, logprobs: undefined });
    expect(parts.at(-1)?.type).toBe("finish");
  });

  it("fails with a 400 TandemError for an unknown prompt", async () => {
    const err = await model.generate({ messages: [{ role: "user", content: "not recorded" }] }).catch((e: unknown) => e);
    expect(TandemError.isInstance(err) && err.status).toBe(400);
  });
});

describe("replay provider: samples, grading, id matching", () => {
  const records = [
    { id: "r1", prompt: "same", outcomes: { m: { score: 1, cost: 0.3, samples: [{ answer: "05/23/2021", score: 1 }, { answer: null, score: 0 }, { answer: "x", score: 0, cost: 0.25 }] } } },
    { id: "r2", prompt: "same", outcomes: { m: { score: 0, cost: 0.5, response: "no" } } },
  ];

  it("serves sample seed mod n as '#### answer' at its share of the cost, and grades served texts", async () => {
    const model = new ReplayModel("m", records, { matchBy: "id" });
    const ask = (seed?: number) => model.generate({ messages: [{ role: "user", content: "r1" }], seed });
    const s0 = await ask(0);
    expect(s0.text).toBe("#### 05/23/2021");
    expect(s0.info.costUsd).toBeCloseTo(0.1, 12);
    expect(s0.info.calls).toEqual([expect.objectContaining({ model: "m", costUsd: s0.info.costUsd })]);
    expect((await ask(4)).text).toBe(""); // 4 mod 3 = 1: no answer extracted
    expect((await ask(-1)).info.costUsd).toBe(0.25); // sample 2, its own cost
    const plain = await ask();
    expect(plain.text).toBe("#### 05/23/2021"); // no response recorded: the majority sample
    expect(plain.info.costUsd).toBe(0.3);
    const msgs = [{ role: "user" as const, content: "r1" }];
    expect(model.recordedScore(msgs, "#### 05/23/2021")).toBe(1);
    expect(model.recordedScore(msgs, "#### x")).toBe(0);
    expect(model.recordedScore(msgs, "something else")).toBeUndefined();
  });

  it("keeps records with the same prompt apart when matching by id", async () => {
    const byId = new ReplayModel("m", records, { matchBy: "id" });
    expect((await byId.generate({ messages: [{ role: "user", content: "r2" }] })).text).toBe("no");
    const err = await byId.generate({ messages: [{ role: "user", content: "same" }] }).catch((e: unknown) => e);
    expect(TandemError.isInstance(err) && err.status).toBe(400);
    // by text, the first record with that prompt answers
    const byText = new ReplayModel("m", records);
    expect((await byText.generate({ messages: [{ role: "user", content: "same" }] })).info.costUsd).toBe(0.3);
  });
});

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

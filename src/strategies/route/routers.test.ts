import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TandemError } from "../../core/errors.js";
import { HeuristicRouter, loadRouter, loadRouterFile, RandomRouter } from "./index.js";

describe("RandomRouter", () => {
  it("is deterministic per (seed, prompt) and uniform in [0, 1)", () => {
    const r = new RandomRouter(7);
    expect(r.score({ prompt: "hello" })).toBe(new RandomRouter(7).score({ prompt: "hello" }));
    expect(r.score({ prompt: "hello" })).not.toBe(new RandomRouter(8).score({ prompt: "hello" }));
    const scores = Array.from({ length: 4000 }, (_, i) => r.score({ prompt: `prompt ${i}` }));
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    expect(Math.min(...scores)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...scores)).toBeLessThan(1);
    expect(mean).toBeGreaterThan(0.47);
    expect(mean).toBeLessThan(0.53);
    // with threshold t, about 1 - t of the traffic goes strong
    expect(scores.filter((s) => s > 0.7).length / scores.length).toBeCloseTo(0.3, 1);
  });
});

describe("HeuristicRouter", () => {
  const r = new HeuristicRouter();
  it("scores a multi-step math question above small talk", () => {
    const easy = r.score({ prompt: "Tell me a story about a cat." });
    const hard = r.score({ prompt: "Janet has 16 eggs, eats 3 and bakes with 4. She sells the rest at $2 each. How much does she make? Explain step by step." });
    expect(hard).toBeGreaterThan(easy);
    expect(easy).toBeGreaterThan(0);
    expect(hard).toBeLessThan(1);
  });
  it("round-trips through JSON", () => {
    const custom = new HeuristicRouter({ ...r.weights, bias: -1 });
    const back = loadRouter(custom.toJSON());
    expect(back.score({ prompt: "why is the sky blue?" })).toBe(custom.score({ prompt: "why is the sky blue?" }));
  });
});

describe("router registry", () => {
  it("rejects unknown kinds and bad files with invalid_policy", () => {
    expect(() => loadRouter({ kind: "nope" })).toThrowError(/Unknown router kind 'nope'/);
    const dir = mkdtempSync(join(tmpdir(), "tandem-router-"));
    writeFileSync(join(dir, "bad.json"), "{not json");
    writeFileSync(join(dir, "nokind.json"), "{}");
    writeFileSync(join(dir, "ok.json"), JSON.stringify({ kind: "random", seed: 3 }));
    for (const f of ["bad.json", "nokind.json", "missing.json"]) {
      try {
        loadRouterFile(join(dir, f));
        expect.unreachable();
      } catch (e) {
        expect(TandemError.isInstance(e) && e.code).toBe("invalid_policy");
      }
    }
    expect(loadRouterFile(join(dir, "ok.json")).kind).toBe("random");
  });
});

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { memoryForget, memoryList } from "../../cli/commands/memory.js";
import type { EmbeddingModel } from "../../core/embedding.js";
import { leafInfo, type GenerateRequest, type Model } from "../../core/model.js";
import { createDetector } from "../../pii/index.js";
import type { PiiDetector } from "../../pii/types.js";
import { openMemoryStore, type MemoryEntry } from "../../store/memory.js";
import { cloudMemory, containsRawValue, edgeEmbedder, extractFacts, hashingEmbedder, personalize, ruleExtractor, runAsCaller, userThresholdOffset } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "tandem-personalize-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const facts = (text: string) => extractFacts(text).map((f) => [f.slot, f.value]);

describe("rule extractor", () => {
  it("finds first-person facts", () => {
    expect(facts("Hi! My name is Alice Moreau and I live in Lyon.")).toEqual([
      ["name", "Alice Moreau"],
      ["location", "Lyon"],
    ]);
    expect(facts("I'm allergic to peanuts, so be careful. I have a severe shellfish allergy.")).toEqual([
      ["allergy", "peanuts"],
      ["allergy", "shellfish"],
    ]);
    expect(facts("I work as a nurse at St Mary Hospital. I speak Portuguese.")).toEqual([
      ["job", "a nurse"],
      ["language", "Portuguese"],
    ]);
  });

  it("ignores questions, negations, other people, the past and hypotheticals", () => {
    for (const t of ["Do I live in Paris?", "My friend's name is Bob Stone.", "I used to live in Berlin.", "I'm not allergic to anything.", "If I lived in Rome I would walk.", "She prefers tea.", "I love you", "My name is not important."]) {
      expect(facts(t), t).toEqual([]);
    }
  });

  it("reads only user messages; a single-valued slot keeps the latest value", () => {
    const extracted = ruleExtractor().extract([
      { role: "system", content: "My name is System Prompt." },
      { role: "user", content: "I live in Lyon." },
      { role: "assistant", content: "My name is Assistant Bot. I live in Cloudtown." },
      { role: "tool", tool_call_id: "t", content: "My name is Tool Output." },
      { role: "user", content: [{ type: "text", text: "Actually I moved to Porto." }] },
    ]);
    expect(extracted.map((f) => [f.slot, f.value])).toEqual([["location", "Porto"]]);
  });

  it("bounded time on hostile input (long runs without clause boundaries)", () => {
    const hostile = ["I live in " + "A".repeat(200_000), ("my name is " + "Ab ".repeat(30)).repeat(2000), "I prefer ".repeat(50_000), "i".repeat(500_000)];
    const t0 = performance.now();
    for (const h of hostile) ruleExtractor().extract([{ role: "user", content: h }]);
    expect(performance.now() - t0).toBeLessThan(3000); // generous: scanning is capped at 4,000 characters a message
  });
});

describe("per-user threshold offset (shrinkage toward the tenant)", () => {
  it("is 0 without feedback or at the population's rate, signed by pickiness, bounded by maxOffset", () => {
    const none = { positive: 0, negative: 0 };
    expect(userThresholdOffset(none, none)).toBe(0);
    expect(userThresholdOffset(none, { positive: 3, negative: 9 })).toBeCloseTo(0, 12);
    const tenant = { positive: 10, negative: 10 };
    expect(userThresholdOffset({ positive: 0, negative: 10 }, tenant)).toBeLessThan(0); // picky: lower threshold, more strong
    expect(userThresholdOffset({ positive: 10, negative: 0 }, tenant)).toBeGreaterThan(0);
    // p0 = 11/22 = 0.5; p_u = (10 + 8·0.5)/(10+8) = 0.777… → −2·0.2·0.2777… = −0.1111…
    expect(userThresholdOffset({ positive: 0, negative: 10 }, tenant)).toBeCloseTo(-0.4 * (14 / 18 - 0.5), 12);
    expect(userThresholdOffset({ positive: 0, negative: 1e6 }, { positive: 1e6, negative: 0 }, { maxOffset: 0.1 })).toBe(-0.1);
    // more evidence, larger move (shrinkage fades)
    expect(Math.abs(userThresholdOffset({ positive: 0, negative: 40 }, tenant))).toBeGreaterThan(Math.abs(userThresholdOffset({ positive: 0, negative: 4 }, tenant)));
    expect(() => userThresholdOffset(none, none, { priorStrength: 0 })).toThrow(RangeError);
  });
});

describe("memory for a cloud model fails closed", () => {
  const entry = (slot: string, value: string, text: string): MemoryEntry => ({ id: 1, tenant: "", user: "u", slot, value, text, vector: new Float32Array(8), createdAt: 0, usedAt: 0 });
  const entries = [entry("name", "Ada Lovelace", "The user's name is Ada Lovelace."), entry("allergy", "peanuts", "The user is allergic to peanuts.")];
  const request: GenerateRequest = { messages: [{ role: "user", content: "hello" }] };
  const patternsOnly = createDetector({ tagger: false });

  it("placeholders: every stored value hidden even where the detector sees nothing", async () => {
    const shown = await cloudMemory("placeholders", entries, request, { detector: patternsOnly });
    expect("text" in shown).toBe(true);
    if (!("text" in shown)) return;
    expect(containsRawValue(shown.text, entries)).toBe(false);
    expect(shown.text).toMatch(/\[PERSON_1_[a-z0-9]{5}\]/);
    expect(shown.text).toMatch(/\[HEALTH_1_[a-z0-9]{5}\]/);
    expect(shown.vault.restore(shown.text)).toContain("Ada Lovelace");
  });

  it("a throwing detector withholds the memory", async () => {
    const broken: PiiDetector = { name: "broken", detect: async () => Promise.reject(new Error("boom")) };
    expect(await cloudMemory("placeholders", entries, request, { detector: broken })).toMatchObject({ withheld: expect.stringMatching(/detector failed \(boom\)/) });
  });

  it("summary: a summarizer that repeats a value in another case is withheld; a failing one too", async () => {
    const summarizer = (text: string | Error): Model => {
      const m: Model = {
        id: "sum",
        location: "edge",
        price: { inputPerMillion: 0, outputPerMillion: 0 },
        generate: async () => {
          if (text instanceof Error) throw text;
          return { text, finishReason: "stop", usage: { promptTokens: 1, completionTokens: 1 }, info: leafInfo(m, { promptTokens: 1, completionTokens: 1 }, 0) };
        },
        stream: () => {
          throw new Error("unused");
        },
      };
      return m;
    };
    expect(await cloudMemory("summary", entries, request, { detector: patternsOnly, summarizer: summarizer("the user, ADA LOVELACE, avoids PEANUTS") })).toMatchObject({ withheld: expect.stringMatching(/would leave unhidden/) });
    expect(await cloudMemory("summary", entries, request, { detector: patternsOnly, summarizer: summarizer(new Error("down")) })).toMatchObject({ withheld: expect.stringMatching(/summarizer failed/) });
    const ok = await cloudMemory("summary", entries, request, { detector: patternsOnly, summarizer: summarizer("Ada Lovelace avoids peanuts.") });
    expect("text" in ok && !containsRawValue(ok.text, entries)).toBe(true);
  });
});

describe("embedders", () => {
  it("hashing: deterministic, unit length, morphology-tolerant", async () => {
    const e = hashingEmbedder();
    const [a, b, c] = await e.embed(["I am allergic to peanuts", "allergy", "jazz music"]);
    expect(Array.from(a)).toEqual(Array.from((await e.embed(["I am allergic to peanuts"]))[0]));
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i], 0);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
  });

  it("a cloud embedding model is refused: memories are embedded on the device only", () => {
    const cloudEmbeddings = { id: "cloud-emb", location: "cloud", price: { inputPerMillion: 0, outputPerMillion: 0 }, supportsDimensions: false, embed: async () => ({}) } as unknown as EmbeddingModel;
    expect(() => edgeEmbedder(cloudEmbeddings)).toThrow(/memories are embedded on the device only/);
  });
});

describe("library use and the CLI", () => {
  it("tenants outside the gateway come from runAsCaller (or the tenant option); the CLI lists and forgets", async () => {
    const path = join(dir, "personal.sqlite");
    const seen: GenerateRequest[] = [];
    const edge: Model = {
      id: "edge",
      location: "edge",
      price: { inputPerMillion: 0, outputPerMillion: 0 },
      async generate(request) {
        seen.push(request);
        return { text: "ok", finishReason: "stop", usage: { promptTokens: 1, completionTokens: 1 }, info: leafInfo(edge, { promptTokens: 1, completionTokens: 1 }, 0) };
      },
      stream: () => {
        throw new Error("unused");
      },
    };
    const p = personalize({ model: edge, store: openMemoryStore(path) });
    await runAsCaller("acme", () => p.generate({ messages: [{ role: "user", content: "My name is Grace Hopper." }], user: "g" })).value;
    await p.generate({ messages: [{ role: "user", content: "What is my name?" }], user: "g" }); // tenant "" ≠ "acme"
    expect(JSON.stringify(seen.at(-1))).not.toContain("Grace");
    await runAsCaller("acme", () => p.generate({ messages: [{ role: "user", content: "What is my name?" }], user: "g" })).value;
    expect(JSON.stringify(seen.at(-1))).toContain("The user's name is Grace Hopper.");
    await p.close?.();

    expect(memoryList({ store: path })).toEqual(['"acme"\t"g"\t1']);
    expect(memoryList({ store: path, tenant: "acme", user: "g" })[0]).toMatch(/\tname\t.*\tThe user's name is Grace Hopper\.$/);
    expect(() => memoryForget({ store: path, tenant: "acme", user: "g", id: "999" })).toThrow(/has no memory 999/);
    expect(memoryForget({ store: path, tenant: "acme", user: "g" })).toMatch(/^forgot 1 memory/);
    expect(memoryList({ store: path })).toEqual(["no memories"]);
    expect(() => memoryList({ store: join(dir, "missing.sqlite") })).toThrow(/No personal store/);
  });
});

describe("policy", () => {
  const policy = (extra: string) => `
models:
  cloud: { provider: openai-compatible, model: m, baseURL: "http://127.0.0.1:9/v1", apiKey: x, location: cloud }
strategies:
  me: { kind: personalize, model: cloud, store: "${join(dir, "policy.sqlite")}", ${extra} }
`;
  it("validates options and refuses unsafe configurations at build time", async () => {
    const { parsePolicy, buildPolicy } = await import("../../policy/index.js");
    expect(() => parsePolicy(policy("cloud: everything"))).toThrow(/strategies\.me\.cloud/);
    expect(() => parsePolicy(policy("k: 0"))).toThrow(/strategies\.me\.k/);
    // summary needs an edge summarizer: the cloud model itself is refused
    await expect(buildPolicy(parsePolicy(policy("cloud: summary, summarizer: cloud")))).rejects.toThrow(/needs an edge summarizer/);
    const built = await buildPolicy(parsePolicy(policy("cloud: placeholders, tagger: false")));
    expect(built.served.get("me")?.location).toBe("cloud");
    await built.close();
  });
});

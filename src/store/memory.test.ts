import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashingEmbedder } from "../strategies/personalize/embedder.js";
import { cosine, openMemoryStore, sharedMemoryStore, type MemoryOwner, type NewMemory } from "./memory.js";

const dir = mkdtempSync(join(tmpdir(), "tandem-memory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const embedder = hashingEmbedder();
const memory = async (slot: string, value: string, text: string, single = false): Promise<NewMemory> => ({ slot, value, text, vector: (await embedder.embed([text]))[0], single });
const A: MemoryOwner = { tenant: "team-a", user: "u1" };
const B: MemoryOwner = { tenant: "team-a", user: "u2" };
const A_OTHER_KEY: MemoryOwner = { tenant: "team-b", user: "u1" };

describe("memory store", () => {
  it("keeps each (tenant, user) apart: same user string under another key sees nothing", async () => {
    const store = openMemoryStore(":memory:");
    store.remember(A, [await memory("allergy", "peanuts", "The user is allergic to peanuts.")]);
    const q = (await embedder.embed(["allergic to peanuts"]))[0];
    expect(store.search(A, q, { k: 3 }).map((h) => h.entry.value)).toEqual(["peanuts"]);
    expect(store.search(B, q, { k: 3 })).toEqual([]);
    expect(store.search(A_OTHER_KEY, q, { k: 3 })).toEqual([]);
    expect(store.list(B)).toEqual([]);
    expect(store.users()).toEqual([{ tenant: "team-a", user: "u1", memories: 1 }]);
    store.close();
  });

  it("dedupes a repeated value, replaces a single-valued slot, adds to a multi-valued one", async () => {
    const store = openMemoryStore(":memory:");
    const [first] = store.remember(A, [await memory("location", "Lyon", "The user lives in Lyon.", true)]);
    const [again] = store.remember(A, [await memory("location", "lyon", "The user lives in lyon.", true)]);
    expect(again).toBe(first);
    store.remember(A, [await memory("location", "Porto", "The user lives in Porto.", true)]);
    store.remember(A, [await memory("allergy", "peanuts", "The user is allergic to peanuts."), await memory("allergy", "shellfish", "The user is allergic to shellfish.")]);
    expect(store.list(A).map((e) => e.value).sort()).toEqual(["Porto", "peanuts", "shellfish"]);
    store.close();
  });

  it("evicts the least recently used beyond the cap; retrieval counts as use", async () => {
    let t = 1000;
    const store = openMemoryStore(":memory:", { maxPerUser: 3, now: () => t++ });
    for (const v of ["one", "two", "three"]) store.remember(A, [await memory("like", v, `The user likes ${v}.`)]);
    store.search(A, (await embedder.embed(["likes one"]))[0], { k: 1 }); // "one" is used now
    store.remember(A, [await memory("like", "four", "The user likes four.")]);
    expect(store.list(A).map((e) => e.value).sort()).toEqual(["four", "one", "three"]);
    expect(store.list(B)).toEqual([]);
    store.close();
  });

  it("a client inventing a new user per request cannot grow the store past the tenant cap; other tenants keep theirs", async () => {
    let t = 1000;
    const store = openMemoryStore(":memory:", { maxPerUser: 4, maxPerTenant: 50, now: () => t++ });
    store.remember(A_OTHER_KEY, [await memory("like", "tea", "The user likes tea.")]);
    const fact = await memory("like", "x", "The user likes x.");
    for (let i = 0; i < 500; i++) store.remember({ tenant: "team-a", user: `sybil-${i}` }, [{ ...fact, value: `x${i}` }, { ...fact, value: `y${i}` }]);
    const teamA = store.users().filter((u) => u.tenant === "team-a");
    expect(teamA.reduce((n, u) => n + u.memories, 0)).toBe(50);
    expect(teamA.map((u) => u.user)).toContain("sybil-499"); // the most recent survive
    expect(teamA.map((u) => u.user)).not.toContain("sybil-0");
    expect(store.list(A_OTHER_KEY).map((e) => e.value)).toEqual(["tea"]);
    // forgetting keeps the count right: the cap still holds after a user is deleted
    store.forget({ tenant: "team-a", user: "sybil-499" });
    for (let i = 500; i < 520; i++) store.remember({ tenant: "team-a", user: `sybil-${i}` }, [{ ...fact, value: `z${i}` }]);
    expect(store.users().filter((u) => u.tenant === "team-a").reduce((n, u) => n + u.memories, 0)).toBe(50);
    store.close();
  });

  it("top-k by cosine with a minimum similarity, best first", async () => {
    const store = openMemoryStore(":memory:");
    store.remember(A, [await memory("allergy", "peanuts", "The user is allergic to peanuts."), await memory("name", "Ada", "The user's name is Ada.", true), await memory("like", "jazz", "The user likes jazz.")]);
    const q = (await embedder.embed(["what is my name"]))[0];
    const hits = store.search(A, q, { k: 2, minSimilarity: 0.1 });
    expect(hits[0].entry.value).toBe("Ada");
    expect(hits.every((h, i) => i === 0 || h.similarity <= hits[i - 1].similarity)).toBe(true);
    expect(hits.every((h) => h.similarity >= 0.1)).toBe(true);
    expect(hits[0].similarity).toBeCloseTo(cosine(hits[0].entry.vector, q), 6);
    expect(store.search(A, q, { k: 5, minSimilarity: 0.99 })).toEqual([]);
    store.close();
  });

  it("forgets one user entirely (memories, trace links, feedback), and one entry", async () => {
    const path = join(dir, "forget.sqlite");
    const store = openMemoryStore(path);
    const [id] = store.remember(A, [await memory("name", "Ada", "The user's name is Ada.", true), await memory("like", "jazz", "The user likes jazz.")]);
    store.remember(B, [await memory("name", "Bo", "The user's name is Bo.", true)]);
    store.linkTrace({ traceId: "t1", ...A, route: "r", score: 0.4, threshold: 0.5, escalated: false });
    expect(store.addFeedback("t1", 0)).toBe(true);
    expect(store.addFeedback("missing", 0)).toBe(false);
    expect(store.feedbackCounts(A, "r")).toEqual({ positive: 0, negative: 1 });
    expect(store.forgetEntry(B, id)).toBe(false); // not B's
    expect(store.forgetEntry(A, id)).toBe(true);
    expect(store.forget(A)).toBe(1);
    expect(store.list(A)).toEqual([]);
    expect(store.traceLink("t1")).toBeUndefined();
    expect(store.feedbackCounts(A, "r")).toEqual({ positive: 0, negative: 0 });
    expect(store.list(B).map((e) => e.value)).toEqual(["Bo"]);
    store.close();
    // persisted
    const reopened = openMemoryStore(path);
    expect(reopened.list(B).map((e) => e.value)).toEqual(["Bo"]);
    expect(reopened.list(A)).toEqual([]);
    reopened.close();
  });

  it("links traces to users and counts feedback on weak-served answers only; prunes old links", () => {
    let t = 0;
    const store = openMemoryStore(":memory:", { maxLinks: 100, now: () => t++ });
    store.linkTrace({ traceId: "w1", ...A, route: "r", score: 0.3, threshold: 0.5, escalated: false });
    store.linkTrace({ traceId: "s1", ...A, route: "r", score: 0.7, threshold: 0.5, escalated: true });
    store.linkTrace({ traceId: "w2", ...B, route: "r", score: 0.3, threshold: 0.5, escalated: false });
    store.addFeedback("w1", 0);
    store.addFeedback("w1", 1); // latest wins
    store.addFeedback("s1", 0);
    store.addFeedback("w2", 0);
    expect(store.feedbackCounts(A, "r")).toEqual({ positive: 1, negative: 0 });
    expect(store.tenantFeedbackCounts("team-a", "r")).toEqual({ positive: 1, negative: 1 });
    expect(store.tenantFeedbackCounts("team-b", "r")).toEqual({ positive: 0, negative: 0 });
    for (let i = 0; i < 300; i++) store.linkTrace({ traceId: `x${i}`, ...B, route: "r", score: 0.1, threshold: 0.5, escalated: false });
    expect(store.traceLink("w1")).toBeUndefined(); // oldest pruned
    expect(store.traceLink("x299")).toMatchObject({ user: "u2", escalated: false });
    store.close();
  });

  it("one shared connection per file, closed with its last holder", async () => {
    const path = join(dir, "shared.sqlite");
    const a = sharedMemoryStore(path);
    const b = sharedMemoryStore(path);
    a.remember(A, [await memory("like", "tea", "The user likes tea.")]);
    a.close();
    a.close(); // idempotent: does not release b's hold
    expect(b.list(A).map((e) => e.value)).toEqual(["tea"]);
    b.close();
    expect(() => b.list(A)).toThrow();
  });
});

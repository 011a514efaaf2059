/**
 * Personalization bench (issue #14, item 4): writes bench/results/personalize.json.
 *
 *   npx tsx bench/personalize.ts          (about 80 s on 2 cores)
 *
 * Synthetic users and facts from @faker-js/faker (seeded), told and asked through two template
 * sets: DEV templates (the phrasings the extractor's rules and the slots' topic words were written
 * from; reported for reference) and HELD-OUT templates (written once, before the first run, never
 * used to change a rule or a topic word; these are the figures). Measured:
 *
 * 1. extractor precision / recall on statements (gold slot + value), plus distractor statements
 *    that state nothing about the user (someone else's name, questions, negations, the past) —
 *    strict (normalized value equal) and lenient (one value contains the other);
 * 2. retrieval recall@k of a planted fact for a query about it, per user store of ~16 memories:
 *    end to end (the user told the facts in held-out phrasings, the extractor wrote the memory)
 *    and with oracle extraction (the gold facts stored), at the default minimum similarity 0.2
 *    and at none; plus how often another user's memory came back (must be 0);
 * 3. the per-request overhead of `personalize` in ms (extract + embed + search + inject; and
 *    for a cloud model the placeholder pass with the real PII detector), over an instant model.
 */
import { faker } from "@faker-js/faker";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { leafInfo, type GenerateRequest, type Model } from "../src/core/model.js";
import { createDetector } from "../src/pii/index.js";
import { openMemoryStore, type MemoryOwner } from "../src/store/memory.js";
import { extractFacts, hashingEmbedder, personalize, retrieveMemories, ruleExtractor } from "../src/strategies/personalize/index.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SEED = 14;
const USERS = 300;

type Slot = "name" | "location" | "allergy" | "diet" | "like" | "dislike" | "job" | "employer" | "birthday" | "language";
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const value: Record<Slot, () => string> = {
  name: () => faker.person.fullName(),
  location: () => faker.location.city(),
  allergy: () => faker.food.ingredient(),
  diet: () => faker.food.vegetable(),
  like: () => faker.food.dish(),
  dislike: () => faker.food.vegetable(),
  job: () => faker.person.jobTitle(),
  employer: () => faker.company.name(),
  birthday: () => `${MONTHS[faker.number.int({ min: 0, max: 11 })]} ${faker.number.int({ min: 1, max: 28 })}`,
  language: () => faker.location.language().name,
};

/** Statement templates: DEV (rules written from these) and HELD-OUT (never tuned on). */
const STATEMENTS: Record<"dev" | "heldOut", Record<Slot, string[]>> = {
  dev: {
    name: ["My name is {v}.", "Call me {v}."],
    location: ["I live in {v}.", "I moved to {v} last year."],
    allergy: ["I'm allergic to {v}.", "I have an allergy to {v}."],
    diet: ["I don't eat {v}."],
    like: ["I prefer {v}.", "I love {v}."],
    dislike: ["I hate {v}."],
    job: ["I work as a {v}."],
    employer: ["I work at {v}."],
    birthday: ["My birthday is {v}."],
    language: ["I speak {v}."],
  },
  heldOut: {
    name: ["Hi there, my name's {v} by the way.", "You can call me {v}, everyone does.", "I'm {v}, nice to meet you.", "People call me {v}."],
    location: ["These days I'm living in {v} with my family.", "I'm based in {v}, so timezones matter.", "I've lived in {v} for ten years.", "Home for me is {v}."],
    allergy: ["Just so you know, I am allergic to {v}.", "I have a severe allergy to {v}, so please be careful.", "Please remember I'm seriously allergic to {v}.", "{v} gives me a bad allergic reaction."],
    diet: ["I never eat {v}.", "I can't eat {v} at all."],
    like: ["Honestly I really like {v} more than anything.", "I'm a big fan of {v}.", "My favorite dish is {v}.", "I enjoy {v} on weekends."],
    dislike: ["I can't stand {v}.", "I really dislike {v}.", "I don't like {v} very much."],
    job: ["I make a living as a {v}.", "My job is {v}.", "By profession I'm a {v}."],
    employer: ["I'm employed at {v}.", "Currently I work for {v}.", "I've been working at {v} since 2019."],
    birthday: ["I was born on {v}.", "My birthday is on {v}, don't forget!"],
    language: ["My native language is {v}.", "At home I speak {v}."],
  },
};

/** Statements that say nothing about the user: any fact extracted from them is a false positive. */
const DISTRACTORS: Array<() => string> = [
  () => `My friend's name is ${faker.person.fullName()}.`,
  () => `My sister lives in ${faker.location.city()}.`,
  () => `Am I allergic to ${faker.food.ingredient()}?`,
  () => `I'm not allergic to ${faker.food.ingredient()}.`,
  () => `I used to live in ${faker.location.city()}.`,
  () => `He prefers ${faker.food.dish()}.`,
  () => `Do you like ${faker.food.dish()}?`,
  () => `If I lived in ${faker.location.city()}, I would walk more.`,
  () => `My boss works at ${faker.company.name()}.`,
  () => `What is the capital of ${faker.location.country()}?`,
  () => `Tell me a story about ${faker.person.firstName()}.`,
  () => `She speaks ${faker.location.language().name}.`,
  () => `Could you recommend a book like ${faker.book.title()}?`,
  () => `My name is not important, just help me with ${faker.food.dish()}.`,
];

/** Queries about a slot: DEV (topic words written with these in mind) and HELD-OUT. */
const QUERIES: Record<"dev" | "heldOut", Record<Slot, string[]>> = {
  dev: {
    name: ["What is my name?"],
    location: ["What's the weather like where I live?"],
    allergy: ["What should I cook for dinner?"],
    diet: ["Suggest a recipe for lunch."],
    like: ["What would you recommend for me?"],
    dislike: ["What should I avoid picking?"],
    job: ["What do I do for work?"],
    employer: ["Which company do I work for?"],
    birthday: ["When is my birthday?"],
    language: ["Which language do I speak?"],
  },
  heldOut: {
    name: ["How should you address me?", "Do you remember who I am?"],
    location: ["Can you recommend a good restaurant nearby?", "Which city am I in?"],
    allergy: ["Is a peanut butter sandwich a safe snack for me?", "Plan a three-course meal for me."],
    diet: ["Give me ideas for a quick weeknight dinner.", "What can I order at a steakhouse?"],
    like: ["Pick a dish for me to try tonight.", "What's something I would enjoy?"],
    dislike: ["Which foods do I not want on my pizza?", "Recommend a side dish I'd be happy with."],
    job: ["Help me write a short bio about my career.", "What is my profession?"],
    employer: ["Draft an email to my colleagues at the office.", "Where do I work?"],
    birthday: ["How old will I turn next time I celebrate?", "Plan a party for my birthday."],
    language: ["Translate 'good morning' into my native language.", "In which language should you answer me?"],
  },
};
const SLOTS = Object.keys(value) as Slot[];
/** Slots a user may hold several values of (planted 2 each). */
const MULTI: Slot[] = ["allergy", "like", "dislike", "diet", "language"];

const norm = (v: string) => v.toLowerCase().replace(/^(?:a|an|the)\s+/, "").replace(/[.,!]+$/, "").replace(/\s+/g, " ").trim();
const pick = <T>(xs: readonly T[]) => xs[faker.number.int({ min: 0, max: xs.length - 1 })];
const fill = (template: string, v: string) => template.replace("{v}", v).replace(/^(\p{Ll})/u, (c) => c.toUpperCase());

interface Gold {
  slot: Slot;
  value: string;
}

// ---------- 1. extractor precision / recall ----------
function extractorScores(set: "dev" | "heldOut") {
  let tp = 0;
  let tpLenient = 0;
  let predicted = 0;
  let gold = 0;
  let distractorFalse = 0;
  const bySlot: Record<string, { gold: number; found: number }> = {};
  const byTemplate: Record<string, { n: number; found: number }> = {};
  for (const slot of SLOTS) {
    for (const template of STATEMENTS[set][slot]) {
      for (let i = 0; i < 40; i++) {
        const v = value[slot]();
        const facts = extractFacts(fill(template, v));
        predicted += facts.length;
        gold++;
        const strict = facts.some((f) => f.slot === slot && norm(f.value) === norm(v));
        const lenient = facts.some((f) => f.slot === slot && (norm(f.value).includes(norm(v)) || (norm(f.value).length >= 3 && norm(v).includes(norm(f.value)))));
        if (strict) tp++;
        if (lenient) tpLenient++;
        (bySlot[slot] ??= { gold: 0, found: 0 }).gold++;
        if (strict) bySlot[slot].found++;
        (byTemplate[template] ??= { n: 0, found: 0 }).n++;
        if (strict) byTemplate[template].found++;
      }
    }
  }
  let distractors = 0;
  for (const make of DISTRACTORS) {
    for (let i = 0; i < 40; i++) {
      const facts = extractFacts(make());
      distractors++;
      predicted += facts.length;
      if (facts.length) distractorFalse++;
    }
  }
  return {
    statements: gold,
    distractors,
    precision: tp / predicted,
    recall: tp / gold,
    precisionLenient: tpLenient / predicted,
    recallLenient: tpLenient / gold,
    distractorFalsePositiveRate: distractorFalse / distractors,
    recallBySlot: Object.fromEntries(Object.entries(bySlot).map(([s, x]) => [s, x.found / x.gold])),
    recallByTemplate: Object.fromEntries(Object.entries(byTemplate).map(([t, x]) => [t, x.found / x.n])),
  };
}

// ---------- 2. retrieval recall@k ----------
function plantUser(): Gold[] {
  const facts: Gold[] = [];
  for (const slot of SLOTS) {
    const n = MULTI.includes(slot) ? 2 : 1;
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const v = value[slot]();
      if (seen.has(norm(v))) continue;
      seen.add(norm(v));
      facts.push({ slot, value: v });
    }
  }
  return facts;
}

async function retrievalScores(set: "dev" | "heldOut", mode: "end-to-end" | "oracle", users: Gold[][], chosenMin: number, sweep: readonly number[] = []) {
  const store = openMemoryStore(":memory:", { maxPerUser: 256 });
  const embedder = hashingEmbedder();
  const extractor = ruleExtractor();
  let stored = 0;
  for (const [u, facts] of users.entries()) {
    const owner: MemoryOwner = { tenant: "bench", user: `u${u}` };
    const memories: Array<{ slot: string; value: string; text: string; embedText: string; single: boolean }> = [];
    if (mode === "end-to-end") {
      // the user tells the facts over a conversation with distractor chit-chat in between
      const messages = facts.flatMap((f) => [{ role: "user" as const, content: fill(pick(STATEMENTS[set][f.slot]), f.value) }, { role: "user" as const, content: pick(DISTRACTORS)() }]);
      for (let i = 0; i < messages.length; i += 8) memories.push(...extractor.extract(messages.slice(i, i + 8)));
    } else {
      for (const f of facts) {
        const canonical = extractFacts(fill(STATEMENTS.dev[f.slot][0], f.value)).find((x) => x.slot === f.slot);
        if (canonical) memories.push({ ...canonical, value: f.value });
      }
    }
    const vectors = await embedder.embed(memories.map((m) => m.embedText));
    store.remember(owner, memories.map((m, i) => ({ slot: m.slot, value: m.value, text: m.text, vector: vectors[i], single: m.single })));
    stored += store.list(owner).length;
  }
  const ks = [1, 3, 5];
  const out: Record<string, number> = {};
  for (const minSimilarity of [...new Set([chosenMin, -1, ...sweep])]) {
    const hits = Object.fromEntries(ks.map((k) => [k, 0]));
    let queries = 0;
    let empty = 0;
    let foreign = 0;
    let injected = 0;
    for (const [u, facts] of users.entries()) {
      const owner: MemoryOwner = { tenant: "bench", user: `u${u}` };
      for (const f of facts) {
        for (const q of QUERIES[set][f.slot]) {
          queries++;
          const got = await retrieveMemories(store, embedder, owner, [{ role: "user", content: q }], { k: 5, minSimilarity });
          if (got.length === 0) empty++;
          injected += got.length;
          foreign += got.filter((h) => h.entry.user !== owner.user || h.entry.tenant !== owner.tenant).length;
          // the planted fact: the same slot and value (norm), or any of the user's values of that slot for multi-valued slots
          for (const k of ks) if (got.slice(0, k).some((h) => h.entry.slot === f.slot && norm(h.entry.value) === norm(f.value))) hits[k]++;
        }
      }
    }
    const tag = minSimilarity === -1 ? "noMin" : minSimilarity === chosenMin ? "chosen" : `min${minSimilarity}`;
    for (const k of ks) out[`recall@${k}_${tag}`] = hits[k] / queries;
    out[`emptyShare_${tag}`] = empty / queries;
    out[`meanInjected_${tag}`] = injected / queries;
    out[`foreignHits_${tag}`] = foreign;
    out.queries = queries;
  }
  out.meanMemoriesPerUser = stored / users.length;
  store.close();
  return out;
}

// ---------- 3. overhead ----------
/** A model that answers instantly: what is measured is personalize's own work. */
function instantModel(location: "edge" | "cloud"): Model {
  const price = { inputPerMillion: 0, outputPerMillion: 0 };
  const m: Model = {
    id: `instant-${location}`,
    location,
    price,
    async generate(request: GenerateRequest) {
      return { text: "ok", finishReason: "stop", usage: { promptTokens: request.messages.length, completionTokens: 1 }, info: leafInfo(m, { promptTokens: 1, completionTokens: 1 }, 0) };
    },
    async *stream() {
      throw new Error("not used");
    },
  };
  return m;
}

async function overhead(memories: number, cloud: "edge" | "placeholders", requests = 300) {
  const store = openMemoryStore(":memory:", { maxPerUser: Math.max(256, memories) });
  const embedder = hashingEmbedder();
  const owner: MemoryOwner = { tenant: "", user: "bench-user" };
  const texts = Array.from({ length: memories }, (_, i) => (i === 0 ? `The user's name is ${faker.person.fullName()}.` : `The user likes ${faker.food.dish()} number ${i}.`));
  const vectors = await embedder.embed(texts);
  store.remember(owner, texts.map((t, i) => ({ slot: i === 0 ? "name" : "like", value: t.replace(/^The user (?:likes |'s name is )/, "").replace(/\.$/, ""), text: t, vector: vectors[i], single: i === 0 })));
  const model = instantModel(cloud === "edge" ? "edge" : "cloud");
  const p = personalize({ model, store, embedder, cloud: cloud === "edge" ? "none" : "placeholders", detector: cloud === "edge" ? undefined : createDetector(), learn: true });
  const request = (i: number): GenerateRequest => ({ messages: [{ role: "system", content: "You are a helpful assistant." }, { role: "user", content: `What is my name, and what dish should I try tonight? I prefer spicy food ${i % 7}.` }], user: owner.user });
  const times = (f: (i: number) => Promise<unknown>) => async () => {
    const out: number[] = [];
    for (let i = 0; i < 30; i++) await f(i); // warm-up
    for (let i = 0; i < requests; i++) {
      const t0 = performance.now();
      await f(i);
      out.push(performance.now() - t0);
    }
    return out.sort((a, b) => a - b);
  };
  const base = await times((i) => model.generate(request(i)))();
  const withMemory = await times((i) => p.generate(request(i)))();
  const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
  store.close();
  return { memories, mode: cloud, requests, p50Ms: q(withMemory, 50) - q(base, 50), p95Ms: q(withMemory, 95) - q(base, 95), baseP50Ms: q(base, 50) };
}

async function main() {
  faker.seed(SEED);
  const extractor = { heldOut: extractorScores("heldOut"), dev: extractorScores("dev") };
  faker.seed(SEED + 1);
  const users = Array.from({ length: USERS }, plantUser);
  // the minimum similarity is chosen on the DEV queries only: the largest value of the sweep that
  // keeps dev recall@5 within 2 points of no minimum (fewer irrelevant memories per request)
  const SWEEP = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
  const devSweep = await retrievalScores("dev", "end-to-end", users, -1, SWEEP);
  const chosenMin = Math.max(...SWEEP.filter((m) => devSweep[`recall@5_min${m}`] >= devSweep["recall@5_noMin"] - 0.02));
  const retrieval = {
    minSimilarity: { chosen: chosenMin, rule: "largest of the sweep with dev recall@5 ≥ dev recall@5 without a minimum − 0.02", devSweep },
    heldOut: { endToEnd: await retrievalScores("heldOut", "end-to-end", users, chosenMin), oracle: await retrievalScores("heldOut", "oracle", users, chosenMin) },
    dev: { endToEnd: await retrievalScores("dev", "end-to-end", users, chosenMin), oracle: await retrievalScores("dev", "oracle", users, chosenMin) },
  };
  faker.seed(SEED + 2);
  const overheadMs = [await overhead(16, "edge"), await overhead(256, "edge"), await overhead(16, "placeholders"), await overhead(256, "placeholders")];
  const result = {
    generatedBy: "npx tsx bench/personalize.ts",
    seed: SEED,
    users: USERS,
    embedder: "hashing-256 (word unigrams + char 4-grams, signed feature hashing)",
    extractor,
    retrieval,
    overheadMs,
  };
  const out = resolve(repoRoot, "bench/results/personalize.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const h = extractor.heldOut;
  console.log(`extractor (held-out templates): precision ${pct(h.precision)}, recall ${pct(h.recall)} (lenient ${pct(h.precisionLenient)} / ${pct(h.recallLenient)}); distractor FP rate ${pct(h.distractorFalsePositiveRate)}`);
  console.log(`extractor (dev templates): precision ${pct(extractor.dev.precision)}, recall ${pct(extractor.dev.recall)}`);
  console.log(`minimum similarity chosen on dev queries: ${chosenMin}`);
  for (const set of ["heldOut", "dev"] as const) {
    for (const [mode, x] of Object.entries(retrieval[set])) {
      console.log(`retrieval ${set} ${mode}: recall@1 ${pct(x["recall@1_chosen"])}, @3 ${pct(x["recall@3_chosen"])}, @5 ${pct(x["recall@5_chosen"])} (min ${chosenMin}; no min: @5 ${pct(x["recall@5_noMin"])}); empty ${pct(x["emptyShare_chosen"])}; ${x["meanInjected_chosen"].toFixed(1)} injected/request; foreign hits ${x["foreignHits_chosen"] + x["foreignHits_noMin"]}; ${x.meanMemoriesPerUser.toFixed(1)} memories/user, ${x.queries} queries`);
    }
  }
  for (const o of overheadMs) console.log(`overhead ${o.mode} with ${o.memories} memories: p50 ${o.p50Ms.toFixed(3)} ms, p95 ${o.p95Ms.toFixed(3)} ms`);
  console.log(`wrote ${out}`);
}

await main();

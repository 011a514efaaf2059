/**
 * The `personalize` strategy (issue #14, item 4): a per-user memory kept on the device. For each
 * request with a `user` field, the user — (tenant = API key name, user) — gets the memories
 * nearest to their message (retrieval.ts) added as a system message:
 *
 * - to an **edge** model, as they are (the text never leaves the device);
 * - to a **cloud** model per `cloud` (cloud.ts): `none` — not at all (the default);
 *   `placeholders` — every stored value hidden behind a hide-and-seek placeholder, the answer
 *   restored on the device; `summary` — a local model's summary, passed through the detector and
 *   the vault the same way.
 *
 * Then the facts the user states about themself in the request (extractor.ts: "my name is …",
 * "I'm allergic to …") are written to their memory (src/store/memory.ts), linked to the request's
 * trace once the gateway announces it — except in a shadow run (caller.ts
 * `runWithReadOnlyMemory`), which retrieves the same memories and stores nothing. A request
 * without `user` has no memory: served as is, and nothing is stored. The wrapped model's location decides the branch; a strategy with any cloud
 * part is `cloud` (fail-safe): to give a route's local branch the raw memory, put `personalize`
 * on each branch (docs/personalization.md).
 *
 * Decisions record counts and similarities only — never a memory's text — so the `tandem` field,
 * headers, dashboard and traces carry no memory. Fails closed: an embedder, detector or summarizer
 * failure serves the request without memory, never with raw memory to the cloud.
 */
import { TandemError } from "../../core/errors.js";
import { worstCaseOf, type CollaborationInfo, type Decision, type GenerateRequest, type GenerateResult, type Model, type StreamPart } from "../../core/model.js";
import type { PiiDetector } from "../../pii/types.js";
import type { MemoryHit, MemoryOwner, MemoryStore } from "../../store/memory.js";
import { decision, mapStreamInfo, withCallsBefore, withDecision } from "../info.js";
import { restoreResult, restoreStream, type PlaceholderVault } from "../privacy/index.js";
import { ownerOf } from "./calibration.js";
import { currentCaller, memoryIsReadOnly } from "./caller.js";
import { cloudMemory, hideKnownInMessages, type CloudMemoryPolicy } from "./cloud.js";
import { hashingEmbedder, type MemoryEmbedder } from "./embedder.js";
import { ruleExtractor, type MemoryExtractor } from "./extractor.js";
import { memoryText, retrieveMemories, withSystemMessage } from "./retrieval.js";

export { runAsCaller, runWithReadOnlyMemory, memoryIsReadOnly, currentCaller, announceTrace, onPersonalFeedback, emitPersonalFeedback, type CallerContext, type PersonalFeedback } from "./caller.js";
export { userCalibration, userThresholdOffset, ownerOf, type UserCalibrationOptions, type UserThresholdHook } from "./calibration.js";
export { hashingEmbedder, edgeEmbedder, contentWords, type MemoryEmbedder } from "./embedder.js";
export { ruleExtractor, extractFacts, extractorSlots, type ExtractedFact, type MemoryExtractor } from "./extractor.js";
export { retrieveMemories, memoryText, withSystemMessage, MEMORY_HEADER } from "./retrieval.js";
export { cloudMemory, containsRawValue, placeholderType, type CloudMemoryPolicy } from "./cloud.js";

/** Options of {@link personalize}. */
export interface PersonalizeOptions {
  /** Served name. @default "personalize(<model id>)" */
  id?: string;
  /** The model the personalized request goes to. */
  model: Model;
  /** Where memories live (closed with the strategy). */
  store: MemoryStore;
  /** @default hashingEmbedder() */
  embedder?: MemoryEmbedder;
  /** @default ruleExtractor() */
  extractor?: MemoryExtractor;
  /** What a cloud `model` sees of the memories. @default "none" */
  cloud?: CloudMemoryPolicy;
  /** PII detector for `placeholders` and `summary` (required for them). */
  detector?: PiiDetector;
  /** Detection budget, ms. @default 2000 */
  detectorTimeoutMs?: number;
  /** An edge model writing `summary` mode's summaries (required for it). */
  summarizer?: Model;
  /** Memories retrieved per request. @default 5 */
  k?: number;
  /** Least cosine similarity of a retrieved memory (0.15: chosen on the dev queries of bench/personalize.ts for the hashing embedder). @default 0.15 */
  minSimilarity?: number;
  /** Store the facts the user states (false: read-only memory). @default true */
  learn?: boolean;
  /** The tenant outside a gateway request (library use). @default "" */
  tenant?: string;
}

/** What was prepared for one request: the request to send, the decision, and how to finish. */
interface Prepared {
  request: GenerateRequest;
  decision: Decision;
  vault?: PlaceholderVault;
  /** Calls made before the answer (the summarizer's). */
  before?: GenerateResult;
}

/**
 * Creates the personalization strategy (see module docs). Location and price: the wrapped
 * model's. Errors: `invalid_policy` for `cloud: placeholders | summary` without a detector,
 * `summary` without an edge summarizer, or k/minSimilarity out of range; at run time the wrapped
 * model's. Embedding, extraction, detection and summarizer failures never fail the request (it is
 * served without memory; logged).
 */
export function personalize(options: PersonalizeOptions): Model {
  const { model, store } = options;
  const id = options.id ?? `personalize(${model.id})`;
  const cloud = options.cloud ?? "none";
  const embedder = options.embedder ?? hashingEmbedder();
  const extractor = options.extractor ?? ruleExtractor();
  const k = options.k ?? 5;
  const minSimilarity = options.minSimilarity ?? 0.15;
  if (!(Number.isInteger(k) && k >= 1 && k <= 50)) throw new TandemError("invalid_policy", `personalize: k must be an integer in [1, 50], got ${k}`);
  if (!(minSimilarity >= -1 && minSimilarity <= 1)) throw new TandemError("invalid_policy", `personalize: minSimilarity must be in [-1, 1], got ${minSimilarity}`);
  if (cloud !== "none" && !options.detector) throw new TandemError("invalid_policy", `personalize '${id}': cloud: ${cloud} needs a PII detector`);
  if (cloud === "summary" && (!options.summarizer || options.summarizer.location !== "edge")) throw new TandemError("invalid_policy", `personalize '${id}': cloud: summary needs an edge summarizer model`);

  const decide = (score: number, reason: string): Decision => decision({ strategy: "personalize", name: id, signal: "memory-similarity", score, threshold: minSimilarity, chosen: model.id, reason });

  /** Stores the facts the user stated; links them to the trace when the gateway announces it. Nothing in a read-only (shadow) run. Never throws. */
  async function learn(owner: MemoryOwner, request: GenerateRequest, signal?: AbortSignal): Promise<number> {
    if (options.learn === false || memoryIsReadOnly()) return 0;
    try {
      const facts = extractor.extract(request.messages);
      if (facts.length === 0) return 0;
      const vectors = await embedder.embed(
        facts.map((f) => f.embedText),
        signal,
      );
      const ids = store.remember(
        owner,
        facts.map((f, i) => ({ slot: f.slot, value: f.value, text: f.text, vector: vectors[i], single: f.single })),
      );
      currentCaller()?.onTrace.push((traceId) => store.setSourceTrace(ids, traceId));
      return ids.length;
    } catch (error) {
      signal?.throwIfAborted();
      console.error(`tandem: personalize '${id}': could not store memories: ${(error as Error).message}`);
      return 0;
    }
  }

  async function prepare(request: GenerateRequest, signal?: AbortSignal): Promise<Prepared> {
    const owner = ownerOf(request, options.tenant);
    if (!owner) return { request, decision: decide(0, "no user field: no memory") };
    let hits: MemoryHit[] = [];
    try {
      hits = await retrieveMemories(store, embedder, owner, request.messages, { k, minSimilarity, signal });
    } catch (error) {
      signal?.throwIfAborted();
      console.error(`tandem: personalize '${id}': retrieval failed, serving without memory: ${(error as Error).message}`);
    }
    // learn after retrieving: what this request states is in its own messages already
    const learnt = await learn(owner, request, signal);
    const told = learnt ? `; stored ${learnt} stated fact(s)` : "";
    const top = hits[0]?.similarity ?? 0;
    if (hits.length === 0) return { request, decision: decide(top, `no memory of the user at similarity ≥ ${minSimilarity}${told}`) };
    const entries = hits.map((h) => h.entry);
    const n = entries.length;
    if (model.location === "edge") {
      return { request: { ...request, messages: withSystemMessage(request.messages, memoryText(entries.map((e) => e.text))) }, decision: decide(top, `${n} memory(ies) of the user given to the edge model${told}`) };
    }
    if (cloud === "none") return { request, decision: decide(top, `${n} memory(ies) withheld from the cloud model (cloud: none)${told}`) };
    const shown = await cloudMemory(cloud, entries, request, { detector: options.detector!, detectorTimeoutMs: options.detectorTimeoutMs, summarizer: options.summarizer, signal });
    if ("withheld" in shown) return { request, decision: decide(top, `${n} memory(ies) withheld from the cloud model: ${shown.withheld}${told}`), before: shown.summary };
    const hidden: GenerateRequest = { ...request, messages: withSystemMessage(hideKnownInMessages(request.messages, shown.vault), shown.text) };
    const how = cloud === "summary" ? "a local summary of" : "";
    return {
      request: hidden,
      vault: shown.vault,
      before: shown.summary,
      decision: decide(top, `${how ? `${how} ` : ""}${n} memory(ies) of the user sent to the cloud model behind placeholders (${shown.hidden} value(s) hidden)${told}`),
    };
  }

  const record = (p: Prepared) => (info: CollaborationInfo) => withDecision(p.before ? withCallsBefore(info, p.before.info.calls.map((c) => ({ ...c, role: c.role ?? "memory-summary" }))) : info, p.decision);

  return {
    id,
    location: model.location,
    price: model.price,
    /** The model on a prompt longer by k memories (≤ 40 tokens each), plus the summarizer's call. */
    worstCase: (perCall) => {
      const main = worstCaseOf(model, { ...perCall, promptTokens: perCall.promptTokens + 40 * k });
      if (cloud !== "summary" || !options.summarizer) return main;
      const s = worstCaseOf(options.summarizer, { promptTokens: 40 * k + 32, completionTokens: 64 });
      return { costUsd: main.costUsd + s.costUsd, tokens: main.tokens + s.tokens };
    },
    async generate(request, signal) {
      const p = await prepare(request, signal);
      const raw = await model.generate(p.request, signal);
      const restored = p.vault ? restoreResult(raw, p.vault) : raw;
      return { ...restored, info: record(p)(raw.info) };
    },
    async *stream(request, signal): AsyncGenerator<StreamPart> {
      const p = await prepare(request, signal);
      const parts = model.stream(p.request, signal);
      if (p.vault) yield* restoreStream(parts, p.vault, (raw) => record(p)(raw.info));
      else yield* mapStreamInfo(parts, (r) => record(p)(r.info));
    },
    async close() {
      store.close();
      await embedder.close?.();
    },
  };
}

/**
 * SLM prompt compression (after LLMLingua: Jiang et al. 2023, "LLMLingua: Compressing Prompts for
 * Accelerated Inference of Large Language Models"): a small local model reads the long context,
 * and the tokens it finds least surprising — the ones a language model can best reconstruct —
 * are dropped before the prompt goes to the large (possibly paid, possibly cloud) model.
 *
 * Surprisal of token x_j is −log p_small(x_j | x_<j) in nats, computed in one batched pass per
 * message (BOS + message). Tokens are kept by decreasing surprisal until the kept share of the
 * compressible messages' tokens reaches `rate`. Protected spans are always kept verbatim: the
 * question (the sentences ending in "?" of the last user message, or its final sentence), code (fenced
 * and inline), numbers, and any extra patterns. Differences from LLMLingua: one pass instead of
 * its iterative segment-by-segment conditioning, and no budget controller across demonstrations.
 */
import type { Token } from "node-llama-cpp";
import { TandemError } from "../../core/errors.js";
import { wrapModel, type ModelMiddleware } from "../../core/middleware.js";
import { costOf, sumWorstCases, worstCaseOf, type CollaborationInfo, type Model } from "../../core/model.js";
import { contentText, type ChatMessage } from "../../core/wire.js";
import { seededRandom } from "../../core/random.js";
import { logSoftmax } from "../../token-level/distribution.js";
import type { LocalLogitModel } from "../../token-level/logit-model.js";
import { callRecord, decision, mapResultInfo, mapStreamInfo, withCallsBefore, withDecision } from "../info.js";

/** Options of {@link compressPrompt}. */
export interface CompressionOptions {
  /** The small model whose surprisal ranks tokens. */
  compressor: LocalLogitModel;
  /** Target share of the compressible messages' tokens to keep, in (0, 1]. Default 0.5. Protected tokens count toward it. */
  rate?: number;
  /** Roles whose messages are compressed. Default ["system", "developer", "user", "tool"]. */
  roles?: ReadonlyArray<ChatMessage["role"]>;
  /** Messages with fewer compressor tokens than this are left untouched. Default 16 tokens. */
  minTokens?: number;
  /** Keep the last user message's questions ("…?" sentences; without any, its final sentence). Default true. */
  protectQuestion?: boolean;
  /** Keep numbers (digits, with separators, signs and units like $ and %). Default true. */
  protectNumbers?: boolean;
  /** Keep fenced (```…```) and inline (`…`) code. Default true. */
  protectCode?: boolean;
  /** More patterns to keep verbatim (global flag not required). */
  protect?: readonly RegExp[];
  /**
   * How unprotected tokens are ranked for keeping: "surprisal" (LLMLingua, default) or "random"
   * (a seeded ablation baseline: same budget and protected spans, random choice).
   */
  ranking?: "surprisal" | "random";
  /** Seed of the "random" ranking. Default 0. */
  seed?: number;
}

/** What {@link compressPrompt} did. Token counts are in the compressor's tokens. */
export interface CompressionResult {
  /** The messages with compressed content (others unchanged, same order). */
  messages: ChatMessage[];
  /** Tokens of the compressible messages before compression. */
  originalTokens: number;
  /** Tokens kept (protected + chosen). */
  keptTokens: number;
  /** Tokens inside protected spans (always kept). */
  protectedTokens: number;
  /** keptTokens / originalTokens (1 when nothing was compressible). */
  ratio: number;
  /** Lowest surprisal among kept unprotected tokens, nats (Infinity when none was kept). */
  surprisalThreshold: number;
  /** Wall-clock milliseconds. */
  latencyMs: number;
}

interface Piece {
  message: number;
  segment: number;
  token: Token;
  protected: boolean;
  surprisal: number;
  keep: boolean;
}

function protectedSpans(text: string, isLastUser: boolean, o: CompressionOptions): Array<[number, number]> {
  const patterns: RegExp[] = [];
  if (o.protectCode !== false) patterns.push(/```[\s\S]*?```/g, /`[^`\n]+`/g);
  if (o.protectNumbers !== false) patterns.push(/[-+]?\$?\d+(?:[.,:/]\d+)*%?/g);
  // The question: its "?" sentences, or else its final sentence.
  if (isLastUser && o.protectQuestion !== false) patterns.push(text.includes("?") ? /[^.!?\n]*\?/g : /[^.!?\n]+[.!?]?\s*$/g);
  for (const p of o.protect ?? []) patterns.push(new RegExp(p.source, p.flags.includes("g") ? p.flags : `${p.flags}g`));
  const spans: Array<[number, number]> = [];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) if (m[0].length > 0) spans.push([m.index!, m.index! + m[0].length]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  return merged;
}

/**
 * Compresses the long messages of a conversation with a small model's surprisal (LLMLingua).
 * @throws TandemError `invalid_request` when `rate` is outside (0, 1].
 */
export async function compressPrompt(messages: readonly ChatMessage[], options: CompressionOptions): Promise<CompressionResult> {
  const t0 = performance.now();
  const rate = options.rate ?? 0.5;
  if (!(rate > 0 && rate <= 1)) throw new TandemError("invalid_request", `prompt compression: rate must be in (0, 1], got ${rate}`, { param: "rate" });
  const roles = new Set(options.roles ?? ["system", "developer", "user", "tool"]);
  const minTokens = options.minTokens ?? 16;
  const c = options.compressor;
  let lastUser = -1;
  messages.forEach((m, i) => {
    if (m.role === "user") lastUser = i;
  });

  const pieces: Piece[] = [];
  const segmentsOf = new Map<number, Array<{ text: string; protected: boolean; tokens: Token[] }>>();
  await c.lock(async () => {
    for (const [i, m] of messages.entries()) {
      if (!roles.has(m.role)) continue;
      const text = contentText(m.content ?? "");
      if (!text) continue;
      const spans = protectedSpans(text, i === lastUser, options);
      const segments: Array<{ text: string; protected: boolean; tokens: Token[] }> = [];
      let at = 0;
      for (const [s, e] of [...spans, [text.length, text.length] as [number, number]]) {
        if (s > at) segments.push({ text: text.slice(at, s), protected: false, tokens: [] });
        if (e > s) segments.push({ text: text.slice(s, e), protected: true, tokens: [] });
        at = e;
      }
      segments.forEach((seg, k) => (seg.tokens = c.tokenize(seg.text, k > 0)));
      const all = segments.flatMap((s) => s.tokens);
      if (all.length < minTokens) continue;
      const bos = c.bos;
      const seq = bos != null ? [bos, ...all] : all;
      const offset = seq.length - all.length;
      const logits = offset > 0 ? await c.logits(seq, offset) : [new Float32Array(c.vocabSize).fill(0), ...(await c.logits(seq, 1))];
      let j = 0;
      segments.forEach((seg, k) => {
        for (const token of seg.tokens) {
          const lp = logSoftmax(logits[j]);
          pieces.push({ message: i, segment: k, token, protected: seg.protected, surprisal: -lp[token], keep: seg.protected });
          j++;
        }
      });
      segmentsOf.set(i, segments);
    }
  });

  const originalTokens = pieces.length;
  const protectedTokens = pieces.filter((p) => p.protected).length;
  const budget = Math.ceil(rate * originalTokens);
  let candidates = pieces.filter((p) => !p.protected).sort((a, b) => b.surprisal - a.surprisal);
  if (options.ranking === "random") {
    const random = seededRandom(options.seed ?? 0);
    candidates = candidates.map((p) => ({ p, r: random() })).sort((a, b) => a.r - b.r).map((x) => x.p);
  }
  let surprisalThreshold = Infinity;
  for (let k = 0; k < Math.max(0, budget - protectedTokens) && k < candidates.length; k++) {
    candidates[k].keep = true;
    surprisalThreshold = Math.min(surprisalThreshold === Infinity ? candidates[k].surprisal : surprisalThreshold, candidates[k].surprisal);
  }
  const keptTokens = pieces.filter((p) => p.keep).length;

  const out = messages.map((m, i) => {
    const segments = segmentsOf.get(i);
    if (!segments) return m;
    const mine = pieces.filter((p) => p.message === i);
    let text = "";
    let prev: Token[] = [];
    segments.forEach((seg, k) => {
      const segPieces = mine.filter((p) => p.segment === k);
      if (seg.protected) {
        text += seg.text;
        prev = seg.tokens.slice(-1);
        return;
      }
      const kept = segPieces.filter((p) => p.keep).map((p) => p.token);
      if (kept.length) text += c.detokenize(kept, prev.length ? prev : undefined);
      // Keep word boundaries around protected spans when the boundary's space token was dropped.
      if (/\s$/.test(seg.text) && !/\s$/.test(text) && k < segments.length - 1) text += " ";
      prev = segPieces.length ? [segPieces[segPieces.length - 1].token] : prev;
    });
    const original = contentText(m.content ?? "");
    if (!/^\s/.test(original)) text = text.replace(/^\s+/, "");
    return { ...m, content: text } as ChatMessage;
  });

  return {
    messages: out,
    originalTokens,
    keptTokens,
    protectedTokens,
    ratio: originalTokens > 0 ? keptTokens / originalTokens : 1,
    surprisalThreshold,
    latencyMs: performance.now() - t0,
  };
}

/** Options of {@link compressionMiddleware}. */
export interface CompressionMiddlewareOptions extends CompressionOptions {
  /** Id recorded in the decision. Default `compress(<compressor>→<wrapped model>)`. */
  id?: string;
}

/**
 * Prompt compression as a {@link ModelMiddleware}: in `wrapGenerate` / `wrapStream`, compresses
 * the request's messages with the small model ({@link compressPrompt}), then calls
 * `doGenerate` / `doStream` with the compressed messages (other request fields unchanged). The
 * answer's info gets a `compressor` call first (promptTokens = original tokens, edge) and a
 * decision `{ strategy: "pipeline", signal: "compression-ratio", score: kept/original, threshold:
 * rate }`; `strongOnlyCostUsd` adds the input cost of the dropped tokens at the wrapped model's
 * price (USD). The compression runs in the wrap hooks, not `transformRequest`, because the info
 * needs its statistics.
 * @throws TandemError `invalid_request` for a bad rate (per call); the wrapped model's errors propagate.
 */
export function compressionMiddleware(options: CompressionMiddlewareOptions): ModelMiddleware {
  const record = (inner: Model, info: CollaborationInfo, c: CompressionResult): CollaborationInfo => {
    const call = callRecord(options.compressor, { promptTokens: c.originalTokens, completionTokens: 0 }, c.latencyMs, { role: "compressor", location: "edge" });
    const saved = c.originalTokens - c.keptTokens;
    const withCall = withCallsBefore(info, [call], { strongOnlyExtraUsd: (saved * inner.price.inputPerMillion) / 1e6 });
    return withDecision(
      withCall,
      decision({
        strategy: "pipeline",
        name: options.id ?? `compress(${options.compressor.id}→${inner.id})`,
        signal: "compression-ratio",
        score: c.ratio,
        threshold: options.rate ?? 0.5,
        chosen: inner.id,
        escalated: info.escalated,
        reason: `kept ${c.keptTokens}/${c.originalTokens} context tokens (${c.protectedTokens} protected); dropped tokens with surprisal < ${c.surprisalThreshold.toFixed(2)} nats`,
      }),
    );
  };
  return {
    async wrapGenerate({ doGenerate, request, model }) {
      const c = await compressPrompt(request.messages, options);
      return mapResultInfo(await doGenerate({ ...request, messages: c.messages }), (r) => record(model, r.info, c));
    },
    async *wrapStream({ doStream, request, model }) {
      const c = await compressPrompt(request.messages, options);
      yield* mapStreamInfo(doStream({ ...request, messages: c.messages }), (r) => record(model, r.info, c));
    },
  };
}

/** Options of {@link promptCompression}. */
export interface PromptCompressionOptions extends CompressionOptions {
  /** The (large) model that receives the compressed prompt. */
  model: Model;
  /** Id of the strategy model. Default `compress(<compressor>→<model>)`. */
  id?: string;
}

/**
 * Prompt compression as a pipeline stage: compress with the small model, then call `model` —
 * `wrapModel` over `model` with {@link compressionMiddleware} (see there for the info recorded).
 * Location and price: `model`'s; worst case: the compressor reading the whole prompt plus
 * `model`'s bound.
 * @throws whatever `model` throws; TandemError `invalid_request` for a bad rate.
 */
export function promptCompression(options: PromptCompressionOptions): Model {
  const { model: inner, ...rest } = options;
  const id = options.id ?? `compress(${options.compressor.id}→${inner.id})`;
  return wrapModel({
    model: inner,
    middleware: compressionMiddleware({ ...rest, id }),
    id,
    /** The compressor reads the whole prompt, then the inner model gets (at most) all of it. */
    worstCase: (perCall) =>
      sumWorstCases([{ costUsd: costOf(options.compressor.price, { promptTokens: perCall.promptTokens, completionTokens: 0 }), tokens: 0 }, worstCaseOf(inner, perCall)]),
  });
}

/**
 * The token model of the token-level layer: it turns a decoding loop (speculative decoding,
 * logit fusion, plain autoregressive decoding) into a `Model` speaking `GenerateRequest` —
 * prompt rendering, the token budget, end tokens, stop sequences (held back while they may still
 * be forming, never emitted), incremental text for streaming, OpenAI-style logprobs, and the
 * final `CollaborationInfo` — and holds the autoregressive loop those strategies share
 * ({@link autoregressiveLoop}).
 */
import type { Token } from "node-llama-cpp";
import { TandemError } from "../core/errors.js";
import type { CollaborationInfo, GenerateRequest, GenerateResult, Model, ModelCall, ModelLocation, Price, StreamPart, TokenUsage } from "../core/model.js";
import { seededRandom, type Random } from "../core/random.js";
import type { FinishReason, TokenLogprob } from "../core/wire.js";
import { hasChatTemplate, plainStops } from "../providers/llama-cpp/prompt.js";
import { drawToken, logSoftmax, type SamplingSettings } from "./distribution.js";
import { withLocks, type LocalLogitModel } from "./logit-model.js";

/** Default completion budget of token-level strategies, tokens. */
export const DEFAULT_MAX_TOKENS = 128;

/** One emitted token with, optionally, the serving distribution's log-probabilities (natural log, `vocabSize` entries). */
export interface EmittedToken {
  token: Token;
  logprobs?: Float64Array;
}

/** What a decoding loop receives for one generation. */
export interface DecodeContext {
  /** Prompt tokens (BOS included). */
  prompt: Token[];
  /** At most this many tokens may be emitted. */
  maxTokens: number;
  sampling: SamplingSettings;
  /** Seeded from `request.seed` (or the clock when absent). */
  random: Random;
  /** True when the request asked for logprobs (loops may skip computing them otherwise). */
  wantLogprobs: boolean;
  signal?: AbortSignal;
}

/** A decoding loop: yields tokens one at a time; the adapter stops pulling at end tokens, stops and the budget. */
export type DecodeLoop = (ctx: DecodeContext) => AsyncGenerator<EmittedToken, void, void>;

/** What the adapter needs to know about a token-level strategy. */
export interface TokenLevelSpec {
  id: string;
  location?: ModelLocation;
  price: Price;
  /** Handles whose locks a generation holds. The first one renders prompts and detokenizes. */
  handles: LocalLogitModel[];
  /** Tokens the caller may not exceed in prompt + completion (smallest context of the handles). */
  contextSize: number;
  /**
   * Also stop at the plain template's stop sequences (`plainStops()`, "\nQuestion:") for models
   * without a chat template. Default true.
   */
  templateStops?: boolean;
  /**
   * Called per generation; returns the loop, a function that builds the info once it ended, and
   * optionally a callback receiving the completion's token ids.
   */
  start(): { loop: DecodeLoop; info(usage: TokenUsage, latencyMs: number): CollaborationInfo; onTokens?(tokens: Token[]): void };
}

/** Throws `aborted` when the signal fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TandemError("aborted", "Request aborted");
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `stops`. */
function partialStopLength(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > best; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

function toTokenLogprob(handle: LocalLogitModel, token: Token, logprobs: Float64Array, top: number): TokenLogprob {
  const vocab = handle.vocabulary();
  // The vocabulary piece with SentencePiece's "▁" shown as a space (single-token detokenization drops it).
  const piece = (t: Token) => {
    const raw = vocab[t] ?? "";
    return /^<0x[0-9A-Fa-f]{2}>$/.test(raw) ? handle.detokenize([t]) : raw.replace(/\u2581/g, " ");
  };
  const bytes = (s: string) => Array.from(Buffer.from(s, "utf8"));
  const alternatives: TokenLogprob["top_logprobs"] = [];
  if (top > 0) {
    const order = Array.from(logprobs.keys()).sort((a, b) => logprobs[b] - logprobs[a]).slice(0, top);
    for (const t of order) alternatives.push({ token: piece(t as Token), logprob: logprobs[t], bytes: bytes(piece(t as Token)) });
  }
  const text = piece(token);
  return { token: text, logprob: logprobs[token], bytes: bytes(text), top_logprobs: alternatives };
}

/**
 * Runs one generation of a token-level strategy as a stream of parts (text deltas, then `finish`).
 * @throws TandemError `invalid_request` when the prompt fills the context; `aborted` on abort.
 */
export async function* runTokenLevel(spec: TokenLevelSpec, request: GenerateRequest, signal?: AbortSignal): AsyncGenerator<StreamPart, void, void> {
  const head = spec.handles[0];
  const locks = spec.handles;
  // Hold the locks of every handle for the whole generation; release when the stream ends.
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let acquired!: () => void;
  const ready = new Promise<void>((r) => (acquired = r));
  const holder = withLocks(locks, async () => {
    acquired();
    await released;
  });
  await ready;
  try {
    throwIfAborted(signal);
    const t0 = performance.now();
    const prompt = head.renderPrompt(request.messages);
    const room = spec.contextSize - prompt.length;
    if (room < 1) {
      throw new TandemError("invalid_request", `The prompt has ${prompt.length} tokens; the context of "${spec.id}" holds ${spec.contextSize}`, { param: "messages" });
    }
    const maxTokens = Math.max(0, Math.min(request.maxTokens ?? DEFAULT_MAX_TOKENS, room));
    const stops = [...(request.stop ?? []), ...(hasChatTemplate(head.model) || spec.templateStops === false ? [] : plainStops())].filter((s) => s.length > 0);
    const temperature = request.temperature ?? 1;
    const seed = request.seed ?? (Date.now() ^ Math.floor(Math.random() * 2 ** 31));
    const wantLogprobs = request.logprobs === true;
    const top = Math.max(0, Math.min(20, request.topLogprobs ?? 0));
    const { loop, info, onTokens } = spec.start();
    const tokens: Token[] = [];
    const logprobs: TokenLogprob[] = [];
    const pending: TokenLogprob[] = []; // logprobs not yet attached to a streamed part
    let emitted = 0; // characters of `text` already yielded
    let finishReason: FinishReason = "length";
    let text = "";
    const promptTail = prompt.slice(-4);
    const decode = (): string => {
      let s = head.detokenize(tokens, promptTail);
      if (s.startsWith(" ")) s = s.slice(1); // the tokenizer's leading space after "Answer:"
      return s;
    };
    if (maxTokens > 0) {
      const it = loop({ prompt, maxTokens, sampling: { temperature, topP: request.topP }, random: seededRandom(seed), wantLogprobs, signal });
      try {
        for await (const step of it) {
          throwIfAborted(signal);
          if (head.isEndToken(step.token)) {
            finishReason = "stop";
            break;
          }
          tokens.push(step.token);
          if (wantLogprobs && step.logprobs) {
            const lp = toTokenLogprob(head, step.token, step.logprobs, top);
            logprobs.push(lp);
            pending.push(lp);
          }
          text = decode();
          let cut = -1;
          for (const stop of stops) {
            const at = text.indexOf(stop, Math.max(0, emitted - stop.length));
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
          }
          if (cut >= 0) {
            text = text.slice(0, cut);
            finishReason = "stop";
            if (text.length > emitted) yield { type: "text", text: text.slice(emitted), logprobs: pending.length ? pending.splice(0) : undefined };
            emitted = text.length;
            break;
          }
          // Hold back a possible partial stop sequence and an incomplete UTF-8 character.
          let safe = text.length - partialStopLength(text, stops);
          while (safe > emitted && text.charCodeAt(safe - 1) === 0xfffd) safe--;
          if (safe > emitted) {
            yield { type: "text", text: text.slice(emitted, safe), logprobs: pending.length ? pending.splice(0) : undefined };
            emitted = safe;
          }
          if (tokens.length >= maxTokens) break;
        }
      } finally {
        await it.return(undefined);
      }
      if (text.length > emitted) yield { type: "text", text: text.slice(emitted), logprobs: pending.length ? pending.splice(0) : undefined };
    }
    onTokens?.(tokens);
    const usage: TokenUsage = { promptTokens: prompt.length, completionTokens: tokens.length };
    const result: GenerateResult = {
      text,
      finishReason,
      usage,
      logprobs: wantLogprobs ? logprobs : undefined,
      info: info(usage, performance.now() - t0),
    };
    yield { type: "finish", result };
  } finally {
    release();
    await holder;
  }
}

/** Collects a stream into its final result. */
export async function generateFromStream(parts: AsyncIterable<StreamPart>): Promise<GenerateResult> {
  for await (const part of parts) if (part.type === "finish") return part.result;
  throw new TandemError("internal_error", "Stream ended without a finish part");
}

/** Builds a `Model` from a token-level spec: `generate` and `stream` both run {@link runTokenLevel}. */
export function tokenLevelModel(spec: TokenLevelSpec, close?: () => Promise<void>): Model {
  const model: Model = {
    id: spec.id,
    location: spec.location ?? "edge",
    price: spec.price,
    generate: (request, signal) => generateFromStream(runTokenLevel(spec, request, signal)),
    stream: (request, signal) => runTokenLevel(spec, request, signal),
  };
  if (close) model.close = close;
  return model;
}

/**
 * The autoregressive loop shared by plain decoding and logit fusion: per step, `next(sequence)`
 * gives next-token scores (natural-log scale, `vocabSize` entries, −∞ allowed) after the prompt
 * and the tokens emitted so far; one token is drawn from their sampling distribution (temperature,
 * top-p, the request's seeded random source) and emitted with log-softmax(scores) as its
 * logprobs. Stops after `maxTokens` tokens (the runner stops earlier at end tokens and stops).
 * @throws TandemError `aborted` when the signal fires between steps.
 */
export function autoregressiveLoop(next: (sequence: readonly Token[]) => Promise<ArrayLike<number>>): DecodeLoop {
  return async function* (ctx) {
    const sequence: Token[] = [...ctx.prompt];
    for (let n = 0; n < ctx.maxTokens; n++) {
      throwIfAborted(ctx.signal);
      const scores = await next(sequence);
      const token = drawToken(scores, ctx.sampling, ctx.random).token as Token;
      sequence.push(token);
      yield { token, logprobs: ctx.wantLogprobs ? logSoftmax(scores) : undefined };
    }
  };
}

/**
 * A token-level run's model calls as the `served` result that a strategy's info recorder
 * (strategies/info.ts `strategyInfo(served, decision, strongPrice)`) takes: `servedBy`, the calls
 * in order, no decision yet, `costUsd` = Σ calls, `strongOnlyCostUsd` 0 (so the strategy's
 * reference price alone sets it). `text` is empty: only `usage` and `info` are read.
 */
export function tokenRunResult(usage: TokenUsage, servedBy: string, calls: ModelCall[]): GenerateResult {
  return {
    text: "",
    finishReason: "stop",
    usage,
    info: { servedBy, calls, decisions: [], escalated: false, costUsd: calls.reduce((s, c) => s + c.costUsd, 0), strongOnlyCostUsd: 0 },
  };
}

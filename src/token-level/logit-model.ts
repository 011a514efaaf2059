/**
 * The logit-model adapter of the token-level layer: token-level access to a local GGUF model,
 * the handle that speculative decoding, logit fusion and prompt compression are built on.
 *
 * A {@link LocalLogitModel} wraps one loaded `LlamaModel` and one context sequence (created with
 * an explicit thread count, see runtime.ts) and answers one question: "what are the raw
 * next-token logits after each of these prefixes?". It keeps the KV cache of the last token
 * sequence it evaluated, so asking again with a longer (or partly rolled-back) sequence only
 * evaluates the new tokens, and it evaluates all new tokens in ONE batched forward pass — which is
 * what speculative verification needs. Rollback is lazy: tokens that differ from the cached
 * sequence are erased before the next evaluation.
 *
 * The weights come from the process-wide GGUF cache (providers/llama-cpp/runtime.ts,
 * `acquireLlamaModel`): a handle and a `llamaCpp(...)` model of the same file share one loaded
 * `LlamaModel`, each with its own context. The module also holds the vocabulary-compatibility
 * check; the distribution arithmetic is in distribution.ts.
 */
import { createHash } from "node:crypto";
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { TandemError } from "../core/errors.js";
import type { Price } from "../core/model.js";
import type { ChatMessage } from "../core/wire.js";
import { renderPromptTokens, hasChatTemplate } from "../providers/llama-cpp/prompt.js";
import { acquireLlamaModel, type SharedLlamaModel } from "../providers/llama-cpp/runtime.js";

/** Options of {@link LocalLogitModel.load}. */
export interface LocalLogitModelOptions {
  /** Model id used in `CollaborationInfo`. Default: the file name without `.gguf`. */
  id?: string;
  /** CPU threads of the context. Default 1 (see runtime.ts: never leave it to node-llama-cpp). */
  threads?: number;
  /** Context window in tokens (prompt + completion). Default 1024. */
  contextSize?: number;
  /** USD per 1M tokens for cost accounting. Default 0 / 0 (local compute). */
  price?: Price;
}

/** Anything that can produce next-token logits over one shared vocabulary. */
export interface LogitScorer {
  /** Id used in reports. */
  readonly id: string;
  /** Number of tokens in the vocabulary (length of every logits vector). */
  readonly vocabSize: number;
  /**
   * Next-token logits after each prefix `tokens[0..i]` for `i = from−1 … tokens.length−1`:
   * element `j` scores the token at position `from + j` (the last one scores the token after the
   * sequence). Returns `tokens.length − from + 1` vectors of `vocabSize` numbers (unnormalized,
   * natural-log scale). Requires `1 ≤ from ≤ tokens.length`.
   */
  logits(tokens: readonly Token[], from: number): Promise<Float32Array[]>;
}

let nextUid = 0;

/**
 * One local GGUF model with one KV-cached context sequence, for token-level strategies.
 *
 * Not safe for concurrent use: strategies hold {@link LocalLogitModel.lock} for a whole
 * generation. Counters (`evaluations`, `evaluatedTokens`, `busyMs`) only grow.
 */
export class LocalLogitModel implements LogitScorer {
  readonly id: string;
  readonly path: string;
  readonly price: Price;
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  readonly sequence: LlamaContextSequence;
  readonly vocabSize: number;
  /** Context window, tokens. */
  readonly contextSize: number;
  /** Unique per handle; orders lock acquisition. */
  readonly uid = nextUid++;
  /** Batched forward passes run so far (one per `logits` call that had tokens to evaluate). */
  evaluations = 0;
  /** Tokens evaluated so far (KV-cache hits are not counted). */
  evaluatedTokens = 0;
  /** Wall-clock milliseconds spent in forward passes. */
  busyMs = 0;

  private readonly logitCache = new Map<number, Float32Array>();
  private queue: Promise<void> = Promise.resolve();
  private vocabCache?: readonly string[];
  private disposed = false;

  private constructor(id: string, path: string, price: Price, private readonly share: SharedLlamaModel, context: LlamaContext) {
    this.id = id;
    this.path = path;
    this.price = price;
    this.model = share.model;
    this.context = context;
    this.sequence = context.getSequence();
    this.contextSize = context.contextSize;
    this.vocabSize = vocabularyOf(share.model).length;
  }

  /**
   * A handle on the GGUF file at `path`: takes a share of the process-wide loaded weights
   * (loading them only if no `llamaCpp` model or other handle of this file holds them) and
   * creates this handle's own context (CPU, explicit threads, one sequence).
   * @throws TandemError `model_load_failed` when the file cannot be loaded, or has no vocabulary list.
   */
  static async load(path: string, options: LocalLogitModelOptions = {}): Promise<LocalLogitModel> {
    const threads = options.threads ?? 1;
    const contextSize = options.contextSize ?? 1024;
    const id = options.id ?? path.replace(/^.*[\\/]/, "").replace(/\.gguf$/i, "");
    let share: SharedLlamaModel | undefined;
    let context: LlamaContext | undefined;
    try {
      share = await acquireLlamaModel(path);
      context = await share.model.createContext({ contextSize, threads, batchSize: contextSize, sequences: 1 });
      return new LocalLogitModel(id, path, options.price ?? { inputPerMillion: 0, outputPerMillion: 0 }, share, context);
    } catch (error) {
      await context?.dispose().catch(() => {});
      await share?.release().catch(() => {});
      if (TandemError.isInstance(error)) throw error;
      throw new TandemError("model_load_failed", `Could not load GGUF model "${path}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /** BOS token id, or undefined. */
  get bos(): Token | undefined {
    return this.model.tokens.bos ?? undefined;
  }

  /** True for tokens that end a generation: end-of-generation tokens, and BOS for template-less models (their documents are BOS-separated). */
  isEndToken(token: Token): boolean {
    return this.model.isEogToken(token) || (!hasChatTemplate(this.model) && token === this.model.tokens.bos);
  }

  /** Prompt tokens of chat messages (BOS + plain template, or the model's chat template). */
  renderPrompt(messages: readonly ChatMessage[]): Token[] {
    return renderPromptTokens(this.model, messages);
  }

  /** Tokenizes text (no BOS). */
  tokenize(text: string, trimLeadingSpace = false): Token[] {
    return trimLeadingSpace ? this.model.tokenize(text, false, "trimLeadingSpace") : this.model.tokenize(text);
  }

  /** Text of tokens; `lastTokens` are the tokens before them (keeps SentencePiece's leading spaces right). */
  detokenize(tokens: readonly Token[], lastTokens?: readonly Token[]): string {
    return this.model.detokenize(tokens, false, lastTokens);
  }

  /** The vocabulary's token strings (GGUF `tokenizer.ggml.tokens`), indexed by token id. */
  vocabulary(): readonly string[] {
    this.vocabCache ??= vocabularyOf(this.model);
    return this.vocabCache;
  }

  /** {@inheritDoc LogitScorer.logits} Evaluates only the tokens not already in the KV cache, in one batch. */
  async logits(tokens: readonly Token[], from: number): Promise<Float32Array[]> {
    if (this.disposed) throw new TandemError("internal_error", `Model "${this.id}" is disposed`);
    const n = tokens.length;
    if (from < 1 || from > n) throw new RangeError(`logits: from must be in 1..${n}, got ${from}`);
    if (n > this.contextSize) {
      throw new TandemError("invalid_request", `${n} tokens exceed the ${this.contextSize}-token context of "${this.id}"`);
    }
    const cached = this.sequence.contextTokens;
    let common = 0;
    const limit = Math.min(cached.length, n);
    while (common < limit && cached[common] === tokens[common]) common++;
    // Every wanted position below `common` must have cached logits; otherwise re-evaluate from there.
    let start = common;
    for (let i = from - 1; i < common; i++) {
      if (!this.logitCache.has(i)) {
        start = i;
        break;
      }
    }
    if (start < cached.length) {
      await this.sequence.eraseContextTokenRanges([{ start, end: cached.length }]);
      for (const key of [...this.logitCache.keys()]) if (key >= start) this.logitCache.delete(key);
    }
    if (start < n) {
      const items = [] as Parameters<LlamaContextSequence["controlledEvaluate"]>[0];
      for (let i = start; i < n; i++) {
        items.push(i >= from - 1 ? [tokens[i], { generateNext: { logits: true } }] : tokens[i]);
      }
      const t0 = performance.now();
      const out = await this.sequence.controlledEvaluate(items);
      this.busyMs += performance.now() - t0;
      this.evaluations++;
      this.evaluatedTokens += n - start;
      for (let i = Math.max(start, from - 1); i < n; i++) {
        const map = out[i - start]?.next.logits;
        if (!map) throw new TandemError("internal_error", `No logits returned by "${this.id}" at position ${i}`);
        const vec = new Float32Array(this.vocabSize);
        for (const [token, value] of map) vec[token] = value;
        this.logitCache.set(i, vec);
      }
      // Bound memory: keep logits of the last 256 positions (plus whatever this call needs).
      for (const key of this.logitCache.keys()) if (key < Math.min(from - 1, n - 256)) this.logitCache.delete(key);
    }
    const result: Float32Array[] = [];
    for (let i = from - 1; i < n; i++) result.push(this.logitCache.get(i)!);
    return result;
  }

  /** Next-token logits after the whole sequence (`vocabSize` numbers). */
  async nextLogits(tokens: readonly Token[]): Promise<Float32Array> {
    return (await this.logits(tokens, tokens.length))[0];
  }

  /** Runs `fn` with exclusive use of this handle (FIFO). */
  lock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Frees this handle's context and gives back its share of the weights (freed with the last share, see runtime.ts). Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.logitCache.clear();
    await this.context.dispose();
    await this.share.release();
  }
}

/** Runs `fn` holding the locks of all `handles` (deduplicated, acquired in a fixed order, so no deadlock). */
export function withLocks<T>(handles: readonly LocalLogitModel[], fn: () => Promise<T>): Promise<T> {
  const unique = [...new Set(handles)].sort((a, b) => a.uid - b.uid);
  const acquire = (i: number): Promise<T> => (i === unique.length ? fn() : unique[i].lock(() => acquire(i + 1)));
  return acquire(0);
}

function vocabularyOf(model: LlamaModel): string[] {
  const tokens = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: unknown } } } | undefined)?.tokenizer?.ggml?.tokens;
  if (Array.isArray(tokens) && tokens.every((t) => typeof t === "string")) return tokens as string[];
  throw new TandemError("model_load_failed", "The GGUF file has no tokenizer.ggml.tokens list; token-level strategies need it to check vocabularies");
}

/** A short fingerprint of a vocabulary (sha256 of its token strings, 12 hex digits). */
export function vocabularyFingerprint(vocab: readonly string[]): string {
  return createHash("sha256").update(vocab.join("\u0000")).digest("hex").slice(0, 12);
}

/**
 * Fails unless every model has exactly the same vocabulary (same size, same token string at
 * every id) — the precondition of logit arithmetic and of speculative verification.
 * @throws TandemError `invalid_policy` naming the first mismatch (size, or id and both strings).
 */
export function assertSameVocabulary(strategy: string, models: ReadonlyArray<Pick<LocalLogitModel, "id" | "vocabulary">>): void {
  const [first, ...rest] = models;
  if (!first) return;
  const ref = first.vocabulary();
  for (const other of rest) {
    const v = other.vocabulary();
    if (v.length !== ref.length) {
      throw new TandemError(
        "invalid_policy",
        `${strategy} needs models that share one vocabulary: "${first.id}" has ${ref.length} tokens (vocabulary ${vocabularyFingerprint(ref)}), "${other.id}" has ${v.length} (vocabulary ${vocabularyFingerprint(v)})`,
      );
    }
    for (let i = 0; i < ref.length; i++) {
      if (ref[i] !== v[i]) {
        throw new TandemError(
          "invalid_policy",
          `${strategy} needs models that share one vocabulary: token ${i} is ${JSON.stringify(ref[i])} in "${first.id}" but ${JSON.stringify(v[i])} in "${other.id}"`,
        );
      }
    }
  }
}

/**
 * The `llama-cpp` provider: a local GGUF model run in-process through node-llama-cpp.
 *
 * - Concurrency: one context with `sequences` slots; each request takes a free sequence, so two
 *   requests' tokens never interleave; waiting requests queue up to `maxQueue`, beyond which
 *   the provider answers `overloaded` (HTTP 503).
 * - Log-probabilities: every generated token's probability under the sampling distribution
 *   (raw model distribution when greedy), optionally with the top-k alternatives.
 * - Tools: with `tool_choice` "required" or a named function, the arguments are generated under
 *   a JSON-schema grammar (node-llama-cpp `createGrammarForJsonSchema`), so even a small model
 *   returns a well-formed tool call. With "auto", local models answer in text.
 */
import { LlamaGrammarEvaluationState, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { TandemError } from "../../core/errors.js";
import { leafInfo, type GenerateRequest, type GenerateResult, type Model, type ModelLocation, type Price, type StreamPart } from "../../core/model.js";
import { StopMatcher } from "../../core/stop.js";
import type { ChatTool, ChatToolCall, FinishReason, TokenLogprob } from "../../core/wire.js";
import { DEFAULT_PLAIN_TEMPLATE, hasChatTemplate, plainStops, renderPromptTokens, type PlainTemplate } from "./prompt.js";
import { acquireLlamaModel, defaultThreads, getLlamaRuntime, type SharedLlamaModel } from "./runtime.js";

/** Options of {@link llamaCpp}. */
export interface LlamaCppOptions {
  /** Model id used in responses and traces. Default: the file name without `.gguf`. */
  id?: string;
  /** Path of the GGUF file. */
  path: string;
  /** CPU threads for evaluation. Default: the machine's cores, at most 2. Always explicit (see runtime.ts). */
  threads?: number;
  /** Context window per sequence, in tokens. Default 1024. */
  contextSize?: number;
  /** Parallel generation slots (context sequences). Default 2. */
  sequences?: number;
  /** Requests allowed to wait for a slot; more get `overloaded` (503). Default 32. */
  maxQueue?: number;
  /** Default completion limit in tokens when the request sets none. Default 256. */
  defaultMaxTokens?: number;
  /** USD per 1M tokens. Default 0 (local compute). */
  price?: Price;
  /** Default `edge`. */
  location?: ModelLocation;
  /** Prefixes for models without a chat template. */
  template?: PlainTemplate;
}

/** A local GGUF model. `load()` may be awaited at start-up to fail early on a bad file. */
export interface LlamaCppModel extends Model {
  /** Loads the weights and creates the context. Throws `model_load_failed` on a missing or corrupt file. */
  load(): Promise<void>;
  /** Requests waiting for a free sequence now. */
  readonly queued: number;
  /** The loaded node-llama-cpp model (after `load()`), shared per GGUF path with every other user of the file (runtime.ts). */
  readonly llamaModel: LlamaModel | undefined;
  /** Frees the context and this model's share of the weights (freed with the last share). Idempotent. */
  close(): Promise<void>;
}

interface Loaded {
  /** This model's share of the process-wide GGUF cache (weights shared with other users of the file). */
  share: SharedLlamaModel;
  model: LlamaModel;
  context: LlamaContext;
  free: LlamaContextSequence[];
}

/**
 * Creates a local model from a GGUF file. Loading is lazy (first request) unless `load()` is called.
 *
 * Errors: `model_load_failed` (missing/corrupt file), `overloaded` (queue full, 503),
 * `invalid_request` (prompt longer than the context, unsupported tool schema), `aborted`.
 */
export function llamaCpp(options: LlamaCppOptions): LlamaCppModel {
  const id = options.id ?? options.path.replace(/^.*[\\/]/, "").replace(/\.gguf$/i, "");
  const threads = options.threads ?? defaultThreads();
  const contextSize = options.contextSize ?? 1024;
  const sequences = options.sequences ?? 2;
  const maxQueue = options.maxQueue ?? 32;
  const defaultMaxTokens = options.defaultMaxTokens ?? 256;
  const template = options.template ?? DEFAULT_PLAIN_TEMPLATE;
  const price = options.price ?? { inputPerMillion: 0, outputPerMillion: 0 };
  const location = options.location ?? "edge";

  let loading: Promise<Loaded> | undefined;
  let current: Loaded | undefined;
  let closed = false;
  const waiters: Array<(seq: LlamaContextSequence) => void> = [];

  async function doLoad(): Promise<Loaded> {
    if (!existsSync(options.path)) {
      throw new TandemError("model_load_failed", `Model file not found: ${options.path}`);
    }
    let share: SharedLlamaModel;
    try {
      share = await acquireLlamaModel(options.path);
    } catch (error) {
      throw new TandemError("model_load_failed", `Cannot load GGUF model ${options.path}: ${(error as Error).message}`, { cause: error });
    }
    const { model } = share;
    try {
      const context = await model.createContext({ contextSize, threads, sequences });
      const free: LlamaContextSequence[] = [];
      for (let i = 0; i < sequences; i++) free.push(context.getSequence());
      current = { share, model, context, free };
      return current;
    } catch (error) {
      await share.release().catch(() => {});
      throw new TandemError("model_load_failed", `Cannot create a context for ${options.path}: ${(error as Error).message}`, { cause: error });
    }
  }

  function load(): Promise<Loaded> {
    if (closed) return Promise.reject(new TandemError("model_load_failed", `Model ${id} is closed`));
    loading ??= doLoad();
    loading.catch(() => {
      loading = undefined; // allow a retry after a failed load
    });
    return loading;
  }

  async function acquire(loaded: Loaded, signal?: AbortSignal): Promise<LlamaContextSequence> {
    const seq = loaded.free.pop();
    if (seq) return seq;
    if (waiters.length >= maxQueue) {
      throw new TandemError("overloaded", `Model ${id} is busy: ${sequences} generating and ${waiters.length} queued (maxQueue ${maxQueue})`);
    }
    return new Promise<LlamaContextSequence>((resolve, reject) => {
      const waiter = (s: LlamaContextSequence) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(s);
      };
      const onAbort = () => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
        reject(new TandemError("aborted", "Request aborted while queued"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiters.push(waiter);
    });
  }

  function release(loaded: Loaded, seq: LlamaContextSequence): void {
    const next = waiters.shift();
    if (next) next(seq);
    else loaded.free.push(seq);
  }

  /** The token-level generation loop shared by generate and stream. */
  async function* run(request: GenerateRequest, signal?: AbortSignal): AsyncGenerator<StreamPart> {
    const started = performance.now();
    const loaded = await load();
    const { model } = loaded;
    const promptTokens = renderPromptTokens(model, request.messages, template);
    if (promptTokens.length >= contextSize) {
      throw new TandemError("invalid_request", `Prompt is ${promptTokens.length} tokens; model ${id} has a context of ${contextSize} tokens`, { param: "messages" });
    }
    const toolPlan = planToolCall(request.tools, request.toolChoice);
    // A forced tool call's arguments, else the request's response_format, constrain the sampler.
    const grammar = toolPlan ? await buildGrammar(toolPlan.schema) : await formatGrammar(request.responseFormat);
    const constrained = toolPlan !== undefined || grammar !== undefined;
    const maxTokens = Math.min(request.maxTokens ?? defaultMaxTokens, contextSize - promptTokens.length);
    const stops = [...(request.stop ?? []), ...(hasChatTemplate(model) || constrained ? [] : plainStops(template))];
    const matcher = new StopMatcher(toolPlan ? [] : grammar ? (request.stop ?? []) : stops);
    const wantTop = request.logprobs ? Math.max(0, Math.min(20, request.topLogprobs ?? 0)) : 0;
    const endTokens = new Set<Token>([model.tokens.eos, model.tokens.bos].filter((t): t is Token => t != null));

    const seq = await acquire(loaded, signal);
    const generated: Token[] = [];
    const logprobs: TokenLogprob[] = [];
    let text = "";
    let decodedUpTo = 0;
    let emittedLen = 0;
    let finishReason: FinishReason = "length";
    try {
      await seq.clearHistory();
      const iterator = seq.evaluateWithMetadata(
        promptTokens,
        { confidence: true, probabilities: wantTop > 0 },
        {
          temperature: request.temperature ?? 0,
          topP: request.topP ?? undefined,
          seed: request.seed ?? undefined,
          grammarEvaluationState: grammar ? new LlamaGrammarEvaluationState({ model, grammar }) : undefined,
        },
      );
      let pendingLogprobs: TokenLogprob[] = [];
      for await (const out of iterator) {
        if (signal?.aborted) {
          // the tokens evaluated so far were paid for (in compute, at this model's price): the gateway charges them
          const partial = { promptTokens: promptTokens.length, completionTokens: generated.length };
          const call = { ...leafInfo({ id, location, price }, partial, performance.now() - started).calls[0], error: "Request aborted" };
          throw new TandemError("aborted", "Request aborted", { calls: [call] });
        }
        if (endTokens.has(out.token)) {
          finishReason = "stop";
          break;
        }
        const context = generated.slice(-4);
        generated.push(out.token);
        const piece = model.detokenize([out.token], false, context);
        const lp: TokenLogprob = {
          token: piece,
          logprob: Math.log(Math.max(out.confidence ?? 0, 1e-30)),
          bytes: [...Buffer.from(piece, "utf8")],
          top_logprobs: [],
        };
        if (wantTop > 0 && "probabilities" in out && out.probabilities) {
          let k = 0;
          for (const [tok, p] of out.probabilities as Map<Token, number>) {
            if (k++ >= wantTop) break;
            const s = model.detokenize([tok], false, context);
            lp.top_logprobs.push({ token: s, logprob: Math.log(Math.max(p, 1e-30)), bytes: [...Buffer.from(s, "utf8")] });
          }
        }
        logprobs.push(lp);
        pendingLogprobs.push(lp);
        // Decode only the tokens since the last complete piece (with the tokens before them as
        // context, for SentencePiece's leading spaces): O(1) per token instead of O(n).
        const delta = model.detokenize(generated.slice(decodedUpTo), false, generated.slice(Math.max(0, decodedUpTo - 4), decodedUpTo));
        if (delta.endsWith("\uFFFD")) continue; // incomplete UTF-8 sequence: wait for the next token
        decodedUpTo = generated.length;
        text += delta;
        if (toolPlan) {
          if (isCompleteJson(text)) {
            finishReason = "tool_calls";
            break;
          }
        } else {
          const { emit, stopped } = matcher.push(delta);
          if (emit) {
            emittedLen += emit.length;
            yield { type: "text", text: emit, logprobs: pendingLogprobs };
            pendingLogprobs = [];
          }
          if (stopped) {
            finishReason = "stop";
            break;
          }
        }
        if (generated.length >= maxTokens) {
          finishReason = "length";
          break;
        }
      }
      if (!toolPlan) {
        const rest = matcher.flush();
        if (rest) {
          emittedLen += rest.length;
          yield { type: "text", text: rest, logprobs: pendingLogprobs };
        }
      }
      if (generated.length < maxTokens && finishReason === "length" && !toolPlan) finishReason = "stop";
    } finally {
      release(loaded, seq);
    }

    const usage = { promptTokens: promptTokens.length, completionTokens: generated.length };
    const info = leafInfo({ id, location, price }, usage, performance.now() - started);
    let toolCalls: ChatToolCall[] | undefined;
    let finalText = text.slice(0, emittedLen);
    if (toolPlan) {
      const call = toolPlan.toCall(text);
      toolCalls = [call];
      finalText = "";
      yield { type: "tool-call", delta: { index: 0, id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments } } };
      if (finishReason !== "tool_calls") finishReason = "length";
    }
    // which of the request's stop sequences ended it (not the template's own turn markers)
    const stopSequence = finishReason === "stop" && matcher.matched !== undefined && request.stop?.includes(matcher.matched) ? matcher.matched : undefined;
    yield {
      type: "finish",
      result: { text: finalText, toolCalls, finishReason, ...(stopSequence !== undefined ? { stopSequence } : {}), usage, logprobs: request.logprobs ? logprobs : undefined, info },
    };
  }

  /**
   * The grammar of a `response_format`: JSON of its schema (`json_schema`), any JSON (`json_object`),
   * none for free text. A schema the GBNF converter cannot express (e.g. some `$ref`/`oneOf` forms)
   * falls back to any JSON — the `format` stage validates the answer against the schema anyway.
   */
  async function formatGrammar(format: GenerateRequest["responseFormat"]) {
    if (!format || format.type === "text") return undefined;
    const llama = await getLlamaRuntime();
    if (format.type === "json_schema" && format.json_schema?.schema) {
      try {
        return await llama.createGrammarForJsonSchema(format.json_schema.schema as never);
      } catch {
        /* not expressible as GBNF: any JSON below */
      }
    }
    return await llama.getGrammarFor("json");
  }

  async function buildGrammar(schema: Record<string, unknown>) {
    const llama = await getLlamaRuntime();
    try {
      return await llama.createGrammarForJsonSchema(schema as never);
    } catch (error) {
      throw new TandemError("invalid_request", `Tool parameters schema is not supported by the local grammar: ${(error as Error).message}`, { param: "tools", cause: error });
    }
  }

  return {
    id,
    location,
    price,
    get queued() {
      return waiters.length;
    },
    get llamaModel() {
      return current?.model;
    },
    async load() {
      await load();
    },
    async generate(request, signal) {
      let result: GenerateResult | undefined;
      for await (const part of run(request, signal)) if (part.type === "finish") result = part.result;
      if (!result) throw new TandemError("internal_error", `Model ${id} ended without a result`);
      // logprobs of text withheld by a stop sequence are not part of the answer
      return result;
    },
    stream(request, signal) {
      return run(request, signal);
    },
    async close() {
      if (closed) return;
      closed = true;
      const l = await loading?.catch(() => undefined);
      loading = undefined;
      current = undefined;
      if (l) {
        await l.context.dispose().catch(() => {});
        await l.share.release().catch(() => {});
      }
    },
  } satisfies LlamaCppModel;
}

/** How to turn grammar-constrained JSON into a tool call. */
interface ToolPlan {
  schema: Record<string, unknown>;
  toCall(json: string): ChatToolCall;
}

/** Plans a grammar-constrained tool call for "required" or named `tool_choice`; undefined otherwise. */
function planToolCall(tools: ChatTool[] | undefined, choice: GenerateRequest["toolChoice"]): ToolPlan | undefined {
  if (!tools?.length || choice === undefined || choice === "auto" || choice === "none") return undefined;
  const params = (t: ChatTool) => t.function.parameters ?? { type: "object", properties: {} };
  const callId = () => `call_${randomUUID().replace(/-/g, "").slice(0, 24)}`;
  if (typeof choice === "object" || tools.length === 1) {
    const name = typeof choice === "object" ? choice.function.name : tools[0].function.name;
    const tool = tools.find((t) => t.function.name === name);
    if (!tool) throw new TandemError("invalid_request", `tool_choice names '${name}', which is not in tools`, { param: "tool_choice" });
    return { schema: params(tool), toCall: (json) => ({ id: callId(), type: "function", function: { name, arguments: json } }) };
  }
  return {
    schema: {
      oneOf: tools.map((t) => ({
        type: "object",
        properties: { name: { const: t.function.name }, arguments: params(t) },
        required: ["name", "arguments"],
      })),
    },
    toCall: (json) => {
      let name = tools[0].function.name;
      let args = "{}";
      try {
        const parsed = JSON.parse(json) as { name: string; arguments: unknown };
        name = parsed.name;
        args = JSON.stringify(parsed.arguments);
      } catch {
        args = json;
      }
      return { id: callId(), type: "function", function: { name, arguments: args } };
    },
  };
}

function isCompleteJson(text: string): boolean {
  const t = text.trim();
  if (!t.endsWith("}") && !t.endsWith("]")) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/**
 * Grammar-constrained JSON from a local GGUF: greedy completion under a JSON-schema grammar
 * (node-llama-cpp `createGrammarForJsonSchema`), so even a small model returns well-formed JSON
 * of the schema. Used by the SLM PII extractor and the SLM guard judge. The model loads lazily;
 * calls are serialized on one context sequence.
 */
import { LlamaCompletion, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { getLlamaRuntime } from "./runtime.js";

/** Options of {@link jsonCompletion}. */
export interface JsonCompletionOptions {
  /** Path of the GGUF model. */
  modelPath: string;
  /** JSON schema of the answer (the subset node-llama-cpp's grammar supports). */
  schema: object;
  /** CPU threads (explicit; 1–2 on small machines). Default 2. */
  threads?: number;
  /** Context size in tokens. Default 2048. */
  contextSize?: number;
  /** What the answer is, for error messages (e.g. "SLM judge verdict"). */
  what: string;
}

/** A reusable constrained completer. */
export interface JsonCompletion<T> {
  /**
   * The parsed answer to `prompt`. Throws when the model cannot load, when the answer is not
   * valid JSON of the schema (e.g. cut by `maxTokens`), or when `signal` aborts.
   */
  complete(prompt: string, options: { maxTokens: number; signal?: AbortSignal }): Promise<T>;
  close(): Promise<void>;
}

/** Creates a constrained JSON completer (see module comment). */
export function jsonCompletion<T>(options: JsonCompletionOptions): JsonCompletion<T> {
  type Loaded = { model: LlamaModel; context: LlamaContext; completion: LlamaCompletion; clear(): Promise<void>; grammar: { parse(json: string): unknown } };
  let loaded: Promise<Loaded> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const load = () =>
    (loaded ??= (async () => {
      const llama = await getLlamaRuntime();
      const model = await llama.loadModel({ modelPath: options.modelPath });
      const context = await model.createContext({ contextSize: options.contextSize ?? 2048, threads: options.threads ?? 2 });
      const sequence = context.getSequence();
      const grammar = await llama.createGrammarForJsonSchema(options.schema as never);
      return { model, context, completion: new LlamaCompletion({ contextSequence: sequence }), clear: () => sequence.clearHistory(), grammar: grammar as never };
    })());
  return {
    complete(prompt, { maxTokens, signal }) {
      const run = queue.then(async () => {
        signal?.throwIfAborted();
        const { completion, clear, grammar } = await load();
        await clear();
        const answer = await completion.generateCompletion(prompt, { grammar: grammar as never, maxTokens, temperature: 0, signal });
        try {
          return grammar.parse(answer) as T;
        } catch (error) {
          throw new Error(`${options.what} is not valid JSON of its schema (${answer.length} chars)`, { cause: error });
        }
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async close() {
      const l = await loaded?.catch(() => undefined);
      loaded = undefined;
      await l?.context.dispose();
      await l?.model.dispose();
    },
  };
}

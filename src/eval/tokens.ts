/**
 * Token counts for pricing recorded outcomes whose usage was not recorded (RouteLLM's CSVs,
 * MoT's sample files), with the model's own tokenizer wherever it is known:
 *
 * - OpenAI models: their BPE encoding through gpt-tokenizer (cl100k_base for the gpt-4 /
 *   gpt-3.5 family, o200k_base for gpt-4o and later), prompts counted in OpenAI's chat format
 *   (one user message: the message and reply-priming overhead included, as the API bills it) —
 *   exact;
 * - local models: the GGUF's own tokenizer through node-llama-cpp ({@link ggufTokenizer}, the
 *   vocabulary alone is loaded) — exact;
 * - any other model (Mixtral, Claude, …): cl100k_base as a stand-in, flagged `exact: false`, so
 *   every cost derived from it stays labelled an estimate (`costEstimated`). SentencePiece
 *   vocabularies of 32k entries typically give 10–30 % more tokens than cl100k on English.
 */
import * as gpt35 from "gpt-tokenizer/model/gpt-3.5-turbo";
import * as gpt4 from "gpt-tokenizer/model/gpt-4";
import * as gpt4o from "gpt-tokenizer/model/gpt-4o";
import { modelToEncodingMap } from "gpt-tokenizer/mapping";

/** A token counter for one model. */
export interface Tokenizer {
  /** e.g. "cl100k_base", "o200k_base", "gguf:mixtral.gguf", "cl100k_base (stand-in)". */
  readonly name: string;
  /** True when this is the model's own tokenizer (counts are exact). */
  readonly exact: boolean;
  /** Tokens of a text (0 for ""). */
  count(text: string): number;
  /** Prompt tokens of `text` sent as one user message (chat-format overhead included where known). */
  countPrompt(text: string): number;
}

type ChatCount = { countTokens(input: string | Iterable<{ role: "user"; content: string }>): number };

/** Prompts repeat across an import's files (MoT's views share demonstrations + question): counts are memoized, at most this many per tokenizer. */
const PROMPT_MEMO = 20_000;

function openaiTokenizer(name: string, module: ChatCount, exact: boolean, label = name): Tokenizer {
  const memo = new Map<string, number>();
  return {
    name: label,
    exact,
    count: (text) => (text ? module.countTokens(text) : 0),
    countPrompt: (text) => {
      let n = memo.get(text);
      if (n === undefined) {
        n = module.countTokens([{ role: "user", content: text }]);
        if (memo.size >= PROMPT_MEMO) memo.clear();
        memo.set(text, n);
      }
      return n;
    },
  };
}

const shared = new Map<string, Tokenizer>();
const cachedTokenizer = (key: string, make: () => Tokenizer) => shared.get(key) ?? (shared.set(key, make()), shared.get(key)!);

/** OpenAI model names gpt-tokenizer maps to an encoding, plus the o200k families it leaves out of the map. */
function openaiEncoding(model: string): "cl100k_base" | "o200k_base" | undefined {
  const bare = model.replace(/^openai\//, "");
  const mapped = (modelToEncodingMap as Record<string, string>)[bare];
  if (mapped === "cl100k_base") return "cl100k_base";
  if (mapped === "o200k_base" || /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)/.test(bare)) return "o200k_base";
  if (/^gpt-(3\.5|4)(-|$)/.test(bare)) return "cl100k_base";
  return undefined;
}

/**
 * The tokenizer of `model`: `own[model]` when given (e.g. a {@link ggufTokenizer}), else the
 * OpenAI encoding of an OpenAI model name, else cl100k_base as a labelled stand-in.
 */
export function tokenizerFor(model: string, own: Readonly<Record<string, Tokenizer>> = {}): Tokenizer {
  const given = own[model];
  if (given) return given;
  const encoding = openaiEncoding(model);
  if (encoding === "o200k_base") return cachedTokenizer("o200k", () => openaiTokenizer("o200k_base", gpt4o, true));
  if (encoding === "cl100k_base") {
    const gpt35Chat = /^(openai\/)?gpt-3\.5/.test(model); // gpt-3.5's chat format counts one token more per message
    return cachedTokenizer(gpt35Chat ? "cl100k-3.5" : "cl100k", () => openaiTokenizer("cl100k_base", gpt35Chat ? gpt35 : gpt4, true));
  }
  return cachedTokenizer("stand-in", () => openaiTokenizer("cl100k_base", gpt4, false, "cl100k_base (stand-in)"));
}

/**
 * The exact tokenizer of a GGUF model: its vocabulary loaded by node-llama-cpp (`vocabOnly`, no
 * weights; CPU, no build). `countPrompt` counts the text with the model's BOS token, without a
 * chat template (local models are priced per token of what they read). Call `dispose()` when
 * done. Errors: node-llama-cpp's, for a missing or invalid file.
 */
export async function ggufTokenizer(path: string): Promise<Tokenizer & { dispose(): Promise<void> }> {
  const { getLlama } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never" });
  const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
  const name = `gguf:${path.split(/[\\/]/).pop()}`;
  return {
    name,
    exact: true,
    count: (text) => (text ? model.tokenize(text).length : 0),
    countPrompt: (text) => model.tokenize(text).length + (model.tokens.bos !== null && model.tokens.shouldPrependBosToken ? 1 : 0),
    dispose: () => model.dispose(),
  };
}

/**
 * Input-token counts of a mapped request, for `POST /v1/messages/count_tokens` and the
 * `message_start` event's usage. Counted with OpenAI's BPE tokenizers (gpt-tokenizer): the
 * served name's own encoding when gpt-tokenizer knows it (cl100k_base for gpt-4 / gpt-3.5 names),
 * else o200k_base (gpt-4o and later). For any other model — Claude, Llama, the bundled GGUFs — the
 * count is an ESTIMATE: their tokenizers differ, typically by 10–30 %.
 *
 * What is counted, following OpenAI's chat accounting (3 tokens per message + its content, 3 to
 * prime the reply): every message's text (text parts joined), tool calls' names and JSON
 * arguments, and the JSON of the tool definitions. Images and
 * other non-text parts count 0 (their token cost depends on the upstream and on pixels the
 * gateway does not decode).
 */
import { countTokens as countO200k } from "gpt-tokenizer";
import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { modelToEncodingMap } from "gpt-tokenizer/mapping";
import type { GenerateRequest } from "../../core/model.js";
import { contentText } from "../../core/wire.js";

/** Counts the tokens of one string. */
export type TokenCounter = (text: string) => number;

/** The encoding name used for `names` (the first gpt-tokenizer knows; else `o200k_base`). */
export function encodingFor(...names: string[]): "o200k_base" | "cl100k_base" {
  const map = modelToEncodingMap as Record<string, string>;
  for (const n of names) if (map[n] === "cl100k_base") return "cl100k_base";
  return "o200k_base";
}

/** The counter of an encoding from {@link encodingFor}. */
export function counterFor(encoding: "o200k_base" | "cl100k_base"): TokenCounter {
  return encoding === "cl100k_base" ? countCl100k : countO200k;
}

/** Tokens of a request's input (messages and tools; see the module comment). Default counter: o200k_base. */
export function countRequestTokens(request: Pick<GenerateRequest, "messages" | "tools">, count: TokenCounter = countO200k): number {
  let n = 3;
  for (const m of request.messages) {
    n += 3 + count(contentText(m.content ?? ""));
    if (m.role === "assistant") for (const call of m.tool_calls ?? []) n += count(call.function.name) + count(call.function.arguments);
  }
  if (request.tools?.length) n += count(JSON.stringify(request.tools));
  return n;
}

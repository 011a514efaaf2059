/**
 * Turning chat messages into prompt tokens for a local GGUF model.
 *
 * Models whose GGUF carries a chat template use node-llama-cpp's chat wrapper for it. Models
 * without one (the stories260K / tinytales family) use Tandem's *plain* template, which matches
 * how those models were trained ("Question: …\nAnswer: …"):
 *
 *     {system}\n\n
 *     Question: {user}\nAnswer: {assistant}\n
 *     Question: {last user}\nAnswer:
 *
 * The prefixes are configurable. Generation stops at the next "\nQuestion:" by default.
 */
import { resolveChatWrapper, type ChatHistoryItem, type LlamaModel, type Token } from "node-llama-cpp";
import { contentText, type ChatMessage } from "../../core/wire.js";

// The text template (no node-llama-cpp, browser-safe) lives in plain.ts.
export { DEFAULT_PLAIN_TEMPLATE, renderPlainPrompt, plainStops, type PlainTemplate } from "./plain.js";
import { DEFAULT_PLAIN_TEMPLATE, renderPlainPrompt, type PlainTemplate } from "./plain.js";

/** True when the GGUF file carries a chat template. */
export function hasChatTemplate(model: LlamaModel): boolean {
  const t = (model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } } | undefined)?.tokenizer?.chat_template;
  return typeof t === "string" && t.length > 0;
}

/**
 * Prompt tokens for `messages`: BOS + plain template for template-less models, otherwise the
 * model's own chat template through node-llama-cpp's chat wrapper.
 */
export function renderPromptTokens(model: LlamaModel, messages: readonly ChatMessage[], template: PlainTemplate = DEFAULT_PLAIN_TEMPLATE): Token[] {
  if (!hasChatTemplate(model)) {
    const text = renderPlainPrompt(messages, template);
    const bos = model.tokens.bos;
    const tokens = model.tokenize(text);
    return bos != null ? [bos, ...tokens] : tokens;
  }
  const wrapper = resolveChatWrapper(model);
  const history: ChatHistoryItem[] = [];
  for (const m of messages) {
    const text = contentText(m.content ?? "");
    if (m.role === "system" || m.role === "developer") history.push({ type: "system", text });
    else if (m.role === "user") history.push({ type: "user", text });
    else if (m.role === "tool") history.push({ type: "user", text: `Tool result (${m.tool_call_id}): ${text}` });
    else history.push({ type: "model", response: [text] });
  }
  history.push({ type: "model", response: [] });
  const { contextText } = wrapper.generateContextState({ chatHistory: history });
  return contextText.tokenize(model.tokenizer);
}

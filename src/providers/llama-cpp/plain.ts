/**
 * Tandem's *plain* prompt template for GGUF models without a chat template (the stories260K /
 * tinytales family), as text: "{system}\n\nQuestion: {user}\nAnswer: {assistant}\n…Answer:"
 * (see prompt.ts). No node-llama-cpp import, so the in-page wllama provider (`tandem/browser`)
 * renders exactly the prompt the Node provider does.
 */
import { contentText, type ChatMessage } from "../../core/wire.js";

/** Prefixes of the plain template. */
export interface PlainTemplate {
  /** Written before each user turn. Default "Question: ". */
  userPrefix: string;
  /** Written before each assistant turn. Default "Answer:" (the answer's leading space comes from the tokenizer). */
  assistantPrefix: string;
}

export const DEFAULT_PLAIN_TEMPLATE: PlainTemplate = { userPrefix: "Question: ", assistantPrefix: "Answer:" };

/** Renders messages with the plain template (see module comment). Tool results are shown as user-side text. */
export function renderPlainPrompt(messages: readonly ChatMessage[], template: PlainTemplate = DEFAULT_PLAIN_TEMPLATE): string {
  const system: string[] = [];
  const turns: string[] = [];
  for (const m of messages) {
    const text = contentText(m.content ?? "");
    if (m.role === "system" || m.role === "developer") system.push(text);
    else if (m.role === "user") turns.push(`${template.userPrefix}${text}\n`);
    else if (m.role === "tool") turns.push(`${template.userPrefix}(tool result) ${text}\n`);
    else if (m.role === "assistant") {
      const calls = m.tool_calls?.map((c) => `${c.function.name}(${c.function.arguments})`).join("; ");
      turns.push(`${template.assistantPrefix} ${text}${calls ? ` [calls: ${calls}]` : ""}\n`);
    }
  }
  const head = system.length ? `${system.join("\n")}\n\n` : "";
  return `${head}${turns.join("")}${template.assistantPrefix}`;
}

/** Stop sequences implied by the plain template. */
export function plainStops(template: PlainTemplate = DEFAULT_PLAIN_TEMPLATE): string[] {
  return [`\n${template.userPrefix.trim()}`];
}

/**
 * OpenAI chat-completion wire shapes, as Tandem speaks them on the HTTP surface and as the
 * `Model` interface takes them in. Only the fields Tandem reads or writes are typed; unknown
 * fields on requests are validated away by the server's schema.
 *
 * Source of truth: the OpenAI Chat Completions API reference (`POST /v1/chat/completions`).
 */

/** A function tool the caller offers to the model (OpenAI `tools[]` item). */
export interface ChatTool {
  type: "function";
  function: {
    name: string;
    description?: string;
    /** JSON Schema of the arguments object. */
    parameters?: Record<string, unknown>;
    strict?: boolean;
  };
}

/** OpenAI `tool_choice`: "none" | "auto" | "required" | a named function. */
export type ChatToolChoice =
  | "none"
  | "auto"
  | "required"
  | { type: "function"; function: { name: string } };

/** A tool call emitted by the assistant. `arguments` is a JSON string, as in OpenAI's API. */
export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** Text or multi-part content. Tandem reads the text parts; other parts are passed through. */
export type ChatContent =
  | string
  | Array<{ type: "text"; text: string } | { type: string; [key: string]: unknown }>;

/** One message of a conversation. */
export type ChatMessage =
  | { role: "system" | "developer"; content: ChatContent; name?: string }
  | { role: "user"; content: ChatContent; name?: string }
  | {
      role: "assistant";
      content?: ChatContent | null;
      name?: string;
      tool_calls?: ChatToolCall[];
      refusal?: string | null;
    }
  | { role: "tool"; content: ChatContent; tool_call_id: string };

/** Why generation stopped (OpenAI `finish_reason`). */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** Token counts of one completion (OpenAI `usage`). Units: tokens of the serving model's tokenizer. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One token's log-probability and its most likely alternatives (OpenAI `logprobs.content[]`). */
export interface TokenLogprob {
  token: string;
  /** Natural-log probability of this token under the model, ≤ 0. */
  logprob: number;
  bytes: number[] | null;
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] | null }>;
}

/** Request body of `POST /v1/chat/completions` (the fields Tandem honours). */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  tools?: ChatTool[];
  tool_choice?: ChatToolChoice;
  user?: string;
  n?: number | null;
  response_format?: ResponseFormat | null;
}

/** OpenAI `response_format` of chat completions: free text, any JSON object, or JSON of a schema. */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name?: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null } };

/** Non-streaming response body (`object: "chat.completion"`). */
export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: "assistant"; content: string | null; tool_calls?: ChatToolCall[]; refusal: null };
    finish_reason: FinishReason;
    logprobs: { content: TokenLogprob[] } | null;
  }>;
  usage: Usage;
  system_fingerprint?: string | null;
}

/** Incremental tool-call fragment inside a stream chunk. */
export interface ChatToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

/** Streaming chunk body (`object: "chat.completion.chunk"`), sent as `data: {...}` SSE events. */
export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: "assistant"; content?: string | null; tool_calls?: ChatToolCallDelta[] };
    finish_reason: FinishReason | null;
    logprobs?: { content: TokenLogprob[] } | null;
  }>;
  usage?: Usage | null;
  system_fingerprint?: string | null;
}

/** Concatenated text of a message's content (text parts joined with newlines). */
export function contentText(content: ChatContent | null | undefined): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part) => (part.type === "text" && typeof part.text === "string" ? part.text : ""))
    .filter((s) => s.length > 0)
    .join("\n");
}

/** Text of the last user message, or "" when there is none. Routers score this. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === "user") return contentText(m.content);
  }
  return "";
}

/**
 * The Anthropic Messages API (`POST /v1/messages`) as a {@link WireProtocol} of the shared
 * pipeline (pipeline.ts): a thin mapping, so strategies, privacy, guards, compression, admission
 * (keys, budgets, rate limits), fallback, traces, metrics and the dashboard are the ones every
 * route uses — nothing here is Anthropic-specific beyond the shapes.
 *
 * Request → provider-neutral {@link GenerateRequest} (OpenAI chat shapes, see core/wire.ts):
 * - `system` (string or text blocks) → one `system` message;
 * - `messages[]`: `text` blocks → text content; `image` blocks (base64 or url) → OpenAI
 *   `image_url` parts (the privacy layer refuses non-text parts by default: opaque); `tool_use`
 *   blocks (assistant) → `tool_calls` (`input` as JSON `arguments`); `tool_result` blocks (user)
 *   → `tool` messages (`tool_use_id` → `tool_call_id`), in order, text following them → a user
 *   message; `thinking`/`redacted_thinking` blocks in assistant turns are dropped (no upstream
 *   here reasons in Anthropic's format); any other block type (document, search_result,
 *   server-tool blocks…) is a 400 naming the block;
 * - `tools[]` (custom tools: `name`, `description`, `input_schema`) → function tools; server
 *   tools (`type: "web_search_…"`, `bash_…`, …) are a 400;
 * - `tool_choice` auto/any/tool/none → "auto"/"required"/named function/"none"
 *   (`disable_parallel_tool_use` is accepted and ignored);
 * - `max_tokens` (required), `stop_sequences`, `temperature` (0..1), `top_p`,
 *   `metadata.user_id` (→ `user`); `top_k`, `thinking`, `service_tier` and unknown fields are
 *   accepted and ignored.
 *
 * Response: `{ id: "msg_…", type: "message", role: "assistant", content: [text, tool_use…],
 * model, stop_reason, stop_sequence, usage: { input_tokens, output_tokens, … }, tandem }`;
 * `stop_reason: "stop_sequence"` with the matched string in `stop_sequence` when one of the
 * request's `stop_sequences` ended the answer and the serving model says so (local llama.cpp
 * models; vLLM upstreams), else `stop_sequence: null`.
 * Stream: `message_start` (usage with the request's input tokens counted by the tokenizer —
 * never 0 — and `output_tokens: 0`), `ping`, per block `content_block_start` /
 * `content_block_delta` (`text_delta`, `input_json_delta`) / `content_block_stop`,
 * `message_delta` (`stop_reason`, `stop_sequence`, the serving model's real `input_tokens` and `output_tokens`,
 * and the `tandem` field), `message_stop`; a failure after the 200 is an `error` event.
 *
 * Errors: `{ type: "error", error: { type, message } }` with Anthropic's statuses
 * ({@link anthropicError}).
 */
import type { Context } from "hono";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { TandemError, type ErrorCode } from "../../core/errors.js";
import type { GenerateRequest, GenerateResult } from "../../core/model.js";
import type { ChatContent, ChatMessage, ChatTool, ChatToolCall, ChatToolChoice, FinishReason } from "../../core/wire.js";
import { invalidRequest, type Answer, type Intake, type SseFrame, type StreamEncoder, type WireProtocol } from "../pipeline.js";
import type { AnswerProjection, TandemField } from "../projection.js";
import { countRequestTokens } from "./tokens.js";
import { anthropicUsageOf } from "../../core/pricing/usage.js";

// ---------------------------------------------------------------------------------------------
// Request schema

/** Any content block: its type is checked, and its fields validated, when it is mapped. */
const anyBlock = z.object({ type: z.string() }).passthrough();
const cacheControl = z.unknown().optional(); // accepted, ignored (no prompt cache here)

const textBlock = z.object({ type: z.literal("text"), text: z.string(), cache_control: cacheControl, citations: z.unknown().optional() });
const imageBlock = z.object({
  type: z.literal("image"),
  source: z.discriminatedUnion("type", [
    z.object({ type: z.literal("base64"), media_type: z.string().min(1), data: z.string() }),
    z.object({ type: z.literal("url"), url: z.string().min(1) }),
  ]),
  cache_control: cacheControl,
});
const toolUseBlock = z.object({ type: z.literal("tool_use"), id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()), cache_control: cacheControl });
const toolResultBlock = z.object({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(anyBlock)]).optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});

const customTool = z.object({
  type: z.literal("custom").nullable().optional(),
  name: z.string().min(1).max(128),
  description: z.string().optional(),
  input_schema: z.object({ type: z.literal("object") }).passthrough(),
  cache_control: cacheControl,
});

const toolChoice = z.discriminatedUnion("type", [
  z.object({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal("tool"), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal("none") }),
]);

const content = z.union([z.string(), z.array(anyBlock)]);

/** Fields shared by `POST /v1/messages` and `POST /v1/messages/count_tokens`. */
const baseShape = {
  model: z.string().min(1),
  messages: z.array(z.object({ role: z.enum(["user", "assistant"]), content })).min(1, "messages must contain at least one message"),
  system: content.optional(),
  tools: z.array(z.object({ type: z.string().nullable().optional() }).passthrough()).max(128).optional(),
  tool_choice: toolChoice.optional(),
};

/** Schema of `POST /v1/messages` bodies (blocks and tools are validated further when mapped). */
export const messagesRequestSchema = z.object({
  ...baseShape,
  max_tokens: z.number({ message: "max_tokens is required (an integer ≥ 1)" }).int().min(1),
  stop_sequences: z.array(z.string().min(1)).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  metadata: z.object({ user_id: z.string().max(256).nullable().optional() }).passthrough().optional(),
});

/** Schema of `POST /v1/messages/count_tokens` bodies. */
export const countTokensRequestSchema = z.object(baseShape);

/** A validated `POST /v1/messages` body. */
export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Mapping onto the provider-neutral request

type Block = z.infer<typeof anyBlock>;
type Part = Exclude<ChatContent, string>[number];

/** Parses one block with `schema`, throwing `invalid_request` named by `path` (e.g. `messages.1.content.0`). */
function parseBlock<T>(schema: z.ZodType<T>, block: unknown, path: string): T {
  const r = schema.safeParse(block);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw invalidRequest({ ...issue, path: [...path.split("."), ...issue.path] } as z.core.$ZodIssue);
  }
  return r.data;
}

const unsupported = (path: string, type: string, where: string, supported: string) =>
  new TandemError("invalid_request", `Invalid request: '${path}': content block type '${type}' is not supported ${where} by this gateway (supported: ${supported})`, { param: path });

/** One part list as chat content: a single text part → its string; else the parts. */
function asContent(parts: Part[]): ChatContent {
  if (parts.length === 1 && parts[0].type === "text") return (parts[0] as { text: string }).text;
  return parts;
}

function textOrImage(block: Block, path: string, where: string): Part {
  if (block.type === "text") return { type: "text", text: parseBlock(textBlock, block, path).text };
  if (block.type === "image") {
    const { source } = parseBlock(imageBlock, block, path);
    return { type: "image_url", image_url: { url: source.type === "url" ? source.url : `data:${source.media_type};base64,${source.data}` } };
  }
  throw unsupported(path, block.type, where, "text, image");
}

/** The `system` field as one system message (text blocks joined with newlines). */
function systemMessage(system: string | Block[] | undefined): ChatMessage[] {
  if (system === undefined) return [];
  if (typeof system === "string") return system ? [{ role: "system", content: system }] : [];
  const texts = system.map((b, i) => {
    if (b.type !== "text") throw unsupported(`system.${i}`, b.type, "in system", "text");
    return parseBlock(textBlock, b, `system.${i}`).text;
  });
  return texts.length ? [{ role: "system", content: texts.join("\n") }] : [];
}

/** Maps Anthropic `messages` (and `system`) onto chat messages; throws `invalid_request` naming the block at fault. */
export function toChatMessages(body: { system?: string | Block[]; messages: Array<{ role: "user" | "assistant"; content: string | Block[] }> }): ChatMessage[] {
  const out: ChatMessage[] = systemMessage(body.system);
  body.messages.forEach((m, i) => {
    if (typeof m.content === "string") {
      out.push(m.role === "user" ? { role: "user", content: m.content } : { role: "assistant", content: m.content });
      return;
    }
    if (m.role === "assistant") {
      const texts: string[] = [];
      const calls: ChatToolCall[] = [];
      m.content.forEach((b, j) => {
        const path = `messages.${i}.content.${j}`;
        if (b.type === "text") texts.push(parseBlock(textBlock, b, path).text);
        else if (b.type === "tool_use") {
          const t = parseBlock(toolUseBlock, b, path);
          calls.push({ id: t.id, type: "function", function: { name: t.name, arguments: JSON.stringify(t.input) } });
        } else if (b.type !== "thinking" && b.type !== "redacted_thinking") throw unsupported(path, b.type, "in assistant messages", "text, tool_use, thinking (dropped)");
      });
      const text = texts.join("");
      out.push({ role: "assistant", content: text || (calls.length ? null : ""), ...(calls.length ? { tool_calls: calls } : {}) });
      return;
    }
    // user: tool results become tool messages, in order; the blocks between them a user message
    let parts: Part[] = [];
    const flush = () => {
      if (parts.length) out.push({ role: "user", content: asContent(parts) });
      parts = [];
    };
    m.content.forEach((b, j) => {
      const path = `messages.${i}.content.${j}`;
      if (b.type === "tool_result") {
        flush();
        const r = parseBlock(toolResultBlock, b, path);
        const resultParts = typeof r.content === "string" ? r.content : (r.content ?? []).map((c, k) => {
          if (c.type !== "text") throw unsupported(`${path}.content.${k}`, c.type, "in tool_result", "text");
          return { type: "text" as const, text: parseBlock(textBlock, c, `${path}.content.${k}`).text };
        });
        out.push({ role: "tool", tool_call_id: r.tool_use_id, content: typeof resultParts === "string" ? resultParts : resultParts.length ? asContent(resultParts) : "" });
      } else parts.push(textOrImage(b, path, "in user messages"));
    });
    flush();
  });
  return out;
}

/** Maps `tools` onto function tools; a server tool or a malformed custom tool is a 400 naming it. */
export function toChatTools(tools: Array<Record<string, unknown>> | undefined): ChatTool[] | undefined {
  if (!tools) return undefined;
  return tools.map((raw, i) => {
    const type = raw.type;
    if (type != null && type !== "custom") {
      throw new TandemError("invalid_request", `Invalid request: 'tools.${i}': server tool '${String(type)}' is not supported by this gateway (only custom tools: name, description, input_schema)`, { param: `tools.${i}` });
    }
    const t = parseBlock(customTool, raw, `tools.${i}`);
    return { type: "function", function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.input_schema } };
  });
}

/** Anthropic `tool_choice` as OpenAI's. */
export function toChatToolChoice(choice: z.infer<typeof toolChoice> | undefined): ChatToolChoice | undefined {
  if (!choice) return undefined;
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: choice.name } };
  }
}

/** Maps a validated body onto the provider-neutral request. */
export function toGenerateRequest(body: MessagesRequest): GenerateRequest {
  const tools = toChatTools(body.tools);
  return {
    messages: toChatMessages(body),
    maxTokens: body.max_tokens,
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined ? { topP: body.top_p } : {}),
    ...(body.stop_sequences?.length ? { stop: body.stop_sequences } : {}),
    ...(tools?.length ? { tools } : {}),
    ...(body.tool_choice && tools?.length ? { toolChoice: toChatToolChoice(body.tool_choice) } : {}),
    ...(body.metadata?.user_id ? { user: body.metadata.user_id } : {}),
  };
}

/** Validates a parsed body with `schema`; throws `invalid_request` naming the first bad field. */
export function parseBody<S extends z.ZodType>(schema: S, json: unknown): z.infer<S> {
  const r = schema.safeParse(json);
  if (!r.success) throw invalidRequest(r.error.issues[0]);
  return r.data;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Anthropic's error `type` and HTTP status of each Tandem error code. */
export const ANTHROPIC_ERRORS: Record<ErrorCode, { status: number; type: string }> = {
  invalid_json: { status: 400, type: "invalid_request_error" },
  invalid_request: { status: 400, type: "invalid_request_error" },
  tandem_guard: { status: 400, type: "invalid_request_error" },
  invalid_api_key: { status: 401, type: "authentication_error" },
  permission_denied: { status: 403, type: "permission_error" },
  model_not_found: { status: 404, type: "not_found_error" },
  not_found: { status: 404, type: "not_found_error" },
  payload_too_large: { status: 413, type: "request_too_large" },
  rate_limit_exceeded: { status: 429, type: "rate_limit_error" },
  budget_exceeded: { status: 429, type: "rate_limit_error" },
  internal_error: { status: 500, type: "api_error" },
  invalid_policy: { status: 500, type: "api_error" },
  model_load_failed: { status: 500, type: "api_error" },
  upstream_error: { status: 500, type: "api_error" },
  upstream_timeout: { status: 504, type: "timeout_error" },
  overloaded: { status: 529, type: "overloaded_error" },
  aborted: { status: 499, type: "invalid_request_error" },
};

/** Anthropic's error body: `{ type: "error", error: { type, message } }`. */
export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
}

/** The Anthropic status and body of a Tandem error (unknown codes: 500 `api_error`). */
export function anthropicError(error: TandemError): { status: number; body: AnthropicErrorBody } {
  const mapped = ANTHROPIC_ERRORS[error.code] ?? { status: 500, type: "api_error" };
  return { status: mapped.status, body: { type: "error", error: { type: mapped.type, message: error.message } } };
}

/** A Hono response of a Tandem error in Anthropic's shape and status. */
export function anthropicErrorResponse(c: Context, error: TandemError): Response {
  const { status, body } = anthropicError(error);
  return c.json(body, status as 400);
}

/** True for the paths served in Anthropic's shapes (`/v1/messages` and below): their errors are Anthropic-shaped. */
export function isAnthropicPath(path: string): boolean {
  return path === "/v1/messages" || path.startsWith("/v1/messages/");
}

// ---------------------------------------------------------------------------------------------
// Responses

/** Anthropic `stop_reason`. */
export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "refusal";

/**
 * The stop reason of a finish reason: `stop` is `stop_sequence` when the result names the
 * request's stop sequence that ended it (`GenerateResult.stopSequence`: local llama.cpp models,
 * vLLM upstreams), else `end_turn` (a natural end — or a provider that cannot tell, such as a
 * plain OpenAI upstream).
 */
export function stopReasonOf(finish: FinishReason, stopSequence?: string): StopReason {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return stopSequence !== undefined ? "stop_sequence" : "end_turn";
  }
}

/**
 * Anthropic's `stop_reason` and `stop_sequence` (the matched string, or null) of a result.
 * `requested`: the request's `stop_sequences`; a matched string that is not one of them (e.g. the
 * placeholder form a `privacy` strategy sent upstream) is not reported — `end_turn`, null.
 */
export function stopOf(result: Pick<GenerateResult, "finishReason" | "stopSequence">, requested?: readonly string[]): { stop_reason: StopReason; stop_sequence: string | null } {
  const matched = result.stopSequence !== undefined && (requested === undefined || requested.includes(result.stopSequence)) ? result.stopSequence : undefined;
  const reason = stopReasonOf(result.finishReason, matched);
  return { stop_reason: reason, stop_sequence: reason === "stop_sequence" ? matched! : null };
}

/** Anthropic `usage` (tokens); the cache counters are the serving model's (0 when it reported none; `input_tokens` excludes them). */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

const usageOf = (input: number, output: number): AnthropicUsage => ({ input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
/** The answer's usage in Anthropic's form: `input_tokens` uncached, the serving model's cache reads and writes apart (src/core/pricing/usage.ts). */
const answerUsage = (u: AnswerProjection["usage"]): AnthropicUsage =>
  anthropicUsageOf({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, cachedPromptTokens: u.prompt_tokens_details?.cached_tokens, cacheWriteTokens: u.prompt_tokens_details?.cache_write_tokens });

/** An Anthropic content block of a response. */
export type ResponseBlock = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/** The non-streamed response body (Anthropic `Message` plus `tandem`). */
export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: ResponseBlock[];
  stop_reason: StopReason;
  /** The stop sequence that ended the answer (`stop_reason: "stop_sequence"`), else null. */
  stop_sequence: string | null;
  usage: AnthropicUsage;
  tandem: TandemField;
}

/** The message id of a trace id: the trace id itself (`msg_<hex>`, {@link anthropicMessages}'s prefix); another prefix is replaced by `msg_`. */
export function messageId(traceId: string): string {
  return traceId.startsWith("msg_") ? traceId : `msg_${traceId.replace(/^[a-z]+[-_]/, "")}`;
}

/** A tool call's JSON arguments as a `tool_use` input object (not an object / not JSON: `{}`, as Anthropic inputs are objects). */
export function toolInput(args: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(args || "{}");
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The non-streamed body of an answer. */
export function messageBody(traceId: string, model: string, result: GenerateResult, projection: AnswerProjection, stopSequences?: readonly string[]): AnthropicMessage {
  const blocks: ResponseBlock[] = [];
  if (result.text || !result.toolCalls?.length) blocks.push({ type: "text", text: result.text });
  for (const call of result.toolCalls ?? []) blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  return {
    id: messageId(traceId),
    type: "message",
    role: "assistant",
    model,
    content: blocks,
    ...stopOf(result, stopSequences),
    usage: answerUsage(projection.usage),
    tandem: projection.field,
  };
}

// ---------------------------------------------------------------------------------------------
// The protocol

/** A Messages request as the pipeline carries it. */
export interface MessagesIntake extends Intake {
  body: MessagesRequest;
}

const event = (type: string, data: Record<string, unknown>): SseFrame => ({ event: type, data: JSON.stringify({ type, ...data }) });

/** The SSE encoder of one streamed Messages answer (see the module comment for the sequence). */
export function messagesEncoder(intake: MessagesIntake, traceId: string): StreamEncoder {
  let index = -1;
  let open: "text" | "tool" | undefined;
  const toolBlocks = new Map<number, number>(); // tool-call index → block index
  let streamedText = false;
  const stopOpen = (): SseFrame[] => {
    if (open === undefined) return [];
    open = undefined;
    return [event("content_block_stop", { index })];
  };
  const startBlock = (block: Record<string, unknown>): SseFrame[] => {
    const frames = stopOpen();
    index++;
    frames.push(event("content_block_start", { index, content_block: block }));
    return frames;
  };
  const text = (t: string): SseFrame[] => {
    const frames = open === "text" ? [] : startBlock({ type: "text", text: "" });
    open = "text";
    streamedText = true;
    frames.push(event("content_block_delta", { index, delta: { type: "text_delta", text: t } }));
    return frames;
  };
  const toolDelta = (d: { index: number; id?: string; function?: { name?: string; arguments?: string } }): SseFrame[] => {
    const frames: SseFrame[] = [];
    let block = toolBlocks.get(d.index);
    if (block === undefined) {
      frames.push(...startBlock({ type: "tool_use", id: d.id || `toolu_${randomBytes(12).toString("hex")}`, name: d.function?.name ?? "", input: {} }));
      open = "tool";
      block = index;
      toolBlocks.set(d.index, block);
    }
    if (d.function?.arguments) frames.push(event("content_block_delta", { index: block, delta: { type: "input_json_delta", partial_json: d.function.arguments } }));
    return frames;
  };
  return {
    open: () => [
      event("message_start", {
        message: {
          id: messageId(traceId),
          type: "message",
          role: "assistant",
          model: intake.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          // the real prompt, counted by the tokenizer (an estimate for non-OpenAI models); message_delta carries the upstream's count
          usage: usageOf(countRequestTokens(intake.request), 0),
        },
      }),
      event("ping", {}),
    ],
    part: (part) => (part.type === "text" ? (part.text ? text(part.text) : []) : toolDelta(part.delta)),
    finish: (result: GenerateResult, projection: AnswerProjection) => {
      const frames: SseFrame[] = [];
      // a strategy that streamed nothing of its answer: the result carries it
      if (!streamedText && result.text) frames.push(...text(result.text));
      if (toolBlocks.size === 0) {
        for (const [i, call] of (result.toolCalls ?? []).entries()) frames.push(...toolDelta({ index: i, id: call.id, function: call.function }));
      }
      if (index < 0) frames.push(...startBlock({ type: "text", text: "" }), event("content_block_stop", { index: 0 }));
      frames.push(...stopOpen());
      frames.push(
        event("message_delta", {
          delta: stopOf(result, intake.body.stop_sequences ?? []),
          usage: answerUsage(projection.usage),
          tandem: projection.field,
        }),
      );
      return frames;
    },
    error: (error) => {
      const { body } = anthropicError(error);
      return [{ event: "error", data: JSON.stringify(body) }];
    },
    close: () => [event("message_stop", {})],
  };
}

/** The Anthropic Messages protocol, for {@link Pipeline.route}. */
export const anthropicMessages: WireProtocol<MessagesIntake> = {
  parse(json) {
    const body = parseBody(messagesRequestSchema, json);
    return { model: body.model, stream: body.stream === true, request: toGenerateRequest(body), body };
  },
  errorBody: (error) => anthropicError(error).body,
  status: (error) => anthropicError(error).status,
  completion: ({ traceId, intake, result, projection }: Answer<MessagesIntake>) => messageBody(traceId, intake.model, result, projection, intake.body.stop_sequences ?? []),
  encoder: ({ intake, traceId }) => messagesEncoder(intake, traceId),
  traceIdPrefix: "msg_",
};

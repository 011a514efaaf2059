/**
 * The OpenAI Responses mapping of the gateway (`POST /v1/responses`, issue #12 item 1): the
 * request schema (zod; unknown fields are ignored as in chat completions, but a known field whose
 * meaning Tandem cannot honour — hosted tools, `previous_response_id`,
 * background runs… — answers 400 naming it as `param`), the request → {@link GenerateRequest}
 * mapping, the `response` object, the SSE event sequence and the OpenAI error shape.
 *
 * Mapping (every string of the input lands in the internal request, so the privacy layer, the
 * guard and compression see all of it — they walk the GenerateRequest, not this wire format):
 * - `instructions` → a leading `system` message;
 * - `input` string → one `user` message; `input` items in order: messages (roles user, system,
 *   developer, assistant; content a string or `input_text` / `output_text` / `refusal` parts, and
 *   `input_image` with an `image_url`, which becomes a chat `image_url` part) → chat messages with
 *   `text` parts; `function_call` items → `tool_calls` of an assistant message (consecutive calls,
 *   and a preceding assistant message, merge into one); `function_call_output` → `tool` messages;
 *   `item_reference` to an earlier answer's message (`msg_<hex>`) → that answer's text, read from
 *   the trace store within the caller key's scope — SQLite or PostgreSQL (`traces.postgres`),
 *   through the store's awaitable `get` (the Vercel AI SDK sends these by default);
 * - `tools` (flat `{ type: "function", name, description, parameters, strict }`) → chat tools;
 *   `tool_choice` `"none" | "auto" | "required" | { type: "function", name }`;
 * - `max_output_tokens` → `maxTokens`, `temperature`, `top_p`, `user` (or `safety_identifier`),
 *   `top_logprobs` and `include: ["message.output_text.logprobs"]` → logprobs.
 *
 * Ids: the trace id is `resp_<32 hex>` and is the response `id` (and `tandem.trace_id`, and the
 * `x-tandem-trace-id` header) — so `POST /v1/tandem/feedback` takes `response.id` as is. The
 * answer's message item is `msg_<same hex>`, its function calls `fc_<same hex>_<n>`.
 *
 * Streams: `response.created`, `response.in_progress`, then per output item
 * `response.output_item.added` (+ `response.content_part.added` for text), the deltas
 * (`response.output_text.delta` / `response.function_call_arguments.delta`), the done events
 * (`response.output_text.done`, `response.content_part.done` /
 * `response.function_call_arguments.done`, `response.output_item.done`), then
 * `response.completed` (or `response.incomplete` when cut by `max_output_tokens`) whose
 * `response` carries usage and the `tandem` field. A failure after the 200 sends `error` then
 * `response.failed`. Every event has a `sequence_number` (0, 1, 2…); no `[DONE]`.
 *
 * `store`: accepted (true or false) and not acted on — every request is traced as any other, and
 * nothing is kept beyond the trace. `previous_response_id` and `conversation` answer 400.
 */
import { z } from "zod";
import { TandemError } from "../../core/errors.js";
import type { GenerateRequest, GenerateResult } from "../../core/model.js";
import type { ChatContent, ChatMessage, ChatTool, ChatToolCall, ChatToolChoice, ResponseFormat, TokenLogprob } from "../../core/wire.js";
import { traceScopeOf } from "../auth.js";
import { invalidRequest, type Answer, type Intake, type ParseContext, type SseFrame, type StreamEncoder, type WireProtocol } from "../pipeline.js";
import type { AnswerProjection, TandemField } from "../projection.js";
import type { Trace } from "../../store/traces.js";

/** Prefix of Responses trace ids (= response ids). */
export const RESPONSE_ID_PREFIX = "resp_";

// ---------------------------------------------------------------------------------------------
// Request schema

const inputText = z.object({ type: z.literal("input_text"), text: z.string() });
const outputText = z.object({ type: z.literal("output_text"), text: z.string() }).passthrough();
const refusal = z.object({ type: z.literal("refusal"), refusal: z.string() });
const inputImage = z.object({
  type: z.literal("input_image"),
  image_url: z.string().nullable().optional(),
  file_id: z.string().nullable().optional(),
  detail: z.enum(["low", "high", "auto", "original"]).optional(),
});
/** Any other part type: named in a clear 400 by {@link partOf}. */
const otherPart = z.object({ type: z.string() }).passthrough();
const part = z.union([inputText, outputText, refusal, inputImage, otherPart]);
const messageContent = z.union([z.string(), z.array(part)]);

const messageItem = z.object({
  type: z.literal("message").optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: messageContent,
  id: z.string().nullable().optional(),
  status: z.string().nullable().optional(),
  phase: z.string().nullable().optional(),
});
const functionCallItem = z.object({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().nullable().optional(),
  status: z.string().nullable().optional(),
});
const functionCallOutputItem = z.object({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(part)]),
  id: z.string().nullable().optional(),
  status: z.string().nullable().optional(),
});
const itemReference = z.object({ type: z.literal("item_reference"), id: z.string().min(1) });

const functionTool = z.object({
  type: z.literal("function"),
  name: z.string().min(1).max(64),
  description: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

const toolChoice = z.union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), name: z.string().min(1) })]);

const metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, { message: "metadata holds at most 16 keys" });

/** `include` values that ask for something Tandem produces; the others name items it never produces, so they are accepted and change nothing. */
const LOGPROBS_INCLUDE = "message.output_text.logprobs";

/**
 * Schema of `POST /v1/responses` bodies: the fields Tandem honours, checked for type and range.
 * Items and tools are checked one by one by {@link parseResponsesBody} so a failure names the
 * item's own field (`input.2.call_id`) rather than a union's.
 */
export const responsesRequestSchema = z.object({
  model: z.string({ message: "'model' is required" }).min(1),
  input: z.union([z.string(), z.array(z.record(z.string(), z.unknown()))], { message: "'input' is required: a string or an array of input items" }),
  instructions: z.string().nullable().optional(),
  tools: z.array(z.record(z.string(), z.unknown())).max(128).nullable().optional(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  max_output_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  include: z.array(z.string()).nullable().optional(),
  metadata: metadata.nullable().optional(),
  user: z.string().optional(),
  safety_identifier: z.string().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({}).passthrough().nullable().optional(),
  store: z.boolean().nullable().optional(),
  truncation: z.enum(["auto", "disabled"]).nullable().optional(),
  service_tier: z.string().nullable().optional(),
  prompt_cache_key: z.string().nullable().optional(),
  text: z
    .object({
      format: z.object({ type: z.string() }).passthrough().nullable().optional(),
      verbosity: z.string().nullable().optional(),
    })
    .passthrough()
    .nullable()
    .optional(),
  reasoning: z.object({ effort: z.string().nullable().optional(), summary: z.string().nullable().optional() }).passthrough().nullable().optional(),
  previous_response_id: z.string().nullable().optional(),
  conversation: z.unknown().optional(),
  background: z.boolean().nullable().optional(),
  prompt: z.unknown().optional(),
});

type ResponsesBody = z.infer<typeof responsesRequestSchema>;
type Part = z.infer<typeof part>;
/** A Responses function tool, as echoed on the response object. */
export type ResponsesFunctionTool = z.infer<typeof functionTool>;
/** A Responses `tool_choice`. */
export type ResponsesToolChoice = z.infer<typeof toolChoice>;

/** What the response object echoes of the request. */
export interface ResponsesEcho {
  instructions: string | null;
  tools: ResponsesFunctionTool[];
  toolChoice: ResponsesToolChoice;
  parallelToolCalls: boolean;
  maxOutputTokens: number | null;
  temperature: number | null;
  topP: number | null;
  topLogprobs: number | null;
  metadata: Record<string, string>;
  user?: string;
  store: boolean;
  truncation: "auto" | "disabled";
  serviceTier: string;
  text: { format: ResponsesTextFormat; verbosity?: string };
}

/** A Responses `text.format`: free text, any JSON object, or JSON of a schema (flattened, unlike chat's `json_schema: {…}`). */
export type ResponsesTextFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: Record<string, unknown>; description?: string; strict?: boolean | null };

const textFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().optional(),
    strict: z.boolean().nullable().optional(),
  }),
]);

/** The Responses format as the chat-shaped `responseFormat` of the request (undefined for free text). */
function responseFormatOf(format: ResponsesTextFormat): ResponseFormat | undefined {
  if (format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  return { type: "json_schema", json_schema: { name: format.name, schema: format.schema, ...(format.description !== undefined ? { description: format.description } : {}), ...(format.strict != null ? { strict: format.strict } : {}) } };
}

/** A Responses request as the pipeline carries it. */
export interface ResponsesIntake extends Intake {
  echo: ResponsesEcho;
}

function unsupported(param: string, message: string): TandemError {
  return new TandemError("invalid_request", `Unsupported: ${message}`, { param });
}

/** Parses one element with `schema`, naming a failure under `prefix` (e.g. `input.2`). */
function parseAt<T>(schema: z.ZodType<T>, value: unknown, prefix: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalidRequest({ ...issue, path: [...(prefix ? prefix.split(".") : []), ...issue.path] });
  }
  return result.data;
}

/**
 * Validates a parsed body (depth already checked by the pipeline) and maps it onto the internal
 * request. Throws `TandemError("invalid_request")` (400) naming the bad field as `param`, e.g.
 * `model`, `input.1.call_id`, `tools.0.type`, `previous_response_id`; `not_found` (404,
 * `param: "input.N.id"`) for an `item_reference` the caller cannot read.
 */
export async function parseResponsesBody(json: unknown, context: ParseContext = {}): Promise<ResponsesIntake> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new TandemError("invalid_request", "Invalid request: the body must be a JSON object", { param: null });
  const body = parseAt(responsesRequestSchema, json, "");
  refuseUnsupported(body); // before any lookup
  return intakeOf(body, typeof body.input === "string" ? context : { ...context, referenced: await lookUpReferences(body.input, context) });
}

/**
 * The traces of the answers that `input`'s `item_reference`s name (`msg_<hex>` → trace
 * `resp_<hex>`), read in the caller key's scope through the store's awaitable `get` — the SQLite
 * store answers at once, the Postgres one (policy `traces.postgres`) with a promise — before the
 * synchronous mapping of the items. Ids that are not answers' message ids are skipped (the mapping
 * answers them 404). Errors: the store's, as a 500.
 */
async function lookUpReferences(input: ReadonlyArray<Record<string, unknown>>, context: ParseContext): Promise<Map<string, Trace | undefined>> {
  const found = new Map<string, Trace | undefined>();
  const { traces } = context;
  if (!traces) return found;
  for (const item of input) {
    if (item.type !== "item_reference" || typeof item.id !== "string" || found.has(item.id)) continue;
    const hex = MESSAGE_ITEM_ID.exec(item.id)?.[1];
    if (hex) found.set(item.id, await traces.get(`${RESPONSE_ID_PREFIX}${hex}`, traceScopeOf(context.apiKey)));
  }
  return found;
}

/** {@link ParseContext} plus the referenced answers' traces, looked up beforehand. */
interface ItemContext extends ParseContext {
  referenced?: ReadonlyMap<string, Trace | undefined>;
}

/** The id of an answer's message item: `msg_<the trace's 32 hex digits>`. */
const MESSAGE_ITEM_ID = /^msg_([0-9a-f]{32})$/;

/** The intake of a validated body (the synchronous part of {@link parseResponsesBody}). */
function intakeOf(body: ResponsesBody, context: ItemContext): ResponsesIntake {
  const tools = (body.tools ?? []).map((t, i) => {
    if (t.type !== "function") throw unsupported(`tools.${i}.type`, `tool type '${String(t.type)}' (only function tools are served; hosted tools such as web_search or file_search are not)`);
    return parseAt(functionTool, t, `tools.${i}`);
  });
  const choice = body.tool_choice == null ? undefined : parseToolChoice(body.tool_choice);
  const messages: ChatMessage[] = [];
  if (body.instructions) messages.push({ role: "system", content: body.instructions });
  if (typeof body.input === "string") messages.push({ role: "user", content: body.input });
  else body.input.forEach((item, i) => addItem(messages, item, i, context));
  if (messages.length === 0) throw new TandemError("invalid_request", "Invalid request: 'input' must contain at least one item", { param: "input" });

  const logprobs = (body.include ?? []).includes(LOGPROBS_INCLUDE) || (body.top_logprobs ?? 0) > 0;
  const format: ResponsesTextFormat = body.text?.format == null ? { type: "text" } : (parseAt(textFormat, body.text.format, "text.format") as ResponsesTextFormat);
  const responseFormat = responseFormatOf(format);
  const request: GenerateRequest = {
    messages,
    maxTokens: body.max_output_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    logprobs: logprobs || undefined,
    topLogprobs: logprobs ? (body.top_logprobs ?? 0) : undefined,
    tools: tools.length ? tools.map(toChatTool) : undefined,
    toolChoice: choice ? toChatToolChoice(choice) : undefined,
    user: body.user ?? body.safety_identifier ?? undefined,
    ...(responseFormat ? { responseFormat } : {}),
  };
  const echo: ResponsesEcho = {
    instructions: body.instructions ?? null,
    tools,
    toolChoice: choice ?? "auto",
    parallelToolCalls: body.parallel_tool_calls ?? true,
    maxOutputTokens: body.max_output_tokens ?? null,
    temperature: body.temperature ?? null,
    topP: body.top_p ?? null,
    topLogprobs: body.top_logprobs ?? null,
    metadata: body.metadata ?? {},
    ...(body.user !== undefined ? { user: body.user } : {}),
    store: body.store ?? true,
    truncation: body.truncation ?? "disabled",
    serviceTier: "default",
    text: { format, ...(body.text?.verbosity ? { verbosity: body.text.verbosity } : {}) },
  };
  return { model: body.model, stream: body.stream === true, request, echo };
}

/** Known fields whose meaning Tandem cannot honour: a clear 400 rather than a silent no-op. */
function refuseUnsupported(body: ResponsesBody): void {
  if (body.previous_response_id != null)
    throw unsupported("previous_response_id", "'previous_response_id': Tandem keeps no conversation state; send the whole conversation in 'input' (function_call and function_call_output items included)");
  if (body.conversation != null) throw unsupported("conversation", "'conversation': Tandem keeps no conversation state; send the whole conversation in 'input'");
  if (body.background === true) throw unsupported("background", "'background': responses run in the foreground (use 'stream' for long answers)");
  if (body.prompt != null) throw unsupported("prompt", "'prompt': stored prompt templates are not served; send 'instructions' and 'input'");
  const format = body.text?.format?.type;
  if (format != null && format !== "text" && format !== "json_object" && format !== "json_schema") throw unsupported("text.format", `text format '${format}' (only 'text', 'json_object' and 'json_schema')`);
  if (body.reasoning && (body.reasoning.effort != null || body.reasoning.summary != null))
    throw unsupported("reasoning", "'reasoning': Tandem's models produce no reasoning items; leave 'reasoning' unset");
}

function parseToolChoice(value: unknown): ResponsesToolChoice {
  if (typeof value === "object" && value !== null && "type" in value && (value as { type: unknown }).type !== "function")
    throw unsupported("tool_choice", `tool_choice type '${String((value as { type: unknown }).type)}' (only "none", "auto", "required" or { type: "function", name })`);
  return parseAt(toolChoice, value, "tool_choice");
}

function toChatTool(t: ResponsesFunctionTool): ChatTool {
  return {
    type: "function",
    function: {
      name: t.name,
      ...(t.description != null ? { description: t.description } : {}),
      ...(t.parameters != null ? { parameters: t.parameters } : {}),
      ...(t.strict != null ? { strict: t.strict } : {}),
    },
  };
}

function toChatToolChoice(choice: ResponsesToolChoice): ChatToolChoice {
  return typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } };
}

/** One content part as a chat part: text kinds become `text` parts, so privacy scans them as text. */
function partOf(p: Part, path: string): { type: "text"; text: string } | { type: "image_url"; image_url: { url: string; detail?: string } } {
  switch (p.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: (p as { text: string }).text };
    case "refusal":
      return { type: "text", text: (p as { refusal: string }).refusal };
    case "input_image": {
      const image = parseAt(inputImage, p, path);
      if (!image.image_url) throw unsupported(`${path}.file_id`, "input_image by 'file_id' (Tandem has no file store; send 'image_url', an https or data: URL)");
      return { type: "image_url", image_url: { url: image.image_url, ...(image.detail ? { detail: image.detail } : {}) } };
    }
    default:
      throw unsupported(`${path}.type`, `content part type '${p.type}' (input_text, output_text, refusal and input_image with image_url are served)`);
  }
}

function contentOf(content: string | Part[], path: string): ChatContent {
  if (typeof content === "string") return content;
  return content.map((p, j) => {
    // a part whose own fields are wrong (e.g. input_text without text) is named precisely
    if (p.type === "input_text") parseAt(inputText, p, `${path}.${j}`);
    if (p.type === "output_text") parseAt(outputText, p, `${path}.${j}`);
    if (p.type === "refusal") parseAt(refusal, p, `${path}.${j}`);
    return partOf(p, `${path}.${j}`);
  });
}

/** Text of parts mapped by {@link contentOf} (assistant messages carry text only). */
function textOfParts(content: ChatContent, path: string): string {
  if (typeof content === "string") return content;
  return content
    .map((p, j) => {
      if (p.type !== "text") throw unsupported(`${path}.${j}.type`, "an assistant message may hold only output_text and refusal parts");
      return (p as { text: string }).text;
    })
    .join("");
}

/** The open assistant message that function calls may join (the last message, when it is an assistant's). */
function openAssistant(messages: ChatMessage[]): Extract<ChatMessage, { role: "assistant" }> | undefined {
  const last = messages[messages.length - 1];
  return last?.role === "assistant" ? last : undefined;
}

function addItem(messages: ChatMessage[], item: Record<string, unknown>, i: number, context: ItemContext): void {
  const path = `input.${i}`;
  const type = item.type ?? (item.role !== undefined ? "message" : undefined);
  switch (type) {
    case "message": {
      const m = parseAt(messageItem, item, path);
      const content = contentOf(m.content as string | Part[], `${path}.content`);
      if (m.role === "assistant") {
        const text = textOfParts(content, `${path}.content`);
        const open = openAssistant(messages);
        if (open && !open.tool_calls?.length) open.content = `${typeof open.content === "string" ? open.content : ""}${text}`;
        else messages.push({ role: "assistant", content: text });
      } else messages.push({ role: m.role, content });
      return;
    }
    case "function_call": {
      const f = parseAt(functionCallItem, item, path);
      const call: ChatToolCall = { id: f.call_id, type: "function", function: { name: f.name, arguments: f.arguments } };
      const open = openAssistant(messages);
      if (open) open.tool_calls = [...(open.tool_calls ?? []), call];
      else messages.push({ role: "assistant", content: null, tool_calls: [call] });
      return;
    }
    case "function_call_output": {
      const o = parseAt(functionCallOutputItem, item, path);
      messages.push({ role: "tool", tool_call_id: o.call_id, content: contentOf(o.output as string | Part[], `${path}.output`) });
      return;
    }
    case "item_reference": {
      const ref = parseAt(itemReference, item, path);
      addItem(messages, { type: "message", role: "assistant", content: referencedText(ref.id, `${path}.id`, context) }, i, context);
      return;
    }
    case undefined:
      throw new TandemError("invalid_request", `Invalid request: '${path}.type' is required (or a 'role' for a message)`, { param: `${path}.type` });
    default:
      throw unsupported(`${path}.type`, `input item type '${String(type)}' (message, function_call, function_call_output and item_reference are served)`);
  }
}

/**
 * The text of an earlier answer's message item `msg_<hex>`, from its trace `resp_<hex>` in the
 * caller key's scope. Only plaintext answers resolve: a trace of a private model (it holds what
 * the cloud saw, or nothing) or one stored without content answers 400 telling the client to send
 * the item in full; an unknown id (or another key's) answers 404.
 */
function referencedText(id: string, param: string, context: ItemContext): string {
  const sendInFull = "send the message in full ('role: \"assistant\"' with its text; the Vercel AI SDK does with providerOptions.openai.store = false)";
  const hex = MESSAGE_ITEM_ID.exec(id)?.[1];
  if (!hex) throw new TandemError("not_found", `Item '${id}' is not a message of an answer of this gateway; ${sendInFull}`, { param });
  if (!context.traces) throw unsupported(param, `item_reference: this gateway runs with traces off, so it cannot look earlier answers up; ${sendInFull}`);
  const trace = context.referenced?.get(id); // looked up by lookUpReferences (SQLite or Postgres)
  if (!trace || trace.status !== 200) throw new TandemError("not_found", `No answer with item '${id}'`, { param });
  if (trace.decisions.some((d) => d.strategy === "privacy") || trace.responseText == null)
    throw unsupported(param, `item_reference to '${id}': its trace does not hold the answer's text (a private model's trace keeps what the cloud saw, or content storage is off); ${sendInFull}`);
  return trace.responseText;
}

// ---------------------------------------------------------------------------------------------
// Response

/** An output item of a response (the subset Tandem produces). */
export type ResponsesOutputItem =
  | {
      type: "message";
      id: string;
      role: "assistant";
      status: "in_progress" | "completed" | "incomplete";
      content: Array<{ type: "output_text"; text: string; annotations: []; logprobs?: ResponsesLogprob[] }>;
    }
  | { type: "function_call"; id: string; call_id: string; name: string; arguments: string; status: "in_progress" | "completed" | "incomplete" };

/** One token's log-probability in the Responses shape. */
export interface ResponsesLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

/**
 * Responses `usage`, tokens. `input_tokens` includes `cached_tokens` (prompt-cache reads) and
 * `cache_write_tokens` (cache writes, OpenRouter's extension; present only when the upstream
 * reported some); `output_tokens` includes `reasoning_tokens`.
 */
export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens?: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** The `response` object (a body, or the `response` of a stream's lifecycle events). `created_at`: epoch seconds. */
export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  status: "in_progress" | "completed" | "incomplete" | "failed";
  completed_at: number | null;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: "max_output_tokens" | "content_filter" } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  model: string;
  output: ResponsesOutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: null;
  reasoning: { effort: null; summary: null };
  service_tier: string;
  store: boolean;
  temperature: number | null;
  text: ResponsesEcho["text"];
  tool_choice: ResponsesToolChoice;
  tools: ResponsesFunctionTool[];
  top_logprobs: number | null;
  top_p: number | null;
  truncation: "auto" | "disabled";
  usage: ResponsesUsage | null;
  user?: string;
  /** Tandem's decision path, on the final object only. */
  tandem?: TandemField;
}

/**
 * Responses `usage` of a result (tokens of the serving model), with the prompt-cache and
 * reasoning counts the upstream reported (read by `usageFromUpstream`, src/core/pricing/usage.ts;
 * 0 when it reported none), as the chat mapping's `prompt_tokens_details` /
 * `completion_tokens_details` (`usageObject`, projection.ts) carry them.
 */
export function responsesUsage(usage: GenerateResult["usage"]): ResponsesUsage {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedPromptTokens ?? 0, ...(usage.cacheWriteTokens !== undefined ? { cache_write_tokens: usage.cacheWriteTokens } : {}) },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

function logprobsOf(logprobs: TokenLogprob[] | undefined): ResponsesLogprob[] | undefined {
  return logprobs?.map((l) => ({
    token: l.token,
    logprob: l.logprob,
    bytes: l.bytes ?? [],
    top_logprobs: l.top_logprobs.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes ?? [] })),
  }));
}

function hexOf(traceId: string): string {
  return traceId.startsWith(RESPONSE_ID_PREFIX) ? traceId.slice(RESPONSE_ID_PREFIX.length) : traceId;
}
const messageId = (traceId: string, n = 0) => `msg_${hexOf(traceId)}${n ? `_${n}` : ""}`;
const callItemId = (traceId: string, n: number) => `fc_${hexOf(traceId)}_${n}`;

function statusOf(result: GenerateResult): Pick<ResponseObject, "status" | "incomplete_details"> {
  if (result.finishReason === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (result.finishReason === "content_filter") return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

/** A response object before its outcome: status `in_progress`, no output. `created`: epoch seconds. */
function baseResponse(traceId: string, created: number, intake: ResponsesIntake): ResponseObject {
  const e = intake.echo;
  return {
    id: traceId,
    object: "response",
    created_at: created,
    status: "in_progress",
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: e.instructions,
    max_output_tokens: intake.request.maxTokens ?? e.maxOutputTokens,
    metadata: e.metadata,
    model: intake.model,
    output: [],
    parallel_tool_calls: e.parallelToolCalls,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: e.serviceTier,
    store: e.store,
    temperature: e.temperature,
    text: e.text,
    tool_choice: e.toolChoice,
    tools: e.tools,
    top_logprobs: e.topLogprobs,
    top_p: e.topP,
    truncation: e.truncation,
    usage: null,
    ...(e.user !== undefined ? { user: e.user } : {}),
  };
}

/** The output items of a finished result: its text as one message (when there is text or no tool call), then one function_call per tool call. */
function outputOf(traceId: string, result: GenerateResult, itemStatus: "completed" | "incomplete"): ResponsesOutputItem[] {
  const items: ResponsesOutputItem[] = [];
  const calls = result.toolCalls ?? [];
  if (result.text || calls.length === 0) {
    const logprobs = logprobsOf(result.logprobs);
    items.push({ type: "message", id: messageId(traceId), role: "assistant", status: itemStatus, content: [{ type: "output_text", text: result.text, annotations: [], ...(logprobs ? { logprobs } : {}) }] });
  }
  calls.forEach((c, n) => items.push({ type: "function_call", id: callItemId(traceId, n), call_id: c.id, name: c.function.name, arguments: c.function.arguments, status: "completed" }));
  return items;
}

/** The final response object of an answer: output, status, usage and the `tandem` field. `created`: epoch seconds. */
export function responseBody(args: { traceId: string; created: number; intake: ResponsesIntake; result: GenerateResult; projection: AnswerProjection; output?: ResponsesOutputItem[] }): ResponseObject {
  const { traceId, created, intake, result, projection } = args;
  const outcome = statusOf(result);
  const output = args.output ?? outputOf(traceId, result, outcome.status === "completed" ? "completed" : "incomplete");
  return {
    ...baseResponse(traceId, created, intake),
    ...outcome,
    completed_at: Math.floor(Date.now() / 1000),
    output,
    usage: responsesUsage(result.usage),
    tandem: projection.field,
  };
}

/** Codes of `response.failed`'s `response.error` (OpenAI's vocabulary) for Tandem's errors. */
function failedCode(error: TandemError): string {
  if (error.code === "rate_limit_exceeded" || error.code === "budget_exceeded") return "rate_limit_exceeded";
  if (error.code === "tandem_guard" || error.code === "invalid_request") return "invalid_prompt";
  return "server_error";
}

// ---------------------------------------------------------------------------------------------
// Stream

/** The encoder of one streamed response (see the module comment for the event sequence). */
function responsesEncoder(intake: ResponsesIntake, traceId: string, created: number): StreamEncoder {
  let sequence = 0;
  const ev = (type: string, fields: Record<string, unknown>): SseFrame => ({ event: type, data: JSON.stringify({ type, sequence_number: sequence++, ...fields }) });
  const wantLogprobs = intake.request.logprobs === true;

  /** Output items as streamed so far, with whether each is still open. */
  const output: ResponsesOutputItem[] = [];
  const open = new Set<number>();
  /** Open message item's index, if any. */
  let textItem: number | undefined;
  let textLogprobs: ResponsesLogprob[] = [];
  let messages = 0;
  /** Output index of each upstream tool-call index. */
  const callItems = new Map<number, number>();

  const closeText = (status: "completed" | "incomplete"): SseFrame[] => {
    if (textItem === undefined) return [];
    const index = textItem;
    const item = output[index] as Extract<ResponsesOutputItem, { type: "message" }>;
    textItem = undefined;
    open.delete(index);
    item.status = status;
    const content = item.content[0];
    if (wantLogprobs) content.logprobs = textLogprobs;
    textLogprobs = [];
    return [
      ev("response.output_text.done", { item_id: item.id, output_index: index, content_index: 0, text: content.text, logprobs: content.logprobs ?? [] }),
      ev("response.content_part.done", { item_id: item.id, output_index: index, content_index: 0, part: content }),
      ev("response.output_item.done", { output_index: index, item }),
    ];
  };
  const openText = (): SseFrame[] => {
    const index = output.length;
    const item: ResponsesOutputItem = { type: "message", id: messageId(traceId, messages++), role: "assistant", status: "in_progress", content: [] };
    output.push(item);
    open.add(index);
    textItem = index;
    const content = { type: "output_text" as const, text: "", annotations: [] as [] };
    const frames = [
      ev("response.output_item.added", { output_index: index, item: { ...item, content: [] } }),
      ev("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part: { ...content } }),
    ];
    item.content.push(content);
    return frames;
  };
  const text = (delta: string, logprobs: TokenLogprob[] | undefined): SseFrame[] => {
    // text after a function call opens a new message item (items are ordered as generated)
    const frames = textItem === undefined || textItem !== output.length - 1 ? [...closeText("completed"), ...openText()] : [];
    const index = textItem!;
    const item = output[index] as Extract<ResponsesOutputItem, { type: "message" }>;
    item.content[0].text += delta;
    const lp = logprobsOf(logprobs) ?? [];
    if (wantLogprobs) textLogprobs.push(...lp);
    frames.push(ev("response.output_text.delta", { item_id: item.id, output_index: index, content_index: 0, delta, logprobs: wantLogprobs ? lp : [] }));
    return frames;
  };
  const toolCall = (delta: { index: number; id?: string; function?: { name?: string; arguments?: string } }): SseFrame[] => {
    const frames: SseFrame[] = [];
    let index = callItems.get(delta.index);
    if (index === undefined) {
      frames.push(...closeText("completed"));
      index = output.length;
      callItems.set(delta.index, index);
      const item: ResponsesOutputItem = { type: "function_call", id: callItemId(traceId, delta.index), call_id: delta.id ?? `call_${hexOf(traceId)}_${delta.index}`, name: delta.function?.name ?? "", arguments: "", status: "in_progress" };
      output.push(item);
      open.add(index);
      frames.push(ev("response.output_item.added", { output_index: index, item: { ...item } }));
    } else if (delta.function?.name) {
      // a name streamed in pieces (rare): completed on the done events
      const item = output[index] as Extract<ResponsesOutputItem, { type: "function_call" }>;
      item.name += delta.function.name;
    }
    const item = output[index] as Extract<ResponsesOutputItem, { type: "function_call" }>;
    const args = delta.function?.arguments;
    if (args) {
      item.arguments += args;
      frames.push(ev("response.function_call_arguments.delta", { item_id: item.id, output_index: index, delta: args }));
    }
    return frames;
  };
  const closeAll = (status: "completed" | "incomplete"): SseFrame[] => {
    const frames = closeText(status);
    for (const index of [...open].sort((a, b) => a - b)) {
      const item = output[index] as Extract<ResponsesOutputItem, { type: "function_call" }>;
      item.status = "completed";
      open.delete(index);
      frames.push(
        ev("response.function_call_arguments.done", { item_id: item.id, output_index: index, name: item.name, arguments: item.arguments }),
        ev("response.output_item.done", { output_index: index, item }),
      );
    }
    return frames;
  };

  const base = () => baseResponse(traceId, created, intake);
  return {
    open: () => [ev("response.created", { response: base() }), ev("response.in_progress", { response: base() })],
    part: (p) => (p.type === "text" ? (p.text ? text(p.text, p.logprobs) : []) : toolCall(p.delta)),
    finish(result: GenerateResult, projection: AnswerProjection) {
      const frames: SseFrame[] = [];
      if (output.length === 0) {
        // nothing was streamed (a strategy that answers at the end): stream the result's items now
        if (result.text || !result.toolCalls?.length) frames.push(...text(result.text, result.logprobs));
        result.toolCalls?.forEach((c, n) => frames.push(...toolCall({ index: n, id: c.id, function: { name: c.function.name, arguments: c.function.arguments } })));
      }
      const outcome = statusOf(result);
      frames.push(...closeAll(outcome.status === "completed" ? "completed" : "incomplete"));
      const response = responseBody({ traceId, created, intake, result, projection, output });
      frames.push(ev(outcome.status === "completed" ? "response.completed" : "response.incomplete", { response }));
      return frames;
    },
    error: (error: TandemError) => [
      ev("error", { code: error.code, message: error.message, param: error.param }),
      ev("response.failed", { response: { ...base(), status: "failed", output, error: { code: failedCode(error), message: error.message } } }),
    ],
    close: () => [],
  };
}

/** The OpenAI Responses protocol, for {@link Pipeline.route} at `POST /v1/responses`. */
export const openAIResponses: WireProtocol<ResponsesIntake> = {
  parse: parseResponsesBody,
  errorBody: (error: TandemError) => error.toJSON(),
  completion: ({ traceId, created, intake, result, projection }: Answer<ResponsesIntake>) => responseBody({ traceId, created, intake, result, projection }),
  encoder: ({ intake, traceId, created }) => responsesEncoder(intake, traceId, created),
  traceIdPrefix: RESPONSE_ID_PREFIX,
};

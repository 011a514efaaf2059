/**
 * The OpenAI chat-completions mapping of the gateway (`POST /v1/chat/completions`): the request
 * schema (zod; unknown fields are ignored, as OpenAI-compatible servers commonly do; known fields
 * are checked for type and range, and a failure names the offending path as OpenAI `param`), the
 * request → {@link GenerateRequest} mapping, the response body, the SSE chunks (a role chunk, one
 * chunk per text or tool-call part, a final chunk with the finish reason and the `tandem` field,
 * the usage chunk when `stream_options.include_usage`, then `[DONE]`) and the OpenAI error shape.
 * Everything else — intake, admission, abort and timeout, charging, traces — is the pipeline's
 * (pipeline.ts); the `tandem` field, headers and usage object are the projection's (projection.ts).
 */
import { z } from "zod";
import type { TandemError } from "../../core/errors.js";
import type { GenerateRequest, GenerateResult } from "../../core/model.js";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatToolCallDelta, TokenLogprob } from "../../core/wire.js";
import type { UpstreamObject } from "../../providers/openai-compatible.js";
import { checkJsonDepth, invalidRequest, type Answer, type Intake, type PassthroughMapping, type SseFrame, type StreamEncoder, type WireProtocol } from "../pipeline.js";
import type { AnswerProjection, TandemField, UsageObject } from "../projection.js";

const content = z.union([z.string(), z.array(z.object({ type: z.string() }).passthrough())]);
const toolCall = z.object({
  id: z.string(),
  type: z.literal("function"),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content, name: z.string().optional() }),
  z.object({ role: z.literal("developer"), content, name: z.string().optional() }),
  z.object({ role: z.literal("user"), content, name: z.string().optional() }),
  z.object({
    role: z.literal("assistant"),
    content: content.nullable().optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCall).optional(),
    refusal: z.string().nullable().optional(),
  }),
  z.object({ role: z.literal("tool"), content, tool_call_id: z.string() }),
]);

const tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().min(1).max(64),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

/** Schema of `POST /v1/chat/completions` bodies. */
export const chatCompletionRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1, "messages must contain at least one message"),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  tools: z.array(tool).max(128).optional(),
  tool_choice: z
    .union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) })])
    .optional(),
  user: z.string().optional(),
  n: z.literal(1, { message: "only n = 1 is supported" }).nullable().optional(),
  response_format: z
    .discriminatedUnion("type", [
      z.object({ type: z.literal("text") }),
      z.object({ type: z.literal("json_object") }),
      z.object({
        type: z.literal("json_schema"),
        json_schema: z.object({
          name: z.string().max(64).optional(),
          description: z.string().optional(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullable().optional(),
        }),
      }),
    ])
    .nullable()
    .optional(),
});

/**
 * Validates a parsed JSON body: depth (at most 64 levels, see pipeline.ts) then schema. Throws
 * `TandemError("invalid_request")` naming the first bad field, e.g. `messages.0.role`.
 */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  checkJsonDepth(body);
  return parseChatBody(body);
}

/** The schema check alone (the pipeline checked the depth already). */
function parseChatBody(body: unknown): ChatCompletionRequest {
  const result = chatCompletionRequestSchema.safeParse(body);
  if (!result.success) throw invalidRequest(result.error.issues[0]);
  return result.data as ChatCompletionRequest;
}

/** Maps the OpenAI request body onto the provider-neutral request (messages are shared, not copied). */
export function toGenerateRequest(body: ChatCompletionRequest): GenerateRequest {
  const stop = body.stop == null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
  return {
    messages: body.messages,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    stop,
    logprobs: body.logprobs ?? undefined,
    topLogprobs: body.top_logprobs ?? undefined,
    tools: body.tools,
    toolChoice: body.tool_choice,
    user: body.user,
    ...(body.response_format && body.response_format.type !== "text" ? { responseFormat: body.response_format } : {}),
  };
}

/** A chat-completions request as the pipeline carries it. */
export interface ChatIntake extends Intake {
  /** The validated body. */
  body: ChatCompletionRequest;
}

/** The OpenAI chat-completions protocol, for {@link Pipeline.route}. */
export const openAIChat: WireProtocol<ChatIntake> = {
  parse(json) {
    const body = parseChatBody(json);
    return { model: body.model, stream: body.stream === true, request: toGenerateRequest(body), body };
  },
  errorBody: (error: TandemError) => error.toJSON(),
  completion: ({ traceId, created, intake, result, projection }: Answer<ChatIntake>) => completionBody(traceId, created, intake.model, result, projection.field, projection.usage),
  encoder({ intake, traceId, created }): StreamEncoder {
    const name = intake.model;
    const frame = (data: unknown): SseFrame => ({ data: JSON.stringify(data) });
    return {
      open: () => [frame(chunk(traceId, created, name, { role: "assistant", content: "" }))],
      part: (part) =>
        part.type === "text"
          ? [frame(chunk(traceId, created, name, { content: part.text }, null, intake.request.logprobs ? part.logprobs : undefined))]
          : [frame(chunk(traceId, created, name, { tool_calls: [part.delta] }))],
      finish: (result: GenerateResult, projection: AnswerProjection) => [
        frame({ ...chunk(traceId, created, name, {}, result.finishReason), tandem: projection.field }),
        ...(intake.body.stream_options?.include_usage === true ? [frame(usageChunk(traceId, created, name, projection.usage))] : []),
      ],
      error: (error) => [frame(error.toJSON())],
      close: () => [{ data: "[DONE]" }],
    };
  },
  passthrough: passthroughMapping(),
};

/**
 * The pass-through relay of chat completions (a plain openai-compatible model): the upstream's
 * body or chunks go out as the upstream wrote them — its fields, its role chunk, its deltas —
 * with only `id` (the trace id), `model` (the requested name) and `created` (arrival) rewritten,
 * the `tandem` field added to the body or to the final chunk, and `usage` filled in from the
 * gateway's count when the upstream sent none. In a stream the final chunk (the one carrying a
 * `finish_reason`) is held until the end, so its `tandem` field can carry the upstream's usage
 * and cost; the upstream's usage chunk (always requested upstream) is relayed after it only when
 * the client asked for `stream_options.include_usage` (else dropped), synthesized when the
 * upstream sent none.
 */
function passthroughMapping(): PassthroughMapping<ChatIntake> {
  return {
    completion({ traceId, created, intake, projection }: Answer<ChatIntake>, upstream: UpstreamObject): string {
      upstream.id = traceId;
      upstream.model = intake.model;
      upstream.created = created;
      if (!upstream.usage) upstream.usage = projection.usage;
      upstream.tandem = projection.field;
      return JSON.stringify(upstream);
    },
    relay({ intake, traceId, created }) {
      const name = intake.model;
      const includeUsage = intake.body.stream_options?.include_usage === true;
      let final: UpstreamObject | undefined;
      let usage: UpstreamObject | undefined;
      const own = (c: UpstreamObject): UpstreamObject => {
        c.id = traceId;
        c.model = name;
        c.created = created;
        return c;
      };
      return {
        chunk(c) {
          const choices = c.choices as Array<{ finish_reason?: string | null }> | undefined;
          if (!choices?.length) {
            // the usage chunk (or an empty one): after the final chunk, when asked
            if (c.usage) usage = c;
            return [];
          }
          if (choices[0].finish_reason) {
            final = c;
            return [];
          }
          return [{ data: JSON.stringify(own(c)) }];
        },
        finish(result: GenerateResult, projection: AnswerProjection) {
          const last = own(final ?? (chunk(traceId, created, name, {}, result.finishReason) as unknown as UpstreamObject));
          last.tandem = projection.field;
          const frames: SseFrame[] = [{ data: JSON.stringify(last) }];
          if (includeUsage) frames.push({ data: JSON.stringify(usage ? own(usage) : usageChunk(traceId, created, name, projection.usage)) });
          return frames;
        },
      };
    },
  };
}

/** The non-streamed response body. `created`: epoch seconds. */
export function completionBody(id: string, created: number, model: string, result: GenerateResult, tandem: TandemField, usage?: UsageObject): ChatCompletion & { tandem: TandemField } {
  return {
    id,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: result.toolCalls?.length && !result.text ? null : result.text, ...(result.toolCalls?.length ? { tool_calls: result.toolCalls } : {}), refusal: null },
        finish_reason: result.finishReason,
        logprobs: result.logprobs ? { content: result.logprobs } : null,
      },
    ],
    usage: usage ?? { prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens, total_tokens: result.usage.promptTokens + result.usage.completionTokens },
    system_fingerprint: null,
    tandem,
  };
}

/** One `chat.completion.chunk`. `created`: epoch seconds. */
export function chunk(
  id: string,
  created: number,
  model: string,
  delta: { role?: "assistant"; content?: string; tool_calls?: ChatToolCallDelta[] },
  finishReason: ChatCompletionChunk["choices"][number]["finish_reason"] = null,
  logprobs?: TokenLogprob[],
): ChatCompletionChunk {
  return {
    id,
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: logprobs ? { content: logprobs } : null }],
  };
}

/** The usage chunk (`choices: []`) sent after the final chunk when `stream_options.include_usage`. */
export function usageChunk(id: string, created: number, model: string, usage: UsageObject) {
  return { id, object: "chat.completion.chunk" as const, created, model, choices: [], usage };
}

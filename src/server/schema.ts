/**
 * Schema of `POST /v1/chat/completions` bodies (zod). Unknown fields are ignored, as OpenAI-
 * compatible servers commonly do; known fields are checked for type and range, and a failure
 * names the offending path (OpenAI `param`).
 */
import { z } from "zod";
import { TandemError } from "../core/errors.js";
import type { ChatCompletionRequest } from "../core/wire.js";

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
});

/**
 * Deepest nesting of arrays/objects accepted in a request body. Deeper bodies would overflow the
 * stack later (JSON.stringify upstream and into traces); no real chat request comes close.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The top-level field under which `value` nests deeper than `max` levels ("" when the body itself
 * is the culprit, e.g. a deep array), or undefined. Iterative, so any depth is safe to check.
 */
function tooDeepAt(value: unknown, max: number): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const stack: Array<[object, number, string]> = [[value, 1, ""]];
  while (stack.length > 0) {
    const [v, depth, top] = stack.pop()!;
    if (depth > max) return top;
    const topLevelObject = depth === 1 && !Array.isArray(v);
    for (const [key, child] of Object.entries(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1, topLevelObject ? key : top]);
    }
  }
  return undefined;
}

/**
 * Validates a parsed JSON body. Throws `TandemError("invalid_request")` naming the first bad
 * field, e.g. `messages.0.role`.
 */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  const deep = tooDeepAt(body, MAX_JSON_DEPTH);
  if (deep !== undefined) throw new TandemError("invalid_request", `Invalid request: ${deep ? `'${deep}'` : "the body"} nests deeper than ${MAX_JSON_DEPTH} levels`, { param: deep || null });
  const result = chatCompletionRequestSchema.safeParse(body);
  if (!result.success) throw invalid(result.error.issues[0]);
  return result.data as ChatCompletionRequest;
}

/**
 * Body of `POST /v1/tandem/feedback`: `{ trace_id, score?: 0..1, thumbs?: "up"|"down", comment? }`
 * — one of `score` (1 = good answer) or `thumbs` is required; `comment` ≤ 4,096 characters.
 */
export const feedbackRequestSchema = z
  .object({
    trace_id: z.string().min(1).max(200),
    score: z.number().min(0).max(1).optional(),
    thumbs: z.enum(["up", "down"]).optional(),
    comment: z.string().max(4096).optional(),
  })
  .refine((f) => f.score !== undefined || f.thumbs !== undefined, { message: "give 'score' (0..1) or 'thumbs' ('up' | 'down')", path: ["score"] });

/** A validated feedback body, with `thumbs` turned into a score in [0, 1]. */
export interface FeedbackRequest {
  traceId: string;
  score: number;
  comment?: string;
}

/** Validates a parsed feedback body. Throws `TandemError("invalid_request")` naming the bad field. */
export function parseFeedbackRequest(body: unknown): FeedbackRequest {
  const result = feedbackRequestSchema.safeParse(body);
  if (!result.success) throw invalid(result.error.issues[0]);
  const f = result.data;
  return { traceId: f.trace_id, score: f.score ?? (f.thumbs === "up" ? 1 : 0), comment: f.comment };
}

function invalid(issue: z.core.$ZodIssue): TandemError {
  const path = issue.path.join(".");
  return new TandemError("invalid_request", `Invalid request: ${path ? `'${path}': ` : ""}${issue.message}`, { param: path || null });
}

/**
 * Schema of `POST /v1/tandem/feedback` bodies (zod); a failure names the offending path (OpenAI
 * `param`).
 */
import { z } from "zod";
import { invalidRequest } from "./pipeline.js";

// The chat-completions schema moved beside its mapping (openai/chat.ts); the depth limit to the
// pipeline, where it guards every protocol. Re-exported for existing imports.
export { chatCompletionRequestSchema, parseChatCompletionRequest } from "./openai/chat.js";
export { MAX_JSON_DEPTH } from "./pipeline.js";

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
  if (!result.success) throw invalidRequest(result.error.issues[0]);
  const f = result.data;
  return { traceId: f.trace_id, score: f.score ?? (f.thumbs === "up" ? 1 : 0), comment: f.comment };
}

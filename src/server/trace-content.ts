/**
 * Former home of the trace-content rule, kept so existing imports compile.
 * @deprecated The rule lives in projection.ts ({@link traceContent}, {@link storedTrace}), where the
 * decisions are cut once per request.
 */
import type { Decision } from "../core/model.js";
import type { ChatMessage } from "../core/wire.js";
import { traceContent as contentOfViews, viewsOf, type PrivateContentMode, type TraceContent } from "./projection.js";

export type { PrivateContentMode, TraceContent } from "./projection.js";

/** The content a trace stores (see projection.ts). Decisions never keep `cloudView`. */
export function traceContent(input: { messages?: ChatMessage[]; responseText?: string; decisions: Decision[]; isPrivate: boolean; mode?: PrivateContentMode }): TraceContent {
  return contentOfViews({ messages: input.messages, responseText: input.responseText, views: viewsOf(input.decisions), isPrivate: input.isPrivate, mode: input.mode });
}

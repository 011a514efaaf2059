/**
 * The `rewrite` pipeline stage — query rewriting before the large model ("Query Rewriting for
 * Retrieval-Augmented Large Language Models", Ma et al. 2023, where a small rewriter sits in
 * front of the reader LLM; the "condense question" step of conversational RAG): a small model
 * condenses a multi-turn conversation into one standalone query, and the large model receives
 * the system/developer messages plus that query instead of the whole history.
 *
 * Choices, documented (docs/pipeline.md):
 * - What the large model gets: the conversation's system and developer messages verbatim, then
 *   one user message, the standalone query. The history is not sent: that is the saving (prompt
 *   tokens) and, with a local rewriter, the privacy gain — earlier turns never leave the device.
 *   The caller's own copy of the conversation is untouched; the answer is the large model's
 *   answer to the standalone query.
 * - Skipped, at no cost (no rewriter call), when the conversation has a single user turn and no
 *   assistant turns (nothing to condense), and when it holds tool calls or tool results (rewriting
 *   would cut the tool-call ids the model must answer). The decision records the skip.
 * - An empty rewrite (the rewriter said nothing usable) sends the original conversation.
 * - Privacy: the rewriter reads the whole conversation. Use a local (edge) rewriter; with a
 *   cloud one, the stage's `location` is `cloud` and the whole history leaves the device.
 */
import { wrapModel, type ModelMiddleware } from "../../core/middleware.js";
import { combinedLocation, sumWorstCases, worstCaseOf, type CollaborationInfo, type GenerateRequest, type Model, type ModelCall } from "../../core/model.js";
import { contentText, type ChatMessage } from "../../core/wire.js";
import { decision, mapResultInfo, mapStreamInfo, withCallsBefore, withDecision } from "../info.js";

/** The rewriter's default instruction. */
export const DEFAULT_REWRITE_INSTRUCTION =
  "Rewrite the user's last message as one standalone question that can be understood without the conversation. " +
  "Keep every name, number and constraint it depends on. Answer with the question only.";

/** Options of {@link rewriteMiddleware}. */
export interface RewriteOptions {
  /** The small (local) model that condenses the conversation. */
  rewriter: Model;
  /** System instruction of the rewriter. Default {@link DEFAULT_REWRITE_INSTRUCTION}. */
  instruction?: string;
  /** Completion limit of the rewrite, tokens. Default 96. */
  maxTokens?: number;
  /** Id recorded in the decision. Default `rewrite(<rewriter>→<wrapped model>)`. */
  id?: string;
}

/** What {@link planRewrite} decided for one conversation. */
export type RewritePlan = { rewrite: false; reason: string } | { rewrite: true; system: ChatMessage[]; transcript: string };

/**
 * Whether and what to rewrite: `rewrite: false` for one user turn without assistant turns, or a
 * conversation with tool calls/results; else the system/developer messages to keep and the
 * transcript (`User: …` / `Assistant: …` lines) for the rewriter.
 */
export function planRewrite(messages: readonly ChatMessage[]): RewritePlan {
  const turns = messages.filter((m) => m.role !== "system" && m.role !== "developer");
  if (turns.some((m) => m.role === "tool" || (m.role === "assistant" && m.tool_calls?.length))) return { rewrite: false, reason: "tool calls in the conversation: not rewritten" };
  const users = turns.filter((m) => m.role === "user").length;
  if (users <= 1 && turns.every((m) => m.role === "user")) return { rewrite: false, reason: "single turn: nothing to condense (no rewriter call)" };
  const transcript = turns.map((m) => `${m.role === "user" ? "User" : "Assistant"}: ${contentText(m.content).trim()}`).join("\n");
  return { rewrite: true, system: messages.filter((m) => m.role === "system" || m.role === "developer"), transcript };
}

/** The rewriter's answer as a query: its text trimmed of a "Standalone question:" prefix and quotes; "" when nothing is left. */
export function cleanRewrite(text: string): string {
  return text
    .trim()
    .replace(/^(standalone (question|query)|question|query)\s*:\s*/i, "")
    .replace(/^["'“”]+|["'“”]+$/g, "")
    .trim();
}

const chars = (messages: readonly ChatMessage[]) => messages.reduce((n, m) => n + contentText(m.content ?? "").length, 0);

/**
 * Query rewriting as a {@link ModelMiddleware} (see the module comment for what is sent). The
 * answer's info gets the rewriter's call first (role "rewriter") and a decision `{ strategy:
 * "pipeline", signal: "rewrite-ratio", score: characters sent / characters of the conversation
 * (1 when skipped), chosen: the wrapped model }`. `strongOnlyCostUsd` adds an estimate of the
 * history the wrapped model alone would have read: its prompt tokens × (conversation characters /
 * sent characters − 1), at its input price (USD) — an estimate, the history is never tokenized
 * by that model.
 * Errors: the rewriter's and the wrapped model's propagate (a failed rewrite fails the request,
 * carrying the rewriter's call when it answered).
 */
export function rewriteMiddleware(options: RewriteOptions): ModelMiddleware {
  const instruction = options.instruction ?? DEFAULT_REWRITE_INSTRUCTION;

  async function prepare(request: GenerateRequest, inner: Model, signal?: AbortSignal) {
    const name = options.id ?? `rewrite(${options.rewriter.id}→${inner.id})`;
    const plan = planRewrite(request.messages);
    if (!plan.rewrite) {
      return { sent: request, calls: [] as ModelCall[], decided: decision({ strategy: "pipeline", name, signal: "rewrite-ratio", score: 1, chosen: inner.id, reason: plan.reason }), ratio: 1 };
    }
    const r = await options.rewriter.generate(
      { messages: [{ role: "system", content: instruction }, { role: "user", content: `Conversation:\n${plan.transcript}\n\nStandalone question:` }], temperature: 0, maxTokens: options.maxTokens ?? 96 },
      signal,
    );
    const calls = r.info.calls.map((c) => ({ ...c, role: "rewriter" }));
    const query = cleanRewrite(r.text);
    if (!query) {
      return { sent: request, calls, decided: decision({ strategy: "pipeline", name, signal: "rewrite-ratio", score: 1, chosen: inner.id, reason: "empty rewrite: the original conversation was sent" }), ratio: 1 };
    }
    const messages: ChatMessage[] = [...plan.system, { role: "user", content: query }];
    const ratio = chars(messages) / Math.max(1, chars(request.messages));
    const turns = request.messages.length - plan.system.length;
    return {
      sent: { ...request, messages },
      calls,
      decided: decision({ strategy: "pipeline", name, signal: "rewrite-ratio", score: ratio, chosen: inner.id, reason: `${turns} turns condensed into a standalone query of ${query.length} characters` }),
      ratio,
    };
  }

  const record = (inner: Model, info: CollaborationInfo, p: Awaited<ReturnType<typeof prepare>>, promptTokens: number): CollaborationInfo => {
    const history = p.ratio < 1 ? promptTokens * (1 / p.ratio - 1) : 0;
    return withDecision(withCallsBefore(info, p.calls, { strongOnlyExtraUsd: (history * inner.price.inputPerMillion) / 1e6 }), p.decided);
  };

  return {
    async wrapGenerate({ doGenerate, request, model, signal }) {
      const p = await prepare(request, model, signal);
      return mapResultInfo(await doGenerate(p.sent), (r) => record(model, r.info, p, r.usage.promptTokens));
    },
    async *wrapStream({ doStream, request, model, signal }) {
      const p = await prepare(request, model, signal);
      yield* mapStreamInfo(doStream(p.sent), (r) => record(model, r.info, p, r.usage.promptTokens));
    },
  };
}

/** Options of {@link queryRewrite}. */
export interface QueryRewriteOptions extends RewriteOptions {
  /** The (large) model that answers the standalone query. */
  model: Model;
}

/**
 * Query rewriting as a pipeline stage: `wrapModel` over `model` with {@link rewriteMiddleware}.
 * Location: `cloud` if the rewriter or `model` is; price: `model`'s; worst case: the rewriter
 * reading the whole prompt and writing `maxTokens`, plus `model`'s bound.
 */
export function queryRewrite(options: QueryRewriteOptions): Model {
  const { model: inner, ...rest } = options;
  const id = options.id ?? `rewrite(${options.rewriter.id}→${inner.id})`;
  return wrapModel({
    model: inner,
    middleware: rewriteMiddleware({ ...rest, id }),
    id,
    location: combinedLocation([options.rewriter, inner]),
    worstCase: (perCall) => sumWorstCases([worstCaseOf(options.rewriter, { promptTokens: perCall.promptTokens, completionTokens: options.maxTokens ?? 96 }), worstCaseOf(inner, perCall)]),
  });
}

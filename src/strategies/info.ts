/**
 * The one recorder of a strategy's decisions and calls: every strategy (route, cascade, fallback,
 * privacy, guard, compression, speculative, fusion) and the replay provider build the
 * `CollaborationInfo` of their answers with these helpers instead of by hand, so the rules hold
 * in one place:
 *
 * - `calls` are in the order they were made (calls made before the served one come first);
 * - `decisions` are outermost strategy first (a wrapper prepends its own);
 * - `costUsd` is the sum of `calls[].costUsd` (USD);
 * - `escalated` is true when any decision escalated;
 * - `strongOnlyCostUsd` is what the strong (reference) model alone would have cost (USD).
 *
 * `leafInfo` (one leaf call) stays in core/model.ts, beside the `Model` interface.
 */
import { costOf, type CollaborationInfo, type Decision, type GenerateResult, type ModelCall, type ModelLocation, type Price, type StreamPart, type TokenUsage } from "../core/model.js";

/**
 * A decision record with the usual defaults: `threshold` 0 and `escalated` false.
 * @example decision({ strategy: "guard", name: "safe", signal: "input:harm", score: 0.1, threshold: 0.5, chosen: "gpt", reason: "passed" })
 */
export function decision(fields: Omit<Decision, "threshold" | "escalated"> & Partial<Pick<Decision, "threshold" | "escalated">>): Decision {
  return { threshold: 0, escalated: false, ...fields };
}

/**
 * One call of `model` (a leaf `Model` or a token-level handle): `costUsd` is `model.price` applied
 * to `usage` unless `extra.costUsd` says otherwise (e.g. a recorded cost).
 * @param usage tokens of the call; @param latencyMs wall-clock milliseconds.
 */
export function callRecord(
  model: { id: string; price: Price; location?: ModelLocation },
  usage: TokenUsage,
  latencyMs: number,
  extra: { role?: string; location?: ModelLocation; costUsd?: number; error?: string } = {},
): ModelCall {
  return {
    model: model.id,
    location: extra.location ?? model.location ?? "edge",
    ...(extra.role !== undefined ? { role: extra.role } : {}),
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    costUsd: extra.costUsd ?? costOf(model.price, usage),
    latencyMs,
    ...(extra.error !== undefined ? { error: extra.error } : {}),
  };
}

/**
 * Info of an answer a strategy produced itself from the calls it made (speculative decoding,
 * fusion, a replayed record, a guard's refusal): `costUsd` sums `calls`; `escalated` defaults to
 * any decision's; `strongOnlyCostUsd` defaults to `costUsd`.
 */
export function ownInfo(fields: {
  servedBy: string;
  calls: ModelCall[];
  decisions?: Decision[];
  strongOnlyCostUsd?: number;
  escalated?: boolean;
  degraded?: boolean;
}): CollaborationInfo {
  const decisions = fields.decisions ?? [];
  const costUsd = fields.calls.reduce((sum, c) => sum + c.costUsd, 0);
  return {
    servedBy: fields.servedBy,
    calls: fields.calls,
    decisions,
    escalated: fields.escalated ?? decisions.some((d) => d.escalated),
    costUsd,
    strongOnlyCostUsd: fields.strongOnlyCostUsd ?? costUsd,
    ...(fields.degraded !== undefined ? { degraded: fields.degraded } : {}),
  };
}

/** `info` with `decisions` prepended (a wrapper's decisions come before the inner ones); `escalated` also when one of them escalated. */
export function withDecision(info: CollaborationInfo, ...decisions: Decision[]): CollaborationInfo {
  if (decisions.length === 0) return info;
  return { ...info, decisions: [...decisions, ...info.decisions], escalated: info.escalated || decisions.some((d) => d.escalated) };
}

/**
 * `info` with `calls` made before the served answer prepended (a cascade's weak attempt, a
 * compressor's pass), their cost added to `costUsd`. `strongOnlyExtraUsd` (USD) is added to
 * `strongOnlyCostUsd`, e.g. the input cost of prompt tokens a compressor dropped, which the strong
 * model alone would have read.
 */
export function withCallsBefore(info: CollaborationInfo, calls: readonly ModelCall[], options: { strongOnlyExtraUsd?: number } = {}): CollaborationInfo {
  const extra = calls.reduce((sum, c) => sum + c.costUsd, 0);
  return {
    ...info,
    calls: [...calls, ...info.calls],
    costUsd: info.costUsd + extra,
    strongOnlyCostUsd: info.strongOnlyCostUsd + (options.strongOnlyExtraUsd ?? 0),
  };
}

/**
 * Info of a strategy's answer: the served result's info, preceded by the calls made before it
 * (e.g. the discarded weak attempt of a cascade) and by this strategy's decision (then
 * `earlier.decisions`). `strongOnlyCostUsd` is the strategy's reference (strong) price applied to
 * the final usage, or the served result's own when larger.
 */
export function strategyInfo(
  served: GenerateResult,
  decision: Decision,
  strongPrice: Price,
  earlier: { calls: ModelCall[]; decisions?: Decision[] } = { calls: [] },
): CollaborationInfo {
  const info = withDecision(withCallsBefore(served.info, earlier.calls), decision, ...(earlier.decisions ?? []));
  return {
    ...info,
    // summed in call order (not earlier + served) so the figure is exactly the sum of `calls`
    costUsd: info.calls.reduce((sum, c) => sum + c.costUsd, 0),
    strongOnlyCostUsd: Math.max(costOf(strongPrice, served.usage), served.info.strongOnlyCostUsd),
  };
}

/** `result` with its info replaced by `mapInfo(result)`. */
export function mapResultInfo(result: GenerateResult, mapInfo: (result: GenerateResult) => CollaborationInfo): GenerateResult {
  return { ...result, info: mapInfo(result) };
}

/** Re-yields a stream, replacing the final result's info via `mapInfo`. */
export async function* mapStreamInfo(
  parts: AsyncIterable<StreamPart>,
  mapInfo: (result: GenerateResult) => CollaborationInfo,
): AsyncGenerator<StreamPart> {
  for await (const part of parts) {
    if (part.type === "finish") yield { type: "finish", result: mapResultInfo(part.result, mapInfo) };
    else yield part;
  }
}

/**
 * Helpers for strategies to combine the collaboration info of their inner calls.
 */
import { costOf, type CollaborationInfo, type Decision, type GenerateResult, type ModelCall, type Price, type StreamPart } from "../core/model.js";

/**
 * Info of a strategy's answer: the served result's info, preceded by the calls made before it
 * (e.g. the discarded weak attempt of a cascade) and by this strategy's decision.
 * `strongOnlyCostUsd` is the strategy's reference (strong) price applied to the final usage.
 */
export function strategyInfo(
  served: GenerateResult,
  decision: Decision,
  strongPrice: Price,
  earlier: { calls: ModelCall[]; decisions?: Decision[] } = { calls: [] },
): CollaborationInfo {
  const calls = [...earlier.calls, ...served.info.calls];
  const costUsd = calls.reduce((sum, c) => sum + c.costUsd, 0);
  return {
    servedBy: served.info.servedBy,
    calls,
    decisions: [decision, ...(earlier.decisions ?? []), ...served.info.decisions],
    escalated: decision.escalated || served.info.escalated,
    costUsd,
    strongOnlyCostUsd: Math.max(costOf(strongPrice, served.usage), served.info.strongOnlyCostUsd),
    degraded: served.info.degraded,
  };
}

/** Re-yields a stream, replacing the final result's info via `mapInfo`. */
export async function* mapStreamInfo(
  parts: AsyncIterable<StreamPart>,
  mapInfo: (result: GenerateResult) => CollaborationInfo,
): AsyncGenerator<StreamPart> {
  for await (const part of parts) {
    if (part.type === "finish") yield { type: "finish", result: { ...part.result, info: mapInfo(part.result) } };
    else yield part;
  }
}

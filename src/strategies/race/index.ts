/**
 * The `race` strategy — the worked example of docs/extending.md. Sends the request to every
 * member at once; the first answer that succeeds is served and the others are aborted (a
 * hedged request, as in Dean & Barroso, "The Tail at Scale", 2013, with no delay). It trades
 * cost for tail latency: every member is paid for what it produced before it was aborted (which
 * a provider reports only when it finishes, so an aborted call is recorded with 0 tokens).
 *
 * Streams: the winner's whole answer is streamed once it is known (the race is decided on
 * whole answers, so time to first token = the winner's time to its last token).
 */
import { TandemError, toTandemError, withCalls } from "../../core/errors.js";
import { combinedLocation, streamFromGenerate, sumWorstCases, worstCaseOf, type GenerateResult, type Model, type ModelCall } from "../../core/model.js";
import { callRecord, decision, strategyInfo } from "../info.js";

/** Options of {@link race}. */
export interface RaceOptions {
  /** Strategy name (served model name). Default "race". */
  id?: string;
  /** The racing models or strategies, at least two. The first one's price is the reference (strong-only) price. */
  models: Model[];
}

/**
 * Creates a racing model. Errors: `invalid_policy` for fewer than two members; when every
 * member fails, the last failure (carrying the calls of the others, so they are charged);
 * `aborted` when the caller's signal fires.
 */
export function race(options: RaceOptions): Model {
  const id = options.id ?? "race";
  const members = options.models;
  if (members.length < 2) throw new TandemError("invalid_policy", `race '${id}': needs at least two models, got ${members.length}`);
  const price = members[0].price;

  async function generate(request: Parameters<Model["generate"]>[0], signal?: AbortSignal): Promise<GenerateResult> {
    const started = performance.now();
    const controllers = members.map(() => new AbortController());
    const signals = controllers.map((c) => (signal ? AbortSignal.any([signal, c.signal]) : c.signal));
    const failures: Array<{ index: number; error: unknown; calls: ModelCall[] }> = [];
    let winner: { index: number; result: GenerateResult } | undefined;
    await new Promise<void>((resolve) => {
      let pending = members.length;
      members.forEach((m, index) => {
        m.generate(request, signals[index]).then(
          (result) => {
            if (!winner) {
              winner = { index, result };
              controllers.forEach((c, j) => j !== index && c.abort());
              resolve();
            }
          },
          (error: unknown) => {
            failures.push({ index, error, calls: [lost(m, error, performance.now() - started)] });
            if (--pending === 0) resolve();
          },
        );
      });
    });
    if (!winner) {
      const last = failures.at(-1)!;
      if (signal?.aborted) throw new TandemError("aborted", "Request aborted");
      throw withCalls(toTandemError(last.error, "upstream_error"), failures.flatMap((f) => f.calls));
    }
    const w = winner;
    const others: ModelCall[] = members.flatMap((m, j) => {
      if (j === w.index) return [];
      return failures.find((f) => f.index === j)?.calls ?? [lost(m, "lost the race (aborted)", performance.now() - started)];
    });
    const chosen = members[w.index].id;
    const decided = decision({
      strategy: "race",
      name: id,
      signal: "first-success-ms",
      score: Math.round(performance.now() - started),
      chosen,
      reason: `${chosen} answered first of ${members.length}${failures.length ? ` (${failures.length} failed)` : ""}`,
    });
    return { ...w.result, info: strategyInfo(w.result, decided, price, { calls: others }) };
  }

  return {
    id,
    location: combinedLocation(members),
    price,
    /** Every member runs. */
    worstCase: (perCall) => sumWorstCases(members.map((m) => worstCaseOf(m, perCall))),
    generate,
    stream: (request, signal) => streamFromGenerate(generate(request, signal)),
  };
}

/** The record of a member that failed or was aborted (its usage is unknown: 0 tokens, 0 USD). */
function lost(model: Model, error: unknown, latencyMs: number): ModelCall {
  const message = typeof error === "string" ? error : ((error as Error)?.message ?? String(error));
  return callRecord(model, { promptTokens: 0, completionTokens: 0 }, latencyMs, { role: "racer", costUsd: 0, error: message });
}

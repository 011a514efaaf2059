/**
 * The `verify` strategy: a post-check on any model's answer (AutoMix, Madaan et al. 2023,
 * "AutoMix: Automatically Mixing Language Models" — few-shot self-verification, here as a
 * cross-check by a small verifier model). The wrapped `model` answers; the `verifier` is sampled
 * k times on AutoMix's prompt (context, question, answer → Correct / Incorrect) and
 * P(correct) = share of "correct" verdicts (./verifier.ts). When P(correct) < `threshold` the answer
 * is **unverified**, and per `onUnverified`:
 *
 * - `mark` (default): the answer is served as it is; the decision (strategy `verify`, signal
 *   `p-correct`, score P(correct), reason `verified: …` / `unverified: …`) tells the caller;
 * - `escalate`: the request goes to `escalateTo` (a stronger model), whose answer is served; the
 *   decision is escalated and carries the discarded answer.
 *
 * Every verifier call is in `info.calls` (roles `verifier-sample-i`, after the answer's calls) and
 * in `info.costUsd`. Answers made only of tool calls are not verified (reason `not verified: tool
 * calls`, score 1).
 *
 * Streaming: with `mark`, the answer streams as the model produces it; the verifier runs once the
 * model finished, and the verdict arrives in the final (`finish`) part's info — the stream's last
 * chunk's `tandem` field at the gateway. With `escalate`, the answer is buffered (generated whole,
 * verified, then either streamed out or replaced by `escalateTo`'s stream), since an unverified
 * answer that was already sent cannot be taken back.
 *
 * Errors: the wrapped model's (nothing to verify); `escalateTo`'s when escalating (carrying the
 * calls already paid for); `invalid_policy` for bad options (escalate without `escalateTo`,
 * threshold outside [0, 1], k outside 1…64). A failed verifier sample counts as unparseable.
 */
import { TandemError, toTandemError, withCalls } from "../../core/errors.js";
import { combinedLocation, streamFromGenerate, sumWorstCases, worstCaseOf, type CollaborationInfo, type Decision, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type StreamPart } from "../../core/model.js";
import { decision, mapStreamInfo, strategyInfo, withDecision } from "../info.js";
import { checkVerifierOptions, describeVerification, verificationInput, verifierSampleBound, verifyAnswer, type VerificationResult, type VerifierOptions } from "./verifier.js";

export { AUTOMIX_VERIFIER_PROMPT, automixMessages, correctProbability, parseVerdict, verificationInput, verifyAnswer, type Verdict, type VerificationInput, type VerificationResult, type VerifierOptions } from "./verifier.js";

/** Options of {@link verify}. */
export interface VerifyOptions extends Omit<VerifierOptions, "model"> {
  /** Served name. Default "verify". */
  id?: string;
  /** The model whose answers are checked. */
  model: Model;
  /** The verifier (a small model: the cross-check). */
  verifier: Model;
  /** Unverified when P(correct) < threshold, in [0, 1]. Default 0.5. */
  threshold?: number;
  /** What an unverified answer gets. Default `mark`. */
  onUnverified?: "mark" | "escalate";
  /** The stronger model an unverified answer escalates to (required with `escalate`). */
  escalateTo?: Model;
}

/** Creates a verify model (see the module comment). Throws `TandemError("invalid_policy")` for bad options. */
export function verify(options: VerifyOptions): Model {
  const id = options.id ?? "verify";
  const threshold = options.threshold ?? 0.5;
  const mode = options.onUnverified ?? "mark";
  if (!(threshold >= 0 && threshold <= 1)) throw new TandemError("invalid_policy", `verify '${id}': threshold must be a probability in [0, 1], got ${threshold}`);
  if (mode === "escalate" && !options.escalateTo) throw new TandemError("invalid_policy", `verify '${id}': onUnverified 'escalate' needs escalateTo (the stronger model)`);
  checkVerifierOptions(options, `verify '${id}'`);
  const verifier: VerifierOptions = { model: options.verifier, samples: options.samples, temperature: options.temperature, maxTokens: options.maxTokens, unparseable: options.unparseable, prompt: options.prompt };
  const k = options.samples ?? 8;
  const strong = mode === "escalate" ? (options.escalateTo as Model) : undefined;
  const price = strong?.price ?? options.model.price;

  function verdict(v: VerificationResult | undefined, escalated: boolean): Decision {
    if (!v) return decision({ strategy: "verify", name: id, signal: "p-correct", score: 1, threshold, chosen: options.model.id, reason: "not verified: tool calls" });
    const ok = v.probability >= threshold;
    const outcome = ok ? "" : escalated ? `: escalated to ${strong!.id}` : ": marked";
    return decision({
      strategy: "verify",
      name: id,
      signal: "p-correct",
      score: v.probability,
      threshold,
      chosen: escalated ? strong!.id : options.model.id,
      escalated,
      reason: `${ok ? "verified" : "unverified"}: ${describeVerification(v)} ${ok ? "≥" : "<"} threshold ${threshold}${outcome}`,
    });
  }

  /** Runs the verifier on `answer` (undefined for a tool-calls-only answer). */
  async function check(request: GenerateRequest, answer: GenerateResult, signal?: AbortSignal): Promise<VerificationResult | undefined> {
    if (answer.toolCalls?.length && !answer.text.trim()) return undefined;
    return verifyAnswer(verifier, verificationInput(request.messages, answer.text), { seed: request.seed, user: request.user }, signal);
  }

  /** The answer kept (verified, or marked): its info plus the verifier's calls after it and the verdict. */
  function kept(answer: GenerateResult, v: VerificationResult | undefined): CollaborationInfo {
    const calls = [...answer.info.calls, ...(v?.calls ?? [])];
    return { ...withDecision(answer.info, verdict(v, false)), calls, costUsd: calls.reduce((s, c) => s + c.costUsd, 0) };
  }

  /** The escalation's info: the escalated answer preceded by the discarded answer's and the verifier's calls. */
  function escalatedInfo(served: GenerateResult, answer: GenerateResult, v: VerificationResult): CollaborationInfo {
    return strategyInfo(served, { ...verdict(v, true), ...(answer.text ? { discarded: answer.text } : {}) }, price, { calls: [...answer.info.calls, ...v.calls] });
  }

  const unverified = (v: VerificationResult | undefined) => v !== undefined && v.probability < threshold;

  async function generate(request: GenerateRequest, signal?: AbortSignal): Promise<GenerateResult> {
    const answer = await options.model.generate(request, signal);
    let v: VerificationResult | undefined;
    try {
      v = await check(request, answer, signal);
    } catch (error) {
      throw paidFor(error, answer.info.calls);
    }
    if (!strong || !unverified(v)) return { ...answer, info: kept(answer, v) };
    let served: GenerateResult;
    try {
      served = await strong.generate(request, signal);
    } catch (error) {
      throw paidFor(error, [...answer.info.calls, ...v!.calls]);
    }
    return { ...served, info: escalatedInfo(served, answer, v!) };
  }

  async function* stream(request: GenerateRequest, signal?: AbortSignal): AsyncGenerator<StreamPart> {
    if (strong) {
      // escalate: buffered (an unverified answer already sent could not be taken back)
      const answer = await options.model.generate(request, signal);
      let v: VerificationResult | undefined;
      try {
        v = await check(request, answer, signal);
      } catch (error) {
        throw paidFor(error, answer.info.calls);
      }
      if (!unverified(v)) {
        yield* streamFromGenerate(Promise.resolve({ ...answer, info: kept(answer, v) }));
        return;
      }
      try {
        yield* mapStreamInfo(strong.stream(request, signal), (served) => escalatedInfo(served, answer, v!));
      } catch (error) {
        throw paidFor(error, [...answer.info.calls, ...v!.calls]);
      }
      return;
    }
    // mark: stream through, the verdict in the finish part
    for await (const part of options.model.stream(request, signal)) {
      if (part.type !== "finish") {
        yield part;
        continue;
      }
      let v: VerificationResult | undefined;
      try {
        v = await check(request, part.result, signal);
      } catch (error) {
        throw paidFor(error, part.result.info.calls);
      }
      yield { type: "finish", result: { ...part.result, info: kept(part.result, v) } };
    }
  }

  return {
    id,
    location: combinedLocation([options.model, options.verifier, ...(strong ? [strong] : [])]),
    price,
    /** The answer, k verifier samples, and (escalate) the stronger model. */
    worstCase: (perCall) =>
      sumWorstCases([
        worstCaseOf(options.model, perCall),
        ...Array.from({ length: k }, () => worstCaseOf(options.verifier, verifierSampleBound(perCall, options.maxTokens))),
        ...(strong ? [worstCaseOf(strong, perCall)] : []),
      ]),
    generate,
    stream,
  };
}

/** A failure after calls were paid for, carrying them (so the gateway charges them). */
function paidFor(error: unknown, calls: readonly ModelCall[]): TandemError {
  return withCalls(toTandemError(error, "upstream_error"), calls.filter((c) => c.costUsd > 0 || c.promptTokens > 0));
}

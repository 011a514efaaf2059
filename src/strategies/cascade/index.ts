/**
 * The `cascade` strategy (FrugalGPT, Chen et al. 2023; AutoMix, Madaan et al. 2023; MoT, Yue et
 * al. 2024): the weak model answers first; a confidence signal decides whether that answer is
 * kept or the request escalates to the strong model. See `signals.ts` for each signal's unit.
 * The rule is always: escalate when `signal < threshold`.
 *
 * With the `verify` signal (AutoMix, Madaan et al. 2023) the weak model answers once, then a
 * verifier (`verifier`, default the weak model itself: self-verification) is sampled `samples`
 * times on AutoMix's few-shot prompt (context, question, answer → Correct / Incorrect); the signal
 * is P(correct), the share of "correct" verdicts (../verify/verifier.ts). The verifier's calls are
 * recorded (roles `verifier-sample-i`) and charged. A threshold replaces AutoMix's meta-verifier.
 *
 * Streams: the weak answer is generated whole before the decision (it cannot be un-sent); if
 * kept it is streamed out, otherwise the strong model's stream is passed through.
 * A weak model that fails escalates (reason "weak model failed"), so the cascade degrades to
 * the strong model instead of failing.
 */
import { TandemError, toTandemError, withCalls } from "../../core/errors.js";
import { combinedLocation, streamFromGenerate, sumWorstCases, worstCaseOf, type Decision, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type StreamPart } from "../../core/model.js";
import { mapStreamInfo, strategyInfo } from "../info.js";
import { checkVerifierOptions, describeVerification, verificationInput, verifierSampleBound, verifyAnswer, type VerifierOptions } from "../verify/verifier.js";
import { majorityVote, meanLogprob, minLogprob, normalizeAnswer, type CascadeSignal } from "./signals.js";

export { majorityVote, meanLogprob, minLogprob, normalizeAnswer, type CascadeSignal } from "./signals.js";

/** Options of {@link cascade}. */
export interface CascadeOptions {
  /** Id of the strategy (served model name). Default "cascade". */
  id?: string;
  /** @deprecated Use `id` (kept as an alias). */
  name?: string;
  weak: Model;
  strong: Model;
  signal: CascadeSignal;
  /** Escalate when the signal is below this, in the signal's unit (nats/token, nats, vote share, or P(correct)). */
  threshold: number;
  /** Samples: weak answers for `self-consistency` (default 5), verifier samples k for `verify` (default 8). */
  samples?: number;
  /** Sampling temperature of those samples. Default 0.8 (`self-consistency`), 1.0 (`verify`, AutoMix). */
  sampleTemperature?: number;
  /** `verify`: the verifier model. Default: the weak model (AutoMix's self-verification). */
  verifier?: Model;
  /** `verify`: more verifier options — completion limit per sample, prompt, how unparseable samples count (see VerifierOptions). */
  verification?: Pick<VerifierOptions, "maxTokens" | "prompt" | "unparseable">;
}

interface WeakOutcome {
  /** The weak answer to serve if kept (undefined when the weak model failed). */
  answer?: GenerateResult;
  calls: ModelCall[];
  decision: Decision;
}

/**
 * Creates a cascade model. Errors: those of the strong model when escalating; `invalid_policy`
 * for a bad option (e.g. samples < 2 for self-consistency).
 */
export function cascade(options: CascadeOptions): Model {
  const name = options.id ?? options.name ?? "cascade";
  const samples = options.samples ?? (options.signal === "verify" ? 8 : 5);
  if (options.signal === "self-consistency" && !(samples >= 2)) {
    throw new TandemError("invalid_policy", `cascade '${name}': self-consistency needs samples ≥ 2, got ${samples}`);
  }
  if (options.signal !== "verify" && (options.verifier || options.verification)) throw new TandemError("invalid_policy", `cascade '${name}': a verifier is only used by the 'verify' signal (signal is '${options.signal}')`);
  if (options.signal === "verify") checkVerifierOptions({ samples, temperature: options.sampleTemperature }, `cascade '${name}'`);
  const verifier: VerifierOptions = { ...options.verification, model: options.verifier ?? options.weak, samples, temperature: options.sampleTemperature ?? 1 };
  if (typeof options.threshold !== "number" || Number.isNaN(options.threshold)) throw new TandemError("invalid_policy", `cascade '${name}': threshold must be a number (−Infinity = never escalate)`);
  const price = options.strong.price;

  function decision(score: number, escalated: boolean, reason: string): Decision {
    return { strategy: "cascade", name, signal: options.signal, score, threshold: options.threshold, chosen: escalated ? options.strong.id : options.weak.id, escalated, reason };
  }

  async function tryWeak(request: GenerateRequest, signal?: AbortSignal): Promise<WeakOutcome> {
    try {
      if (options.signal === "self-consistency") {
        const base = request.seed ?? 0;
        const results = await Promise.all(
          Array.from({ length: samples }, (_, i) =>
            options.weak.generate({ ...request, temperature: options.sampleTemperature ?? 0.8, seed: base + i }, signal),
          ),
        );
        const calls = results.flatMap((r, i) => r.info.calls.map((c) => ({ ...c, role: `weak-sample-${i + 1}` })));
        const vote = majorityVote(results.map((r) => normalizeAnswer(r.text)));
        const escalated = vote.share < options.threshold;
        return {
          answer: results[vote.index],
          calls,
          decision: decision(vote.share, escalated, `${Math.round(vote.share * samples)}/${samples} weak samples agree on "${vote.answer.slice(0, 40)}" (share ${vote.share.toFixed(2)} ${escalated ? "<" : "≥"} ${options.threshold})`),
        };
      }
      if (options.signal === "verify") {
        const r = await options.weak.generate(request, signal);
        const weakCalls = r.info.calls.map((c) => ({ ...c, role: "weak" }));
        if (r.toolCalls?.length) return { answer: r, calls: weakCalls, decision: decision(1, false, "weak answered with tool calls: not verified, kept") };
        const v = await verifyAnswer(verifier, verificationInput(request.messages, r.text), { seed: request.seed, user: request.user }, signal);
        const escalated = v.probability < options.threshold;
        return {
          answer: r,
          calls: [...weakCalls, ...v.calls],
          decision: decision(v.probability, escalated, `${escalated ? "unverified" : "verified"}: ${describeVerification(v)} ${escalated ? "<" : "≥"} threshold ${options.threshold}`),
        };
      }
      const r = await options.weak.generate({ ...request, logprobs: true }, signal);
      const value = options.signal === "mean-logprob" ? meanLogprob(r.logprobs) : minLogprob(r.logprobs);
      const escalated = r.toolCalls?.length ? false : value < options.threshold;
      const unit = options.signal === "mean-logprob" ? "nats/token" : "nats";
      return {
        answer: { ...r, logprobs: request.logprobs ? r.logprobs : undefined },
        calls: r.info.calls.map((c) => ({ ...c, role: "weak" })),
        decision: decision(value, escalated, `weak ${options.signal} ${value.toFixed(3)} ${unit} ${escalated ? "<" : "≥"} threshold ${options.threshold}`),
      };
    } catch (error) {
      if (signal?.aborted) throw error;
      const message = (error as Error)?.message ?? String(error);
      return {
        calls: [{ model: options.weak.id, location: options.weak.location, role: "weak", promptTokens: 0, completionTokens: 0, costUsd: 0, latencyMs: 0, error: message }],
        decision: decision(Number.NEGATIVE_INFINITY, true, `weak model failed (${message}): escalated`),
      };
    }
  }

  /** The escalation decision, carrying the weak answer it discarded (for preference pairs). */
  function escalation(weak: WeakOutcome): Decision {
    return weak.answer?.text ? { ...weak.decision, discarded: weak.answer.text } : weak.decision;
  }

  function keep(weak: WeakOutcome): GenerateResult {
    const answer = weak.answer as GenerateResult;
    const served: GenerateResult = { ...answer, info: { ...answer.info, calls: [] } };
    return { ...answer, info: strategyInfo(served, weak.decision, price, { calls: weak.calls }) };
  }

  return {
    id: name,
    location: combinedLocation([options.weak, options.strong, ...(options.signal === "verify" ? [verifier.model] : [])]),
    price,
    /** The weak attempt (every self-consistency sample; or one answer and k verifier samples) and then the strong model. */
    worstCase: (perCall) =>
      sumWorstCases([
        ...Array.from({ length: options.signal === "self-consistency" ? samples : 1 }, () => worstCaseOf(options.weak, perCall)),
        ...(options.signal === "verify" ? Array.from({ length: samples }, () => worstCaseOf(verifier.model, verifierSampleBound(perCall, verifier.maxTokens))) : []),
        worstCaseOf(options.strong, perCall),
      ]),
    async generate(request, signal) {
      const weak = await tryWeak(request, signal);
      if (!weak.decision.escalated && weak.answer) return keep(weak);
      let strong: GenerateResult;
      try {
        strong = await options.strong.generate(request, signal);
      } catch (error) {
        throw paidFor(error, weak.calls);
      }
      return { ...strong, info: strategyInfo(strong, escalation(weak), price, { calls: weak.calls }) };
    },
    async *stream(request, signal): AsyncGenerator<StreamPart> {
      const weak = await tryWeak(request, signal);
      if (!weak.decision.escalated && weak.answer) {
        yield* streamFromGenerate(Promise.resolve(keep(weak)));
        return;
      }
      try {
        yield* mapStreamInfo(options.strong.stream(request, signal), (r) => strategyInfo(r, escalation(weak), price, { calls: weak.calls }));
      } catch (error) {
        throw paidFor(error, weak.calls);
      }
    },
  };
}

/** The strong call's failure, carrying the weak calls already paid for (so the gateway charges them). */
function paidFor(error: unknown, calls: readonly ModelCall[]): TandemError {
  return withCalls(toTandemError(error, "upstream_error"), calls.filter((c) => c.costUsd > 0 || c.promptTokens > 0));
}

/**
 * The `guard` strategy: small guard models screen a model's input and output (the surveys'
 * "trustworthiness" mechanism; cf. Llama Guard, Prompt Guard). Input checks: harmful requests
 * (our n-gram classifier, optionally an SLM judge for uncertain cases) and prompt injection /
 * jailbreak markers. Output checks: harmful content, leaked privacy placeholders, secrets.
 *
 * Every check yields a score in [0, 1] compared to a threshold from the policy; the decision is
 * put in `info.decisions` (strategy "guard") with its reason. A blocked request becomes either a
 * `tandem_guard` error (HTTP 400, OpenAI-shaped) or a refusal message (`finish_reason:
 * "content_filter"`), per `onBlock`. Checks fail closed: a throwing classifier or judge blocks.
 * With output checks on, streams are buffered until the answer has been checked.
 */
import { TandemError } from "../../core/errors.js";
import type { CollaborationInfo, Decision, GenerateRequest, GenerateResult, Model, StreamPart } from "../../core/model.js";
import { contentText, type ChatMessage } from "../../core/wire.js";
import { GuardClassifier, loadGuardClassifier } from "./classifier.js";
import { injectionScore, placeholderLeakScore, secretScore } from "./detectors.js";
import type { GuardJudge } from "./judge.js";

export { GuardClassifier, loadGuardClassifier, defaultGuardModelPath, guardFeatures, type GuardClassifierFile, type SafetyExample } from "./classifier.js";
export { injectionScore, secretScore, placeholderLeakScore, type RuleHit } from "./detectors.js";
export { slmJudge, judgePrompt, JUDGE_CATEGORIES, type GuardJudge, type JudgeVerdict, type SlmJudgeOptions } from "./judge.js";

/** Input checks. A threshold of `false` disables a check. */
export interface GuardInputOptions {
  /** Block when the harmful-request probability exceeds this. @default the classifier's own threshold (0.5 for models/guard.json) */
  harm?: number | false;
  /** Block when the injection/jailbreak rule score exceeds this. @default 0.7 */
  injection?: number | false;
  /** Which messages are screened: the last user message, or every user and tool message. @default "last-user" */
  scope?: "last-user" | "all";
}

/** Output checks. */
export interface GuardOutputOptions {
  /** Block answers whose harmful-content probability exceeds this. @default false (off) */
  harm?: number | false;
  /** Block answers containing privacy placeholders (`[PERSON_1]`). @default true */
  placeholders?: boolean;
  /** Block answers containing secrets (API keys, tokens, private keys). @default true */
  secrets?: boolean;
}

/** Options of {@link guard}. */
export interface GuardOptions {
  /** Name of this strategy model. @default "guard(<model id>)" */
  id?: string;
  /** The guarded model. */
  model: Model;
  /** @default {} (harm + injection on) */
  input?: GuardInputOptions | false;
  /** @default {} (placeholders + secrets on, harm off) */
  output?: GuardOutputOptions | false;
  /** The classifier: an instance or a model file path. @default models/guard.json */
  classifier?: GuardClassifier | string;
  /** An SLM judge consulted when the classifier's input harm score falls in `judgeBand`. */
  judge?: GuardJudge;
  /** Classifier scores in [low, high] are sent to the judge, whose verdict then decides. @default [0.2, 0.8] */
  judgeBand?: [number, number];
  /** `error`: throw `tandem_guard` (HTTP 400); `refusal`: answer with `refusalMessage`. @default "error" */
  onBlock?: "error" | "refusal";
  /** @default "I can't help with that request." */
  refusalMessage?: string;
}

interface Check {
  stage: "input" | "output";
  signal: string;
  score: number;
  threshold: number;
  reason: string;
}

function screenedText(messages: readonly ChatMessage[], scope: "last-user" | "all"): string {
  if (scope === "all") return messages.filter((m) => m.role === "user" || m.role === "tool").map((m) => contentText(m.content)).join("\n");
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === "user") return contentText(messages[i].content);
  return "";
}

/**
 * Wraps `model` with input and output guards (see module docs).
 *
 * Errors: `tandem_guard` (400) when a check blocks and `onBlock` is "error", or when a check
 * itself fails (fail closed); the guarded model's errors propagate.
 * @example const safe = guard({ model: cloud, input: { harm: 0.5, injection: 0.7 }, output: { secrets: true }, onBlock: "refusal" });
 */
export function guard(options: GuardOptions): Model {
  const { model } = options;
  const id = options.id ?? `guard(${model.id})`;
  const classifier = options.classifier instanceof GuardClassifier ? options.classifier : loadGuardClassifier(options.classifier);
  const input = options.input === false ? undefined : (options.input ?? {});
  const output = options.output === false ? undefined : (options.output ?? {});
  const harmIn = input ? (input.harm === undefined ? classifier.threshold : input.harm) : false;
  const injIn = input ? (input.injection === undefined ? 0.7 : input.injection) : false;
  const band = options.judgeBand ?? [0.2, 0.8];
  const onBlock = options.onBlock ?? "error";
  const refusal = options.refusalMessage ?? "I can't help with that request.";
  const outputOn = output !== undefined && (output.harm !== undefined && output.harm !== false || output.placeholders !== false || output.secrets !== false);

  const decisionOf = (c: Check, blocked: boolean): Decision => ({
    strategy: "guard",
    name: id,
    signal: `${c.stage}:${c.signal}`,
    score: c.score,
    threshold: c.threshold,
    chosen: blocked ? "blocked" : model.id,
    escalated: false,
    reason: c.reason,
  });

  async function checkInput(request: GenerateRequest, signal?: AbortSignal): Promise<Check[]> {
    if (!input) return [];
    const text = screenedText(request.messages, input.scope ?? "last-user");
    const checks: Check[] = [];
    try {
      if (injIn !== false) {
        const hit = injectionScore(text);
        checks.push({ stage: "input", signal: "injection", score: hit.score, threshold: injIn, reason: hit.reason });
      }
      if (harmIn !== false) {
        let score = classifier.score(text);
        let reason = `harm classifier p=${score.toFixed(3)}`;
        if (options.judge && score >= band[0] && score <= band[1]) {
          const v = await options.judge.judge(text, "user", signal);
          reason += `; ${v.reason}`;
          score = v.score;
        }
        checks.push({ stage: "input", signal: "harm", score, threshold: harmIn, reason });
      }
    } catch (error) {
      signal?.throwIfAborted();
      throw new TandemError("tandem_guard", `Request blocked: the input guard failed (${error instanceof Error ? error.message : String(error)}) (fail closed).`, { cause: error });
    }
    return checks;
  }

  function checkOutput(result: Pick<GenerateResult, "text" | "toolCalls">): Check[] {
    if (!output) return [];
    const text = [result.text, ...(result.toolCalls ?? []).map((c) => c.function.arguments)].join("\n");
    const checks: Check[] = [];
    try {
      if (output.placeholders !== false) {
        const h = placeholderLeakScore(text);
        checks.push({ stage: "output", signal: "placeholder", score: h.score, threshold: 0.5, reason: h.reason });
      }
      if (output.secrets !== false) {
        const h = secretScore(text);
        checks.push({ stage: "output", signal: "secret", score: h.score, threshold: 0.5, reason: h.reason });
      }
      if (output.harm !== undefined && output.harm !== false) {
        const s = classifier.score(text);
        checks.push({ stage: "output", signal: "harm", score: s, threshold: output.harm, reason: `harm classifier p=${s.toFixed(3)} on the answer` });
      }
    } catch (error) {
      throw new TandemError("tandem_guard", `Answer withheld: the output guard failed (${error instanceof Error ? error.message : String(error)}) (fail closed).`, { cause: error });
    }
    return checks;
  }

  /** The first failing check, or undefined; plus the decisions to trace. */
  function judge(checks: Check[]): { blocked?: Check; decisions: Decision[] } {
    const blocked = checks.find((c) => c.score > c.threshold);
    if (blocked) return { blocked, decisions: [decisionOf(blocked, true)] };
    // Trace the strongest signal of a passing request.
    const top = checks.slice().sort((a, b) => b.score - a.score)[0];
    return { decisions: top ? [decisionOf({ ...top, reason: `passed: ${top.reason}` }, false)] : [] };
  }

  function blockedResult(c: Check, decisions: Decision[], calls: CollaborationInfo["calls"] = []): GenerateResult {
    const message = `${c.stage === "input" ? "Request" : "Answer"} blocked by guard '${id}': ${c.reason} (${c.signal} score ${c.score.toFixed(3)} > ${c.threshold}).`;
    if (onBlock === "error") throw new TandemError("tandem_guard", message, { param: c.stage === "input" ? "messages" : null });
    const costUsd = calls.reduce((s, x) => s + x.costUsd, 0);
    return {
      text: refusal,
      finishReason: "content_filter",
      usage: { promptTokens: 0, completionTokens: 0 },
      info: { servedBy: id, calls, decisions, escalated: false, costUsd, strongOnlyCostUsd: costUsd },
    };
  }

  const withDecisions = (info: CollaborationInfo, decisions: Decision[]): CollaborationInfo => ({ ...info, decisions: [...decisions, ...info.decisions] });

  return {
    id,
    location: model.location,
    price: model.price,

    async generate(request, signal) {
      const inJ = judge(await checkInput(request, signal));
      if (inJ.blocked) return blockedResult(inJ.blocked, inJ.decisions);
      const r = await model.generate(request, signal);
      const outJ = judge(checkOutput(r));
      if (outJ.blocked) return blockedResult(outJ.blocked, [...inJ.decisions, ...outJ.decisions, ...r.info.decisions], r.info.calls);
      return { ...r, info: withDecisions(r.info, [...inJ.decisions, ...outJ.decisions]) };
    },

    async *stream(request, signal): AsyncIterable<StreamPart> {
      const inJ = judge(await checkInput(request, signal));
      if (inJ.blocked) {
        const r = blockedResult(inJ.blocked, inJ.decisions);
        yield { type: "text", text: r.text };
        yield { type: "finish", result: r };
        return;
      }
      if (!outputOn) {
        for await (const part of model.stream(request, signal)) yield part.type === "finish" ? { type: "finish", result: { ...part.result, info: withDecisions(part.result.info, inJ.decisions) } } : part;
        return;
      }
      // Buffer until the whole answer is checked: nothing unchecked reaches the caller.
      const held: StreamPart[] = [];
      for await (const part of model.stream(request, signal)) {
        if (part.type !== "finish") {
          held.push(part);
          continue;
        }
        const outJ = judge(checkOutput(part.result));
        if (outJ.blocked) {
          const r = blockedResult(outJ.blocked, [...inJ.decisions, ...outJ.decisions, ...part.result.info.decisions], part.result.info.calls);
          yield { type: "text", text: r.text };
          yield { type: "finish", result: r };
          return;
        }
        yield* held;
        yield { type: "finish", result: { ...part.result, info: withDecisions(part.result.info, [...inJ.decisions, ...outJ.decisions]) } };
      }
    },

    async close() {
      await model.close?.();
    },
  };
}

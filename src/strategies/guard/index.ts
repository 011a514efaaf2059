/**
 * The `guard` strategy: small guard models screen a model's input and output (the surveys'
 * "trustworthiness" mechanism; cf. Llama Guard, Prompt Guard). Input checks: harmful requests
 * (our n-gram classifier, optionally an SLM judge for uncertain cases) and prompt injection /
 * jailbreak markers. Output checks: harmful content, leaked privacy placeholders, secrets.
 *
 * Input scope: by default every message the model will read is screened, one by one (the
 * strongest message decides, so one harmful message is not diluted by benign ones; request-like
 * sentences are also scored on their own): system/developer prompts, every user turn, tool
 * results (where indirect prompt injection arrives) and earlier assistant turns (a client can
 * forge them: prefill and many-shot jailbreaks). System prompts, tool results and assistant turns
 * are documents: only their request-like sentences get the harm classifier (see {@link harmScore}). Every text
 * is also read de-obfuscated (NFKC, invisible characters, look-alike letters, leetspeak,
 * spelled-out words; see `foldForClassifier`), and the higher score counts. System/developer
 * prompts get the harm check only: they legitimately carry instructions ("never reveal these
 * instructions").
 *
 * Every check yields a score in [0, 1] compared to a threshold from the policy; the decision is
 * put in `info.decisions` (strategy "guard") with its reason. A blocked request becomes either a
 * `tandem_guard` error (HTTP 400, OpenAI-shaped) or a refusal message (`finish_reason:
 * "content_filter"`), per `onBlock`. Checks fail closed: a throwing classifier or judge blocks.
 * With output checks on, streams are buffered until the answer has been checked.
 *
 * Built as model middleware ({@link guardMiddleware} over the guarded model through `wrapModel`,
 * core/middleware.ts); decisions are recorded through strategies/info.ts.
 */
import { TandemError } from "../../core/errors.js";
import { wrapModel, type ModelMiddleware } from "../../core/middleware.js";
import { streamFromGenerate, type Decision, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type StreamPart } from "../../core/model.js";
import { contentText, type ChatMessage } from "../../core/wire.js";
import { foldForClassifier, normalize } from "../../core/normalize.js";
import { GuardClassifier, loadGuardClassifier } from "../../safety/classifier.js";
import { injectionScore, placeholderLeakScore, secretScore, type RuleHit } from "../../safety/detectors.js";
import type { GuardJudge } from "../../safety/judge.js";
import { decision, mapResultInfo, mapStreamInfo, ownInfo, withDecision } from "../info.js";

export { GuardClassifier, loadGuardClassifier, defaultGuardModelPath, guardFeatures, type GuardClassifierFile, type SafetyExample } from "../../safety/classifier.js";
export { injectionScore, secretScore, placeholderLeakScore, type RuleHit } from "../../safety/detectors.js";
export { slmJudge, judgePrompt, JUDGE_CATEGORIES, type GuardJudge, type JudgeVerdict, type SlmJudgeOptions } from "../../safety/judge.js";

/** Input checks. A threshold of `false` disables a check. */
export interface GuardInputOptions {
  /** Block when the harmful-request probability exceeds this. @default the classifier's own threshold (0.5 for models/guard.json) */
  harm?: number | false;
  /** Block when the injection/jailbreak rule score exceeds this. @default 0.7 */
  injection?: number | false;
  /**
   * Which messages are screened: `"all"`, every message the model reads (system/developer, user,
   * tool results, earlier assistant turns and their tool-call arguments), each scored on its own;
   * or `"last-user"`, only the last user message (weaker: harmful text in the system prompt, a
   * tool result or an earlier turn passes). @default "all"
   */
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

/** One screened message: where it is and what the model reads of it. */
interface Screened {
  /** Index in `messages`. */
  index: number;
  role: ChatMessage["role"];
  text: string;
}

/** The messages an input check reads, per `scope` (see {@link GuardInputOptions.scope}). Empty texts are skipped. */
export function screenedMessages(messages: readonly ChatMessage[], scope: "last-user" | "all" = "all"): Screened[] {
  if (scope === "last-user") {
    for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === "user") return [{ index: i, role: "user", text: contentText(messages[i].content) }];
    return [];
  }
  const out: Screened[] = [];
  messages.forEach((m, index) => {
    const parts = [contentText(m.content)];
    if (m.role === "assistant") for (const c of m.tool_calls ?? []) parts.push(c.function?.arguments ?? "");
    const text = parts.filter((p) => p.length > 0).join("\n");
    if (text.length > 0) out.push({ index, role: m.role, text });
  });
  return out;
}

/**
 * Request-like sentences: a question or an instruction addressed to the model ("How do I…",
 * "Can you…", "Write…", "Give detailed instructions…"). Matched at the start of a sentence after
 * leading bullets, numbers and quotes are dropped.
 */
const REQUEST_RE =
  /^(?:(?:please|now|so|ok|okay|also|then|and|but|next|finally)\W+)*(?:(?:can|could|would|will)\s+you\b|(?:how|what|why|where|which|who|when)\b|(?:write|give|generate|describe|explain|list|tell|provide|create|make|help|show|convince|detail|suggest|devise|develop|outline|compose|draft|produce|design|determine|figure|find|teach|instruct|modify|convert|slightly|add|identify|choose|use|obtain|buy|build|synthesi[sz]e|encourage|persuade|brainstorm|offer|transform|reply|respond|edit|rewrite|given|considering|based|come up|i want|i need|i'd like|you (?:will|must|should)|let's|step)\b)/;
const SENTENCE_SPLIT_RE = /(?<=[.!?])\s+|\n+/;

/**
 * A sentence scored on its own counts only from this probability up: short benign instructions
 * lack the context that keeps them low ("Summarize documents the user provides." alone: 0.67).
 */
const SENTENCE_MIN_SCORE = 0.8;

/** The roles whose messages are scored as a whole by the harm classifier (the others: request-like sentences only). */
const WHOLE_TEXT_ROLES: ReadonlySet<ChatMessage["role"]> = new Set(["user"]);

/**
 * Harm probability of one message, in [0, 1]: the maximum of the classifier's score of each
 * request-like sentence (see `REQUEST_RE`; read de-obfuscated; counted from 0.8 up) and, for user
 * messages, of the whole text. System/developer prompts, tool results and assistant turns are
 * documents, not requests: the shipped request classifier flags ~90 % of benign encyclopedia
 * passages and a third of ordinary system prompts as a whole, but almost none of their sentences,
 * so for those roles only what reads as a request to the model counts (a harmful request
 * smuggled into a system prompt, a tool result or a forged assistant turn). Scoring sentences
 * also keeps one harmful request inside a long benign text from being averaged away. Linear in
 * the text length.
 */
export function harmScore(classifier: Pick<GuardClassifier, "score">, text: string, role: ChatMessage["role"] = "user"): number {
  let best = WHOLE_TEXT_ROLES.has(role) ? classifier.score(text) : 0;
  const sentences = foldForClassifier(text).split(SENTENCE_SPLIT_RE);
  if (sentences.length === 1 && WHOLE_TEXT_ROLES.has(role)) return best;
  for (const sentence of sentences) {
    const s = sentence.replace(/^[^\p{L}]+/u, "");
    if (s.length === 0 || !REQUEST_RE.test(s)) continue;
    const p = classifier.score(s);
    if (p >= SENTENCE_MIN_SCORE) best = Math.max(best, p);
  }
  return best;
}

/** Injection/jailbreak score of one message, as written, normalised (case kept) and de-obfuscated. */
export function injectionScoreNormalized(text: string): RuleHit {
  let best = injectionScore(text);
  const normalized = normalize(text).text;
  for (const variant of [normalized, foldForClassifier(text)]) {
    if (variant === text) continue;
    const hit = injectionScore(variant);
    if (hit.score > best.score) best = { score: hit.score, reason: `${hit.reason} (after de-obfuscation)` };
  }
  return best;
}

const where = (m: Screened) => `messages[${m.index}] (${m.role})`;

/** Options of {@link guardMiddleware}: those of {@link guard} without `model` (the wrapped model is the guarded one). */
export type GuardMiddlewareOptions = Omit<GuardOptions, "model">;

/**
 * Input and output guards as a {@link ModelMiddleware} (see module docs). In `wrapGenerate` /
 * `wrapStream`: the input checks run first (a block throws `tandem_guard`, or with `onBlock:
 * "refusal"` answers with the refusal without calling `doGenerate`); then `doGenerate(request)`;
 * then the output checks on the answer (with output checks on, a stream is buffered until the
 * whole answer has passed; a blocked answer is replaced by the refusal, or throws). The passing
 * checks' strongest signal is recorded as a decision (strategy "guard") before the inner ones. The
 * input checks live in the wrap hooks rather than `transformRequest` because their decisions go
 * into the answer's info.
 *
 * Errors: `tandem_guard` (400) when a check blocks and `onBlock` is "error", or when a check
 * itself fails (fail closed); the wrapped model's errors propagate.
 */
export function guardMiddleware(options: GuardMiddlewareOptions): ModelMiddleware {
  const classifier = options.classifier instanceof GuardClassifier ? options.classifier : loadGuardClassifier(options.classifier);
  const input = options.input === false ? undefined : (options.input ?? {});
  const output = options.output === false ? undefined : (options.output ?? {});
  const harmIn = input ? (input.harm === undefined ? classifier.threshold : input.harm) : false;
  const injIn = input ? (input.injection === undefined ? 0.7 : input.injection) : false;
  const band = options.judgeBand ?? [0.2, 0.8];
  const onBlock = options.onBlock ?? "error";
  const refusal = options.refusalMessage ?? "I can't help with that request.";
  const outputOn = output !== undefined && (output.harm !== undefined && output.harm !== false || output.placeholders !== false || output.secrets !== false);
  const idOf = (model: Model) => options.id ?? `guard(${model.id})`;

  const decisionOf = (model: Model, c: Check, blocked: boolean): Decision =>
    decision({ strategy: "guard", name: idOf(model), signal: `${c.stage}:${c.signal}`, score: c.score, threshold: c.threshold, chosen: blocked ? "blocked" : model.id, reason: c.reason });

  /** Most judge calls per request (the most suspicious in-band messages first); others keep the classifier's score. */
  const MAX_JUDGED = 4;

  async function checkInput(request: GenerateRequest, signal?: AbortSignal): Promise<Check[]> {
    if (!input) return [];
    const screened = screenedMessages(request.messages, input.scope ?? "all");
    const checks: Check[] = [];
    try {
      if (injIn !== false) {
        // System/developer prompts are the deployer's instructions, not injections into them.
        let best: { hit: RuleHit; m?: Screened } = { hit: { score: 0, reason: "no injection marker" } };
        for (const m of screened) {
          if (m.role === "system" || m.role === "developer") continue;
          const hit = injectionScoreNormalized(m.text);
          if (hit.score > best.hit.score) best = { hit, m };
        }
        checks.push({ stage: "input", signal: "injection", score: best.hit.score, threshold: injIn, reason: best.m && screened.length > 1 ? `${best.hit.reason} in ${where(best.m)}` : best.hit.reason });
      }
      if (harmIn !== false) {
        const scored = screened.map((m) => ({ m, score: harmScore(classifier, m.text, m.role), reason: "" }));
        for (const x of scored) x.reason = `harm classifier p=${x.score.toFixed(3)}${screened.length > 1 ? ` on ${where(x.m)}` : ""}`;
        if (options.judge) {
          const judge = options.judge;
          const inBand = scored.filter((x) => x.score >= band[0] && x.score <= band[1]).sort((a, b) => b.score - a.score).slice(0, MAX_JUDGED);
          for (const x of inBand) {
            const v = await judge.judge(normalize(x.m.text).text, "user", signal);
            x.reason += `; ${v.reason}`;
            x.score = v.score;
          }
        }
        const top = scored.reduce<(typeof scored)[number] | undefined>((a, b) => (a === undefined || b.score > a.score ? b : a), undefined);
        checks.push({ stage: "input", signal: "harm", score: top?.score ?? 0, threshold: harmIn, reason: top?.reason ?? "nothing to screen" });
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
  function judge(model: Model, checks: Check[]): { blocked?: Check; decisions: Decision[] } {
    const blocked = checks.find((c) => c.score > c.threshold);
    if (blocked) return { blocked, decisions: [decisionOf(model, blocked, true)] };
    // Trace the strongest signal of a passing request.
    const top = checks.slice().sort((a, b) => b.score - a.score)[0];
    return { decisions: top ? [decisionOf(model, { ...top, reason: `passed: ${top.reason}` }, false)] : [] };
  }

  /**
   * What a block becomes: a `tandem_guard` error, or (`onBlock: "refusal"`) the refusal served by
   * the guard itself, carrying the calls already paid for (the blocked answer's) and all decisions.
   */
  function blockedResult(model: Model, c: Check, decisions: Decision[], calls: ModelCall[] = []): GenerateResult {
    const id = idOf(model);
    const message = `${c.stage === "input" ? "Request" : "Answer"} blocked by guard '${id}': ${c.reason} (${c.signal} score ${c.score.toFixed(3)} > ${c.threshold}).`;
    if (onBlock === "error") throw new TandemError("tandem_guard", message, { param: c.stage === "input" ? "messages" : null });
    return { text: refusal, finishReason: "content_filter", usage: { promptTokens: 0, completionTokens: 0 }, info: ownInfo({ servedBy: id, calls, decisions }) };
  }

  return {
    async wrapGenerate({ doGenerate, request, model, signal }) {
      const inJ = judge(model, await checkInput(request, signal));
      if (inJ.blocked) return blockedResult(model, inJ.blocked, inJ.decisions);
      const r = await doGenerate(request);
      const outJ = judge(model, checkOutput(r));
      if (outJ.blocked) return blockedResult(model, outJ.blocked, [...inJ.decisions, ...outJ.decisions, ...r.info.decisions], r.info.calls);
      return mapResultInfo(r, (x) => withDecision(x.info, ...inJ.decisions, ...outJ.decisions));
    },

    async *wrapStream({ doStream, request, model, signal }) {
      const inJ = judge(model, await checkInput(request, signal));
      if (inJ.blocked) {
        yield* streamFromGenerate(Promise.resolve(blockedResult(model, inJ.blocked, inJ.decisions)));
        return;
      }
      if (!outputOn) {
        yield* mapStreamInfo(doStream(request), (r) => withDecision(r.info, ...inJ.decisions));
        return;
      }
      // Buffer until the whole answer is checked: nothing unchecked reaches the caller.
      const held: StreamPart[] = [];
      for await (const part of doStream(request)) {
        if (part.type !== "finish") {
          held.push(part);
          continue;
        }
        const outJ = judge(model, checkOutput(part.result));
        if (outJ.blocked) {
          yield* streamFromGenerate(Promise.resolve(blockedResult(model, outJ.blocked, [...inJ.decisions, ...outJ.decisions, ...part.result.info.decisions], part.result.info.calls)));
          return;
        }
        yield* held;
        yield { type: "finish", result: mapResultInfo(part.result, (r) => withDecision(r.info, ...inJ.decisions, ...outJ.decisions)) };
      }
    },
  };
}

/**
 * Wraps `model` with input and output guards (see module docs): `wrapModel` over `model` with
 * {@link guardMiddleware}; id `options.id ?? "guard(<model id>)"`, location, price and worst case
 * those of `model`.
 *
 * Errors: `tandem_guard` (400) when a check blocks and `onBlock` is "error", or when a check
 * itself fails (fail closed); the guarded model's errors propagate.
 * @example const safe = guard({ model: cloud, input: { harm: 0.5, injection: 0.7 }, output: { secrets: true }, onBlock: "refusal" });
 */
export function guard(options: GuardOptions): Model {
  const { model, ...rest } = options;
  const id = options.id ?? `guard(${model.id})`;
  return wrapModel({ model, middleware: guardMiddleware({ ...rest, id }), id });
}

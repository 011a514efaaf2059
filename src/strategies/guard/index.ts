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
 * The guard cascade (the surveys' small-to-large trustworthiness mechanism): with a `judge`, the
 * classifier is stage one and decides the clear cases locally; a message whose stage-one harm
 * score falls inside `judgeBand` (inclusive) is sent to the judge — the local SLM, a Llama Guard
 * behind an OpenAI-compatible endpoint, any Model of the policy (see safety/remote-judge.ts) —
 * and the judge's verdict decides for it. Each verdict is a decision `judge:<judge name>`
 * (score 1 unsafe / 0 safe, `escalated: true`, the latency and USD in its reason) after the
 * guard's own, and the judge's calls (role "judge": tokens, USD, ms) come first in `calls` and
 * count in `costUsd`. A judge that fails, answers no verdict or exceeds `judgeTimeoutMs` blocks
 * the request (fail closed), with the reason; a client abort is not a verdict and propagates.
 *
 * A learned injection detector (`injectionDetector`, models/injection.json when present) reads the
 * tool results (by default) besides the rules: signal `input:injection-detector`.
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
import { existsSync } from "node:fs";
import { TandemError } from "../../core/errors.js";
import { wrapModel, type ModelMiddleware } from "../../core/middleware.js";
import { streamFromGenerate, type Decision, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type StreamPart } from "../../core/model.js";
import { contentText, type ChatMessage } from "../../core/wire.js";
import { foldForClassifier, normalize } from "../../core/normalize.js";
import { GuardClassifier, loadGuardClassifier } from "../../safety/classifier.js";
import { injectionScore, placeholderLeakScore, secretScore, type RuleHit } from "../../safety/detectors.js";
import { defaultInjectionModelPath, loadInjectionDetector } from "../../safety/injection.js";
import { JudgeFailure, type GuardJudge, type JudgeVerdict } from "../../safety/judge.js";
import { callRecord, decision, mapResultInfo, mapStreamInfo, ownInfo, withCallsBefore, withDecision } from "../info.js";

export { GuardClassifier, loadGuardClassifier, defaultGuardModelPath, guardFeatures, type GuardClassifierFile, type SafetyExample } from "../../safety/classifier.js";
export { injectionScore, secretScore, placeholderLeakScore, type RuleHit } from "../../safety/detectors.js";
export { slmJudge, judgePrompt, JUDGE_CATEGORIES, JudgeFailure, type GuardJudge, type JudgeVerdict, type SlmJudgeOptions } from "../../safety/judge.js";
export { modelJudge, openaiCompatibleJudge, parseLlamaGuardVerdict, parseJsonVerdict, judgeMessages, LLAMA_GUARD_CATEGORIES, type JudgePromptStyle, type ModelJudgeOptions, type OpenAICompatibleJudgeOptions, type ParsedVerdict } from "../../safety/remote-judge.js";

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
  /**
   * The roles whose messages the learned injection detector (`GuardOptions.injectionDetector`)
   * reads — where indirect prompt injection arrives. @default ["tool"]
   */
  injectionDetectorRoles?: ReadonlyArray<"user" | "tool" | "assistant">;
}

/**
 * A learned prompt-injection detector, e.g. src/safety/injection.ts `InjectionDetector`: a
 * probability in [0, 1] and its threshold. Detectors that know contexts score tool results as
 * `"document"` (span by span, with a threshold of their own chosen on held-out documents) and
 * other messages as `"prompt"`.
 */
export interface InjectionScorer {
  score(text: string, context?: "prompt" | "document"): number;
  readonly threshold: number;
  /** The threshold of a context; `threshold` when absent. */
  thresholdFor?(context: "prompt" | "document"): number;
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
  /**
   * The learned prompt-injection detector applied (besides the injection rules) to the messages of
   * `input.injectionDetectorRoles` (tool results by default): an instance, a model file path, or
   * `false`. @default models/injection.json when that file exists, else none (rules only)
   */
  injectionDetector?: InjectionScorer | string | false;
  /**
   * The cascade's second stage: a judge consulted when a message's input harm score (stage one,
   * the classifier) falls in `judgeBand`; its verdict then decides for that message. Any
   * {@link GuardJudge}: `modelJudge({ model })` over a Model (a local SLM, a Llama Guard behind an
   * OpenAI-compatible endpoint), `openaiCompatibleJudge(...)`, `slmJudge(...)`.
   */
  judge?: GuardJudge;
  /** Stage-one scores in [low, high] (inclusive) are sent to the judge; outside, the classifier decides against `input.harm`. @default [0.2, 0.8] */
  judgeBand?: [number, number];
  /** The most one judge verdict may take, ms; past it the request is blocked (fail closed). @default 15,000 */
  judgeTimeoutMs?: number;
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
  /** Blocks whatever the score (a judge that failed: fail closed). */
  force?: boolean;
}

/** What the input checks found: the checks, and the judge's decisions and calls (the cascade's second stage). */
interface InputChecks {
  checks: Check[];
  judged: Decision[];
  calls: ModelCall[];
}

/** The outcome of one judge consultation. */
type JudgeOutcome = { ok: true; verdict: JudgeVerdict; latencyMs: number } | { ok: false; error: string; calls: ModelCall[]; latencyMs: number };

/**
 * Runs `judge` on `text` with a deadline of `timeoutMs`: the judge's signal aborts on the
 * deadline or when `signal` does. Never rejects on a judge failure (the outcome says so, with the
 * calls made); rejects only when `signal` aborted (the client left: no verdict is owed).
 */
async function consultJudge(judge: GuardJudge, text: string, timeoutMs: number, signal?: AbortSignal): Promise<JudgeOutcome> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const r = await Promise.race([judge.judge(text, "user", controller.signal).then((verdict) => ({ verdict }), (error: unknown) => ({ error })), deadline]);
    const latencyMs = performance.now() - started;
    signal?.throwIfAborted();
    if (r === "timeout") {
      controller.abort(new Error(`judge timed out after ${timeoutMs} ms`));
      const call = callRecord({ id: judge.name, price: { inputPerMillion: 0, outputPerMillion: 0 }, location: judge.location }, { promptTokens: 0, completionTokens: 0 }, latencyMs, { role: "judge", error: `timed out after ${timeoutMs} ms` });
      return { ok: false, error: `judge '${judge.name}' timed out after ${timeoutMs} ms`, calls: [call], latencyMs };
    }
    if ("error" in r) {
      const message = r.error instanceof Error ? r.error.message : String(r.error);
      const calls = r.error instanceof JudgeFailure && r.error.calls.length > 0 ? r.error.calls : [callRecord({ id: judge.name, price: { inputPerMillion: 0, outputPerMillion: 0 }, location: judge.location }, { promptTokens: 0, completionTokens: 0 }, latencyMs, { role: "judge", error: message })];
      return { ok: false, error: r.error instanceof JudgeFailure ? message : `judge '${judge.name}' failed: ${message}`, calls, latencyMs };
    }
    const v = r.verdict;
    if (!(typeof v?.score === "number" && v.score >= 0 && v.score <= 1)) {
      return { ok: false, error: `judge '${judge.name}' gave no score in [0, 1] (${String(v?.score)})`, calls: v?.calls ?? [], latencyMs };
    }
    return { ok: true, verdict: v, latencyMs };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
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
  const judgeTimeoutMs = options.judgeTimeoutMs ?? 15_000;
  if (!(band[0] <= band[1])) throw new RangeError(`guard judgeBand [${band.join(", ")}]: low must not exceed high`);
  const onBlock = options.onBlock ?? "error";
  const refusal = options.refusalMessage ?? "I can't help with that request.";
  const outputOn = output !== undefined && (output.harm !== undefined && output.harm !== false || output.placeholders !== false || output.secrets !== false);
  const idOf = (model: Model) => options.id ?? `guard(${model.id})`;
  const detector: InjectionScorer | undefined =
    options.injectionDetector === false || injIn === false
      ? undefined
      : typeof options.injectionDetector === "object"
        ? options.injectionDetector
        : typeof options.injectionDetector === "string"
          ? loadInjectionDetector(options.injectionDetector)
          : existsSync(defaultInjectionModelPath())
            ? loadInjectionDetector()
            : undefined;
  const detectorRoles: ReadonlySet<string> = new Set(input?.injectionDetectorRoles ?? ["tool"]);

  const decisionOf = (model: Model, c: Check, blocked: boolean): Decision =>
    decision({ strategy: "guard", name: idOf(model), signal: `${c.stage}:${c.signal}`, score: c.score, threshold: c.threshold, chosen: blocked ? "blocked" : model.id, reason: c.reason });

  /** Most judge calls per request (the most suspicious in-band messages first); others keep the classifier's score. */
  const MAX_JUDGED = 4;

  async function checkInput(model: Model, request: GenerateRequest, signal?: AbortSignal): Promise<InputChecks> {
    const judged: Decision[] = [];
    const calls: ModelCall[] = [];
    if (!input) return { checks: [], judged, calls };
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
        if (detector) {
          // The learned detector on the messages that carry indirect injection (tool results by default).
          // Tool results are documents: scored span by span against the document threshold.
          // The message furthest above (or nearest below) its own threshold decides.
          let top: { score: number; threshold: number; m?: Screened } = { score: 0, threshold: detector.threshold };
          for (const m of screened) {
            if (!detectorRoles.has(m.role)) continue;
            const context = m.role === "tool" ? "document" : "prompt";
            const p = detector.score(m.text, context);
            const t = detector.thresholdFor?.(context) ?? detector.threshold;
            if (!top.m || p - t > top.score - top.threshold) top = { score: p, threshold: t, m };
          }
          if (top.m) checks.push({ stage: "input", signal: "injection-detector", score: top.score, threshold: top.threshold, reason: `injection detector p=${top.score.toFixed(3)} on ${where(top.m)}` });
        }
      }
      if (harmIn !== false) {
        const scored = screened.map((m) => ({ m, score: harmScore(classifier, m.text, m.role), reason: "", force: false }));
        for (const x of scored) x.reason = `harm classifier p=${x.score.toFixed(3)}${screened.length > 1 ? ` on ${where(x.m)}` : ""}`;
        if (options.judge) {
          // The cascade's second stage: the uncertain band goes to the judge, whose verdict decides.
          const judge = options.judge;
          const inBand = scored.filter((x) => x.score >= band[0] && x.score <= band[1]).sort((a, b) => b.score - a.score).slice(0, MAX_JUDGED);
          const outcomes = await Promise.all(inBand.map((x) => consultJudge(judge, normalize(x.m.text).text, judgeTimeoutMs, signal)));
          inBand.forEach((x, i) => {
            const o = outcomes[i];
            const stageOne = `stage one p=${x.score.toFixed(3)} in band [${band[0]}, ${band[1]}]${screened.length > 1 ? ` on ${where(x.m)}` : ""}`;
            const took = `${Math.round(o.latencyMs)} ms`;
            const judgeCalls = o.ok ? (o.verdict.calls ?? []) : o.calls;
            const cost = judgeCalls.reduce((sum, c) => sum + c.costUsd, 0);
            calls.push(...judgeCalls);
            if (o.ok) {
              const unsafe = o.verdict.score > 0.5;
              x.reason += `; in band [${band[0]}, ${band[1]}]: ${o.verdict.reason}`;
              x.score = o.verdict.score;
              judged.push(decision({ strategy: "guard", name: idOf(model), signal: `judge:${judge.name}`, score: o.verdict.score, threshold: 0.5, chosen: unsafe ? "blocked" : model.id, escalated: true, reason: `${stageOne}; ${o.verdict.reason} in ${took}, USD ${cost.toFixed(6)}` }));
            } else {
              x.reason += `; in band [${band[0]}, ${band[1]}]: ${o.error} (fail closed)`;
              x.score = 1;
              x.force = true;
              judged.push(decision({ strategy: "guard", name: idOf(model), signal: `judge:${judge.name}`, score: 1, threshold: 0.5, chosen: "blocked", escalated: true, reason: `${stageOne}; ${o.error} after ${took} (fail closed)` }));
            }
          });
        }
        const top = scored.reduce<(typeof scored)[number] | undefined>((a, b) => (a === undefined || (b.force && !a.force) || (b.force === a.force && b.score > a.score) ? b : a), undefined);
        checks.push({ stage: "input", signal: "harm", score: top?.score ?? 0, threshold: harmIn, reason: top?.reason ?? "nothing to screen", force: top?.force });
      }
    } catch (error) {
      signal?.throwIfAborted();
      throw new TandemError("tandem_guard", `Request blocked: the input guard failed (${error instanceof Error ? error.message : String(error)}) (fail closed).`, { cause: error, calls });
    }
    return { checks, judged, calls };
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

  /**
   * The first failing check (a forced one first), or undefined; plus the decisions to trace: the
   * deciding check's, then the judge's (`judged`, the cascade's second stage).
   */
  function verdictOf(model: Model, checks: Check[], judged: Decision[] = []): { blocked?: Check; decisions: Decision[] } {
    const blocked = checks.find((c) => c.force) ?? checks.find((c) => c.score > c.threshold);
    if (blocked) return { blocked, decisions: [decisionOf(model, blocked, true), ...judged] };
    // Trace the strongest signal of a passing request.
    const top = checks.slice().sort((a, b) => b.score - a.score)[0];
    return { decisions: [...(top ? [decisionOf(model, { ...top, reason: `passed: ${top.reason}` }, false)] : []), ...judged] };
  }

  /** Input checks and their verdict: the decisions, and the judge's calls (made before the answer). */
  async function screenInput(model: Model, request: GenerateRequest, signal?: AbortSignal): Promise<{ blocked?: Check; decisions: Decision[]; calls: ModelCall[] }> {
    const r = await checkInput(model, request, signal);
    return { ...verdictOf(model, r.checks, r.judged), calls: r.calls };
  }

  /**
   * What a block becomes: a `tandem_guard` error, or (`onBlock: "refusal"`) the refusal served by
   * the guard itself, carrying the calls already paid for (the blocked answer's) and all decisions.
   */
  function blockedResult(model: Model, c: Check, decisions: Decision[], calls: ModelCall[] = []): GenerateResult {
    const id = idOf(model);
    const message = `${c.stage === "input" ? "Request" : "Answer"} blocked by guard '${id}': ${c.reason} (${c.signal} score ${c.score.toFixed(3)}${c.force ? "" : ` > ${c.threshold}`}).`;
    if (onBlock === "error") throw new TandemError("tandem_guard", message, { param: c.stage === "input" ? "messages" : null, calls });
    return { text: refusal, finishReason: "content_filter", usage: { promptTokens: 0, completionTokens: 0 }, info: ownInfo({ servedBy: id, calls, decisions }) };
  }

  return {
    async wrapGenerate({ doGenerate, request, model, signal }) {
      const inJ = await screenInput(model, request, signal);
      if (inJ.blocked) return blockedResult(model, inJ.blocked, inJ.decisions, inJ.calls);
      const r = await doGenerate(request);
      const outJ = verdictOf(model, checkOutput(r));
      if (outJ.blocked) return blockedResult(model, outJ.blocked, [...inJ.decisions, ...outJ.decisions, ...r.info.decisions], [...inJ.calls, ...r.info.calls]);
      return mapResultInfo(r, (x) => withDecision(withCallsBefore(x.info, inJ.calls), ...inJ.decisions, ...outJ.decisions));
    },

    async *wrapStream({ doStream, request, model, signal }) {
      const inJ = await screenInput(model, request, signal);
      if (inJ.blocked) {
        yield* streamFromGenerate(Promise.resolve(blockedResult(model, inJ.blocked, inJ.decisions, inJ.calls)));
        return;
      }
      if (!outputOn) {
        yield* mapStreamInfo(doStream(request), (r) => withDecision(withCallsBefore(r.info, inJ.calls), ...inJ.decisions));
        return;
      }
      // Buffer until the whole answer is checked: nothing unchecked reaches the caller.
      const held: StreamPart[] = [];
      for await (const part of doStream(request)) {
        if (part.type !== "finish") {
          held.push(part);
          continue;
        }
        const outJ = verdictOf(model, checkOutput(part.result));
        if (outJ.blocked) {
          yield* streamFromGenerate(Promise.resolve(blockedResult(model, outJ.blocked, [...inJ.decisions, ...outJ.decisions, ...part.result.info.decisions], [...inJ.calls, ...part.result.info.calls])));
          return;
        }
        yield* held;
        yield { type: "finish", result: mapResultInfo(part.result, (r) => withDecision(withCallsBefore(r.info, inJ.calls), ...inJ.decisions, ...outJ.decisions)) };
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

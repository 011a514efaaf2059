/**
 * The `privacy` strategy: cloud–edge "hide and seek" (HaS, Chen et al. 2023). Before anything
 * leaves for a `cloud` model, an edge PII detector scans every string of the request — found by a
 * walk over the whole request, not a list of fields (fields.ts): message content and text parts,
 * names, refusals, tool-call ids, names and JSON arguments, tool descriptions and every string of
 * their JSON-Schema parameters, stop sequences, `user`, and any field added later. Private spans
 * are replaced by consistent typed placeholders carrying a per-request nonce (`[PERSON_1_k7q2x]`,
 * unforgeable by user text); the remote answer — whole or streamed, tool calls included — is
 * restored on the device. Strings that cannot be hidden without breaking the request (object keys,
 * structural fields) and non-text content parts (images, audio, files; `opaqueParts`) make the
 * request private as a whole: refused in `redact` and `block` mode, kept local in `local-only`.
 *
 * Modes: `redact` (placeholders, default), `local-only` (requests with private data never leave:
 * the local model serves them), `block` (refused with `tandem_guard`).
 *
 * Fails closed: when the detector throws or exceeds `detectorTimeoutMs`, nothing is sent to the
 * cloud; the request is refused (`tandem_guard`, HTTP 400) or, with `onDetectorError: "local"`,
 * served by the local model.
 *
 * Built as model middleware ({@link privacyMiddleware} over the remote model through
 * `wrapModel`, core/middleware.ts); decisions are recorded through strategies/info.ts.
 */
import { TandemError } from "../../core/errors.js";
import { wrapModel, type ModelMiddleware } from "../../core/middleware.js";
import { maxWorstCase, worstCaseOf, type CollaborationInfo, type Decision, type GenerateRequest, type GenerateResult, type Model, type StreamPart } from "../../core/model.js";
import type { ChatToolCall } from "../../core/wire.js";
import type { EntityType, PiiDetector, PiiSpan } from "../../pii/types.js";
import { formatPath, jsonStrings, requestStrings, type RequestString } from "./fields.js";
import { PlaceholderVault, StreamRestorer } from "./vault.js";
import { decision, mapResultInfo, mapStreamInfo, withDecision } from "../info.js";

export { PlaceholderVault, StreamRestorer, PLACEHOLDER_RE, MAX_PLACEHOLDER_LENGTH, randomNonce } from "./vault.js";
export { requestStrings, jsonStrings, formatPath, type FieldRule, type FieldPath, type RequestString } from "./fields.js";

/** What to do with a request that contains private data on its way to a cloud model. */
export type PrivacyMode = "redact" | "local-only" | "block";

/** Options of {@link privacy}. */
export interface PrivacyOptions {
  /** Name of this strategy model (policy name). @default "privacy(<remote id>)" */
  id?: string;
  /** The edge PII detector (e.g. `createDetector()`). */
  detector: PiiDetector;
  /** The model the request is meant for; redaction applies only when its location is `cloud`. */
  remote: Model;
  /** An edge model: serves `local-only` requests and, optionally, requests whose detection failed. Required for `local-only`. */
  local?: Model;
  /** @default "redact" */
  mode?: PrivacyMode;
  /** Only these entity types are hidden; others pass. @default all detected types */
  entities?: readonly EntityType[];
  /** Spans scoring below this are ignored, in [0, 1]. @default 0 (the detector's own cut applies) */
  minScore?: number;
  /** Budget for detecting one request (all its texts), ms. Exceeding it fails closed. @default 2000 */
  detectorTimeoutMs?: number;
  /** On detector error or timeout: refuse (`block`) or serve with `local` (`local`). Never sends to the cloud. @default "block" */
  onDetectorError?: "block" | "local";
  /** Also redact when `remote` is an edge model. @default false */
  redactForEdge?: boolean;
  /**
   * Content parts that are not text (images, audio, files), whose bytes the detector cannot read:
   * `block` treats them as private (refused in `redact`/`block`, kept local in `local-only`);
   * `pass` scans their strings (URLs, file names) and lets inline binary payloads through.
   * @default "block"
   */
  opaqueParts?: "block" | "pass";
}

/**
 * Runs `work` with a budget of `ms`: rejects when the budget passes (aborting `work`'s signal),
 * and also when `work` resolved but took longer than the budget (a detector that never yielded
 * to the event loop cannot be interrupted by a timer; its late answer is still refused).
 */
export async function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, outer?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const started = performance.now();
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      work(controller.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort(new Error(`detector timed out after ${ms} ms`));
          reject(new Error(`detector timed out after ${ms} ms`));
        }, ms);
      }),
    ]);
    const took = performance.now() - started;
    if (took > ms) throw new Error(`detector timed out after ${ms} ms (took ${Math.round(took)} ms)`);
    return value;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}

/** A string of the request that must not leave as is but cannot be hidden (see fields.ts). */
export interface Unhideable {
  /** Where it is, e.g. `tools[0].function.parameters.properties` (never the value). */
  path: string;
  /** Why, e.g. "private data (EMAIL_ADDRESS) in an object key". */
  reason: string;
}

/** A request with its private values hidden, and the vault to restore the answer. */
export interface HiddenRequest {
  request: GenerateRequest;
  vault: PlaceholderVault;
  /**
   * Strings with private data that cannot be replaced without breaking the request (object keys,
   * structural fields) and content parts that cannot be inspected (images, audio, files). When
   * non-empty the request must not leave the device: `privacy` blocks it (or keeps it local).
   */
  unhideable: Unhideable[];
}

/** An object key or structural value shaped like a programming identifier. */
const IDENTIFIER_RE = /^[A-Za-z_$][\w$.-]{0,63}$/;

/** Options of {@link hideRequest}. */
export interface HideOptions {
  /** Only these entity types are hidden. @default all detected */
  entities?: readonly EntityType[];
  /** Spans scoring below this are ignored, in [0, 1]. @default 0 */
  minScore?: number;
  signal?: AbortSignal;
  /** A vault to fill (e.g. one shared by several requests); default a fresh one whose nonce occurs nowhere in the request. */
  vault?: PlaceholderVault;
  /** Non-text content parts: `block` (unhideable, the default) or `pass` (their strings are scanned as text, binary payloads pass). */
  opaqueParts?: "block" | "pass";
}

/**
 * Detects and hides private values in every string of `request` — a walk over the whole request
 * (fields.ts), not a list of fields — on a deep copy (the input is not modified). Placeholders
 * are registered in conversation order, so the same value gets the same placeholder everywhere.
 * Throws whatever the detector throws (and the signal's reason when it aborts).
 */
export async function hideRequest(request: GenerateRequest, detector: PiiDetector, options: HideOptions = {}): Promise<HiddenRequest> {
  const clone = JSON.parse(JSON.stringify(request)) as GenerateRequest;
  const vault = options.vault ?? PlaceholderVault.forText(JSON.stringify(clone));
  const keep = (s: PiiSpan) => s.score >= (options.minScore ?? 0) && (!options.entities || options.entities.includes(s.type));
  const unhideable: Unhideable[] = [];
  // Expand JSON documents (tool-call arguments) into their strings; commit them back after hiding.
  const strings: RequestString[] = [];
  const commits: Array<() => void> = [];
  for (const s of requestStrings(clone, { opaqueParts: options.opaqueParts })) {
    if (s.rule === "opaque") {
      unhideable.push({ path: formatPath(s.path), reason: `a content part of type '${s.value.slice(0, 40)}' cannot be inspected for private data` });
      continue;
    }
    if (s.rule === "json") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(s.value);
      } catch {
        strings.push({ ...s, rule: "text" });
        continue;
      }
      const doc = jsonStrings(parsed, s.path);
      strings.push(...doc.strings);
      commits.push(() => s.set?.(JSON.stringify(doc.root())));
      continue;
    }
    strings.push(s);
  }
  // Pass 1: detect (once per distinct string), registering placeholders in conversation order.
  const cache = new Map<string, PiiSpan[]>();
  const spans: PiiSpan[][] = [];
  for (const s of strings) {
    let found = cache.get(s.value);
    if (!found) {
      found = (await detector.detect(s.value, options.signal)).filter(keep);
      cache.set(s.value, found);
    }
    spans.push(found);
    if (s.rule === "text") for (const span of found) vault.placeholderFor(s.value.slice(span.start, span.end), span.type);
  }
  // Pass 2: hide text (each value everywhere, even where the detector missed it); keys and
  // structural strings cannot change, so private data there makes the request unhideable.
  strings.forEach((s, i) => {
    if (s.rule === "text") {
      s.set?.(vault.hide(s.value, spans[i]));
      return;
    }
    // Identifier-shaped keys (`recipients`, `user_id`) count only pattern evidence (e-mails, card
    // numbers…) and values already known: the name tagger fires on lone words such as "metadata".
    const identifier = IDENTIFIER_RE.test(s.value);
    const types = [...new Set(spans[i].filter((x) => !identifier || x.source === "pattern").map((x) => x.type))];
    if (types.length > 0 || vault.hide(s.value) !== s.value) {
      const what = s.rule === "key" ? "an object key" : "a structural field";
      unhideable.push({ path: formatPath(s.path), reason: `private data${types.length ? ` (${types.join(", ")})` : ""} in ${what}, which cannot be replaced by a placeholder` });
    }
  });
  for (const commit of commits) commit();
  return { request: clone, vault, unhideable };
}

/** Restores placeholders in a finished result (text, tool-call ids, names and arguments). */
export function restoreResult(result: GenerateResult, vault: PlaceholderVault): GenerateResult {
  const toolCalls: ChatToolCall[] | undefined = result.toolCalls?.map((c) => ({
    ...c,
    id: vault.restore(c.id),
    function: { name: vault.restore(c.function.name), arguments: vault.restore(c.function.arguments, { json: true }) },
  }));
  return { ...result, text: vault.restore(result.text), ...(toolCalls ? { toolCalls } : {}) };
}

function describe(vault: PlaceholderVault): string {
  return Object.entries(vault.typeCounts())
    .map(([t, n]) => `${t}×${n}`)
    .join(", ");
}

/**
 * Restores placeholders in a stream of the remote answer: text and tool-call arguments through
 * {@link StreamRestorer}s (a placeholder split across parts is held until complete), tool-call ids
 * and names as they come; before `finish`, flushes what is held, then yields the restored result
 * whose info is `info(raw)` — `raw` being the result as the remote produced it (placeholder form).
 */
export async function* restoreStream(parts: AsyncIterable<StreamPart>, vault: PlaceholderVault, info: (raw: GenerateResult) => CollaborationInfo = (raw) => raw.info): AsyncGenerator<StreamPart> {
  const text = new StreamRestorer(vault);
  const args = new Map<number, StreamRestorer>();
  for await (const part of parts) {
    if (part.type === "text") {
      const out = text.push(part.text);
      if (out || part.logprobs) yield { type: "text", text: out, ...(part.logprobs ? { logprobs: part.logprobs } : {}) };
    } else if (part.type === "tool-call") {
      const d = part.delta;
      let restorer = args.get(d.index);
      if (!restorer) args.set(d.index, (restorer = new StreamRestorer(vault, { json: true })));
      const fn = d.function
        ? {
            ...d.function,
            ...(d.function.name !== undefined ? { name: vault.restore(d.function.name) } : {}),
            ...(d.function.arguments !== undefined ? { arguments: restorer.push(d.function.arguments) } : {}),
          }
        : undefined;
      yield { type: "tool-call", delta: { ...d, ...(d.id !== undefined ? { id: vault.restore(d.id) } : {}), ...(fn ? { function: fn } : {}) } };
    } else {
      const rest = text.flush();
      if (rest) yield { type: "text", text: rest };
      for (const [index, restorer] of args) {
        const tail = restorer.flush();
        if (tail) yield { type: "tool-call", delta: { index, function: { arguments: tail } } };
      }
      yield { type: "finish", result: { ...restoreResult(part.result, vault), info: info(part.result) } };
    }
  }
}

/** Options of {@link privacyMiddleware}: those of {@link privacy} without `remote` (the wrapped model is the remote). */
export type PrivacyMiddlewareOptions = Omit<PrivacyOptions, "remote">;

/**
 * Hide and seek as a {@link ModelMiddleware} over the remote model (the wrapped one; see module
 * docs). Per call, in `wrapGenerate` / `wrapStream` (the vault that hides the request also
 * restores the answer, so both happen in one hook):
 * - nothing to hide (or an edge remote without `redactForEdge`): `doGenerate(request)` as is;
 * - private data, `redact`: `doGenerate(hidden request)`, the answer (whole or streamed, tool
 *   calls included) restored on the device;
 * - private data, `local-only` (or a failed detector with `onDetectorError: "local"`): served by
 *   `local.generate` / `local.stream` INSTEAD of `doGenerate` — the wrapped remote model, and any
 *   middleware inside this one, never run for that request;
 * - `block`, unhideable strings, or a failed detector with `onDetectorError: "block"`: throws
 *   `tandem_guard` before anything is sent.
 * Every answer carries this layer's decision (strategy "privacy", with `cloudView`) first.
 * `close()` closes `local`.
 *
 * Errors: `invalid_policy` (at construction) when `local-only` / `onDetectorError: "local"` lack a
 * `local` model or `local` is not an edge model; `tandem_guard` per call as above.
 */
export function privacyMiddleware(options: PrivacyMiddlewareOptions): ModelMiddleware {
  const mode = options.mode ?? "redact";
  const { local, detector } = options;
  const timeoutMs = options.detectorTimeoutMs ?? 2000;
  const onDetectorError = options.onDetectorError ?? "block";
  const label = options.id ?? "privacy";
  if ((mode === "local-only" || onDetectorError === "local") && !local) throw new TandemError("invalid_policy", `privacy strategy '${label}': mode '${mode}' / onDetectorError '${onDetectorError}' needs a local model`);
  if (local && local.location !== "edge") throw new TandemError("invalid_policy", `privacy strategy '${label}': the local model '${local.id}' is not an edge model`);

  type Plan =
    | { kind: "pass"; decision: Decision; cloud: boolean }
    | { kind: "local"; decision: Decision; hidden?: HiddenRequest }
    | { kind: "redact"; hidden: HiddenRequest; decision: Decision };

  /**
   * The decision with the placeholder form of the exchange (for traces): what was sent (or, kept
   * local, the hidden request) and the answer in placeholder form.
   */
  const viewed = (p: Plan, request: GenerateRequest, text: string | undefined): Decision => {
    if (p.kind === "redact") return { ...p.decision, cloudView: { messages: p.hidden.request.messages, text } };
    if (p.kind === "local") return p.hidden ? { ...p.decision, cloudView: { messages: p.hidden.request.messages, text: text === undefined ? undefined : p.hidden.vault.hide(text) } } : p.decision;
    // nothing detected: what the cloud saw is the request itself; an edge remote saw nothing
    return p.cloud ? { ...p.decision, cloudView: { messages: request.messages, text } } : p.decision;
  };

  async function plan(remote: Model, request: GenerateRequest, signal?: AbortSignal): Promise<Plan> {
    const id = options.id ?? `privacy(${remote.id})`;
    const decide = (chosen: string, score: number, reason: string): Decision => decision({ strategy: "privacy", name: id, signal: "pii-values", score, threshold: 0, chosen, reason });
    const needsProtection = remote.location === "cloud" || options.redactForEdge === true;
    if (!needsProtection) return { kind: "pass", cloud: false, decision: decide(remote.id, 0, `remote '${remote.id}' runs on the edge; nothing to hide`) };
    let hidden: HiddenRequest;
    try {
      hidden = await withTimeout((s) => hideRequest(request, detector, { entities: options.entities, minScore: options.minScore, signal: s, opaqueParts: options.opaqueParts }), timeoutMs, signal);
    } catch (error) {
      signal?.throwIfAborted();
      const why = error instanceof Error ? error.message : String(error);
      if (onDetectorError === "local" && local) return { kind: "local", decision: decide(local.id, -1, `PII detector '${detector.name}' failed (${why}); failed closed to the local model`) };
      throw new TandemError("tandem_guard", `Request blocked: the privacy detector failed (${why}), so nothing was sent to '${remote.id}' (fail closed).`, { cause: error });
    }
    const n = hidden.vault.size;
    const stuck = hidden.unhideable;
    if (n === 0 && stuck.length === 0) return { kind: "pass", cloud: true, decision: decide(remote.id, 0, "no private data detected") };
    const found = [n ? `${n} private value(s): ${describe(hidden.vault)}` : "", stuck.length ? `${stuck.length} string(s) that cannot be hidden, first at ${stuck[0].path}: ${stuck[0].reason}` : ""].filter(Boolean).join("; ");
    if (mode === "block") throw new TandemError("tandem_guard", `Request blocked: it contains private data (${found}) and the policy does not let it leave the device.`);
    if (mode === "local-only") return { kind: "local", hidden, decision: decide(local!.id, n + stuck.length, `private data (${found}) kept on the edge`) };
    if (stuck.length > 0) throw new TandemError("tandem_guard", `Request blocked: ${found}; nothing was sent to '${remote.id}' (fail closed).`);
    return { kind: "redact", hidden, decision: decide(remote.id, n, `hid ${n} private value(s) (${describe(hidden.vault)}) behind placeholders`) };
  }

  return {
    async wrapGenerate({ doGenerate, request, model, signal }) {
      const p = await plan(model, request, signal);
      const record = (raw: GenerateResult) => withDecision(raw.info, viewed(p, request, raw.text));
      if (p.kind === "local") return mapResultInfo(await local!.generate(request, signal), record);
      if (p.kind === "pass") return mapResultInfo(await doGenerate(request), record);
      const raw = await doGenerate(p.hidden.request);
      return { ...restoreResult(raw, p.hidden.vault), info: record(raw) };
    },

    async *wrapStream({ doStream, request, model, signal }) {
      const p = await plan(model, request, signal);
      const record = (raw: GenerateResult) => withDecision(raw.info, viewed(p, request, raw.text));
      if (p.kind === "local") yield* mapStreamInfo(local!.stream(request, signal), record);
      else if (p.kind === "pass") yield* mapStreamInfo(doStream(request), record);
      else yield* restoreStream(doStream(p.hidden.request), p.hidden.vault, record);
    },

    async close() {
      await local?.close?.();
    },
  };
}

/**
 * Wraps `remote` with hide-and-seek privacy (see module docs): `wrapModel` over `remote` with
 * {@link privacyMiddleware}. Location: `remote`'s; price: `remote`'s; worst case: the larger of
 * `remote` on a 10 % longer prompt (placeholders) and `local`.
 *
 * Errors: `tandem_guard` (HTTP 400) when `mode: "block"` meets private data, or when the detector
 * fails or times out and `onDetectorError` is "block"; `invalid_policy` when `local-only` (or
 * `onDetectorError: "local"`) is configured without a `local` edge model. Remote errors propagate.
 * @example const m = privacy({ detector: createDetector(), remote: openaiCompatible({...}), local: llamaCpp({...}), mode: "redact" });
 */
export function privacy(options: PrivacyOptions): Model {
  const { remote, local } = options;
  const id = options.id ?? `privacy(${remote.id})`;
  return wrapModel({
    model: remote,
    middleware: privacyMiddleware({ ...options, id }),
    id,
    location: remote.location === "cloud" || local?.location === "cloud" ? "cloud" : "edge",
    price: remote.price,
    /** The remote or the local model serves (placeholders make the prompt a little longer: +10 %). */
    worstCase: (perCall) => {
      const longer = { ...perCall, promptTokens: Math.ceil(perCall.promptTokens * 1.1) };
      return maxWorstCase([worstCaseOf(remote, longer), ...(local ? [worstCaseOf(local, perCall)] : [])]);
    },
  });
}

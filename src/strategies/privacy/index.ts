/**
 * The `privacy` strategy: cloud–edge "hide and seek" (HaS, Chen et al. 2023). Before anything
 * leaves for a `cloud` model, an edge PII detector finds private spans in every message (system,
 * user, assistant, tool results, and the arguments of earlier tool calls); they are replaced by
 * consistent typed placeholders (`[PERSON_1]`); the remote answer — whole or streamed, tool-call
 * arguments included — is restored on the device.
 *
 * Modes: `redact` (placeholders, default), `local-only` (requests with private data never leave:
 * the local model serves them), `block` (refused with `tandem_guard`).
 *
 * Fails closed: when the detector throws or exceeds `detectorTimeoutMs`, nothing is sent to the
 * cloud; the request is refused (`tandem_guard`, HTTP 400) or, with `onDetectorError: "local"`,
 * served by the local model.
 */
import { TandemError } from "../../core/errors.js";
import type { CollaborationInfo, Decision, GenerateRequest, GenerateResult, Model, StreamPart } from "../../core/model.js";
import type { ChatContent, ChatMessage, ChatToolCall } from "../../core/wire.js";
import type { EntityType, PiiDetector, PiiSpan } from "../../privacy/types.js";
import { PlaceholderVault, StreamRestorer } from "./vault.js";

export { PlaceholderVault, StreamRestorer, PLACEHOLDER_RE, MAX_PLACEHOLDER_LENGTH } from "./vault.js";

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
}

/** A text slot of a request: where it lives and whether it is JSON (tool-call arguments). */
interface Slot {
  get(): string;
  set(value: string): void;
  json: boolean;
}

function cloneMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  return JSON.parse(JSON.stringify(messages)) as ChatMessage[];
}

/** The text slots of a conversation, in order (content, names, tool-call arguments). */
function slotsOf(messages: ChatMessage[]): Slot[] {
  const slots: Slot[] = [];
  const contentSlots = (m: { content?: ChatContent | null }) => {
    const c = m.content;
    if (typeof c === "string") slots.push({ get: () => m.content as string, set: (v) => (m.content = v), json: false });
    else if (Array.isArray(c))
      for (const part of c) {
        if (part.type === "text" && typeof part.text === "string") {
          const p = part as { text: string };
          slots.push({ get: () => p.text, set: (v) => (p.text = v), json: false });
        }
      }
  };
  for (const m of messages) {
    contentSlots(m as { content?: ChatContent | null });
    if ("name" in m && typeof m.name === "string") {
      const named = m as { name: string };
      slots.push({ get: () => named.name, set: (v) => (named.name = v), json: false });
    }
    if (m.role === "assistant" && m.tool_calls) {
      for (const call of m.tool_calls) slots.push({ get: () => call.function.arguments, set: (v) => (call.function.arguments = v), json: true });
    }
  }
  return slots;
}

/** String leaves of a JSON value, with setters; undefined when `text` is not JSON. */
function jsonLeaves(text: string): { root: unknown; leaves: Slot[] } | undefined {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return undefined;
  }
  const leaves: Slot[] = [];
  const walk = (node: unknown, set: (v: string) => void) => {
    if (typeof node === "string") leaves.push({ get: () => node, set, json: false });
    else if (Array.isArray(node)) node.forEach((v, i) => walk(v, (s) => (node[i] = s)));
    else if (node && typeof node === "object") for (const [k, v] of Object.entries(node)) walk(v, (s) => ((node as Record<string, unknown>)[k] = s));
  };
  const box = { root };
  walk(root, (s) => (box.root = s));
  return {
    get root() {
      return box.root;
    },
    leaves,
  };
}

async function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, outer?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(controller.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort(new Error(`detector timed out after ${ms} ms`));
          reject(new Error(`detector timed out after ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}

/** A request with its private values hidden, and the vault to restore the answer. */
export interface HiddenRequest {
  request: GenerateRequest;
  vault: PlaceholderVault;
}

/**
 * Detects and hides private values in every text of `request` (a deep copy; the input is not
 * modified). Throws whatever the detector throws. Exposed for tests and pipelines.
 */
export async function hideRequest(
  request: GenerateRequest,
  detector: PiiDetector,
  options: { entities?: readonly EntityType[]; minScore?: number; signal?: AbortSignal; vault?: PlaceholderVault } = {},
): Promise<HiddenRequest> {
  const vault = options.vault ?? new PlaceholderVault();
  const messages = cloneMessages(request.messages);
  const keep = (s: PiiSpan) => s.score >= (options.minScore ?? 0) && (!options.entities || options.entities.includes(s.type));
  // Expand JSON slots into their string leaves.
  const work: Array<{ slot: Slot; commit?: () => void }> = [];
  for (const slot of slotsOf(messages)) {
    if (slot.json) {
      const parsed = jsonLeaves(slot.get());
      if (parsed) {
        parsed.leaves.forEach((leaf, i) => work.push({ slot: leaf, commit: i === parsed.leaves.length - 1 ? () => slot.set(JSON.stringify(parsed.root)) : undefined }));
        continue;
      }
    }
    work.push({ slot });
  }
  // Pass 1: detect everything, registering placeholders in conversation order.
  const spans: PiiSpan[][] = [];
  for (const w of work) {
    const found = (await detector.detect(w.slot.get(), options.signal)).filter(keep);
    for (const s of found) vault.placeholderFor(w.slot.get().slice(s.start, s.end), s.type);
    spans.push(found);
  }
  // Pass 2: hide (each value everywhere, even where the detector missed it).
  work.forEach((w, i) => {
    w.slot.set(vault.hide(w.slot.get(), spans[i]));
    w.commit?.();
  });
  return { request: { ...request, messages }, vault };
}

/** Restores placeholders in a finished result (text, tool-call arguments). */
export function restoreResult(result: GenerateResult, vault: PlaceholderVault): GenerateResult {
  const toolCalls: ChatToolCall[] | undefined = result.toolCalls?.map((c) => ({ ...c, function: { name: c.function.name, arguments: vault.restore(c.function.arguments, { json: true }) } }));
  return { ...result, text: vault.restore(result.text), ...(toolCalls ? { toolCalls } : {}) };
}

function withDecision(info: CollaborationInfo, decision: Decision): CollaborationInfo {
  return { ...info, decisions: [decision, ...info.decisions] };
}

function describe(vault: PlaceholderVault): string {
  return Object.entries(vault.typeCounts())
    .map(([t, n]) => `${t}×${n}`)
    .join(", ");
}

/**
 * Wraps `remote` with hide-and-seek privacy (see module docs).
 *
 * Errors: `tandem_guard` (HTTP 400) when `mode: "block"` meets private data, or when the detector
 * fails or times out and `onDetectorError` is "block"; `invalid_policy` when `local-only` (or
 * `onDetectorError: "local"`) is configured without a `local` edge model. Remote errors propagate.
 * @example const m = privacy({ detector: createDetector(), remote: openaiCompatible({...}), local: llamaCpp({...}), mode: "redact" });
 */
export function privacy(options: PrivacyOptions): Model {
  const mode = options.mode ?? "redact";
  const { remote, local, detector } = options;
  const id = options.id ?? `privacy(${remote.id})`;
  const timeoutMs = options.detectorTimeoutMs ?? 2000;
  const onDetectorError = options.onDetectorError ?? "block";
  if ((mode === "local-only" || onDetectorError === "local") && !local) throw new TandemError("invalid_policy", `privacy strategy '${id}': mode '${mode}' / onDetectorError '${onDetectorError}' needs a local model`);
  if (local && local.location !== "edge") throw new TandemError("invalid_policy", `privacy strategy '${id}': the local model '${local.id}' is not an edge model`);
  const needsProtection = remote.location === "cloud" || options.redactForEdge === true;

  const decision = (chosen: string, score: number, reason: string): Decision => ({ strategy: "privacy", name: id, signal: "pii-values", score, threshold: 0, chosen, escalated: false, reason });

  type Plan =
    | { kind: "pass"; decision: Decision }
    | { kind: "local"; decision: Decision }
    | { kind: "redact"; hidden: HiddenRequest; decision: Decision };

  async function plan(request: GenerateRequest, signal?: AbortSignal): Promise<Plan> {
    if (!needsProtection) return { kind: "pass", decision: decision(remote.id, 0, `remote '${remote.id}' runs on the edge; nothing to hide`) };
    let hidden: HiddenRequest;
    try {
      hidden = await withTimeout((s) => hideRequest(request, detector, { entities: options.entities, minScore: options.minScore, signal: s }), timeoutMs, signal);
    } catch (error) {
      signal?.throwIfAborted();
      const why = error instanceof Error ? error.message : String(error);
      if (onDetectorError === "local" && local) return { kind: "local", decision: decision(local.id, -1, `PII detector '${detector.name}' failed (${why}); failed closed to the local model`) };
      throw new TandemError("tandem_guard", `Request blocked: the privacy detector failed (${why}), so nothing was sent to '${remote.id}' (fail closed).`, { cause: error });
    }
    const n = hidden.vault.size;
    if (n === 0) return { kind: "pass", decision: decision(remote.id, 0, "no private data detected") };
    if (mode === "block") throw new TandemError("tandem_guard", `Request blocked: it contains private data (${describe(hidden.vault)}) and the policy does not let it leave the device.`);
    if (mode === "local-only") return { kind: "local", decision: decision(local!.id, n, `private data (${describe(hidden.vault)}) kept on the edge`) };
    return { kind: "redact", hidden, decision: decision(remote.id, n, `hid ${n} private value(s) (${describe(hidden.vault)}) behind placeholders`) };
  }

  return {
    id,
    location: remote.location === "cloud" || local?.location === "cloud" ? "cloud" : "edge",
    price: remote.price,

    async generate(request, signal) {
      const p = await plan(request, signal);
      if (p.kind === "pass") {
        const r = await remote.generate(request, signal);
        return { ...r, info: withDecision(r.info, p.decision) };
      }
      if (p.kind === "local") {
        const r = await local!.generate(request, signal);
        return { ...r, info: withDecision(r.info, p.decision) };
      }
      const r = await remote.generate(p.hidden.request, signal);
      const restored = restoreResult(r, p.hidden.vault);
      return { ...restored, info: withDecision(r.info, p.decision) };
    },

    async *stream(request, signal): AsyncIterable<StreamPart> {
      const p = await plan(request, signal);
      if (p.kind !== "redact") {
        const target = p.kind === "local" ? local! : remote;
        for await (const part of target.stream(request, signal)) {
          yield part.type === "finish" ? { type: "finish", result: { ...part.result, info: withDecision(part.result.info, p.decision) } } : part;
        }
        return;
      }
      const { vault } = p.hidden;
      const text = new StreamRestorer(vault);
      const args = new Map<number, StreamRestorer>();
      for await (const part of remote.stream(p.hidden.request, signal)) {
        if (part.type === "text") {
          const out = text.push(part.text);
          if (out || part.logprobs) yield { type: "text", text: out, ...(part.logprobs ? { logprobs: part.logprobs } : {}) };
        } else if (part.type === "tool-call") {
          const d = part.delta;
          let restorer = args.get(d.index);
          if (!restorer) args.set(d.index, (restorer = new StreamRestorer(vault, { json: true })));
          const fn = d.function ? { ...d.function, ...(d.function.arguments !== undefined ? { arguments: restorer.push(d.function.arguments) } : {}) } : undefined;
          yield { type: "tool-call", delta: { ...d, ...(fn ? { function: fn } : {}) } };
        } else {
          const rest = text.flush();
          if (rest) yield { type: "text", text: rest };
          for (const [index, restorer] of args) {
            const tail = restorer.flush();
            if (tail) yield { type: "tool-call", delta: { index, function: { arguments: tail } } };
          }
          const restored = restoreResult(part.result, vault);
          yield { type: "finish", result: { ...restored, info: withDecision(part.result.info, p.decision) } };
        }
      }
    },

    async close() {
      await remote.close?.();
      await local?.close?.();
    },
  };
}

/**
 * Hide-and-seek privacy for embeddings (HaS, Chen et al. 2023, applied to `/v1/embeddings`): before
 * a batch of texts leaves for a `cloud` embedding model, the edge PII detector scans every input —
 * through the very code of the chat `privacy` strategy ({@link hideRequest}: detector, entity and
 * score filters, {@link PlaceholderVault}, the detection time budget), not a copy of it — and
 *
 * - `redact` (default): private values are replaced by typed placeholders before the texts leave;
 *   the cloud embeds the placeholder form. Nothing is restored (a vector has no text to restore
 *   into), so the placeholders carry no nonce: `Call Alice` → `Call [PERSON_1]`, the same text for
 *   the same input on every request (vectors stay deterministic, cacheable and comparable).
 *   Numbering is per input, so an input's vector does not depend on the batch it came in.
 * - `local-only`: a batch with private data in any input is embedded — whole — by the `local`
 *   (edge) embedding model, so the vectors of one response always come from one model; a batch
 *   without private data goes to the remote. Beware: local and remote vectors live in different
 *   spaces (often of different lengths); `tandem.served_by` says which model embedded a response.
 * - `block`: a batch with private data is refused (`tandem_guard`, HTTP 400) before anything is sent.
 *
 * Fails closed: when the detector throws or exceeds `detectorTimeoutMs`, nothing is sent; the
 * request is refused (`tandem_guard`) or, with `onDetectorError: "local"`, embedded locally.
 * Every answer carries this layer's decision (strategy "privacy") with the `cloudView` — the inputs
 * in placeholder form — that traces of private names store instead of the private values.
 */
import { embeddingWorstCase, type EmbeddingModel, type EmbedRequest, type EmbedResult } from "../../core/embedding.js";
import { TandemError } from "../../core/errors.js";
import { maxWorstCase, type Decision } from "../../core/model.js";
import type { ChatMessage } from "../../core/wire.js";
import type { EntityType, PiiDetector } from "../../pii/types.js";
import { decision, withDecision } from "../info.js";
import { hideRequest, withTimeout, type PrivacyMode, type Unhideable } from "./index.js";

/** Options of {@link privacyEmbeddings}. The privacy strategy's options, over embedding models. */
export interface PrivacyEmbeddingsOptions {
  /** Name of this model (policy name). @default "privacy(<remote id>)" */
  id?: string;
  /** The edge PII detector (e.g. `createDetector()`). */
  detector: PiiDetector;
  /** The embedding model the texts are meant for; protection applies when it is a `cloud` model. */
  remote: EmbeddingModel;
  /** An edge embedding model: serves `local-only` batches and, optionally, batches whose detection failed. */
  local?: EmbeddingModel;
  /** @default "redact" */
  mode?: PrivacyMode;
  /** Only these entity types are hidden. @default all detected */
  entities?: readonly EntityType[];
  /** Spans scoring below this are ignored, in [0, 1]. @default 0 */
  minScore?: number;
  /** Budget for detecting one batch (all its inputs), ms; exceeding it fails closed. @default 2000 */
  detectorTimeoutMs?: number;
  /** On detector error or timeout: refuse (`block`) or embed with `local` (`local`). Never the cloud. @default "block" */
  onDetectorError?: "block" | "local";
  /** Also protect when `remote` is an edge model. @default false */
  redactForEdge?: boolean;
}

/** One input after hiding: its placeholder form (nonce-free), the number of private values, what could not be hidden. */
interface HiddenInput {
  text: string;
  values: number;
  types: Record<string, number>;
  unhideable: Unhideable[];
}

/**
 * Hides the private values of one text through {@link hideRequest} (a one-message request, so the
 * detection, filters and vault are the chat strategy's) and drops the vault's nonce from its
 * placeholders (see the module docs). Throws what the detector throws.
 */
export async function hideEmbeddingInput(text: string, detector: PiiDetector, options: { entities?: readonly EntityType[]; minScore?: number; signal?: AbortSignal } = {}): Promise<HiddenInput> {
  const hidden = await hideRequest({ messages: [{ role: "user", content: text }] }, detector, options);
  const content = hidden.request.messages[0].content;
  if (typeof content !== "string") throw new TandemError("internal_error", "privacy: a hidden input lost its text");
  // the nonce occurs nowhere in the original text (PlaceholderVault.forText): only placeholders change
  const plain = content.split(`_${hidden.vault.nonce}]`).join("]");
  return { text: plain, values: hidden.vault.size, types: hidden.vault.typeCounts(), unhideable: hidden.unhideable };
}

/**
 * Wraps an embedding model with hide-and-seek privacy (see module docs). Location: `cloud` when
 * `remote` or `local` is; price and `supportsDimensions`: `remote`'s; worst case: the larger of
 * `remote` on a 10 % longer prompt (placeholders) and `local`.
 *
 * Errors: `invalid_policy` (at construction) when `local-only` / `onDetectorError: "local"` lack
 * a `local` model or `local` is not an edge model; per call `tandem_guard` (400) as described, and
 * the wrapped models' errors unchanged.
 */
export function privacyEmbeddings(options: PrivacyEmbeddingsOptions): EmbeddingModel {
  const { remote, local, detector } = options;
  const id = options.id ?? `privacy(${remote.id})`;
  const mode = options.mode ?? "redact";
  const timeoutMs = options.detectorTimeoutMs ?? 2000;
  const onDetectorError = options.onDetectorError ?? "block";
  if ((mode === "local-only" || onDetectorError === "local") && !local) throw new TandemError("invalid_policy", `privacy embeddings '${id}': mode '${mode}' / onDetectorError '${onDetectorError}' needs a local embedding model`);
  if (local && local.location !== "edge") throw new TandemError("invalid_policy", `privacy embeddings '${id}': the local embedding model '${local.id}' is not an edge model`);

  const decide = (chosen: string, score: number, reason: string, shown?: string[]): Decision => ({
    ...decision({ strategy: "privacy", name: id, signal: "pii-values", score, chosen, reason }),
    ...(shown ? { cloudView: { messages: shown.map((content): ChatMessage => ({ role: "user", content })) } } : {}),
  });
  const served = (result: EmbedResult, d: Decision): EmbedResult => ({ ...result, info: withDecision(result.info, d) });

  async function embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    if (remote.location !== "cloud" && options.redactForEdge !== true) {
      return served(await remote.embed(request, signal), decide(remote.id, 0, `remote '${remote.id}' runs on the edge; nothing to hide`));
    }
    let hidden: HiddenInput[];
    try {
      hidden = await withTimeout(async (s) => {
        const out: HiddenInput[] = [];
        // every string that leaves: the inputs and the end-user id (`user`), last
        for (const text of [...request.inputs, ...(request.user !== undefined ? [request.user] : [])]) out.push(await hideEmbeddingInput(text, detector, { entities: options.entities, minScore: options.minScore, signal: s }));
        return out;
      }, timeoutMs, signal);
    } catch (error) {
      signal?.throwIfAborted();
      const why = error instanceof Error ? error.message : String(error);
      if (onDetectorError === "local" && local) return served(await local.embed(request, signal), decide(local.id, -1, `PII detector '${detector.name}' failed (${why}); failed closed to the local model`));
      throw new TandemError("tandem_guard", `Request blocked: the privacy detector failed (${why}), so nothing was sent to '${remote.id}' (fail closed).`, { cause: error });
    }
    const n = hidden.reduce((sum, h) => sum + h.values, 0);
    const stuck = hidden.flatMap((h, i) => h.unhideable.map((u) => ({ ...u, path: i < request.inputs.length ? `input[${i}]` : "user" })));
    const all = hidden.slice();
    const hiddenUser = request.user !== undefined ? hidden.pop()!.text : undefined;
    const shown = hidden.map((h) => h.text);
    if (n === 0 && stuck.length === 0) return served(await remote.embed(request, signal), decide(remote.id, 0, "no private data detected", request.inputs));
    const types: Record<string, number> = {};
    for (const h of all) for (const [t, k] of Object.entries(h.types)) types[t] = (types[t] ?? 0) + k;
    const described = Object.entries(types).map(([t, k]) => `${t}×${k}`).join(", ");
    const inInputs = hidden.filter((h) => h.values > 0).length;
    const found = [n ? `${n} private value(s) in ${inInputs} input(s): ${described}` : "", stuck.length ? `${stuck.length} string(s) that cannot be hidden, first at ${stuck[0].path}` : ""].filter(Boolean).join("; ");
    if (mode === "block") throw new TandemError("tandem_guard", `Request blocked: it contains private data (${found}) and the policy does not let it leave the device.`);
    if (mode === "local-only") return served(await local!.embed(request, signal), decide(local!.id, n + stuck.length, `private data (${found}) kept on the edge`, shown));
    if (stuck.length > 0) throw new TandemError("tandem_guard", `Request blocked: ${found}; nothing was sent to '${remote.id}' (fail closed).`);
    return served(await remote.embed({ ...request, inputs: shown, ...(hiddenUser !== undefined ? { user: hiddenUser } : {}) }, signal), decide(remote.id, n, `hid ${n} private value(s) (${described}) behind placeholders`, shown));
  }

  return {
    id,
    location: remote.location === "cloud" || local?.location === "cloud" ? "cloud" : "edge",
    price: remote.price,
    supportsDimensions: remote.supportsDimensions,
    embed,
    worstCase: (perCall) => {
      const longer = { ...perCall, promptTokens: Math.ceil(perCall.promptTokens * 1.1) };
      return maxWorstCase([embeddingWorstCase(remote, longer), ...(local ? [embeddingWorstCase(local, perCall)] : [])]);
    },
    /** Closes `remote`, then `local` (both idempotent). */
    async close() {
      await remote.close?.();
      await local?.close?.();
    },
  };
}

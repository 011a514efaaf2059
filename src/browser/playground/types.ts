/**
 * The contract between the playground page's script (main.ts) and whoever drives it (the browser
 * test, bench/browser.ts): `globalThis.tandemPlayground`. No DOM types, so the Node programs that
 * drive the page can import it.
 */
import type { CloudView, Decision, GenerateResult, WllamaModel } from "../index.js";

/** Strategies the page can run. */
export type PlaygroundStrategy = "route" | "cascade" | "edge" | "cloud";

/** One question to the playground. */
export interface AskOptions {
  text: string;
  /** @default "route" */
  strategy?: PlaygroundStrategy;
  /** Route: router-score threshold in [0, 1] (score > threshold → cloud); cascade: mean-logprob threshold in nats/token (below → cloud). */
  threshold?: number;
  /** The gateway model used as the cloud side. @default the page's selection */
  cloudModel?: string;
  /** Completion limit in tokens. @default 48 */
  maxTokens?: number;
}

/** What the page shows for one answer. */
export interface AskResult {
  text: string;
  servedBy: string;
  degraded: boolean;
  escalated: boolean;
  /** USD. */
  costUsd: number;
  /** USD the strong path alone would have cost. */
  strongOnlyCostUsd: number;
  decisions: Array<Pick<Decision, "strategy" | "name" | "chosen" | "escalated" | "reason" | "signal" | "score" | "threshold">>;
  calls: GenerateResult["info"]["calls"];
  /** What left the page for the cloud (placeholders), or null when nothing did. */
  cloudSaw: CloudView | null;
  /** ms from the call to its first streamed text (undefined when no text came). */
  ttftMs?: number;
  /** ms for the whole answer. */
  totalMs: number;
}

/** Timings of the page's start. */
export interface ReadyInfo {
  /** ms to fetch and parse the PII tagger JSON. */
  taggerMs: number;
  /** Bytes of the tagger JSON as received. */
  taggerBytes: number;
  /** ms to load stories260K in the page (download + WebAssembly start + model load). */
  modelLoadMs: number;
  /** Names served by the gateway (the cloud side's choices). */
  cloudModels: string[];
  /** The default cloud model. */
  cloudModel: string;
}

/** The guard's stage-one verdict on a text: harm probability in [0, 1] against the model file's threshold. */
export interface GuardVerdict {
  score: number;
  threshold: number;
  flagged: boolean;
}

/** What the page exposes as `globalThis.tandemPlayground`. */
export interface PlaygroundApi {
  /** Resolves when the tagger and stories260K are loaded. */
  ready: Promise<ReadyInfo>;
  /** One question through the chosen strategy (streamed); `onText` sees the text so far. */
  ask(options: AskOptions, onText?: (text: string) => void): Promise<AskResult>;
  /** The in-page model itself (stories260K, or the GGUF the user picked). */
  edge: WllamaModel;
  /** The guard's stage-one harm classifier, run in the page (models/guard.json fetched on first use). */
  guardScore(text: string): Promise<GuardVerdict>;
}

declare global {
  // eslint-disable-next-line no-var
  var tandemPlayground: PlaygroundApi;
}

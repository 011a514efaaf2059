/**
 * What a trace may hold of a request's content. Traces live on disk (SQLite and its WAL, or
 * PostgreSQL), feed `tandem traces`, `/dashboard/data` and exports: a request served through a
 * `privacy` strategy must not put there the private values the strategy kept off the cloud.
 *
 * For a *private* model (a served name whose strategy tree contains `privacy`), by default
 * (`privateContent: "redacted"`) a trace stores what the cloud saw: the conversation with
 * placeholders and the answer before restoration, taken from the privacy decision's `cloudView`;
 * when the request never reached the privacy layer or failed before it produced a view (blocked,
 * timed out, served by an edge model outside it), no content at all. Discarded answers (a
 * cascade's weak attempt, possibly outside the privacy layer) are dropped too. `"plain"` opts in
 * to storing plaintext; `"none"` stores no content for private models. Other models keep the
 * trace store's `storeContent` behaviour.
 */
import { withoutDiscarded, type Decision } from "../core/model.js";
import type { ChatMessage } from "../core/wire.js";

/** How traces of private models hold content: placeholders (default), plaintext (opt-in) or nothing. */
export type PrivateContentMode = "redacted" | "plain" | "none";

/** The content fields of a trace. */
export interface TraceContent {
  messages?: ChatMessage[];
  responseText?: string;
  decisions: Decision[];
}

/**
 * The content a trace stores. `isPrivate`: the requested model's tree contains a privacy layer
 * (a decision carrying a `cloudView` also makes it private). Decisions never keep `cloudView`.
 */
export function traceContent(input: TraceContent & { isPrivate: boolean; mode?: PrivateContentMode }): TraceContent {
  const view = input.decisions.find((d) => d.cloudView !== undefined)?.cloudView;
  const isPrivate = input.isPrivate || view !== undefined;
  const stripViews = input.decisions.map(({ cloudView: _, ...d }) => d);
  if (!isPrivate || input.mode === "plain") return { messages: input.messages, responseText: input.responseText, decisions: stripViews };
  const decisions = withoutDiscarded(input.decisions);
  if (input.mode === "none" || view === undefined) return { decisions };
  return { messages: view.messages, responseText: view.text, decisions };
}

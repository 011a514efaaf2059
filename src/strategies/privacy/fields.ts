/**
 * Every string of an outgoing request, enumerated by a walk over the request object rather than a
 * list of fields, so a field added to the wire types later is covered by default.
 *
 * Each string gets a rule:
 * - `text`: scanned by the PII detector and hidden behind placeholders (message content, text
 *   parts, refusals, names, tool descriptions and every string inside a tool's JSON-Schema
 *   `parameters`, stop sequences, `user`, tool-call ids, function names — and any string field
 *   nobody listed);
 * - `json`: a JSON document (tool-call `arguments`) whose string leaves are `text` and whose
 *   object keys are `key`; not-JSON arguments are `text`;
 * - `key`: an object key that is not a field of the wire format (JSON-Schema property names, keys
 *   inside tool-call arguments, unknown fields): scanned; private data there cannot be hidden
 *   without breaking the request's structure, so it blocks the request (fail closed);
 * - `structural`: a closed vocabulary of the wire format (`role`, a part's or tool's `type`,
 *   `tool_choice` modes): cannot be replaced without breaking the request, so it is scanned like
 *   a key and blocks the request if private data shows up there;
 * - `opaque`: a content part whose type is not `text` (images, audio, files): its bytes cannot be
 *   inspected, so by default it blocks the request; with `opaqueParts: "pass"` its strings are
 *   scanned as `text` except inline binary payloads (`data:` URLs, base64 `data` fields).
 */
import type { GenerateRequest } from "../../core/model.js";

/** How one string of a request is treated on its way off the device (see module docs). */
export type FieldRule = "text" | "json" | "key" | "structural" | "opaque";

/** A path into the request, e.g. `["messages", 2, "tool_calls", 0, "id"]`. */
export type FieldPath = ReadonlyArray<string | number>;

/** One string of the request: where it is, its rule, and (for values) a setter. */
export interface RequestString {
  path: FieldPath;
  /** The string (a value, or an object key for rule `key`). */
  value: string;
  rule: FieldRule;
  /** Replaces the value in the (cloned) request; absent for keys and structural strings. */
  set?: (value: string) => void;
}

/** Field names of the wire format (GenerateRequest and OpenAI chat messages); other keys are `key`. */
const WIRE_KEYS = new Set([
  "messages", "maxTokens", "temperature", "topP", "seed", "stop", "logprobs", "topLogprobs", "tools", "toolChoice", "user",
  "role", "content", "name", "tool_calls", "tool_call_id", "refusal", "id", "type", "function", "arguments", "text",
  "description", "parameters", "strict",
]);

/**
 * Renders a path for messages and traces: `messages[2].tool_calls[0].id`. Keys that are not wire
 * fields (JSON-Schema property names, argument keys) print as `*`: they may be the private value.
 */
export function formatPath(path: FieldPath): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${WIRE_KEYS.has(p) ? p : "*"}`)).join("");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True for `data:` URLs and long base64 runs: bytes a text detector cannot inspect. */
function isBinaryPayload(s: string): boolean {
  return /^data:/i.test(s) || (s.length >= 256 && /^[A-Za-z0-9+/=\r\n]+$/.test(s));
}

/**
 * Enumerates every string of `request` (which the caller has cloned: setters write into it) with
 * its rule. Iterative, so any nesting depth is safe. `opaqueParts: "pass"` scans the strings of
 * non-text content parts instead of reporting the part as `opaque`.
 */
export function requestStrings(request: GenerateRequest, options: { opaqueParts?: "block" | "pass" } = {}): RequestString[] {
  return walk({ node: request, path: [], context: "wire" }, options);
}

/**
 * Every string of a parsed JSON document (tool-call arguments) under `path`: string leaves are
 * `text`, object keys `key`. Setters write into `root`; the returned `root()` gives the (possibly
 * replaced) top value.
 */
export function jsonStrings(root: unknown, path: FieldPath): { strings: RequestString[]; root: () => unknown } {
  const box = { root };
  const strings = walk({ node: root, path: [...path], set: (v) => (box.root = v), context: "free" }, {});
  return { strings, root: () => box.root };
}

type Frame = { node: unknown; path: (string | number)[]; set?: (v: string) => void; context: "wire" | "free" };

function walk(start: Frame, options: { opaqueParts?: "block" | "pass" }): RequestString[] {
  const out: RequestString[] = [];
  const stack: Frame[] = [start];
  while (stack.length > 0) {
    const { node, path, set, context } = stack.pop()!;
    if (typeof node === "string") {
      out.push({ path, value: node, rule: ruleOf(path, context), set: set });
      continue;
    }
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push({ node: node[i], path: [...path, i], set: (v) => (node[i] = v), context });
      continue;
    }
    if (!isRecord(node)) continue;
    // A non-text content part: opaque unless the policy lets parts pass (then its strings are text).
    if (context === "wire" && isContentPart(path) && node.type !== "text") {
      if (options.opaqueParts !== "pass") {
        out.push({ path, value: String(node.type), rule: "opaque" });
        continue;
      }
      for (const [k, v] of Object.entries(node)) {
        if (k === "type") continue;
        pushChild(stack, node, k, v, path, "free", (s) => !isBinaryPayload(s));
      }
      continue;
    }
    const freeHere = context === "free" || isParameters(path);
    // `parameters` itself is a wire key; the keys inside it are free-form (JSON-Schema names).
    for (const [k, v] of Object.entries(node)) {
      const childContext = freeHere ? "free" : "wire";
      if (freeHere || !WIRE_KEYS.has(k)) out.push({ path: [...path, k], value: k, rule: "key" });
      pushChild(stack, node, k, v, path, childContext);
    }
  }
  return out;
}

function pushChild(
  stack: Frame[],
  node: Record<string, unknown>,
  k: string,
  v: unknown,
  path: (string | number)[],
  context: "wire" | "free",
  scan: (s: string) => boolean = () => true,
) {
  if (typeof v === "string" && !scan(v)) return;
  stack.push({ node: v, path: [...path, k], set: (s) => (node[k] = s), context });
}

/** `messages[i].content[j]`. */
function isContentPart(path: FieldPath): boolean {
  return path.length === 4 && path[0] === "messages" && path[2] === "content" && typeof path[3] === "number";
}

/** `tools[i].function.parameters`: a JSON Schema, free-form. */
function isParameters(path: FieldPath): boolean {
  return path.length === 4 && path[0] === "tools" && path[2] === "function" && path[3] === "parameters";
}

function ruleOf(path: FieldPath, context: "wire" | "free"): FieldRule {
  if (context === "free") return "text";
  const last = path[path.length - 1];
  const n = path.length;
  if (path[0] === "messages") {
    if (n === 3 && last === "role") return "structural";
    if (n === 5 && path[2] === "content" && last === "type") return "structural";
    if (n === 5 && path[2] === "tool_calls" && last === "type") return "structural";
    if (n === 6 && path[2] === "tool_calls" && path[4] === "function" && last === "arguments") return "json";
  }
  if (path[0] === "tools" && n === 3 && last === "type") return "structural";
  if (path[0] === "toolChoice" && (n === 1 || (n === 2 && last === "type"))) return "structural";
  return "text";
}

/**
 * Optional SLM extraction pass: a capable local model (GGUF through node-llama-cpp) lists the
 * private values of a text as JSON, its output constrained by a JSON-schema grammar
 * (`llama.createGrammarForJsonSchema`), so it cannot produce anything but
 * `{ "entities": [{ "type": <EntityType>, "value": <string> }] }`. Values are mapped back to
 * spans by exact search in the text; values not in the text are dropped (hallucinations).
 *
 * Tandem's bundled tiny models are not capable of this task; the path is wired and tested for
 * failing closed (a truncated or invalid answer throws, the privacy strategy then blocks).
 */
import { jsonCompletion } from "../providers/llama-cpp/json-completion.js";
import { ENTITY_TYPES, type EntityType, type PiiDetector, type PiiSpan } from "./types.js";

/** Options of {@link slmDetector}. */
export interface SlmDetectorOptions {
  /** Path of a local GGUF model. */
  modelPath: string;
  /** CPU threads (always explicit; 1–2 on small machines). @default 2 */
  threads?: number;
  /** Context size in tokens. @default 2048 */
  contextSize?: number;
  /** Completion budget in tokens; a JSON answer cut by it makes `detect` throw. @default 256 */
  maxTokens?: number;
  /** Entity types the model is asked for. @default all */
  entities?: readonly EntityType[];
  /** Score given to SLM spans, in [0, 1]. @default 0.6 */
  score?: number;
}

/** The extraction prompt (instructions + text). */
export function slmExtractionPrompt(text: string, entities: readonly EntityType[]): string {
  return [
    "Extract every piece of private information from the text below.",
    `Allowed types: ${entities.join(", ")}.`,
    'Answer with JSON: {"entities":[{"type":"PERSON","value":"exact text"}]}. Copy values exactly as written. Use an empty list when there is none.',
    "",
    "Text:",
    text,
    "",
    "JSON:",
  ].join("\n");
}

/** All occurrences of `value` in `text` as spans. */
function locate(text: string, value: string, type: EntityType, score: number): PiiSpan[] {
  const out: PiiSpan[] = [];
  if (value.trim().length < 2) return out;
  for (let i = text.indexOf(value); i >= 0; i = text.indexOf(value, i + value.length)) out.push({ start: i, end: i + value.length, type, text: value, score, source: "slm" });
  return out;
}

/**
 * Creates the SLM detector (the model loads lazily on first use). Calls are serialized on one
 * context sequence. `detect` throws when the model cannot load, when the answer is not valid
 * JSON of the schema (e.g. cut by `maxTokens`), or when `signal` aborts.
 */
export function slmDetector(options: SlmDetectorOptions): PiiDetector & { close(): Promise<void> } {
  const entities = options.entities ?? ENTITY_TYPES;
  const score = options.score ?? 0.6;
  const schema = {
    type: "object",
    properties: {
      entities: {
        type: "array",
        items: { type: "object", properties: { type: { enum: [...entities] }, value: { type: "string" } } },
      },
    },
  } as const;
  const completer = jsonCompletion<{ entities?: Array<{ type: EntityType; value: string }> }>({
    modelPath: options.modelPath,
    schema,
    threads: options.threads,
    contextSize: options.contextSize,
    what: "SLM PII extraction",
  });
  return {
    name: "slm",
    async detect(text, signal) {
      const parsed = await completer.complete(slmExtractionPrompt(text, entities), { maxTokens: options.maxTokens ?? 256, signal });
      return (parsed.entities ?? []).flatMap((e) => locate(text, e.value, e.type, score));
    },
    close: () => completer.close(),
  };
}

/**
 * The `format` pipeline stage — structured output with a small-model repairer: when a request
 * asks for JSON of a schema (OpenAI's `response_format: { type: "json_schema", json_schema: {
 * schema } }`, or `{ type: "json_object" }`), the answer is validated against the schema; an
 * invalid one is repaired by a small model under a JSON-schema grammar (a forced tool call whose
 * parameters are the schema — the llama-cpp provider generates it under node-llama-cpp's
 * `createGrammarForJsonSchema`, so the repair is well-formed JSON of the schema's shape even from
 * a nonsense model), and only when the repair fails too is the (strong) model asked again, with
 * its invalid answer and the validation errors. The pattern of grammar-constrained decoding for
 * structured output (llama.cpp GBNF, Outlines — Willard & Louf 2023, "Efficient Guided Generation
 * for Large Language Models") applied as a post-processor, as the surveys' "pipeline" stage
 * ("the SLM post-processes: format, check").
 *
 * Validation: zod 4's `z.fromJSONSchema` (draft 2020-12 / 7 / 4 keywords; zod marks it
 * semi-experimental), compiled once per schema. The grammar enforces types, enums, required
 * properties and string lengths but not numeric ranges or patterns, so the repaired value is
 * validated again before it is served.
 *
 * Where the schema comes from: the request's `responseFormat` (see {@link ResponseFormatRequest};
 * the library passes it on the request; the gateway's chat mapping must forward
 * `response_format` into it), else the stage's own `schema` option (a policy that pins one
 * schema to a served name). Without either, the stage passes the request through untouched.
 */
import { z } from "zod";
import { TandemError, toTandemError, withCalls } from "../../core/errors.js";
import { wrapModel, type ModelMiddleware } from "../../core/middleware.js";
import { combinedLocation, sumWorstCases, worstCaseOf, type GenerateRequest, type GenerateResult, type Model, type ModelCall, type StreamPart } from "../../core/model.js";
import { decision, ownInfo } from "../info.js";

/** OpenAI `response_format` (chat completions); defined with the request in core. */
export type { ResponseFormat } from "../../core/wire.js";

/** A request that may carry a `response_format` (now a field of {@link GenerateRequest} itself). */
export type ResponseFormatRequest = GenerateRequest;

/** The JSON schema a request asks for: the `json_schema`'s schema, `{ type: "object" }` for `json_object`, else undefined. */
export function requestedSchema(request: GenerateRequest): Record<string, unknown> | undefined {
  const f = request.responseFormat;
  if (f?.type === "json_schema") return f.json_schema?.schema ?? {};
  if (f?.type === "json_object") return { type: "object" };
  return undefined;
}

/** Result of validating one answer. */
export type Validation = { valid: true; value: unknown; json: string } | { valid: false; errors: string[] };

/** A compiled validator of one schema. */
export type SchemaValidator = (value: unknown) => string[];

const compiled = new Map<string, SchemaValidator>();

/**
 * Compiles a JSON schema into a validator returning the violations (`path: message`, [] when
 * valid), cached by the schema's JSON (at most 256 schemas). Throws `TandemError("invalid_request",
 * param "response_format")` for a schema zod cannot read.
 */
export function schemaValidator(schema: Record<string, unknown>): SchemaValidator {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (v) return v;
  let zodSchema: z.ZodType;
  try {
    zodSchema = z.fromJSONSchema(schema as never);
  } catch (error) {
    throw new TandemError("invalid_request", `response_format schema is not a JSON schema Tandem can validate: ${(error as Error).message}`, { param: "response_format", cause: error });
  }
  v = (value) => {
    const r = zodSchema.safeParse(value);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
  };
  if (compiled.size >= 256) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, v);
  return v;
}

/** Parses and validates an answer: the whole text must be JSON (surrounding whitespace allowed). */
export function validateAnswer(text: string, validator: SchemaValidator): Validation {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { valid: false, errors: [`not JSON: ${(error as Error).message}`] };
  }
  const errors = validator(value);
  return errors.length ? { valid: false, errors } : { valid: true, value, json: JSON.stringify(value) };
}

/** The inside of the first fenced code block (```json … ```), if the text has one. */
export function fencedJson(text: string): string | undefined {
  return /```(?:json)?\s*\n?([\s\S]*?)```/i.exec(text)?.[1]?.trim();
}

/** How the stage ended: the first answer was valid (or its fenced block), repaired, re-asked, or still invalid. */
export type FormatOutcome = "valid" | "extracted" | "repaired" | "re-asked" | "invalid";

/** Options of {@link formatMiddleware}. */
export interface FormatOptions {
  /** The small (local) model that repairs an invalid answer under the schema's grammar. Without it, an invalid answer goes straight to the re-ask. */
  repairer?: Model;
  /** Schema used when the request carries no `responseFormat`. */
  schema?: Record<string, unknown>;
  /** Ask the wrapped model again when the repair fails (or there is no repairer). Default true. */
  reask?: boolean;
  /**
   * Add a system message with the schema to what the wrapped model receives (Tandem's providers
   * do not forward `response_format` upstream, so the model is told in words). Default true.
   */
  instruct?: boolean;
  /** Completion limit of the repair, tokens. Default 256. */
  repairMaxTokens?: number;
  /** When every attempt is invalid: "return" the last answer (default; the decision says "invalid") or "error" (`upstream_error` 502, carrying the calls made). */
  onInvalid?: "return" | "error";
  /** Id recorded in the decision. Default `format(<wrapped model>)`. */
  id?: string;
}

const schemaText = (schema: Record<string, unknown>) => JSON.stringify(schema);

/** Runs one stream to its finish part and returns the result. */
async function collect(parts: AsyncIterable<StreamPart>): Promise<GenerateResult> {
  let result: GenerateResult | undefined;
  for await (const part of parts) if (part.type === "finish") result = part.result;
  if (!result) throw new TandemError("internal_error", "stream ended without a result");
  return result;
}

/**
 * Structured output as a {@link ModelMiddleware} (see the module comment). Per request with a
 * schema: the wrapped model answers (told the schema unless `instruct: false`); a valid answer
 * is served as it is; a fenced ```json block that validates is served unwrapped ("extracted");
 * else the repairer's grammar-constrained JSON, validated ("repaired"); else the wrapped model
 * asked again with its answer and the errors ("re-asked"); else the last answer ("invalid", or an
 * error with `onInvalid: "error"`). The answer's info lists every call in order (roles "repairer"
 * and "re-ask"), `servedBy` the model whose text is served, `strongOnlyCostUsd` the wrapped
 * model's calls' reference cost (a strong-only system would re-ask too, but would not repair), and
 * a decision `{ strategy: "pipeline", signal: "format:<outcome>", score: violations of the first
 * answer, escalated: re-asked }` with an `outcome` field. Streams with a schema are buffered: the
 * text is validated before any of it is sent, then sent as one part. Answers that are tool calls
 * pass through.
 * Errors: `invalid_request` (param response_format) for a schema zod cannot read; the wrapped
 * model's errors propagate (a re-ask's error carries the earlier calls); a failing repairer counts
 * as a failed repair.
 */
export function formatMiddleware(options: FormatOptions): ModelMiddleware {
  async function run(request: GenerateRequest, inner: Model, call: (r: GenerateRequest) => Promise<GenerateResult>, signal?: AbortSignal): Promise<GenerateResult | undefined> {
    const schema = requestedSchema(request) ?? options.schema;
    if (!schema) return undefined;
    const validator = schemaValidator(schema);
    const name = options.id ?? `format(${inner.id})`;
    const sent: GenerateRequest =
      options.instruct === false
        ? request
        : { ...request, messages: [{ role: "system", content: `Answer only with a JSON value that matches this JSON Schema, without any other text:\n${schemaText(schema)}` }, ...request.messages] };
    const first = await call(sent);
    if (first.toolCalls?.length && !first.text) return first;
    const calls: ModelCall[] = [...first.info.calls];
    let strongOnly = first.info.strongOnlyCostUsd;
    const check = validateAnswer(first.text, validator);
    const finish = (served: GenerateResult, text: string, outcome: FormatOutcome, reason: string): GenerateResult => {
      const decided = { ...decision({ strategy: "pipeline", name, signal: `format:${outcome}`, score: check.valid ? 0 : check.errors.length, chosen: served.info.servedBy, escalated: outcome === "re-asked", reason }), outcome };
      const info = ownInfo({ servedBy: served.info.servedBy, calls, decisions: [decided, ...first.info.decisions], strongOnlyCostUsd: strongOnly, escalated: first.info.escalated || decided.escalated, degraded: first.info.degraded });
      return { ...served, text, finishReason: outcome === "invalid" ? served.finishReason : "stop", info };
    };
    if (check.valid) return finish(first, first.text, "valid", "the answer matches the schema");
    const fenced = fencedJson(first.text);
    if (fenced !== undefined) {
      const inside = validateAnswer(fenced, validator);
      if (inside.valid) return finish(first, inside.json, "extracted", "the answer's fenced JSON block matches the schema");
    }
    const errors = check.errors.slice(0, 8).join("; ");
    let repairNote = "no repairer";
    if (options.repairer) {
      try {
        const repaired = await options.repairer.generate(
          {
            messages: [
              { role: "system", content: "Rewrite the answer as JSON that matches the schema. Keep its content." },
              { role: "user", content: `Schema: ${schemaText(schema)}\nErrors: ${errors}\nAnswer:\n${first.text}` },
            ],
            temperature: 0,
            maxTokens: options.repairMaxTokens ?? 256,
            tools: [{ type: "function", function: { name: "respond", description: "The answer as JSON of the schema", parameters: schema } }],
            toolChoice: { type: "function", function: { name: "respond" } },
          },
          signal,
        );
        calls.push(...repaired.info.calls.map((c) => ({ ...c, role: "repairer" })));
        const json = repaired.toolCalls?.[0]?.function.arguments ?? repaired.text;
        const again = validateAnswer(json, validator);
        if (again.valid) return finish({ ...repaired, toolCalls: undefined }, again.json, "repaired", `invalid answer (${errors}) repaired by ${repaired.info.servedBy} under the schema grammar`);
        repairNote = `repair invalid (${again.errors.slice(0, 4).join("; ")})`;
      } catch (error) {
        if (signal?.aborted) throw withCalls(toTandemError(error), calls);
        calls.push(...(TandemError.isInstance(error) ? (error.calls ?? []) : []).map((c) => ({ ...c, role: "repairer" })));
        repairNote = `repair failed (${(error as Error).message})`;
      }
    }
    let last = first;
    let lastErrors = errors;
    if (options.reask !== false) {
      const second = await call({
        ...sent,
        messages: [...sent.messages, { role: "assistant", content: first.text }, { role: "user", content: `That answer does not match the JSON schema (${errors}). Answer again with only the corrected JSON.` }],
      }).catch((error: unknown) => {
        throw withCalls(toTandemError(error), calls);
      });
      calls.push(...second.info.calls.map((c) => ({ ...c, role: c.role ?? "re-ask" })));
      strongOnly += second.info.strongOnlyCostUsd;
      const again = validateAnswer(second.text, validator);
      if (again.valid) return finish(second, again.json, "re-asked", `invalid answer (${errors}); ${repairNote}; the model asked again answered valid JSON`);
      last = second;
      lastErrors = again.errors.slice(0, 8).join("; ");
    }
    const reason = `still invalid (${lastErrors}); ${repairNote}${options.reask === false ? "; re-ask disabled" : "; re-ask invalid"}`;
    if (options.onInvalid === "error") throw new TandemError("upstream_error", `The answer does not match the requested JSON schema: ${reason}`, { calls });
    return finish(last, last.text, "invalid", reason);
  }

  return {
    async wrapGenerate({ doGenerate, request, model, signal }) {
      return (await run(request, model, (r) => doGenerate(r), signal)) ?? (await doGenerate());
    },
    async *wrapStream({ doStream, request, model, signal }) {
      if (!requestedSchema(request) && !options.schema) {
        yield* doStream();
        return;
      }
      const result = (await run(request, model, (r) => collect(doStream(r)), signal))!;
      if (result.text) yield { type: "text", text: result.text };
      for (const [index, c] of (result.toolCalls ?? []).entries()) yield { type: "tool-call", delta: { index, id: c.id, type: "function", function: { name: c.function.name, arguments: c.function.arguments } } };
      yield { type: "finish", result };
    },
  };
}

/** Options of {@link structuredOutput}. */
export interface StructuredOutputOptions extends FormatOptions {
  /** The model that answers (the strong model). */
  model: Model;
}

/**
 * Structured output as a pipeline stage: `wrapModel` over `model` with {@link formatMiddleware}.
 * Location: `cloud` if `model` or the repairer is; price: `model`'s; worst case: two calls of
 * `model` (answer and re-ask, the re-ask also reading the first answer) plus the repairer's.
 */
export function structuredOutput(options: StructuredOutputOptions): Model {
  const { model: inner, ...rest } = options;
  const id = options.id ?? `format(${inner.id})`;
  return wrapModel({
    model: inner,
    middleware: formatMiddleware({ ...rest, id }),
    id,
    location: combinedLocation([inner, ...(options.repairer ? [options.repairer] : [])]),
    worstCase: (perCall) =>
      sumWorstCases([
        worstCaseOf(inner, perCall),
        ...(options.repairer ? [worstCaseOf(options.repairer, { promptTokens: perCall.promptTokens + perCall.completionTokens, completionTokens: options.repairMaxTokens ?? 256 })] : []),
        ...(options.reask !== false ? [worstCaseOf(inner, { promptTokens: perCall.promptTokens + perCall.completionTokens, completionTokens: perCall.completionTokens })] : []),
      ]),
  });
}

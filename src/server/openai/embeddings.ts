/**
 * The OpenAI embeddings mapping of the gateway (`POST /v1/embeddings`): the request schema
 * (`model`, `input` as a string or an array of at most {@link MAX_EMBEDDING_INPUTS} non-empty
 * strings, `encoding_format` `float` | `base64`, `dimensions`, `user`; unknown fields are ignored,
 * as for chat), the response body in OpenAI's shape (`object: "list"`, `data[i] = { object:
 * "embedding", index, embedding }`, `model`, `usage: { prompt_tokens, total_tokens }`) plus the
 * `tandem` field, and the OpenAI error shape.
 *
 * `encoding_format: "base64"` — what the official `openai` SDK asks for by default, decoding it
 * itself — carries each vector as its float32 values, little-endian, base64-encoded. Token-array
 * inputs (`[[1, 2, 3]]`) are refused with 400: their ids belong to one tokenizer, and the privacy
 * layer cannot read them.
 *
 * Served through the protocol-neutral pipeline as a non-generation route ({@link RequestRunner}):
 * admission against the caller's key (budget and token limits reserve the prompt at the model's
 * input price), the request timeout and client disconnect, charging, the trace (the inputs as
 * user messages; for names behind `kind: privacy`, only their placeholder form), metrics and the
 * `x-tandem-*` headers are the pipeline's, as for chat.
 */
import { z } from "zod";
import { embeddingWorstCase, vectorToBase64, type EmbeddingModel } from "../../core/embedding.js";
import { TandemError } from "../../core/errors.js";
import type { GenerateResult, Model } from "../../core/model.js";
import type { ChatMessage } from "../../core/wire.js";
import { invalidRequest, type Answer, type Intake, type RequestRunner, type WireProtocol } from "../pipeline.js";
import type { TandemField } from "../projection.js";

/** Most inputs in one request (OpenAI's limit). */
export const MAX_EMBEDDING_INPUTS = 2048;

/** Schema of `POST /v1/embeddings` bodies (`input` is checked by {@link embeddingInputs}). */
export const embeddingRequestSchema = z.object({
  model: z.string().min(1),
  input: z.unknown(),
  encoding_format: z.enum(["float", "base64"]).nullable().optional(),
  dimensions: z.number().int().min(1).nullable().optional(),
  user: z.string().optional(),
});

/** A validated embeddings body. */
export type EmbeddingRequestBody = z.infer<typeof embeddingRequestSchema>;

/** An embeddings request as the pipeline carries it. */
export interface EmbeddingsIntake extends Intake {
  body: EmbeddingRequestBody;
  /** The texts to embed, in order. */
  inputs: string[];
  encodingFormat: "float" | "base64";
}

/** The pipeline result of an embeddings request: a `GenerateResult` (for charge and trace) carrying the vectors. */
export interface EmbeddingsResult extends GenerateResult {
  vectors: Float32Array[];
}

/** One item of the response's `data`. */
export interface EmbeddingObject {
  object: "embedding";
  index: number;
  /** Floats, or the base64 of the little-endian float32 values. */
  embedding: number[] | string;
}

/** The response body. */
export interface EmbeddingsResponse {
  object: "list";
  data: EmbeddingObject[];
  /** The requested served name. */
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
  tandem: TandemField;
}

const tokenArrays = () => new TandemError("invalid_request", "Invalid request: 'input': token-array inputs are not supported by this gateway; send the text as a string or an array of strings", { param: "input" });

/**
 * The texts of `input`: a non-empty string, or an array of 1..{@link MAX_EMBEDDING_INPUTS}
 * non-empty strings. Throws `TandemError("invalid_request")` naming the field (`input`,
 * `input.<i>`): empty input, too many inputs, token arrays, other types.
 */
export function embeddingInputs(input: unknown): string[] {
  if (typeof input === "string") {
    if (input.length === 0) throw new TandemError("invalid_request", "Invalid request: 'input' must not be an empty string", { param: "input" });
    return [input];
  }
  if (typeof input === "number") throw tokenArrays();
  if (!Array.isArray(input)) throw new TandemError("invalid_request", "Invalid request: 'input' must be a string or an array of strings", { param: "input" });
  if (input.length === 0) throw new TandemError("invalid_request", "Invalid request: 'input' must contain at least one string", { param: "input" });
  if (input.length > MAX_EMBEDDING_INPUTS) throw new TandemError("invalid_request", `Invalid request: 'input' has ${input.length} items; at most ${MAX_EMBEDDING_INPUTS} inputs per request`, { param: "input" });
  return input.map((item, i) => {
    if (typeof item === "string") {
      if (item.length === 0) throw new TandemError("invalid_request", `Invalid request: 'input.${i}' must not be an empty string`, { param: `input.${i}` });
      return item;
    }
    if (typeof item === "number" || Array.isArray(item)) throw tokenArrays();
    throw new TandemError("invalid_request", `Invalid request: 'input.${i}' must be a string`, { param: `input.${i}` });
  });
}

/** Validates a parsed body (depth already checked by the pipeline). Throws `invalid_request` naming the bad field. */
export function parseEmbeddingRequest(json: unknown): EmbeddingsIntake {
  const result = embeddingRequestSchema.safeParse(json);
  if (!result.success) throw invalidRequest(result.error.issues[0]);
  const body = result.data;
  const inputs = embeddingInputs(body.input);
  const messages: ChatMessage[] = inputs.map((content) => ({ role: "user", content }));
  return { model: body.model, stream: false, request: { messages, user: body.user }, body, inputs, encodingFormat: body.encoding_format ?? "float" };
}

/** What a trace records as the "answer" of an embeddings request (no vector values, nothing private). */
export function embeddingsSummary(vectors: readonly Float32Array[]): string {
  return `${vectors.length} embedding(s) of ${vectors[0]?.length ?? 0} dimensions`;
}

/** The response body of an answered request. */
export function embeddingsBody(answer: Answer<EmbeddingsIntake>): EmbeddingsResponse {
  const { intake, result, projection } = answer;
  const vectors = (result as EmbeddingsResult).vectors;
  const base64 = intake.encodingFormat === "base64";
  return {
    object: "list",
    data: vectors.map((v, index) => ({ object: "embedding", index, embedding: base64 ? vectorToBase64(v) : Array.from(v) })),
    model: intake.model,
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens },
    tandem: projection.field,
  };
}

/**
 * The OpenAI embeddings protocol over `models` (the policy's `embeddings`, by served name), for
 * {@link Pipeline.route}: `app.post("/v1/embeddings", ...pipeline.route(openAIEmbeddings(models)))`.
 * Trace ids start with `embd-`.
 */
export function openAIEmbeddings(models: ReadonlyMap<string, EmbeddingModel>): WireProtocol<EmbeddingsIntake> {
  const served = new Map<string, Pick<Model, "id" | "location" | "price" | "worstCase">>(
    [...models].map(([name, m]) => [name, { id: m.id, location: m.location, price: m.price, worstCase: (perCall) => embeddingWorstCase(m, perCall) }]),
  );
  const runner: RequestRunner<EmbeddingsIntake> = {
    models: served,
    async run(intake, signal): Promise<EmbeddingsResult> {
      const model = models.get(intake.model);
      if (!model) throw new TandemError("model_not_found", `The model '${intake.model}' does not exist`, { param: "model" });
      const dimensions = intake.body.dimensions ?? undefined;
      const out = await model.embed({ inputs: intake.inputs, dimensions, user: intake.body.user }, signal);
      if (out.vectors.length !== intake.inputs.length) throw new TandemError("upstream_error", `Embedding model '${model.id}' returned ${out.vectors.length} vectors for ${intake.inputs.length} inputs`);
      return { text: embeddingsSummary(out.vectors), finishReason: "stop", usage: { promptTokens: out.usage.promptTokens, completionTokens: 0 }, info: out.info, vectors: out.vectors };
    },
  };
  return {
    parse: parseEmbeddingRequest,
    errorBody: (error: TandemError) => error.toJSON(),
    completion: embeddingsBody,
    encoder() {
      throw new TandemError("internal_error", "embeddings are never streamed");
    },
    runner,
    traceIdPrefix: "embd-",
  };
}

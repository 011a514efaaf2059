/**
 * `POST /v1/messages/count_tokens`: the input tokens of a Messages request as this gateway maps
 * it (tokens.ts: exact for OpenAI-tokenized models, an estimate for every other model). The body
 * is validated like `POST /v1/messages` (`max_tokens` not required); the model must be served
 * (404) and allowed for the caller's key (403). Nothing is generated, charged or traced.
 * Errors are thrown as TandemErrors: the app's error handler answers them in Anthropic's shape.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { TandemError } from "../../core/errors.js";
import type { Model } from "../../core/model.js";
import { checkJsonDepth, modelNotFound, type GatewayEnv } from "../pipeline.js";
import { countTokensRequestSchema, parseBody, toChatMessages, toChatTools } from "./messages.js";
import { countRequestTokens, counterFor, encodingFor } from "./tokens.js";

/** Options of {@link countTokensRoute}. */
export interface CountTokensOptions {
  models: ReadonlyMap<string, Model>;
  /** Largest accepted body in bytes (413 beyond). Default 1 MiB. */
  maxBodyBytes?: number;
}

/** The handlers of `POST /v1/messages/count_tokens`: answers `{ input_tokens }` (tokens). */
export function countTokensRoute(options: CountTokensOptions): [MiddlewareHandler<GatewayEnv>, (c: Context<GatewayEnv>) => Promise<Response>] {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  return [
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new TandemError("payload_too_large", `Request body exceeds ${maxBodyBytes} bytes`);
      },
    }),
    async (c) => {
      let json: unknown;
      try {
        json = JSON.parse(await c.req.text());
      } catch (error) {
        throw new TandemError("invalid_json", `Request body is not valid JSON: ${(error as Error).message}`);
      }
      checkJsonDepth(json);
      const body = parseBody(countTokensRequestSchema, json);
      const model = options.models.get(body.model);
      if (!model) throw modelNotFound(body.model);
      const spec = c.get("apiKey");
      if (spec?.models && !spec.models.includes(body.model)) throw new TandemError("permission_denied", `Key '${spec.name}' may not use model '${body.model}'`, { param: "model" });
      const count = counterFor(encodingFor(body.model, model.id));
      return c.json({ input_tokens: countRequestTokens({ messages: toChatMessages(body), tools: toChatTools(body.tools) }, count) });
    },
  ];
}

/**
 * wrapModel over a real local model (stories260K, greedy): the order in which layers compose,
 * request transforms reaching the model, wrapGenerate / wrapStream, error propagation, close and
 * identity overrides; and the built-in middleware (privacy, guard) composed over one model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, modelPath } from "../../test/helpers.js";
import { llamaCpp } from "../providers/llama-cpp/index.js";
import { createDetector } from "../pii/detector.js";
import { guardMiddleware } from "../strategies/guard/index.js";
import { decision, withDecision } from "../strategies/info.js";
import { privacyMiddleware } from "../strategies/privacy/index.js";
import { TandemError } from "./errors.js";
import { wrapModel, type ModelMiddleware } from "./middleware.js";
import { worstCaseOf, type GenerateRequest, type Model, type StreamPart } from "./model.js";

let model: Model;
beforeAll(() => {
  model = llamaCpp({ id: "tiny", path: modelPath("stories260K.gguf"), threads: 1, contextSize: 256 });
});
afterAll(async () => {
  await model.close?.();
});

const greedy = (content: string, maxTokens = 12): GenerateRequest => ({ ...ask(content, maxTokens), temperature: 0 });

async function collect(parts: AsyncIterable<StreamPart>) {
  const seen: StreamPart[] = [];
  for await (const p of parts) seen.push(p);
  const text = seen.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
  const finish = seen.at(-1);
  if (finish?.type !== "finish") throw new Error("stream did not end with finish");
  return { seen, text, result: finish.result };
}

/** A layer that logs each hook it runs (and the maxTokens it saw) under `name`. */
function logging(name: string, log: string[]): ModelMiddleware {
  return {
    transformRequest: ({ request }) => {
      log.push(`${name}.transform(${request.maxTokens})`);
      return { ...request, maxTokens: (request.maxTokens ?? 0) - 1 };
    },
    async wrapGenerate({ doGenerate, request }) {
      log.push(`${name}.before(${request.maxTokens})`);
      const r = await doGenerate();
      log.push(`${name}.after`);
      return { ...r, info: withDecision(r.info, decision({ strategy: "test", name, signal: "none", score: 0, chosen: r.info.servedBy, reason: name })) };
    },
    async *wrapStream({ doStream, request }) {
      log.push(`${name}.stream(${request.maxTokens})`);
      for await (const part of doStream()) {
        if (part.type === "finish") log.push(`${name}.finish`);
        yield part;
      }
    },
  };
}

describe("wrapModel", () => {
  it("composes [a, b] as a(b(model)): a sees the request first and the result last, generate and stream", async () => {
    const log: string[] = [];
    const wrapped = wrapModel({ model, middleware: [logging("a", log), logging("b", log)] });
    const r = await wrapped.generate(greedy("Once upon a time", 12));
    expect(log).toEqual(["a.transform(12)", "a.before(11)", "b.transform(11)", "b.before(10)", "b.after", "a.after"]);
    // the model received b's transform of a's transform: 10 tokens at most
    expect(r.usage.completionTokens).toBeLessThanOrEqual(10);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    // decisions: outermost first
    expect(r.info.decisions.map((d) => d.name)).toEqual(["a", "b"]);
    expect(r.info.servedBy).toBe("tiny");

    log.length = 0;
    const s = await collect(wrapped.stream(greedy("Once upon a time", 12)));
    expect(log).toEqual(["a.transform(12)", "a.stream(11)", "b.transform(11)", "b.stream(10)", "b.finish", "a.finish"]);
    expect(s.text).toBe(r.text); // same greedy answer streamed
    expect(s.result.usage.completionTokens).toBe(r.usage.completionTokens);
  });

  it("without hooks it is the model itself; a lone transformRequest applies to generate and stream", async () => {
    const plain = await model.generate(greedy("The little dog", 10));
    const identity = await wrapModel({ model, middleware: [] }).generate(greedy("The little dog", 10));
    expect(identity.text).toBe(plain.text);
    expect(identity.info).toEqual({ ...plain.info, calls: [{ ...plain.info.calls[0], latencyMs: identity.info.calls[0].latencyMs }] });

    const short = wrapModel({ model, middleware: { transformRequest: ({ request }) => ({ ...request, maxTokens: 2 }) } });
    expect((await short.generate(greedy("The little dog", 10))).usage.completionTokens).toBeLessThanOrEqual(2);
    expect((await collect(short.stream(greedy("The little dog", 10)))).result.usage.completionTokens).toBeLessThanOrEqual(2);
    expect(plain.usage.completionTokens).toBeGreaterThan(2); // the limit above is the transform's doing
  });

  it("doGenerate / doStream accept a different request; wrap hooks may rewrite the answer", async () => {
    const mw: ModelMiddleware = {
      wrapGenerate: async ({ doGenerate, request }) => {
        const r = await doGenerate({ ...request, maxTokens: 3 });
        return { ...r, text: r.text.toUpperCase() };
      },
      async *wrapStream({ doStream, request }) {
        for await (const part of doStream({ ...request, maxTokens: 3 })) yield part.type === "text" ? { ...part, text: part.text.toUpperCase() } : part;
      },
    };
    const wrapped = wrapModel({ model, middleware: mw });
    const plain = await model.generate(greedy("Lily went", 3));
    const r = await wrapped.generate(greedy("Lily went", 20));
    expect(r.usage.completionTokens).toBeLessThanOrEqual(3);
    expect(r.text).toBe(plain.text.toUpperCase());
    const s = await collect(wrapped.stream(greedy("Lily went", 20)));
    expect(s.text).toBe(plain.text.toUpperCase());
    expect(s.seen.filter((p) => p.type === "finish")).toHaveLength(1);
  });

  it("errors propagate unchanged: from transformRequest (stream: when iterated), from inner layers and from the model", async () => {
    const refusal = new TandemError("tandem_guard", "no");
    const refuse = wrapModel({ model, middleware: { transformRequest: () => { throw refusal; } } });
    await expect(refuse.generate(greedy("hi"))).rejects.toBe(refusal);
    const stream = refuse.stream(greedy("hi")); // creating the stream does not throw
    await expect(collect(stream)).rejects.toBe(refusal);

    const seen: unknown[] = [];
    const outer: ModelMiddleware = {
      wrapGenerate: async ({ doGenerate }) => {
        try {
          return await doGenerate();
        } catch (error) {
          seen.push(error);
          throw error;
        }
      },
    };
    const failing = new TandemError("upstream_error", "inner failed");
    const inner: ModelMiddleware = { wrapGenerate: async () => { throw failing; } };
    await expect(wrapModel({ model, middleware: [outer, inner] }).generate(greedy("hi"))).rejects.toBe(failing);
    expect(seen).toEqual([failing]);

    // the real model's own error (an aborted signal) passes through untouched
    const controller = new AbortController();
    controller.abort(new Error("caller left"));
    const direct = await model.generate(greedy("hi"), controller.signal).catch((e: unknown) => e);
    const wrappedError = await wrapModel({ model, middleware: [outer] }).generate(greedy("hi"), controller.signal).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(Error);
    expect((wrappedError as TandemError).code).toBe((direct as TandemError).code);
  });

  it("close() closes the wrapped model, then each layer; identity defaults to the wrapped model's and can be overridden", async () => {
    const closed: string[] = [];
    const inner: Model = { ...model, id: "inner", generate: model.generate.bind(model), stream: model.stream.bind(model), close: async () => void closed.push("model"), worstCase: (p) => ({ costUsd: 1, tokens: 3 * (p.promptTokens + p.completionTokens) }) };
    const a: ModelMiddleware = { close: async () => void closed.push("a") };
    const b: ModelMiddleware = { close: async () => void closed.push("b") };
    const same = wrapModel({ model: inner, middleware: [a, b] });
    expect({ id: same.id, location: same.location, price: same.price }).toEqual({ id: "inner", location: inner.location, price: inner.price });
    expect(worstCaseOf(same, { promptTokens: 10, completionTokens: 5 })).toEqual({ costUsd: 1, tokens: 45 }); // the wrapped model's bound
    await same.close?.();
    expect(closed).toEqual(["model", "b", "a"]);

    const renamed = wrapModel({ model: inner, middleware: a, id: "renamed", location: "cloud", price: { inputPerMillion: 5, outputPerMillion: 7 }, worstCase: () => ({ costUsd: 9, tokens: 9 }) });
    expect({ id: renamed.id, location: renamed.location, price: renamed.price }).toEqual({ id: "renamed", location: "cloud", price: { inputPerMillion: 5, outputPerMillion: 7 } });
    expect(worstCaseOf(renamed, { promptTokens: 1, completionTokens: 1 })).toEqual({ costUsd: 9, tokens: 9 });
    // a model without worstCase: one call at its price
    const bare = wrapModel({ model: { ...inner, worstCase: undefined }, middleware: [] });
    expect(worstCaseOf(bare, { promptTokens: 1_000_000, completionTokens: 0 })).toEqual({ costUsd: inner.price.inputPerMillion, tokens: 1_000_000 });
    // no layers and a model without close: close() still resolves
    await expect(wrapModel({ model: { ...inner, close: undefined }, middleware: [] }).close?.()).resolves.toBeUndefined();
  });

  it("built-in middleware compose: privacy outside guard hides the value before guard and the model see it, decisions outermost first", async () => {
    const email = "jane.roe@example.com";
    const seenByGuard: string[] = [];
    const spy: ModelMiddleware = { transformRequest: ({ request }) => (seenByGuard.push(JSON.stringify(request.messages)), request) };
    const wrapped = wrapModel({
      model,
      middleware: [privacyMiddleware({ id: "priv", detector: createDetector(), redactForEdge: true }), guardMiddleware({ id: "grd", output: { placeholders: false } }), spy],
      id: "safe",
    });
    const r = await wrapped.generate(greedy(`Write to ${email} about the dog`, 6));
    expect(seenByGuard).toHaveLength(1);
    expect(seenByGuard[0]).not.toContain(email);
    expect(seenByGuard[0]).toMatch(/\[EMAIL_ADDRESS_1_[a-z0-9]{5}\]/);
    // privacy's decision, then guard's input and output checks
    expect(r.info.decisions.map((d) => d.strategy)).toEqual(["privacy", "guard", "guard"]);
    expect(r.info.decisions.map((d) => d.signal.split(":")[0])).toEqual(["pii-values", "input", "output"]);
    expect(r.info.decisions[0].cloudView?.messages[0].content).toMatch(/\[EMAIL_ADDRESS_1_[a-z0-9]{5}\]/);
    const s = await collect(wrapped.stream(greedy(`Write to ${email} about the dog`, 6)));
    expect(s.result.info.decisions.map((d) => d.strategy)).toEqual(["privacy", "guard", "guard"]);
    expect(s.text).toBe(r.text);
  });
});

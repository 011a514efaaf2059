/**
 * `tandem serve-model --model FILE.gguf [--port N]`: one local GGUF as an OpenAI-compatible
 * endpoint. Users host their SLM with it; Tandem's default policy and tests use it as the
 * stand-in for a cloud LLM.
 */
import type { Command } from "commander";
import { basename } from "node:path";
import { llamaCpp } from "../../providers/llama-cpp/index.js";
import { createGatewayApp } from "../../server/app.js";
import { listen } from "../../server/listen.js";
import { intOption, onShutdown } from "../util.js";

export function register(program: Command): void {
  program
    .command("serve-model")
    .description("serve one local GGUF model as an OpenAI-compatible endpoint")
    .requiredOption("--model <file>", "GGUF file")
    .option("--id <name>", "model name to serve it under (default: file name)")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <n>", "port (0 = any free port)", intOption, 8081)
    .option("--threads <n>", "CPU threads (default: cores, at most 2)", intOption)
    .option("--context-size <n>", "context window per sequence, tokens", intOption, 1024)
    .option("--sequences <n>", "parallel generation slots", intOption, 2)
    .option("--max-queue <n>", "requests allowed to wait; more get 503", intOption, 32)
    .option("--watch-stdin", "exit when stdin closes (for parent processes)")
    .action(async (o: { model: string; id?: string; host: string; port: number; threads?: number; contextSize: number; sequences: number; maxQueue: number; watchStdin?: boolean }) => {
      const id = o.id ?? basename(o.model).replace(/\.gguf$/i, "");
      const model = llamaCpp({ id, path: o.model, threads: o.threads, contextSize: o.contextSize, sequences: o.sequences, maxQueue: o.maxQueue });
      await model.load();
      const { app } = createGatewayApp({ models: new Map([[id, model]]), name: `tandem serve-model ${id}` });
      const server = await listen(app, { host: o.host, port: o.port });
      console.log(`tandem serve-model: ${id} listening on ${server.url}`);
      onShutdown(async () => {
        await server.close();
        await model.close?.();
      }, o.watchStdin);
    });
}

/**
 * `tandem serve [--policy tandem.yaml] [--port N]`: the gateway. Without `--policy` it serves the
 * embedded default policy (bundled models, no keys).
 */
import type { Command } from "commander";
import { defaultPolicyPath, loadPolicyFile } from "../../policy/index.js";
import { createGatewayApp } from "../../server/app.js";
import { listen } from "../../server/listen.js";
import { intOption, onShutdown } from "../util.js";

export function register(program: Command): void {
  program
    .command("serve")
    .description("run the OpenAI-compatible gateway for a policy (default: the embedded one)")
    .option("--policy <file>", "policy file (tandem.yaml)")
    .option("--host <host>", "interface to listen on (default: the policy's)")
    .option("--port <n>", "port (0 = any free port; default: the policy's)", intOption)
    .action(async (o: { policy?: string; host?: string; port?: number }) => {
      const path = o.policy ?? defaultPolicyPath();
      const built = await loadPolicyFile(path);
      const { app } = createGatewayApp({
        models: built.served,
        traces: built.traces,
        keys: built.keys,
        metricsAuth: built.policy.auth?.metrics,
        privateModels: built.privateModels,
        privateContent: built.policy.traces === false ? undefined : built.policy.traces.privateContent,
        maxBodyBytes: built.policy.server.maxBodyBytes,
        requestTimeoutMs: built.policy.server.requestTimeoutMs,
      });
      const server = await listen(app, {
        host: o.host ?? built.policy.server.host,
        port: o.port ?? built.policy.server.port,
        requestTimeoutMs: built.policy.server.receiveTimeoutMs,
        headersTimeoutMs: built.policy.server.headersTimeoutMs,
      });
      console.log(`tandem: policy ${o.policy ?? "(embedded default)"}`);
      for (const [name, m] of built.served) console.log(`  ${name.padEnd(16)} ${m.location.padEnd(5)} $${m.price.inputPerMillion}/$${m.price.outputPerMillion} per 1M tokens`);
      console.log(`tandem: listening on ${server.url} (OpenAI base URL ${server.url}/v1)`);
      onShutdown(async () => {
        await server.close();
        await built.close();
      });
    });
}

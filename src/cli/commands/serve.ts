/**
 * `tandem serve [--policy tandem.yaml] [--port N]`: the gateway. Without `--policy` it serves the
 * embedded default policy (bundled models, no keys).
 */
import type { Command } from "commander";
import { createGateway } from "../../gateway/index.js";
import { defaultPolicyPath } from "../../policy/index.js";
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
      const gateway = await createGateway(path);
      const built = gateway.built;
      const server = await gateway.listen({ host: o.host, port: o.port });
      console.log(`tandem: policy ${o.policy ?? "(embedded default)"}`);
      for (const [name, m] of built.served) console.log(`  ${name.padEnd(16)} ${m.location.padEnd(5)} $${m.price.inputPerMillion}/$${m.price.outputPerMillion} per 1M tokens`);
      console.log(`tandem: listening on ${server.url} (OpenAI base URL ${server.url}/v1)`);
      onShutdown(async () => {
        await gateway.close();
      });
    });
}

/** `tandem keys hash KEY`: the `sha256:` form of a gateway API key, for the policy's `auth.keys[].hash`. */
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { hashApiKey } from "../../server/auth.js";

export function register(program: Command): void {
  const keys = program.command("keys").description("gateway API keys (stored hashed in the policy)");
  keys
    .command("hash")
    .description("print the hash of a key for auth.keys[].hash")
    .argument("<key>", "the API key")
    .action((key: string) => console.log(hashApiKey(key)));
  keys
    .command("new")
    .description("generate a random key and print it with its hash")
    .action(() => {
      const key = `tdm-${randomBytes(24).toString("base64url")}`;
      console.log(`key:  ${key}\nhash: ${hashApiKey(key)}`);
    });
}

/**
 * The embedded default policy (`policies/default.yaml` in the package): stories260K in-process
 * as the weak/edge model, tinytales-5M behind a local `serve-model` sidecar as the strong/"cloud"
 * model, and a `route` and a `cascade` strategy between them.
 */
import { fileURLToPath } from "node:url";

/** Absolute path of the bundled default policy. */
export function defaultPolicyPath(): string {
  return fileURLToPath(new URL("../../policies/default.yaml", import.meta.url));
}

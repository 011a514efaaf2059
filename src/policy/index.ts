export { buildPolicy, loadPolicyFile, readPolicyFile, policyBaseDir, privateModelsOf, type BuildOptions, type BuiltPolicy } from "./builder.js";
export { parsePolicy, policySchema, interpolateEnv, type Policy, type ModelSpec, type StrategySpec } from "./schema.js";
export { startSidecar, cliCommand, type Sidecar } from "./sidecar.js";
export { defaultPolicyPath } from "./default.js";

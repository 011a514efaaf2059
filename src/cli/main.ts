/**
 * The `tandem` command. Each command lives in `commands/<name>.ts` and registers itself.
 */
import { Command } from "commander";
import { register as registerData } from "./commands/data.js";
import { register as registerDemo } from "./commands/demo.js";
import { register as registerEval } from "./commands/eval.js";
import { register as registerGuard } from "./commands/guard.js";
import { register as registerInit } from "./commands/init.js";
import { register as registerModels } from "./commands/models.js";
import { register as registerKeys } from "./commands/keys.js";
import { register as registerMemory } from "./commands/memory.js";
import { register as registerPrivacy } from "./commands/privacy.js";
import { register as registerRouter } from "./commands/router.js";
import { register as registerServe } from "./commands/serve.js";
import { register as registerServeModel } from "./commands/serve-model.js";
import { register as registerTraces } from "./commands/traces.js";
import { register as registerShadow } from "./commands/shadow.js";
import { registerEvalSubcommands } from "./commands/trust-eval.js";

/** Builds the CLI program with every command registered. */
export function buildProgram(): Command {
  const program = new Command("tandem")
    .description("Small and large language models working together: routing, cascades, token-level collaboration, privacy and guards behind an OpenAI-compatible gateway.")
    .version("0.1.0")
    .showHelpAfterError();
  registerInit(program);
  registerModels(program);
  registerServe(program);
  registerServeModel(program);
  registerDemo(program);
  registerTraces(program);
  registerShadow(program);
  registerData(program);
  const evalCommand = registerEval(program);
  registerEvalSubcommands(evalCommand);
  registerRouter(program);
  registerPrivacy(program);
  registerGuard(program);
  registerKeys(program);
  registerMemory(program);
  return program;
}

/** Runs the CLI on `argv` (as in `process.argv`). */
export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}

#!/usr/bin/env node
// Entry point of the `tandem` command: runs the compiled CLI (built by `npm install` via `prepare`).
import { main } from "../dist/cli/main.js";

main(process.argv).catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

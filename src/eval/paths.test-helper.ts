/** Paths of the shared data and fixtures, resolved from the repository root (tests only). */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** ../shared/data relative to the repository root. */
export const sharedData = resolve(repoRoot, "../shared/data");
/** test/fixtures/routing. */
export const routingFixtures = resolve(repoRoot, "test/fixtures/routing");

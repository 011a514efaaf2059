import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The machines here have 2 cores; model-backed test files run one at a time.
    fileParallelism: false,
    pool: "forks",
  },
});

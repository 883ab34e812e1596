import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // MuJoCo's WASM heap is per worker; two workers match the CI machine's cores.
    maxWorkers: 2,
    // describe.concurrent files spawn CLI processes per test; more than two at a time per
    // file only oversubscribes two cores and pushes other files' hang guards past their limits.
    maxConcurrency: 2,
  },
});

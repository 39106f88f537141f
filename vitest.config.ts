import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default is one worker fewer than the cores — on CI's 2 cores a single worker, every
    // file in turn; the suite is CPU-bound in the workers (the main process only collects results)
    maxWorkers: availableParallelism(),
  },
});

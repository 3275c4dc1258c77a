import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Multi-process and disk tests share 2 cores in CI; keep parallelism modest.
    maxWorkers: 2,
  },
});

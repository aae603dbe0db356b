import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Pool threads and big arrays: keep test files from fighting over 2 cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2 } },
  },
});

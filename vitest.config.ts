import { defineConfig } from 'vitest/config';

/** The cluster suite's end-to-end files, run again on a local Redis Cluster and on a Sentinel group. */
const CLUSTER_SUITE = ['test/cluster.test.ts', 'test/many-clients.test.ts', 'test/array-api.test.ts', 'test/zarr.test.ts', 'test/shutdown.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Pool threads and big arrays: keep test files from fighting over 2 cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2 } },
    projects: [
      { extends: true, test: { name: 'main', include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'] } },
      ...(['cluster', 'sentinel'] as const).map((kind) => ({
        extends: true as const,
        test: { name: `redis-${kind}`, include: CLUSTER_SUITE, setupFiles: ['test/redis-kind.setup.ts'], provide: { redisKind: kind } },
      })),
    ],
  },
});

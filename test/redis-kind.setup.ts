// Setup file of the redis-cluster and redis-sentinel test projects (vitest.config.ts): testRedis()
// then starts a local Redis Cluster or Sentinel group instead of using a single server.
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    redisKind: 'cluster' | 'sentinel';
  }
}

process.env.TESSERA_TEST_REDIS = inject('redisKind');

import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import * as ta from '@tessera/client';
import { MSGPACK, RedisFullError, encodeSubmitRequest } from '@tessera/protocol';
import { startRedisServer } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, until, within } from './cluster.test-util.js';

// Redis at maxmemory with noeviction, as the scheduler wants it: a new graph is refused with a
// 503 and a typed error that says so, the cluster stays up, and once memory frees it takes graphs again.

const { url, child } = await startRedisServer();
const admin = new Redis(url, { maxRetriesPerRequest: 1 });
afterAll(async () => {
  admin.disconnect();
  child.kill('SIGTERM');
});

describe('a cluster whose Redis is full', () => {
  it('refuses a new graph with REDIS_FULL (HTTP 503), stays up, and accepts graphs again when memory frees', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const c = await startCluster({ redis: url, workers: 1 });
    const client = await ta.Client.connect(c.url);
    try {
      const small = ta.ones([8], { chunks: [4] }).add(1).sum();
      expect(await within(c, client.compute(small))).toBe(16);
      // Just above what is used now: a graph of 40,000 tasks (megabytes of task records) does not fit.
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
      await admin.config('SET', 'maxmemory', String(used + 1024 * 1024));
      const big = ta.ones([20_000], { chunks: [1] }).add(1).sum();
      const err = await within(c, client.compute(big)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisFullError);
      expect((err as RedisFullError).code).toBe('REDIS_FULL');
      expect((err as Error).message).toMatch(/Redis is full/);
      // The HTTP answer itself: 503 with the typed error.
      const body = encodeSubmitRequest({ graph: ta.toGraph([big]), persist: false });
      const res = await fetch(`${c.url}/api/graphs`, { method: 'POST', headers: { 'content-type': MSGPACK }, body });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('REDIS_FULL');
      // Memory frees (the limit lifted): the same graph runs, with the right answer.
      await admin.config('SET', 'maxmemory', '0');
      expect(await within(c, client.compute(big))).toBe(40_000);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await client.close();
      await c.stop();
    }
  });

  it('a persisted graph released while Redis refuses writes leaves the scheduler up (its record write is logged, not thrown)', async () => {
    // The 30-minute soak's scheduler died here once: an unhandled rejection of that write.
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const c = await startCluster({ redis: url, workers: 1 });
    const client = await ta.Client.connect(c.url);
    try {
      const x = ta.arange(0, 1000, { chunks: [100], dtype: 'float64' }).mul(2);
      const body = encodeSubmitRequest({ graph: ta.toGraph([x]), persist: true });
      const res = await fetch(`${c.url}/api/graphs`, { method: 'POST', headers: { 'content-type': MSGPACK }, body });
      const { id } = (await res.json()) as { id: string };
      await until('the persisted graph to finish', async () => ((await (await fetch(`${c.url}/api/graphs/${id}`)).json()) as { state: string }).state === 'finished', 20_000, c);
      // No write fits any more; deletes still do.
      await admin.config('SET', 'maxmemory', '1');
      await fetch(`${c.url}/api/graphs/${id}`, { method: 'DELETE' });
      await new Promise((r) => setTimeout(r, 500));
      expect(c.scheduler.exitCode).toBeNull();
      await admin.config('SET', 'maxmemory', '0');
      expect(await within(c, client.compute(ta.ones([8], { chunks: [4] }).sum()))).toBe(8);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await client.close();
      await c.stop();
    }
  });
});

// A Tessera cluster on a real Sentinel group (a master, a replica, three sentinels on loopback
// ports), reached by `redis+sentinel://`: graphs run, and a master killed with -9 mid-graph is
// replaced by the replica the sentinels promote while the graph completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { startRedisSentinel, type TestRedisSentinel } from '../packages/scheduler/src/store/test-redis-sentinel.test-util.js';
import { failoverMidGraph, startCluster, type TestCluster } from './cluster.test-util.js';

let redis: TestRedisSentinel;
let cluster: TestCluster;
let client: ta.Client;
beforeAll(async () => {
  redis = await startRedisSentinel();
  cluster = await startCluster({ redis: redis.url, workers: 2, threads: 1 });
  client = await ta.Client.connect(cluster.url);
}, 120_000);
afterAll(async () => {
  await client?.close();
  await cluster?.stop();
  await redis?.close();
});

describe('Tessera on a Sentinel group', () => {
  it('runs graphs through the master the sentinels name', { timeout: 60_000 }, async () => {
    const x = ta.arange(50_000, { chunks: 3_000 });
    expect(await client.compute(x.mul(3).sum())).toBe(3 * ((49_999 * 50_000) / 2));
  });

  it('the master killed with -9 mid-graph: the sentinels promote the replica and the graph completes', { timeout: 120_000 }, async () => {
    const { killed, promoted } = await failoverMidGraph(client, 21, 3000, () => redis.failover());
    expect(promoted).not.toBe(killed);
    expect(await client.compute(ta.arange(1_000, { chunks: 100 }).sum())).toBe(499_500);
  });
});

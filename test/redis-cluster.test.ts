// A Tessera cluster on a real local Redis Cluster (3 masters, 3 replicas, redis-server
// --cluster-enabled on loopback ports): graphs of many tenants spread over the shards, every
// transaction and script stays in one slot (a CROSSSLOT error would fail the graph), and a master
// killed with -9 mid-graph is replaced by its replica while the graph completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { clusterKeys, graphKeys } from '@tessera/protocol';
import { startRedisCluster, type TestRedisCluster } from '../packages/scheduler/src/store/test-redis-cluster.test-util.js';
import { failoverMidGraph, startCluster, until, type TestCluster } from './cluster.test-util.js';

let redis: TestRedisCluster;
let cluster: TestCluster;
const clients: ta.Client[] = [];
beforeAll(async () => {
  redis = await startRedisCluster();
  cluster = await startCluster({ redis: redis.url, workers: 2, threads: 1 });
  for (let i = 0; i < 4; i++) clients.push(await ta.Client.connect(cluster.url));
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.stop();
  await redis?.close();
});

describe('Tessera on a Redis Cluster', () => {
  it('runs graphs of many tenants at once, spread over the shards, each with numpy\'s answer', { timeout: 90_000 }, async () => {
    const jobs = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const x = ta.arange(20_000 + i, { chunks: 1_000 + 37 * i }).mul(2);
        const job = await clients[i % clients.length]!.submit(x.sum());
        return { job, want: 2 * (((19_999 + i) * (20_000 + i)) / 2) };
      }),
    );
    for (const { job, want } of jobs) expect(await job.result()).toBe(want);
    // Each graph's keys sit in its own hash tag's slot: the 16 graphs are on more than one master.
    const perMaster = new Map<number, number>();
    for (const { job } of jobs) {
      const m = (await redis.masterOf(graphKeys(cluster.prefix, job.id).meta)).port;
      perMaster.set(m, (perMaster.get(m) ?? 0) + 1);
    }
    console.log(`graphs per master: ${[...perMaster.entries()].map(([p, n]) => `:${p} ${n}`).join(', ')}`);
    expect(perMaster.size).toBeGreaterThan(1);
    // Fetched and ended, they leave nothing behind on any shard.
    await until('the ended graphs\' keys to go', async () => [...(await redis.keysPerMaster(`${cluster.prefix}:graph:*`)).values()].every((n) => n === 0), 20_000);
    // The cluster's own keys (workers, queues, reports) share one slot, on one master.
    const own = [...(await redis.keysPerMaster(`${cluster.prefix}:{cluster}:*`)).values()].filter((n) => n > 0);
    expect(own).toHaveLength(1);
  });

  it('a master killed with -9 mid-graph: its replica takes over and the graph completes, nothing lost', { timeout: 120_000 }, async () => {
    // The master holding this graph's hashes, mid-graph.
    const { killed, promoted } = await failoverMidGraph(clients[0]!, 11, 3000, (job) => redis.failover(graphKeys(cluster.prefix, job.id).meta));
    expect(promoted).not.toBe(killed);
    // And the cluster goes on taking graphs.
    expect(await clients[0]!.compute(ta.arange(1_000, { chunks: 100 }).sum())).toBe(499_500);
  });

  it('a graph\'s master killed with -9 the moment the graph is accepted: the graph completes', { timeout: 120_000 }, async () => {
    const client = clients[2]!;
    const x = ta.random.uniform([1500, 1500], { chunks: [100, 100], seed: 13 });
    const want = await client.compute(x.add(x.T).sum());
    const job = await client.submit(x.mul(1).add(x.T).sum());
    const { killed, promoted } = await redis.failover(graphKeys(cluster.prefix, job.id).meta);
    expect(promoted).not.toBe(killed);
    expect(await job.result()).toBeCloseTo(want, 6);
  });

  it('a graph whose keys went with a failover\'s lost writes fails with a reason that says to submit it again; again, it completes', { timeout: 120_000 }, async () => {
    const client = clients[3]!;
    const x = ta.random.uniform([1500, 1500], { chunks: [100, 100], seed: 14 });
    const expr = x.mul(1).add(x.T).sum();
    const job = await client.submit(expr);
    // What an asynchronous replica may lack after a failover: every key of the graph.
    await redis.deleteKeys(`${cluster.prefix}:graph:{${job.id}}*`);
    await expect(job.result()).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/state in Redis is gone .*submit it again/) });
    expect(await client.compute(expr)).toBeCloseTo(await client.compute(x.add(x.T).sum()), 6);
  });

  it('the master of the cluster\'s own slot (queues, reports, workers) killed mid-graph: the graph completes', { timeout: 120_000 }, async () => {
    await failoverMidGraph(clients[1]!, 12, 3000, () => redis.failover(clusterKeys(cluster.prefix).workers));
  });
});

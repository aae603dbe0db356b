// Tessera on a Redis Cluster and a Sentinel group as production runs them: TLS on every port
// (clients, the cluster bus, replication, the sentinels), an ACL user instead of the default one
// (switched off) and the sentinels' own password. The servers' certificate is signed by a test CA
// that the processes trust through NODE_EXTRA_CA_CERTS, as a user's would trust their company CA.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { graphKeys } from '@tessera/protocol';
import { makeTestTls, type TestTls } from '../packages/scheduler/src/store/test-redis-access.test-util.js';
import { startRedisCluster, type TestRedisCluster } from '../packages/scheduler/src/store/test-redis-cluster.test-util.js';
import { startRedisSentinel, type TestRedisSentinel } from '../packages/scheduler/src/store/test-redis-sentinel.test-util.js';
import { startCluster, type TestCluster } from './cluster.test-util.js';

const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-tls-'));
let tls: TestTls;
// A password with the characters a URL must encode.
const user = { name: 'tessera', password: 'p@ss:w/rd%1' };
beforeAll(() => {
  tls = makeTestTls(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A scheduler started on `redis` that must fail: its exit code and what it printed. */
function failedStart(redis: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, 'scheduler', '--port', '0', '--redis', redis, '--prefix', `tls-refused-${process.pid}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, out }))));
}

/** A graph mid-way: the events until `n` tasks are done. */
async function midway(job: ta.Job<unknown>, n: number): Promise<void> {
  let done = 0;
  for await (const ev of job.events()) if (ev.type === 'task' && ev.state === 'memory' && ++done === n) return;
}

describe('a Redis Cluster over TLS with an ACL user', () => {
  let redis: TestRedisCluster;
  let cluster: TestCluster;
  let client: ta.Client;
  beforeAll(async () => {
    redis = await startRedisCluster(3, { tls, user });
    cluster = await startCluster({ redis: redis.url, workers: 2, threads: 1, env: { NODE_EXTRA_CA_CERTS: tls.ca } });
    client = await ta.Client.connect(cluster.url);
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
    await redis?.close();
  });

  it('runs graphs through rediss+cluster:// with the user and password in the URL', { timeout: 60_000 }, async () => {
    expect(redis.url).toMatch(/^rediss\+cluster:\/\/tessera:p%40ss%3Aw%2Frd%251@127\.0\.0\.1:\d+,/);
    const x = ta.arange(40_000, { chunks: 2_500 });
    expect(await client.compute(x.mul(3).sum())).toBe(3 * ((39_999 * 40_000) / 2));
  });

  it('a graph\'s master killed with -9 mid-graph: the replica, over TLS too, takes over and the graph completes', { timeout: 120_000 }, async () => {
    const x = ta.random.uniform([2000, 2000], { chunks: [100, 100], seed: 31 });
    const want = await client.compute(x.add(x.T).sum());
    const job = await client.submit(x.mul(1).add(x.T).sum());
    await midway(job, 40);
    const { killed, promoted } = await redis.failover(graphKeys(cluster.prefix, job.id).meta);
    expect(promoted).not.toBe(killed);
    expect(await job.result()).toBeCloseTo(want, 6);
  });

  it('a wrong password, or a CA the process does not trust, stops the scheduler with the reason and without the password', { timeout: 70_000 }, async () => {
    const wrong = redis.url.replace(encodeURIComponent(user.password), 'not-it');
    const bad = await failedStart(wrong, { NODE_EXTRA_CA_CERTS: tls.ca });
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/WRONGPASS|invalid username-password/i);
    expect(bad.out).not.toContain('not-it');
    const untrusted = await failedStart(redis.url);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.out).toMatch(/certificate/i);
    expect(untrusted.out).not.toContain(encodeURIComponent(user.password));
  });
});

describe('a Sentinel group over TLS, with an ACL user on the servers and a password on the sentinels', () => {
  let redis: TestRedisSentinel;
  let cluster: TestCluster;
  let client: ta.Client;
  beforeAll(async () => {
    redis = await startRedisSentinel({ tls, user, sentinelPassword: 'sentinel secret' });
    cluster = await startCluster({ redis: redis.url, workers: 2, threads: 1, env: { NODE_EXTRA_CA_CERTS: tls.ca } });
    client = await ta.Client.connect(cluster.url);
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
    await redis?.close();
  });

  it('runs graphs, and one survives the master killed with -9 mid-graph', { timeout: 120_000 }, async () => {
    expect(redis.url).toMatch(/^rediss\+sentinel:\/\/tessera:[^@]+@[\d.:,]+\/tessera\?sentinelPassword=sentinel%20secret$/);
    const x = ta.random.uniform([2000, 2000], { chunks: [100, 100], seed: 32 });
    const want = await client.compute(x.add(x.T).sum());
    const job = await client.submit(x.mul(1).add(x.T).sum());
    await midway(job, 40);
    const { killed, promoted } = await redis.failover();
    expect(promoted).not.toBe(killed);
    expect(await job.result()).toBeCloseTo(want, 6);
  });
});

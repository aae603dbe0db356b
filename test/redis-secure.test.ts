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
import { startRedisCluster } from '../packages/scheduler/src/store/test-redis-cluster.test-util.js';
import { startRedisSentinel } from '../packages/scheduler/src/store/test-redis-sentinel.test-util.js';
import { failoverMidGraph, startCluster, type TestCluster } from './cluster.test-util.js';

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

/**
 * A Tessera cluster (scheduler and 2 workers, trusting the test CA) on the Redis `start` makes,
 * for one describe block: read `.redis`, `.cluster` and `.client` inside its tests.
 */
function onRedis<R extends { url: string; close(): Promise<void> }>(start: () => Promise<R>): { redis: R; cluster: TestCluster; client: ta.Client } {
  const box = {} as { redis: R; cluster: TestCluster; client: ta.Client };
  beforeAll(async () => {
    box.redis = await start();
    box.cluster = await startCluster({ redis: box.redis.url, workers: 2, threads: 1, env: { NODE_EXTRA_CA_CERTS: tls.ca } });
    box.client = await ta.Client.connect(box.cluster.url);
  }, 120_000);
  afterAll(async () => {
    await box.client?.close();
    await box.cluster?.stop();
    await box.redis?.close();
  });
  return box;
}

describe('a Redis Cluster over TLS with an ACL user', () => {
  const on = onRedis(() => startRedisCluster(3, { tls, user }));

  it('runs graphs through rediss+cluster:// with the user and password in the URL', { timeout: 60_000 }, async () => {
    expect(on.redis.url).toMatch(/^rediss\+cluster:\/\/tessera:p%40ss%3Aw%2Frd%251@127\.0\.0\.1:\d+,/);
    const x = ta.arange(40_000, { chunks: 2_500 });
    expect(await on.client.compute(x.mul(3).sum())).toBe(3 * ((39_999 * 40_000) / 2));
  });

  it('a graph\'s master killed with -9 mid-graph: the replica, over TLS too, takes over and the graph completes', { timeout: 120_000 }, async () => {
    const { killed, promoted } = await failoverMidGraph(on.client, 31, 2000, (job) => on.redis.failover(graphKeys(on.cluster.prefix, job.id).meta), 40);
    expect(promoted).not.toBe(killed);
  });

  it('a wrong password, or a CA the process does not trust, stops the scheduler with the reason and without the password', { timeout: 70_000 }, async () => {
    const wrong = on.redis.url.replace(encodeURIComponent(user.password), 'not-it');
    const bad = await failedStart(wrong, { NODE_EXTRA_CA_CERTS: tls.ca });
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/WRONGPASS|invalid username-password/i);
    expect(bad.out).not.toContain('not-it');
    const untrusted = await failedStart(on.redis.url);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.out).toMatch(/certificate/i);
    expect(untrusted.out).not.toContain(encodeURIComponent(user.password));
  });
});

describe('a Sentinel group over TLS, with an ACL user on the servers and a password on the sentinels', () => {
  const on = onRedis(() => startRedisSentinel({ tls, user, sentinelPassword: 'sentinel secret' }));

  it('runs graphs, and one survives the master killed with -9 mid-graph', { timeout: 120_000 }, async () => {
    expect(on.redis.url).toMatch(/^rediss\+sentinel:\/\/tessera:[^@]+@[\d.:,]+\/tessera\?sentinelPassword=sentinel%20secret$/);
    const { killed, promoted } = await failoverMidGraph(on.client, 32, 2000, () => on.redis.failover(), 40);
    expect(promoted).not.toBe(killed);
  });
});

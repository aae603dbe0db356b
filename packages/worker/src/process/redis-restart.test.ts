import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { WorkerInfo } from '@tessera/protocol';
import { startWorker, type WorkerProcess } from './worker-process.js';
import { fakeCluster, jobOf, task, until, type FakeCluster } from './test-cluster.test-util.js';

/** A redis-server of our own, to kill and restart under a running worker. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function redisServer(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

const hasRedisServer = await new Promise<boolean>((resolve) => {
  const c = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  c.once('error', () => resolve(false));
  c.once('exit', (code) => resolve(code === 0));
});

describe.skipIf(!hasRedisServer)('worker process across a Redis restart', () => {
  let port: number;
  let server: ChildProcess;
  let cluster: FakeCluster;
  let w: WorkerProcess;

  beforeAll(async () => {
    port = await freePort();
    server = redisServer(port);
    const url = `redis://127.0.0.1:${port}`;
    cluster = await fakeCluster({ heartbeatMs: 100, redisUrl: url });
    await cluster.redis.ping();
    w = await startWorker({ redis: url, scheduler: cluster.scheduler, id: 'survivor', threads: 1 });
  });

  afterAll(async () => {
    await w?.close();
    await cluster?.redis.flushall().catch(() => undefined);
    await cluster?.close().catch(() => undefined);
    server?.kill('SIGKILL');
  });

  it('re-registers and takes jobs again once Redis is back (with its data lost)', async () => {
    const k1 = 'full-0123456789abcdef:0';
    await cluster.add(jobOf('g1', task(k1, 'full', { value: 1 }, [], [2])), 'survivor');
    expect((await cluster.outcome('g1', k1)).type).toBe('done');

    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 300));
    server = redisServer(port);
    await until('Redis answers again', async () => (await cluster.redis.ping().catch(() => '')) === 'PONG');

    // The next heartbeat writes the WorkerInfo again: a scheduler sees the worker back.
    await until('the worker is registered again', async () => (await cluster.redis.hexists(cluster.keys.workers, 'survivor')) === 1, 5_000);
    expect(WorkerInfo.parse(JSON.parse((await cluster.redis.hget(cluster.keys.workers, 'survivor'))!)).address).toBe(w.address);

    const k2 = 'full-0123456789abcdef:1';
    await cluster.add(jobOf('g2', task(k2, 'full', { value: 2 }, [], [2])), 'survivor');
    expect((await cluster.outcome('g2', k2, 15_000)).type).toBe('done');

    // The control loop carries on too.
    expect(w.stats().chunks).toBe(2);
    await cluster.control('survivor', { type: 'free', keys: [k1] });
    await until('the freed chunk is dropped', () => w.stats().chunks === 1);
  });
});

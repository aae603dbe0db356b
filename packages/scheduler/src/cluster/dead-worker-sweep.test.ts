import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys, workerQueueName } from '@tessera/protocol';
import { startRedisServer } from '../store/test-redis.test-util.js';
import { DeadWorkerSweep } from './dead-worker-sweep.js';
import { JobQueues } from './job-queues.js';

let conn: Redis;
let stop: () => void;
beforeAll(async () => {
  const { url, child } = await startRedisServer();
  conn = new Redis(url, { maxRetriesPerRequest: 1 });
  stop = () => child.kill('SIGTERM');
});
afterAll(() => {
  conn.disconnect();
  stop();
});

const quiet = pino({ level: 'silent' });
const keysOf = async (pattern: string): Promise<string[]> => (await conn.keys(pattern)).sort();

/** A worker's queue with a job waiting and a control message: what a dead worker leaves. */
async function leftovers(prefix: string, worker: string): Promise<void> {
  const q = new Queue(workerQueueName(worker), { connection: conn, prefix: `${prefix}:bull` });
  await q.add('task', { x: 1 }, { jobId: 'j1' });
  await q.close();
  await conn.rpush(clusterKeys(prefix).control(worker), 'free');
}

describe('DeadWorkerSweep', () => {
  it("removes a dead worker's queue and control list once it has been dead past the grace, and keeps a live one's", async () => {
    const prefix = 'dws-a';
    const queues = new JobQueues(conn, `${prefix}:bull`, quiet);
    const sweep = new DeadWorkerSweep(conn, prefix, queues, quiet, 1_000);
    sweep.note('dead');
    sweep.note('live');
    await leftovers(prefix, 'dead');
    await leftovers(prefix, 'live');
    const alive = (w: string): boolean => w === 'live';
    const t0 = Date.now();
    // Just died: a late write may still land, nothing goes yet.
    expect(await sweep.sweep(alive, t0)).toEqual([]);
    expect(await keysOf(`${prefix}:*dead*`)).not.toEqual([]);
    expect(await sweep.sweep(alive, t0 + 1_000)).toEqual(['dead']);
    expect(await keysOf(`${prefix}:*dead*`)).toEqual([]);
    expect(await conn.smembers(clusterKeys(prefix).queues)).toEqual(['live']);
    // The live worker's keys are all there.
    expect((await keysOf(`${prefix}:*live*`)).length).toBeGreaterThan(2);
    await queues.close();
  });

  it('a scheduler started later cleans up workers the last one noted (it died before dropping their queues)', async () => {
    const prefix = 'dws-b';
    const first = new JobQueues(conn, `${prefix}:bull`, quiet);
    new DeadWorkerSweep(conn, prefix, first, quiet, 1_000).note('w-lost');
    await leftovers(prefix, 'w-lost');
    await first.close();
    await new Promise((r) => setTimeout(r, 50)); // the SADD is not awaited by note()
    const queues = new JobQueues(conn, `${prefix}:bull`, quiet);
    const sweep = new DeadWorkerSweep(conn, prefix, queues, quiet, 1_000);
    const t0 = Date.now();
    expect(await sweep.sweep(() => false, t0)).toEqual([]);
    expect(await sweep.sweep(() => false, t0 + 1_000)).toEqual(['w-lost']);
    expect(await keysOf(`${prefix}:*`)).toEqual([]);
    await queues.close();
  });

  it('a worker that comes back within the grace is forgotten as dead: its keys stay', async () => {
    const prefix = 'dws-c';
    const queues = new JobQueues(conn, `${prefix}:bull`, quiet);
    const sweep = new DeadWorkerSweep(conn, prefix, queues, quiet, 1_000);
    sweep.note('w');
    await leftovers(prefix, 'w');
    const t0 = Date.now();
    await sweep.sweep(() => false, t0);
    await sweep.sweep(() => true, t0 + 500);
    // Dead again: the grace starts over.
    expect(await sweep.sweep(() => false, t0 + 1_200)).toEqual([]);
    expect((await keysOf(`${prefix}:*`)).length).toBeGreaterThan(2);
    expect(await sweep.sweep(() => false, t0 + 2_200)).toEqual(['w']);
    await queues.close();
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import {
  SHARED_QUEUE,
  WorkerReport,
  clusterKeys,
  itemsize,
  jobIdOf,
  clusterBase,
  packMessage,
  packTaskSpec,
  unpackMessage,
  workerQueueName,
  type ClusterInfo,
  type ControlMessage,
  type Dtype,
  type InputLocation,
  type ReportItem,
  type TaskJob,
  type TaskSpec,
} from '@tessera/protocol';

/**
 * A stand-in for the scheduler in worker tests: the one discovery route a worker calls
 * (GET /api/cluster), a unique key prefix in a real Redis, BullMQ queues to add task jobs to,
 * and readers for the report stream and control lists.
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function task(
  key: string,
  op: string,
  params: Record<string, unknown>,
  deps: string[],
  shape: number[],
  dtype: Dtype = 'float64',
): TaskSpec {
  return { key, op, params, deps, shape, dtype, nbytes: shape.reduce((a, b) => a * b, 1) * itemsize(dtype), priority: 0 };
}

export function jobOf(
  graph: string,
  spec: TaskSpec,
  options: { inputs?: InputLocation[]; output?: boolean; attempt?: number } = {},
): TaskJob {
  return {
    graph,
    key: spec.key,
    spec: Buffer.from(packTaskSpec(spec)).toString('base64'),
    inputs: options.inputs ?? [],
    output: options.output ?? false,
    attempt: options.attempt ?? 0,
  };
}

export interface FakeCluster {
  readonly info: ClusterInfo;
  /** Base URL of the fake scheduler. */
  readonly scheduler: string;
  readonly redis: Redis;
  readonly keys: ReturnType<typeof clusterKeys>;
  /** Put a job on a worker's queue (or the shared one when `worker` is undefined). */
  add(job: TaskJob, worker?: string): Promise<void>;
  /** Put anything on a worker's queue (as a `task` job unless named), kept after it fails; resolves to its job id. */
  addRaw(data: unknown, worker: string, name?: string): Promise<string>;
  /** BullMQ's failedReason of a job, once it failed. */
  failedReason(jobId: string, worker: string): Promise<string | undefined>;
  /** Report items seen so far, in stream order. */
  reports(): Promise<{ worker: string; item: ReportItem }[]>;
  /** Waits until a done/failed item for (graph, key) is in the stream. */
  outcome(graph: string, key: string, timeoutMs?: number): Promise<ReportItem & { type: 'done' | 'failed' }>;
  control(worker: string, m: ControlMessage): Promise<void>;
  /** True once BullMQ removed the job (it completed: jobs are added with removeOnComplete). */
  jobGone(jobId: string, worker?: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function fakeCluster(options: { heartbeatMs?: number; redisUrl?: string } = {}): Promise<FakeCluster> {
  const prefix = `tessera-test:${process.pid}-${randomUUID().slice(0, 8)}`;
  const info: ClusterInfo = {
    prefix,
    bullPrefix: `${clusterBase(prefix)}:bull`,
    sharedQueue: SHARED_QUEUE,
    heartbeatMs: options.heartbeatMs ?? 1_000,
    version: 'test',
  };
  const url = options.redisUrl ?? REDIS_URL;
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  // Tests restart Redis under the worker: the test's own connections just wait.
  redis.on('error', () => undefined);
  const keys = clusterKeys(prefix);
  const queues = new Map<string, Queue>();
  const queue = (name: string): Queue => {
    let q = queues.get(name);
    if (!q) {
      queues.set(name, (q = new Queue(name, { connection: { url, maxRetriesPerRequest: null }, prefix: info.bullPrefix })));
      q.on('error', () => undefined);
    }
    return q;
  };
  const server = await serveClusterInfo(info);
  const scheduler = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const reports = async (): Promise<{ worker: string; item: ReportItem }[]> => {
    const entries = await redis.xrangeBuffer(keys.reports, '-', '+');
    const out: { worker: string; item: ReportItem }[] = [];
    for (const [, fields] of entries) {
      const r = unpackMessage(WorkerReport, fields[1]!, 'report');
      for (const item of r.items) out.push({ worker: r.worker, item });
    }
    return out;
  };

  return {
    info,
    scheduler,
    redis,
    keys,
    add: async (job, worker) => {
      await queue(worker === undefined ? SHARED_QUEUE : workerQueueName(worker)).add('task', job, {
        jobId: jobIdOf(job.key, job.attempt),
        removeOnComplete: true,
        removeOnFail: true,
      });
    },
    addRaw: async (data, worker, name = 'task') => {
      const job = await queue(workerQueueName(worker)).add(name, data, { removeOnComplete: true });
      return job.id!;
    },
    failedReason: async (jobId, worker) => {
      const job = await queue(workerQueueName(worker)).getJob(jobId);
      return job && (await job.isFailed()) ? job.failedReason : undefined;
    },
    reports,
    outcome: async (graph, key, timeoutMs = 10_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const hit = (await reports()).find((r) => r.item.graph === graph && r.item.key === key && r.item.type !== 'started');
        if (hit) return hit.item as ReportItem & { type: 'done' | 'failed' };
        if (Date.now() > until) throw new Error(`no outcome for ${graph}/${key} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    control: async (worker, m) => {
      await redis.lpush(keys.control(worker), packMessage(m));
    },
    jobGone: async (jobId, worker) =>
      (await queue(worker === undefined ? SHARED_QUEUE : workerQueueName(worker)).getJob(jobId)) === undefined,
    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
      await new Promise<void>((r) => server.close(() => r()));
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (batch.length) await redis.unlink(...batch);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}

async function serveClusterInfo(info: ClusterInfo): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/api/cluster') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(info));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

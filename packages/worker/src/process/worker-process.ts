import { Worker as BullWorker } from 'bullmq';
import { WorkerInfo, clusterKeys, workerQueueName, type ClusterInfo, type ControlMessage } from '@tessera/protocol';
import { BufferPool } from '../buffer-pool.js';
import { ChunkStore } from '../chunk-store.js';
import { PoolInitError } from '../pool/thread-pool.js';
import { resolveWorkerOptions, urlHost, type WorkerConfig, type WorkerOptions } from './config.js';
import { CancelledGraphs, ControlLoop } from './control-loop.js';
import { discoverCluster } from './discovery.js';
import { Heartbeat } from './heartbeat.js';
import { InputGatherer } from './inputs.js';
import { CLUSTER_HOLDER, createJobProcessor } from './job-processor.js';
import { Log, errorMessage } from './log.js';
import { PeerClient } from './peer-client.js';
import { startPeerServer } from './peer-server.js';
import { closeRedis, connectRedis } from './redis.js';
import { ReplicaCache } from './replica-cache.js';
import { Reporter } from './reporter.js';
import { TaskRunner } from './task-runner.js';

/** Freed chunk buffers kept for reuse as task outputs (as in the embedded engine). */
const BUFFER_POOL_BYTES = 256 * 2 ** 20;
/** close() waits this long for running jobs, then for Redis, before it lets go. */
const CLOSE_JOBS_MS = 10_000;
const CLOSE_REDIS_MS = 2_000;

export interface WorkerStats {
  /** Kernel executions (a key already held is reported done without one). */
  executed: number;
  /** Chunks this worker owns, and their bytes (fetched replicas not counted). */
  chunks: number;
  bytes: number;
  /** Tasks executing or waiting for a pool thread. */
  running: number;
}

export interface WorkerProcess {
  readonly id: string;
  /** Base URL of the peer chunk server, as registered: `http://${host}:${port}`. */
  readonly address: string;
  readonly info: WorkerInfo;
  readonly cluster: ClusterInfo;
  stats(): WorkerStats;
  /** Finish running jobs (briefly), deregister, and release threads, sockets and connections. */
  close(): Promise<void>;
}

/** A worker startup failed: a kernel module did not load, the peer port was taken, ... */
export class WorkerStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerStartError';
  }
}

/**
 * Start a worker process's machinery in this process: find the cluster through the scheduler,
 * start the thread pool and the peer chunk server, register in Redis, then take task jobs from
 * this worker's BullMQ queue and the shared one. Throws InvalidArgumentError for a bad option,
 * UnavailableError when the scheduler does not answer, WorkerStartError for the rest.
 */
export async function startWorker(options: WorkerOptions): Promise<WorkerProcess> {
  const config = resolveWorkerOptions(options);
  const log = new Log(config.id);
  const cluster = await discoverCluster(config.scheduler, config.discoveryTimeoutMs);
  // Undone in reverse if a later step fails, and by close().
  const closers: (() => Promise<void> | void)[] = [];
  const unwind = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn('close', errorMessage(e));
      }
    }
  };
  try {
    return await assemble(config, cluster, log, closers, unwind);
  } catch (e) {
    await unwind();
    throw e;
  }
}

async function assemble(
  config: WorkerConfig,
  cluster: ClusterInfo,
  log: Log,
  closers: (() => Promise<void> | void)[],
  unwind: () => Promise<void>,
): Promise<WorkerProcess> {
  const { id } = config;
  const keys = clusterKeys(cluster.prefix);
  const buffers = new BufferPool(BUFFER_POOL_BYTES);
  const chunks = new ChunkStore((b) => buffers.give(b));

  const runner = await TaskRunner.start({ threads: config.threads, kernels: config.kernels }, buffers).catch((e: unknown) => {
    if (e instanceof PoolInitError)
      throw new WorkerStartError(`could not load the kernel modules ${JSON.stringify(config.kernels)}: ${e.remote.message}`, { cause: e });
    throw e;
  });
  closers.push(() => runner.close());

  const peerServer = await startPeerServer({ bind: config.bind, port: config.port, worker: id, chunks }).catch((e: unknown) => {
    throw new WorkerStartError(`could not start the peer chunk server on ${config.bind}:${config.port}: ${errorMessage(e)}`, { cause: e });
  });
  closers.push(() => peerServer.close());
  const peers = new PeerClient(new ReplicaCache(config.replicaCacheBytes));
  closers.push(() => peers.close());

  const address = `http://${urlHost(config.host)}:${peerServer.port}`;
  const info = WorkerInfo.parse({
    id,
    host: config.host,
    address,
    pid: process.pid,
    threads: runner.threads,
    memoryLimit: config.memoryLimit,
    device: 'cpu',
    startedAt: Date.now(),
  });

  const redis = connectRedis(config.redis, `${id}:main`, log);
  closers.push(() => closeRedis(redis));
  const reporter = new Reporter(redis, keys.reports, id, log);
  const heartbeat = new Heartbeat(
    redis,
    keys,
    info,
    () => ({ chunks: chunks.count, bytes: chunks.nbytes, running: runner.running, executed: runner.executed }),
    config.heartbeatMs ?? cluster.heartbeatMs,
    log,
  );
  await heartbeat.start();
  closers.push(() => heartbeat.stop(CLOSE_REDIS_MS));
  // Runs before the deregistration above (closers run in reverse): the last reports go first.
  closers.push(() => reporter.close(CLOSE_REDIS_MS));

  const cancelled = new CancelledGraphs();
  const control = new ControlLoop(
    connectRedis(config.redis, `${id}:control`, log),
    keys.control(id),
    (m: ControlMessage) => {
      if (m.type === 'free') for (const k of m.keys) chunks.release(k, CLUSTER_HOLDER);
      else cancelled.add(m.graphs);
    },
    log,
  );
  control.start();
  closers.push(() => control.stop());

  const processor = createJobProcessor({ chunks, runner, inputs: new InputGatherer(id, chunks, peers), reporter, cancelled, log });
  for (const queue of [workerQueueName(id), cluster.sharedQueue]) {
    const w = new BullWorker(queue, processor, {
      connection: { url: config.redis, maxRetriesPerRequest: null },
      prefix: cluster.bullPrefix,
      // Recorded on each job as processedBy.
      name: id,
      concurrency: config.concurrency,
      // The scheduler owns retries: a stalled job fails, it is never run again behind its back.
      maxStalledCount: 0,
      // A job taken just as Redis went down can sit 'active' with nobody running it; a short lock
      // lets it stall out within seconds, and the scheduler's sweep then sends it again.
      lockDuration: 5_000,
      stalledInterval: 5_000,
    });
    w.on('error', (e) => log.warn(`queue ${queue}`, errorMessage(e)));
    w.on('failed', (job, e) => log.warn(`queue ${queue}`, `job ${job?.id ?? '?'} failed: ${e.message}`));
    closers.push(() => closeBullWorker(w));
    await w.waitUntilReady();
  }

  let closing: Promise<void> | undefined;
  return {
    id,
    address,
    info,
    cluster,
    stats: () => ({ executed: runner.executed, chunks: chunks.count, bytes: chunks.nbytes, running: runner.running }),
    close: () => (closing ??= unwind()),
  };
}

/** Let running jobs finish (they report), but not forever: a job stuck on a dead Redis is dropped. */
async function closeBullWorker(w: BullWorker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), CLOSE_JOBS_MS)));
  const tooLong = await Promise.race([w.close().then(() => false), timedOut]);
  clearTimeout(timer);
  if (tooLong) await w.close(true);
}

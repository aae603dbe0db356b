import { Worker as BullWorker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import {
  TesseraError,
  WorkerInfo,
  clusterKeys,
  formatCpuList,
  parseRedisUrl,
  workerQueueName,
  type ClusterInfo,
  type ControlMessage,
  type ReportItem,
  type ShutdownOutcome,
  RedisGate,
  settledWithin,
} from '@tessera/protocol';
import { InProcessExecutor, gpuHeartbeat } from '../executor/executor.js';
import { SpillFiles } from '../executor/spill-files.js';
import { bindProcessToCpus } from './cpu-binding.js';
import { MemoryPause } from './memory-pause.js';
import { PoolInitError } from '../pool/thread-pool.js';
import { resolveWorkerOptions, urlHost, type WorkerConfig, type WorkerOptions } from './config.js';
import { CancelledGraphs, ControlLoop } from './control-loop.js';
import { discoverCluster } from './discovery.js';
import { Heartbeat } from './heartbeat.js';
import { InputGatherer } from './inputs.js';
import { CLUSTER_HOLDER, createJobProcessor } from './job-processor.js';
import { Log, errorMessage, sleep } from './log.js';
import { PeerClient } from './peer-client.js';
import { startPeerServer } from './peer-server.js';
import { closeRedis, connectRedis } from './redis.js';
import { ReplicaCache } from './replica-cache.js';
import { Reporter } from './reporter.js';
import { closeBullWorkers, reportsRead } from './shutdown.js';
import { WorkerMetrics } from './worker-metrics.js';
import { gemmChoice } from '../kernels/index.js';
import { fftwKernels, fftwUnavailable } from '../kernels/native.js';

/** close() waits this long for Redis (reports, deregistration) before it lets go. */
const CLOSE_REDIS_MS = 2_000;
/** After deregistering, peers that were already sent tasks reading chunks from here get this long. */
const LINGER_MS = 1_000;
/** quit(), the peer server's grace for open requests, and the steps that need no Redis. */
const CLOSE_LOCAL_MS = 3_000;

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
  readonly log: Logger;
  readonly metrics: WorkerMetrics | undefined;
  stats(): WorkerStats;
  /**
   * Leave the cluster gracefully: take no more tasks, let running ones finish (at most
   * `shutdownTimeoutMs`), send their reports, deregister (the scheduler moves or recomputes the
   * chunks held here, and counts no strikes), then release threads, sockets and connections.
   * Nothing waits on a Redis that is down: what could not be written is in the outcome's
   * `undone`, and in one "shutdown incomplete" log line.
   */
  close(): Promise<ShutdownOutcome>;
  /** close() returns within about this long, whatever Redis does. */
  readonly closeWithinMs: number;
}

/** A worker startup failed: a kernel module did not load, the peer port was taken, ... */
export class WorkerStartError extends TesseraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WORKER_START_FAILED', message, options);
  }
}

/**
 * Start a worker process's machinery in this process: find the cluster through the scheduler,
 * start the thread pool and the peer chunk server, register in Redis, then take task jobs from
 * this worker's BullMQ queue and the shared one. Throws InvalidArgumentError for a bad option,
 * UnavailableError when the scheduler does not answer, WorkerStartError for the rest.
 */
export async function startWorker(options: WorkerOptions, logger?: Logger): Promise<WorkerProcess> {
  const config = resolveWorkerOptions(options);
  const plog = (logger ?? pino({ name: 'tessera-worker', level: config.logLevel }, pino.destination(2))).child({ worker: config.id });
  const log = new Log(config.id, undefined, undefined, plog);
  // First, so a CPU that is not there fails the start at once; and before the pool starts, so
  // its threads (and OpenBLAS's) inherit the mask.
  if (config.cpus) bindProcessToCpus(config.cpus);
  const cluster = await discoverCluster(config.scheduler, config.discoveryTimeoutMs, config.token);
  // Undone in reverse if a later step fails, and by close().
  const closers: (() => Promise<void> | void)[] = [];
  const unwind = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      const t0 = Date.now();
      try {
        await c();
        if (plog.isLevelEnabled('debug')) plog.debug({ step: c.toString().slice(0, 80), ms: Date.now() - t0 }, 'close step');
      } catch (e) {
        log.warn('close', errorMessage(e));
      }
    }
  };
  try {
    return await assemble(config, cluster, log, plog, closers, unwind);
  } catch (e) {
    await unwind();
    throw e;
  }
}

async function assemble(
  config: WorkerConfig,
  cluster: ClusterInfo,
  log: Log,
  plog: Logger,
  closers: (() => Promise<void> | void)[],
  unwind: () => Promise<void>,
): Promise<WorkerProcess> {
  const { id } = config;
  const keys = clusterKeys(cluster.prefix);
  // What close() did, for its outcome. `leaving` is set by close(): a failed start unwinds too.
  const leave = { leaving: false, abandoned: 0, dropped: 0, deregistered: false };
  // BullMQ closes of a shutdown that timed out: they settle once the abandoned jobs do, which is
  // when executor.close() below ends their threads. Waited for last (closers run in reverse).
  let bullClosing: Promise<unknown> | undefined;
  // BullMQ's connections where this worker made them (a Redis Cluster or Sentinel): BullMQ leaves
  // a connection it was given open, so they close after the queues.
  const bullRedis: Redis[] = [];
  closers.push(async () => {
    if (bullClosing) await settledWithin(bullClosing, CLOSE_REDIS_MS);
    await Promise.all(bullRedis.map((r) => closeRedis(r, redisGate.up)));
  });
  const spill = new SpillFiles(config.spillDir);
  const executor = await InProcessExecutor.start({
    threads: config.threads,
    kernels: config.kernels,
    // One device for the process (`--gpu`); without one the worker runs every task on the CPU.
    gpu: config.gpu,
    ...(config.gpuDevice !== undefined ? { gpuDevice: config.gpuDevice } : {}),
    // `device: 'auto'` tasks go to whatever device the operator asked for, software adapters too.
    autoOnSoftwareGpu: true,
    ...(config.cache ? { cache: config.cache } : {}),
    // Like Dask's worker: chunks nobody uses go to disk past 70% of the limit, down to 60%.
    spill: {
      files: spill,
      high: 0.7 * config.memoryLimit,
      low: 0.6 * config.memoryLimit,
      resident: CLUSTER_HOLDER,
      onFailure: (e) => plog.warn({ error: errorMessage(e), dir: config.spillDir }, 'spill write failed: the chunks stay in memory (retried in 2 s)'),
    },
  }).catch((e: unknown) => {
    if (e instanceof PoolInitError)
      throw new WorkerStartError(`could not load the kernel modules ${JSON.stringify(config.kernels)}: ${e.remote.message}`, { cause: e });
    throw e;
  });
  closers.push(() => executor.close());
  closers.push(() => spill.close());
  const { chunks } = executor;
  const bullWorkers: BullWorker[] = [];
  // Past 80% of the memory limit no new tasks, as Dask's workers pause (spilling starts at 70%).
  const pause = new MemoryPause(() => chunks.nbytes, 0.8 * config.memoryLimit, 0.7 * config.memoryLimit, bullWorkers, plog);
  closers.push(() => pause.stop());
  if (config.gpu) {
    const g = executor.gpuReadiness();
    // A device asked for by index is not optional: without it this is not the worker asked for.
    if (!g.ok && config.gpuDevice !== undefined) throw new WorkerStartError(`--gpu-device ${config.gpuDevice}: ${g.reason}`);
    if (executor.gpu) plog.info({ gpu: executor.gpu.info.name, fallback: executor.gpu.info.fallback }, 'GPU opened');
    else plog.warn({ error: g.ok ? 'unknown' : g.reason }, 'no GPU: this worker runs every task on the CPU');
  }

  const metrics = config.metrics
    ? new WorkerMetrics(
        id,
        () => ({
          chunks: chunks.count,
          bytes: chunks.nbytes,
          running: executor.running,
          memoryLimit: config.memoryLimit,
          deviceBytes: chunks.onDeviceBytes,
          spilledBytes: chunks.onDiskBytes,
          spills: chunks.spills,
          spillFailures: chunks.spillFailures,
          paused: pause.paused ? 1 : 0,
        }),
        { gpu: () => executor.gpu?.stats() },
      )
    : undefined;
  const peerServer = await startPeerServer({
    bind: config.bind,
    port: config.port,
    worker: id,
    chunks,
    token: config.token,
    metrics,
  }).catch((e: unknown) => {
    throw new WorkerStartError(`could not start the peer chunk server on ${config.bind}:${config.port}: ${errorMessage(e)}`, { cause: e });
  });
  closers.push(() => peerServer.close());
  const peers = new PeerClient(new ReplicaCache(config.replicaCacheBytes), {
    token: config.token,
    onFetched: (n) => metrics?.fetchedBytes(n),
    onFailed: () => metrics?.fetchFailed(),
  });
  closers.push(() => peers.close());

  const address = `http://${urlHost(config.host)}:${peerServer.port}`;
  const info = WorkerInfo.parse({
    id,
    host: config.host,
    address,
    pid: process.pid,
    threads: executor.threads,
    memoryLimit: config.memoryLimit,
    device: executor.gpu?.info.name ?? 'cpu',
    startedAt: Date.now(),
    ...(executor.gpu ? { gpu: executor.gpu.info } : {}),
    ...(config.cpus ? { cpus: config.cpus } : {}),
  });

  const redis = connectRedis(config.redis, `${id}:main`, log);
  // Every wait on Redis below goes through it: one that runs out, and the rest do not wait.
  const redisGate = new RedisGate(redis);
  closers.push(() => {
    // A Redis that did not answer will not let BullMQ's close settle either: no wait for it below.
    if (!redisGate.up) bullClosing = undefined;
    return closeRedis(redis, redisGate.up);
  });
  // A graceful leave lingers for peers after deregistering; a failed start does not.
  closers.push(async () => {
    if (leave.leaving && leave.deregistered && chunks.count > 0) await sleep(LINGER_MS);
  });
  const reporter = new ObservedReporter(redis, keys.reports, id, log, (item) => {
    metrics?.observe(item);
    logItem(plog, item);
  });
  const heartbeat = new Heartbeat(
    redis,
    keys,
    info,
    () => ({
      chunks: chunks.count,
      bytes: chunks.nbytes,
      running: executor.running,
      executed: executor.executed,
      ...gpuHeartbeat(executor.gpuStats()),
      spill: chunks.spillStats(),
    }),
    config.heartbeatMs ?? cluster.heartbeatMs,
    log,
    () => {
      // Back after the scheduler declared this worker dead: what it held was recomputed elsewhere
      // and is in no directory any more, so nothing would ever free it. It rejoins empty.
      const n = chunks.dropAll(CLUSTER_HOLDER);
      plog.warn({ dropped: n }, 'this worker was taken for dead and is back: it dropped the chunks it held and rejoins empty');
    },
  );
  await heartbeat.start();
  closers.push(async () => {
    leave.deregistered = await heartbeat.stop(redisGate.up ? CLOSE_REDIS_MS : 0);
    if (!leave.deregistered) redisGate.markLost();
    else if (leave.leaving) plog.info('deregistered: the scheduler recomputes or moves what this worker held');
  });
  // Run before the deregistration above (closers run in reverse): the last reports go first, and
  // the scheduler gets a moment to read them, so work done here is not done again.
  closers.push(async () => {
    // Its own deadline ends it when nobody reads (no scheduler); the gate's, a command that hangs.
    if (leave.leaving) await redisGate.wait(reportsRead(redis, keys.reports, CLOSE_REDIS_MS), CLOSE_REDIS_MS + 500);
  });
  closers.push(async () => {
    leave.dropped = await reporter.close(redisGate.up ? CLOSE_REDIS_MS : 0);
    if (leave.dropped > 0) redisGate.markLost();
  });

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
  closers.push(() => control.stop(redisGate.up));

  // One closer for both queues: they stop taking jobs at once, then running jobs finish.
  let busy = 0;
  closers.push(async () => {
    // No resume of a consumer that is closing.
    pause.stop();
    const r = await closeBullWorkers(bullWorkers, {
      timeoutMs: config.shutdownTimeoutMs,
      gate: redisGate,
      ping: () => redis.ping(),
      running: () => executor.running,
      busy: () => busy,
      log: plog,
    });
    leave.abandoned = r.abandoned;
    bullClosing = r.pending;
  });
  const run = createJobProcessor({ worker: id, chunks, executor, inputs: new InputGatherer(id, chunks, peers), reporter, cancelled, log });
  const processor = async (job: Job): Promise<void> => {
    busy++;
    try {
      await pause.whenRunning();
      await run(job);
    } finally {
      busy--;
    }
  };
  for (const queue of [workerQueueName(id), cluster.sharedQueue]) {
    const w = new BullWorker(queue, processor, {
      // One server: BullMQ connects by URL. A Cluster or Sentinel group: a connection of ours.
      connection:
        parseRedisUrl(config.redis).kind === 'single'
          ? { url: config.redis, maxRetriesPerRequest: null }
          : bullRedis[bullRedis.push(connectRedis(config.redis, `${id}:bull`, log)) - 1]!,
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
    bullWorkers.push(w);
    await w.waitUntilReady();
  }
  const gemm = gemmChoice();
  const fftw = fftwKernels();
  plog.info(
    {
      address,
      threads: executor.threads,
      ...(config.cpus ? { cpus: formatCpuList(config.cpus) } : {}),
      scheduler: config.scheduler,
      auth: config.token !== undefined,
      gemm: `${gemm.engine} (${gemm.why})`,
      fft: fftw ? `fftw (${fftw.version})` : `typescript (FFTW ${fftwUnavailable() ?? 'unavailable'})`,
    },
    'worker ready',
  );

  let closing: Promise<ShutdownOutcome> | undefined;
  return {
    id,
    address,
    info,
    cluster,
    log: plog,
    metrics,
    stats: () => ({ executed: executor.executed, chunks: chunks.count, bytes: chunks.nbytes, running: executor.running }),
    // Every wait in close() is bounded: the grace period, five waits on Redis, the linger, the rest.
    closeWithinMs: config.shutdownTimeoutMs + 5 * CLOSE_REDIS_MS + LINGER_MS + CLOSE_LOCAL_MS,
    close: () =>
      (closing ??= (async () => {
        leave.leaving = true;
        plog.info(
          { running: executor.running, chunks: chunks.count, timeoutMs: config.shutdownTimeoutMs },
          'leaving: taking no more tasks',
        );
        await unwind();
        const undone = undoneOf(leave);
        if (undone.length === 0) plog.info('worker stopped');
        else plog.warn({ undone }, `shutdown incomplete (Redis unreachable): ${undone.join('; ')}`);
        return { undone };
      })()),
  };
}

/**
 * What the scheduler was not told. Tasks abandoned at the end of the grace period count only when
 * the leave was not recorded: a recorded leave has them rerun elsewhere, without a strike.
 */
function undoneOf(l: { abandoned: number; dropped: number; deregistered: boolean }): string[] {
  const undone: string[] = [];
  const n = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
  if (!l.deregistered && l.abandoned > 0) undone.push(`${n(l.abandoned, 'running task')} abandoned`);
  if (l.dropped > 0) undone.push(`${n(l.dropped, 'report item')} not written`);
  if (!l.deregistered) undone.push('leave not recorded (the scheduler takes this worker for dead after its worker timeout)');
  return undone;
}

/** The Reporter, with every item also shown to `observe` (metrics, the log). */
class ObservedReporter extends Reporter {
  constructor(
    redis: Redis,
    stream: string,
    worker: string,
    log: Log,
    private readonly observe: (item: ReportItem) => void,
  ) {
    super(redis, stream, worker, log);
  }

  override note(item: ReportItem): void {
    this.observe(item);
    super.note(item);
  }

  override report(item: ReportItem): Promise<void> {
    this.observe(item);
    return super.report(item);
  }
}

/** Task ids in every line: failures at warn, the rest at debug. */
function logItem(log: Logger, item: ReportItem): void {
  if (item.type === 'failed') log.warn({ graph: item.graph, task: item.key, error: item.error.message }, 'task failed');
  else if (log.isLevelEnabled('debug')) {
    const ms = item.type === 'done' ? { ms: item.stop - item.start, nbytes: item.nbytes } : {};
    log.debug({ graph: item.graph, task: item.key, ...ms }, `task ${item.type}`);
  }
}

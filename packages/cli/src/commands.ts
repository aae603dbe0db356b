import { Command } from 'commander';
import { startScheduler } from '@tessera/scheduler';
import { startWorker } from '@tessera/worker';
import { type ConfigOf, addFlags, bool, bytes, common, compact, int, list, parseFlags, text } from './flags.js';
import { onSignals } from './options.js';

export const schedulerFlags = {
  redis: common.redis(),
  host: {
    flags: '--host <address>',
    env: 'TESSERA_HOST',
    help: 'address to listen on; 0.0.0.0 for every interface (then set a token)',
    schema: text(255),
    shown: '127.0.0.1',
  },
  port: { flags: '--port <n>', env: 'TESSERA_PORT', help: 'port to listen on (0: any free port)', schema: int(0, 65535), shown: '8786' },
  prefix: { flags: '--prefix <name>', env: 'TESSERA_PREFIX', help: 'Redis key prefix of this cluster', schema: text(64), shown: 'tessera' },
  heartbeatMs: {
    flags: '--heartbeat-ms <n>',
    env: 'TESSERA_HEARTBEAT_MS',
    help: 'worker heartbeat interval',
    schema: int(10, 60_000),
    shown: '1000',
  },
  workerTimeoutMs: {
    flags: '--worker-timeout-ms <n>',
    env: 'TESSERA_WORKER_TIMEOUT_MS',
    help: 'a worker silent this long is dead',
    schema: int(50, 3_600_000),
    shown: '10000',
  },
  endedGraphTtlMs: {
    flags: '--ended-graph-ttl-ms <n>',
    env: 'TESSERA_ENDED_GRAPH_TTL_MS',
    help: 'an ended graph nobody released expires after this',
    schema: int(1_000),
    shown: '3600000 (1 h)',
  },
  token: common.token(),
  maxGraphTasks: {
    flags: '--max-graph-tasks <n>',
    env: 'TESSERA_MAX_GRAPH_TASKS',
    help: 'most tasks in one graph (413 above)',
    schema: int(1),
    shown: '1000000',
  },
  maxGraphBytes: {
    flags: '--max-graph-bytes <bytes>',
    env: 'TESSERA_MAX_GRAPH_BYTES',
    help: 'largest submitted graph, encoded (413 above)',
    schema: bytes(1),
    shown: '256MiB',
  },
  maxBodyBytes: {
    flags: '--max-body-bytes <bytes>',
    env: 'TESSERA_MAX_BODY_BYTES',
    help: 'largest body of every other request (413 above)',
    schema: bytes(1),
    shown: '16MiB',
  },
  rateLimit: {
    flags: '--rate-limit <n>',
    env: 'TESSERA_RATE_LIMIT',
    help: 'API requests per second each client may keep up, 0 for no limit (429 with Retry-After above)',
    schema: int(0, 1_000_000),
    shown: '500',
  },
  rateBurst: {
    flags: '--rate-burst <n>',
    env: 'TESSERA_RATE_BURST',
    help: 'requests a client may send at once above its rate',
    schema: int(1, 10_000_000),
    shown: '1000',
  },
  rateLimitBytes: {
    flags: '--rate-limit-bytes <bytes>',
    env: 'TESSERA_RATE_LIMIT_BYTES',
    help: 'request body bytes per second each client may keep up',
    schema: bytes(1),
    shown: '256MiB',
  },
  clientInFlight: {
    flags: '--client-in-flight <n>',
    env: 'TESSERA_CLIENT_IN_FLIGHT',
    help: 'requests of one client served at once (event streams aside)',
    schema: int(1, 100_000),
    shown: '64',
  },
  metrics: {
    flags: '--metrics <bool>',
    env: 'TESSERA_METRICS',
    help: 'serve Prometheus metrics at GET /metrics',
    schema: bool(),
    shown: 'true',
  },
  logLevel: common.logLevel(),
};
export type SchedulerConfig = ConfigOf<typeof schedulerFlags>;

/** How each scheduler limit is set, quoted in its 413 answers. */
export const SCHEDULER_LIMIT_NAMES = {
  maxGraphTasks: '--max-graph-tasks / TESSERA_MAX_GRAPH_TASKS',
  maxGraphBytes: '--max-graph-bytes / TESSERA_MAX_GRAPH_BYTES',
  maxBodyBytes: '--max-body-bytes / TESSERA_MAX_BODY_BYTES',
  rateLimit: '--rate-limit / TESSERA_RATE_LIMIT',
  rateLimitBytes: '--rate-limit-bytes / TESSERA_RATE_LIMIT_BYTES',
  clientInFlight: '--client-in-flight / TESSERA_CLIENT_IN_FLIGHT',
};

export function schedulerOptions(c: SchedulerConfig) {
  return {
    redis: c.redis ?? 'redis://127.0.0.1:6379',
    ...compact({
      host: c.host,
      port: c.port,
      prefix: c.prefix,
      heartbeatMs: c.heartbeatMs,
      workerTimeoutMs: c.workerTimeoutMs,
      endedGraphTtlMs: c.endedGraphTtlMs,
      token: c.token,
      maxGraphTasks: c.maxGraphTasks,
      maxGraphBytes: c.maxGraphBytes,
      maxBodyBytes: c.maxBodyBytes,
      rateLimit: c.rateLimit,
      rateBurst: c.rateBurst,
      rateLimitBytes: c.rateLimitBytes,
      clientInFlight: c.clientInFlight,
      metrics: c.metrics,
      logLevel: c.logLevel,
    }),
    limitNames: SCHEDULER_LIMIT_NAMES,
  };
}

export function schedulerCommand(): Command {
  const cmd = new Command('scheduler').description('run the scheduler: HTTP API, graph state in Redis, dispatch to workers');
  return addFlags(cmd, schedulerFlags).action(async (raw: Record<string, unknown>) => {
    const config = parseFlags('scheduler', schedulerFlags, raw);
    const s = await startScheduler(schedulerOptions(config));
    onSignals('scheduler', () => s.close(), s.closeWithinMs);
    // The one line on stdout: scripts and tests wait for it.
    console.log(`tessera scheduler listening on ${s.url}`);
  });
}

export const workerFlags = {
  redis: common.redis(),
  scheduler: common.scheduler(),
  id: { flags: '--id <id>', env: 'TESSERA_WORKER_ID', help: 'worker id', schema: text(64), shown: 'host-pid-random' },
  threads: { flags: '--threads <n>', env: 'TESSERA_THREADS', help: 'pool threads', schema: int(1, 1024), shown: 'the cores' },
  host: {
    flags: '--host <host>',
    env: 'TESSERA_WORKER_HOST',
    help: "host or IP peers reach this worker at; 'auto': this machine's first non-loopback IPv4",
    schema: text(255),
    shown: "127.0.0.1, or 'auto' when --bind is 0.0.0.0",
  },
  bind: {
    flags: '--bind <address>',
    env: 'TESSERA_WORKER_BIND',
    help: 'address the peer server listens on',
    schema: text(255),
    shown: '127.0.0.1',
  },
  port: {
    flags: '--port <n>',
    env: 'TESSERA_WORKER_PORT',
    help: 'peer server port (also /health and /metrics)',
    schema: int(0, 65535),
    shown: 'any free port',
  },
  memoryLimit: {
    flags: '--memory-limit <bytes>',
    env: 'TESSERA_MEMORY_LIMIT',
    help: 'chunk memory limit',
    schema: bytes(1),
    shown: '60% of RAM',
  },
  spillDir: {
    flags: '--spill-dir <path>',
    env: 'TESSERA_SPILL_DIR',
    help: 'where chunks go past 70% of the memory limit',
    schema: text(4096),
    shown: 'the OS temp dir',
  },
  cpus: {
    flags: '--cpus <list>',
    env: 'TESSERA_CPUS',
    help: 'pin the worker to these CPUs, as taskset -c (e.g. 0-3,8); --threads defaults to their count',
    schema: text(4096),
    shown: 'not pinned',
  },
  cacheDir: {
    flags: '--cache-dir <path>',
    env: 'TESSERA_CACHE_DIR',
    help: "result cache across runs for compute's cache: true (workers may share the folder)",
    schema: text(4096),
    shown: 'none',
  },
  cacheMaxBytes: {
    flags: '--cache-max-bytes <bytes>',
    env: 'TESSERA_CACHE_MAX_BYTES',
    help: 'size of the result cache, least recently used out first',
    schema: bytes(0),
    shown: '4 GiB',
  },
  concurrency: {
    flags: '--concurrency <n>',
    env: 'TESSERA_CONCURRENCY',
    help: 'jobs in flight per queue',
    schema: int(1, 100_000),
    shown: 'threads x 32',
  },
  kernels: {
    flags: '--kernels <modules...>',
    env: 'TESSERA_KERNELS',
    help: 'modules that register kernels (comma-separated in the variable); only these kernels run',
    schema: list(),
  },
  discoveryTimeoutMs: {
    flags: '--discovery-timeout-ms <n>',
    env: 'TESSERA_DISCOVERY_TIMEOUT_MS',
    help: 'how long to wait for the scheduler at start',
    schema: int(1),
    shown: '30000',
  },
  replicaCacheBytes: {
    flags: '--replica-cache <bytes>',
    env: 'TESSERA_REPLICA_CACHE',
    help: 'bytes of chunks fetched from peers kept for reuse',
    schema: bytes(0),
    shown: 'min(256MiB, memory limit / 4)',
  },
  token: common.token(),
  shutdownTimeoutMs: {
    flags: '--shutdown-timeout-ms <n>',
    env: 'TESSERA_SHUTDOWN_TIMEOUT_MS',
    help: 'on SIGTERM, how long running tasks get to finish',
    schema: int(0, 3_600_000),
    shown: '30000',
  },
  metrics: {
    flags: '--metrics <bool>',
    env: 'TESSERA_METRICS',
    help: 'serve Prometheus metrics at GET /metrics of the peer server',
    schema: bool(),
    shown: 'true',
  },
  gpu: {
    flags: '--gpu [bool]',
    env: 'TESSERA_GPU',
    help: "open the WebGPU device and run tasks marked for a GPU on it (no adapter: a warning, CPU only)",
    schema: bool(),
    shown: 'false',
  },
  gpuDevice: {
    flags: '--gpu-device <n>',
    env: 'TESSERA_GPU_DEVICE',
    help: 'open adapter n of this machine (implies --gpu; one that does not exist fails the start)',
    schema: int(0, 1023),
    shown: "WebGPU's choice",
  },
  logLevel: common.logLevel(),
};
export type WorkerConfig = ConfigOf<typeof workerFlags>;

export function workerOptions(c: WorkerConfig) {
  return {
    redis: c.redis ?? 'redis://127.0.0.1:6379',
    scheduler: c.scheduler ?? 'http://127.0.0.1:8786',
    ...compact({
      id: c.id,
      threads: c.threads,
      host: c.host,
      bind: c.bind,
      port: c.port,
      memoryLimit: c.memoryLimit,
      spillDir: c.spillDir,
      cpus: c.cpus,
      cacheDir: c.cacheDir,
      cacheMaxBytes: c.cacheMaxBytes,
      concurrency: c.concurrency,
      kernels: c.kernels,
      discoveryTimeoutMs: c.discoveryTimeoutMs,
      replicaCacheBytes: c.replicaCacheBytes,
      token: c.token,
      shutdownTimeoutMs: c.shutdownTimeoutMs,
      metrics: c.metrics,
      logLevel: c.logLevel,
      gpu: c.gpu,
      gpuDevice: c.gpuDevice,
    }),
  };
}

export function workerCommand(): Command {
  const cmd = new Command('worker').description(
    'run a worker: takes tasks from the scheduler, runs kernels on a thread pool, serves chunks to peers',
  );
  return addFlags(cmd, workerFlags).action(async (raw: Record<string, unknown>) => {
    const config = parseFlags('worker', workerFlags, raw);
    const w = await startWorker(workerOptions(config));
    onSignals('worker', () => w.close(), w.closeWithinMs);
    console.log(`tessera worker ${w.id} serving chunks at ${w.address}`);
  });
}

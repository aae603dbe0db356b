import { availableParallelism, hostname, networkInterfaces, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InvalidArgumentError, LogLevel, NOT_ID_CHAR, RedisUrl, WorkerId, parseCpuList } from '@tessera/protocol';

const urlWithProtocol = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((s) => protocols.includes(new URL(s).protocol), `must be a ${protocols.map((p) => p.slice(0, -1)).join(' or ')} URL`);

/** Options of a worker process; everything about the cluster itself comes from GET /api/cluster. */
export const WorkerOptionsSchema = z
  .object({
    /** Redis of the cluster, e.g. redis://127.0.0.1:6379 */
    redis: RedisUrl,
    /** Base URL of the scheduler's HTTP API, e.g. http://127.0.0.1:8786 */
    scheduler: urlWithProtocol(['http:', 'https:']),
    /** Default: `${hostname}-${pid}-${random4}` reduced to the WorkerId alphabet. */
    id: WorkerId.optional(),
    /** Pool threads; default: the machine's cores. */
    threads: z.number().int().min(1).max(1024).optional(),
    /**
     * Host other workers reach this one's peer server at; default 127.0.0.1, or with a wildcard
     * `bind` this machine's first non-internal IPv4 address. `auto` asks for that address always
     * (a container behind `docker compose --scale` has no name of its own to give).
     */
    host: z
      .string()
      .min(1)
      .max(255)
      .refine(
        (h) => h === 'auto' || URL.canParse(`http://${urlHost(h)}:1/`),
        'must be a host name or IP address that can go in a URL, or auto',
      )
      .optional(),
    /** Address the peer server listens on; default 127.0.0.1. */
    bind: z.string().min(1).max(255).optional(),
    /** Peer server port; default 0 (any free port). */
    port: z.number().int().min(0).max(65535).optional(),
    /** Bytes of chunk memory this worker allows itself; default 60% of the machine's memory. */
    memoryLimit: z.number().int().positive().optional(),
    /**
     * Where this worker's folder of spilled chunks (tessera-spill-<id>) is made: chunks nobody is
     * using go to disk when chunk memory passes 70% of memoryLimit. Default: the OS temp dir.
     */
    spillDir: z.string().min(1).max(4096).optional(),
    /** A result cache across runs: outputs of tasks marked `cache` (compute's `cache: true`) kept in this folder, which workers may share. */
    cacheDir: z.string().min(1).max(4096).optional(),
    /** Pin the worker's threads to these CPUs (a list as "0-3,8" or numbers), as taskset -c; default threads = their count. */
    cpus: z.union([z.string().min(1).max(4096), z.array(z.number().int().nonnegative()).min(1)]).optional(),
    /** Bytes of cache entries kept (least recently used out first); default 4 GiB. */
    cacheMaxBytes: z.number().int().nonnegative().optional(),
    /** Modules (paths or URLs) that call registerKernel; every pool thread loads them. */
    kernels: z.array(z.string().min(1)).optional(),
    /** BullMQ jobs in flight per queue; default threads × 32 (tiny tasks are all Redis round trip; the pool still runs `threads` at once). */
    concurrency: z.number().int().min(1).max(100_000).optional(),
    /** Default: the cluster's heartbeatMs. */
    heartbeatMs: z.number().int().min(10).optional(),
    /** Bytes of chunks fetched from peers kept for other tasks; default min(256 MiB, memoryLimit / 4). */
    replicaCacheBytes: z.number().int().nonnegative().optional(),
    /** How long to wait for the scheduler to answer at startup; default 30 s. */
    discoveryTimeoutMs: z.number().int().positive().optional(),
    /** The cluster's token: sent to the scheduler and to peers, required of peers fetching chunks from here. */
    token: z.string().min(16, 'must be at least 16 characters').max(4096).optional(),
    /** On close (SIGTERM), how long running tasks get to finish before they are abandoned; default 30 s. */
    shutdownTimeoutMs: z.number().int().nonnegative().max(3_600_000).optional(),
    /** Serve Prometheus metrics at GET /metrics on the peer server; default true. */
    metrics: z.boolean().optional(),
    /** Open the WebGPU device and run tasks marked for a GPU on it (no adapter: a warning, CPU only). */
    gpu: z.boolean().optional(),
    /** The adapter to open, by index among the machine's (implies gpu); a missing one fails the start. Default TESSERA_GPU_DEVICE. */
    gpuDevice: z.number().int().nonnegative().max(1023).optional(),
    /** pino level of this worker's log (stderr, JSON lines); default info. */
    logLevel: LogLevel.optional(),
  })
  .strict();
export type WorkerOptions = z.input<typeof WorkerOptionsSchema>;

/** Options with every default filled in (the cluster's heartbeat may still be pending). */
export interface WorkerConfig {
  redis: string;
  scheduler: string;
  id: string;
  threads: number;
  host: string;
  bind: string;
  port: number;
  memoryLimit: number;
  spillDir: string;
  cache: { dir: string; maxBytes?: number } | undefined;
  cpus: number[] | undefined;
  kernels: string[];
  concurrency: number;
  heartbeatMs: number | undefined;
  replicaCacheBytes: number;
  discoveryTimeoutMs: number;
  token: string | undefined;
  shutdownTimeoutMs: number;
  metrics: boolean;
  logLevel: LogLevel;
  gpu: boolean;
  gpuDevice: number | undefined;
}

const REPLICA_CACHE_MAX = 256 * 2 ** 20;

/** Options are checked at the boundary: a bad value is an InvalidArgumentError naming it. */
export function resolveWorkerOptions(options: unknown): WorkerConfig {
  const parsed = WorkerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new InvalidArgumentError(`worker option ${i.path.join('.') || '(options)'}: ${i.message}`);
  }
  const o = parsed.data;
  const cpus = o.cpus === undefined ? undefined : typeof o.cpus === 'string' ? parseCpuList(o.cpus) : [...new Set(o.cpus)].sort((a, b) => a - b);
  const threads = o.threads ?? cpus?.length ?? availableParallelism();
  const memoryLimit = o.memoryLimit ?? Math.floor(totalmem() * 0.6);
  const id = o.id ?? defaultWorkerId();
  return {
    redis: o.redis,
    scheduler: o.scheduler.replace(/\/+$/, ''),
    id,
    threads,
    host: resolveHost(o.host, o.bind ?? '127.0.0.1'),
    bind: o.bind ?? '127.0.0.1',
    port: o.port ?? 0,
    memoryLimit,
    // Its own folder: workers sharing a spill dir never read each other's files.
    spillDir: join(o.spillDir ?? tmpdir(), `tessera-spill-${id}`),
    cpus,
    cache: o.cacheDir === undefined ? undefined : { dir: o.cacheDir, ...(o.cacheMaxBytes !== undefined ? { maxBytes: o.cacheMaxBytes } : {}) },
    kernels: o.kernels ?? [],
    // Tiny tasks are mostly Redis round trips: a few jobs per thread in flight hide that latency.
    concurrency: o.concurrency ?? threads * 32,
    heartbeatMs: o.heartbeatMs,
    replicaCacheBytes: o.replicaCacheBytes ?? Math.min(REPLICA_CACHE_MAX, Math.floor(memoryLimit / 4)),
    discoveryTimeoutMs: o.discoveryTimeoutMs ?? 30_000,
    token: o.token,
    shutdownTimeoutMs: o.shutdownTimeoutMs ?? 30_000,
    metrics: o.metrics ?? true,
    logLevel: o.logLevel ?? 'info',
    gpu: o.gpu ?? o.gpuDevice !== undefined,
    gpuDevice: o.gpuDevice,
  };
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** The host peers reach this worker at: given, or guessed from the bind address. */
export function resolveHost(host: string | undefined, bind: string): string {
  if (host !== undefined && host !== 'auto') return host;
  if (host === 'auto' || WILDCARD.has(bind)) return firstExternalIPv4() ?? hostname();
  return bind;
}

/** This machine's first non-internal IPv4 address (a container's address on its network). */
export function firstExternalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/** `${hostname}-${pid}-${random4}` in the WorkerId alphabet, at most 64 characters. */
export function defaultWorkerId(): string {
  const host =
    hostname()
      .replace(NOT_ID_CHAR, '-')
      .slice(0, 40) || 'worker';
  return `${host}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

/** An IPv6 literal goes in brackets in a URL. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

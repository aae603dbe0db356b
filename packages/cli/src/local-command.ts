import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { ShutdownOutcome } from '@tessera/protocol';
import { startScheduler } from '@tessera/scheduler';
import { allowedCpus, listGpuAdapters } from '@tessera/worker';
import { formatCpuList } from '@tessera/protocol';
import { type ConfigOf, ConfigError, addFlags, bool, bytes, common, int, list, parseFlags, text, url } from './flags.js';
import { SCHEDULER_LIMIT_NAMES } from './commands.js';
import { onSignals } from './options.js';
import { type RedisChild, startRedisChild } from './redis-child.js';

/** The launcher of this CLI: workers are `tessera worker` processes, as on any other machine. */
const BIN = fileURLToPath(new URL('../bin/tessera.mjs', import.meta.url));

export const localFlags = {
  workers: { flags: '--workers <n>', env: 'TESSERA_LOCAL_WORKERS', help: 'worker processes', schema: int(1, 256), shown: 'min(4, cores)' },
  threads: {
    flags: '--threads <n>',
    env: 'TESSERA_THREADS',
    help: 'pool threads per worker',
    schema: int(1, 1024),
    shown: 'cores / workers',
  },
  redis: {
    flags: '--redis <url>',
    env: 'TESSERA_REDIS',
    help: 'Redis to use; without it a private redis-server is started on a free port (no persistence)',
    schema: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  },
  redisServer: {
    flags: '--redis-server <path>',
    env: 'TESSERA_REDIS_SERVER',
    help: 'redis-server binary started when no --redis is given',
    schema: text(),
    shown: 'redis-server',
  },
  host: { flags: '--host <address>', env: 'TESSERA_HOST', help: 'address the scheduler listens on', schema: text(255), shown: '127.0.0.1' },
  port: { flags: '--port <n>', env: 'TESSERA_PORT', help: 'scheduler port (0: any free port)', schema: int(0, 65535), shown: '8786' },
  prefix: { flags: '--prefix <name>', env: 'TESSERA_PREFIX', help: 'Redis key prefix', schema: text(64), shown: 'tessera' },
  token: common.token(),
  kernels: {
    flags: '--kernels <modules...>',
    env: 'TESSERA_KERNELS',
    help: 'modules that register kernels, loaded by every worker',
    schema: list(),
  },
  memoryLimit: {
    flags: '--memory-limit <bytes>',
    env: 'TESSERA_MEMORY_LIMIT',
    help: 'chunk memory limit of each worker',
    schema: bytes(1),
    shown: '60% of RAM / workers',
  },
  shutdownTimeoutMs: {
    flags: '--shutdown-timeout-ms <n>',
    env: 'TESSERA_SHUTDOWN_TIMEOUT_MS',
    help: 'on SIGTERM/Ctrl-C, how long running tasks get to finish',
    schema: int(0, 3_600_000),
    shown: '30000',
  },
  gpus: {
    flags: '--gpus <which>',
    env: 'TESSERA_LOCAL_GPUS',
    help: "one worker per GPU adapter, each opening its own (--gpu-device i): 'all', or how many",
    schema: text(16),
    shown: 'none',
  },
  bind: {
    flags: '--bind',
    env: 'TESSERA_LOCAL_BIND',
    help: 'pin each worker to CPUs of its own (--threads of them, in order), as taskset -c',
    schema: bool(),
  },
  logLevel: common.logLevel(),
};
export type LocalConfig = ConfigOf<typeof localFlags>;

/**
 * `tessera local`: a whole cluster in one command (Dask's LocalCluster): Redis (a private
 * redis-server unless --redis), the scheduler in this process, and N worker processes. Ctrl-C
 * or SIGTERM stops the workers gracefully, then the scheduler, then Redis.
 */
export function localCommand(): Command {
  const cmd = new Command('local').description('run a scheduler and N workers on this machine in one command (like Dask LocalCluster)');
  return addFlags(cmd, localFlags).action(async (raw: Record<string, unknown>) => {
    const c = parseFlags('local', localFlags, raw);
    const cores = availableParallelism();
    const gpus = c.gpus === undefined ? undefined : await gpuWorkers(c.gpus, c.workers);
    const workers = gpus ?? c.workers ?? Math.min(4, cores);
    const threads = c.threads ?? Math.max(1, Math.floor(cores / workers));
    const shares = c.bind ? cpuShares(workers, threads) : undefined;
    let redis: RedisChild | undefined;
    const redisUrl = c.redis ?? (redis = await startRedisChild(c.redisServer ?? 'redis-server')).url;
    const children: ChildProcess[] = [];
    const stopAll = async (): Promise<ShutdownOutcome | undefined> => {
      await stopChildren(children, (c.shutdownTimeoutMs ?? 30_000) + 5_000);
      const outcome = await scheduler?.close();
      await redis?.stop();
      return outcome;
    };
    let scheduler: Awaited<ReturnType<typeof startScheduler>> | undefined;
    try {
      scheduler = await startScheduler({
        redis: redisUrl,
        port: c.port ?? 8786,
        ...(c.host !== undefined ? { host: c.host } : {}),
        ...(c.prefix !== undefined ? { prefix: c.prefix } : {}),
        ...(c.token !== undefined ? { token: c.token } : {}),
        ...(c.logLevel !== undefined ? { logLevel: c.logLevel } : {}),
        limitNames: SCHEDULER_LIMIT_NAMES,
      });
      const env: Record<string, string> = {
        TESSERA_REDIS: redisUrl,
        TESSERA_SCHEDULER: scheduler.url,
        TESSERA_THREADS: String(threads),
      };
      if (c.token !== undefined) env.TESSERA_TOKEN = c.token;
      if (c.kernels?.length) env.TESSERA_KERNELS = c.kernels.join(',');
      if (c.memoryLimit !== undefined) env.TESSERA_MEMORY_LIMIT = String(c.memoryLimit);
      if (c.shutdownTimeoutMs !== undefined) env.TESSERA_SHUTDOWN_TIMEOUT_MS = String(c.shutdownTimeoutMs);
      if (c.logLevel !== undefined) env.TESSERA_LOG_LEVEL = c.logLevel;
      await Promise.all(
        Array.from({ length: workers }, (_, i) =>
          startWorkerChild({ ...env, ...(shares ? { TESSERA_CPUS: shares[i]! } : {}), ...(gpus !== undefined ? { TESSERA_GPU_DEVICE: String(i) } : {}) }, children),
        ),
      );
    } catch (e) {
      await stopAll();
      throw e;
    }
    onSignals('local', stopAll);
    const pinned = (shares ? `, pinned to CPUs ${shares.join(' ')}` : '') + (gpus !== undefined ? `, one per GPU` : '');
    console.log(`tessera local: scheduler listening on ${scheduler.url} with ${workers} workers of ${threads} threads${pinned} (Redis ${redisUrl})`);
  });
}

/** --gpus: how many workers, one per adapter (worker i opens adapter i). */
async function gpuWorkers(which: string, workers: number | undefined): Promise<number> {
  const adapters = await listGpuAdapters();
  const n = which === 'all' ? adapters.length : /^\d+$/.test(which) ? Number(which) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`local: --gpus takes 'all' or a number of GPUs, got ${JSON.stringify(which)}${adapters.length === 0 ? ' (and this machine has no WebGPU adapter)' : ''}`);
  if (n > adapters.length) throw new ConfigError(`local: --gpus ${n}: this machine has ${adapters.length} WebGPU adapter${adapters.length === 1 ? '' : 's'} (${adapters.map((a) => `${a.index}: ${a.name}`).join('; ') || 'none'})`);
  if (workers !== undefined && workers !== n) throw new ConfigError(`local: --gpus starts one worker per GPU (${n}); --workers ${workers} says otherwise`);
  return n;
}

/** --bind: worker i gets CPUs i*threads .. (i+1)*threads - 1 of those this process may use. */
function cpuShares(workers: number, threads: number): string[] {
  const cpus = allowedCpus();
  if (!cpus) throw new ConfigError('local: --bind needs the native addon (CPU affinity), which is not there');
  if (workers * threads > cpus.length) {
    throw new ConfigError(`local: --bind gives each worker CPUs of its own: ${workers} workers of ${threads} threads need ${workers * threads}, this process may use ${cpus.length} (${formatCpuList(cpus)})`);
  }
  return Array.from({ length: workers }, (_, i) => formatCpuList(cpus.slice(i * threads, (i + 1) * threads)));
}

/** `tessera worker` as a child, resolved once it serves chunks; its log goes to our stderr. */
function startWorkerChild(extraEnv: Record<string, string>, children: ChildProcess[]): Promise<void> {
  // Flags the user gave this command must not leak into the workers through the environment.
  const env = { ...process.env, ...extraEnv };
  delete env.TESSERA_PORT;
  delete env.TESSERA_HOST;
  const child = spawn(process.execPath, [BIN, 'worker'], { stdio: ['ignore', 'pipe', 'inherit'], env });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (/serving chunks at/.test(out)) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      reject(new Error(`a worker exited (${code ?? signal}) before it was ready`));
      if (code !== 0) console.error(`tessera local: worker ${child.pid ?? '?'} exited (${code ?? signal})`);
    });
  });
}

async function stopChildren(children: ChildProcess[], timeoutMs: number): Promise<void> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exits = alive.map((c) => new Promise<void>((r) => c.once('exit', () => r())));
  for (const c of alive) c.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(exits), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

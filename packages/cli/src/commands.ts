import { Command } from 'commander';
import { startScheduler } from '@tessera/scheduler';
import { startWorker } from '@tessera/worker';
import { defined, intFlag, onSignals, textFlag } from './options.js';

export function schedulerCommand(): Command {
  return new Command('scheduler')
    .description('run the scheduler: HTTP API, graph state in Redis, dispatch to workers')
    .addOption(textFlag('--redis <url>', 'Redis URL', 'TESSERA_REDIS').default('redis://127.0.0.1:6379'))
    .addOption(textFlag('--host <address>', 'address to listen on (default 127.0.0.1)', 'TESSERA_HOST'))
    .addOption(intFlag('--port <n>', 'port to listen on (default 8786)', 'TESSERA_PORT'))
    .addOption(textFlag('--prefix <name>', 'Redis key prefix of this cluster (default tessera)', 'TESSERA_PREFIX'))
    .addOption(intFlag('--heartbeat-ms <n>', 'worker heartbeat interval (default 1000)', 'TESSERA_HEARTBEAT_MS'))
    .addOption(intFlag('--worker-timeout-ms <n>', 'a worker silent this long is dead (default 10000)', 'TESSERA_WORKER_TIMEOUT_MS'))
    .addOption(intFlag('--ended-graph-ttl-ms <n>', 'an ended graph nobody released expires after this (default 1 h)', 'TESSERA_ENDED_GRAPH_TTL_MS'))
    .action(async (o: Record<string, string | number | undefined>) => {
      const s = await startScheduler(
        defined({
          redis: o.redis as string,
          host: o.host as string | undefined,
          port: o.port as number | undefined,
          prefix: o.prefix as string | undefined,
          heartbeatMs: o.heartbeatMs as number | undefined,
          workerTimeoutMs: o.workerTimeoutMs as number | undefined,
          endedGraphTtlMs: o.endedGraphTtlMs as number | undefined,
        }) as { redis: string },
      );
      onSignals('scheduler', () => s.close());
      console.log(`tessera scheduler listening on ${s.url}`);
    });
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('run a worker: takes tasks from the scheduler, runs kernels on a thread pool, serves chunks to peers')
    .addOption(textFlag('--redis <url>', 'Redis URL', 'TESSERA_REDIS').default('redis://127.0.0.1:6379'))
    .addOption(textFlag('--scheduler <url>', 'scheduler URL', 'TESSERA_SCHEDULER').default('http://127.0.0.1:8786'))
    .addOption(textFlag('--id <id>', 'worker id (default host-pid-random)', 'TESSERA_WORKER_ID'))
    .addOption(intFlag('--threads <n>', 'pool threads (default: cores)', 'TESSERA_THREADS'))
    .addOption(textFlag('--host <host>', 'host peers reach this worker at (default 127.0.0.1)', 'TESSERA_WORKER_HOST'))
    .addOption(textFlag('--bind <address>', 'address the peer server listens on (default 127.0.0.1)', 'TESSERA_WORKER_BIND'))
    .addOption(intFlag('--port <n>', 'peer server port (default any free)', 'TESSERA_WORKER_PORT'))
    .addOption(intFlag('--memory-limit <bytes>', 'chunk memory limit (default 60% of RAM)', 'TESSERA_MEMORY_LIMIT'))
    .addOption(intFlag('--concurrency <n>', 'jobs in flight (default threads x 32)', 'TESSERA_CONCURRENCY'))
    .addOption(textFlag('--kernels <modules...>', 'modules that register kernels', 'TESSERA_KERNELS'))
    .addOption(intFlag('--discovery-timeout-ms <n>', 'how long to wait for the scheduler at start (default 30000)', 'TESSERA_DISCOVERY_TIMEOUT_MS'))
    .action(async (o: Record<string, string | string[] | number | undefined>) => {
      const kernels = typeof o.kernels === 'string' ? o.kernels.split(',').filter(Boolean) : o.kernels;
      const w = await startWorker(
        defined({
          redis: o.redis as string,
          scheduler: o.scheduler as string,
          id: o.id as string | undefined,
          threads: o.threads as number | undefined,
          host: o.host as string | undefined,
          bind: o.bind as string | undefined,
          port: o.port as number | undefined,
          memoryLimit: o.memoryLimit as number | undefined,
          concurrency: o.concurrency as number | undefined,
          kernels: kernels as string[] | undefined,
          discoveryTimeoutMs: o.discoveryTimeoutMs as number | undefined,
        }) as { redis: string; scheduler: string },
      );
      onSignals('worker', () => w.close());
      console.log(`tessera worker ${w.id} serving chunks at ${w.address}`);
    });
}

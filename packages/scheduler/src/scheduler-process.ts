import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import {
  InvalidArgumentError,
  KeyPrefix,
  LogLevel,
  RedisUrl,
  SHARED_QUEUE,
  settledWithin,
  type EngineEvent,
  type ShutdownOutcome,
  workerQueueName,
} from '@tessera/protocol';
import { buildServer } from './server/build-server.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_GRAPH_TASKS } from './server/limits.js';
import { SchedulerMetrics } from './server/metrics.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './server/rate-limit.js';
import type { ReadyState } from './server/ops-routes.js';
import { CLOSE_REDIS_MS, ClusterScheduler } from './cluster/cluster-scheduler.js';
import { connectRedis } from './cluster/redis-connection.js';


export const SchedulerOptionsSchema = z
  .object({
    redis: RedisUrl,
    /** Listen address: loopback unless told otherwise. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8786),
    prefix: KeyPrefix.default('tessera'),
    heartbeatMs: z.number().int().min(10).max(60_000).default(1_000),
    workerTimeoutMs: z.number().int().min(50).max(3_600_000).default(10_000),
    endedGraphTtlMs: z.number().int().min(1_000).default(3_600_000),
    /** Largest submitted graph (msgpack body), bytes. `bodyLimit` is its older name. */
    maxGraphBytes: z.number().int().positive().optional(),
    bodyLimit: z.number().int().positive().optional(),
    /** Most tasks in one graph. */
    maxGraphTasks: z.number().int().positive().default(DEFAULT_MAX_GRAPH_TASKS),
    /** Largest body of the other routes, bytes. */
    maxBodyBytes: z.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
    /** Requests per second each client may keep up (0: no rate limit); bursts of `rateBurst`. */
    rateLimit: z.number().min(0).default(DEFAULT_RATE_LIMITS.requestsPerSecond),
    rateBurst: z.number().int().min(1).default(DEFAULT_RATE_LIMITS.burst),
    /** Body bytes per second each client may keep up. */
    rateLimitBytes: z.number().int().positive().default(DEFAULT_RATE_LIMITS.bytesPerSecond),
    /** Requests of one client served at once (event streams aside). */
    clientInFlight: z.number().int().min(1).default(DEFAULT_RATE_LIMITS.inFlight),
    /** Bearer token every API route needs (and the token workers' peer servers need). */
    token: z.string().min(16, 'must be at least 16 characters').max(4096).optional(),
    /** Serve Prometheus metrics at GET /metrics. */
    metrics: z.boolean().default(true),
    logLevel: LogLevel.default('info'),
    /** How each limit is set, quoted in 413 answers (the CLI passes its flag names). */
    limitNames: z.record(z.string()).optional(),
  })
  .strict();
export type SchedulerOptions = z.input<typeof SchedulerOptionsSchema>;

export const DEFAULT_MAX_GRAPH_BYTES = 256 * 2 ** 20;
/** Open requests get this long at close; then their connections are cut (one may wait on Redis). */
const CLOSE_HTTP_MS = 1_500;

export interface SchedulerProcess {
  /** http://host:port the API answers on. */
  readonly url: string;
  readonly scheduler: ClusterScheduler;
  readonly log: Logger;
  /**
   * Stop serving and let go of Redis; every graph stays in Redis for the next scheduler. Nothing
   * waits on a Redis that is down: what was not written is in the outcome's `undone`, and in one
   * "shutdown incomplete" log line.
   */
  close(): Promise<ShutdownOutcome>;
  /** close() returns within about this long, whatever Redis does. */
  readonly closeWithinMs: number;
}

/** The scheduler process: resume from Redis, then serve the HTTP API. */
export async function startScheduler(options: SchedulerOptions, log?: Logger): Promise<SchedulerProcess> {
  const parsed = SchedulerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new InvalidArgumentError(`scheduler option ${i.path.join('.') || '(options)'}: ${i.message}`);
  }
  const o = parsed.data;
  const logger = log ?? pino({ name: 'tessera-scheduler', level: o.logLevel }, pino.destination(2));
  const scheduler = await ClusterScheduler.start({ ...o, log: logger });
  // A connection of its own for probes and metrics: a slow scrape never queues behind dispatch.
  const ops = connectRedis(o.redis, { maxRetriesPerRequest: 1, lazyConnect: true, enableOfflineQueue: false });
  ops.on('error', () => undefined);
  await ops.connect().catch(() => undefined);
  await checkEviction(ops, logger);

  const untap = scheduler.tapEvents((_json, events) => {
    for (const ev of events) logEvent(logger, ev);
  });
  let metrics: SchedulerMetrics | undefined;
  let untapMetrics: (() => void) | undefined;
  if (o.metrics) {
    const m = new SchedulerMetrics({
      graphs: () => scheduler.graphs(),
      workers: () => scheduler.workers(),
      backlog: () => scheduler.backlog(),
      queueDepths: async () =>
        queueDepths(
          ops,
          scheduler.info.bullPrefix,
          (await scheduler.workers()).map((w) => w.info.id),
        ),
    });
    untapMetrics = scheduler.tapEvents((_json, events) => {
      for (const ev of events) m.observe(ev);
    });
    metrics = m;
  }

  const ready = async (): Promise<ReadyState> => {
    const health = await scheduler.health();
    const redis = await ping(ops, 1_000);
    // health.ok: every graph resumed and the scheduler's own connections are up.
    return { ready: health.ok && redis, redis, resumed: health.ok, workers: health.workers };
  };

  const app = buildServer(scheduler, {
    bodyLimit: o.maxGraphBytes ?? o.bodyLimit ?? DEFAULT_MAX_GRAPH_BYTES,
    maxBodyBytes: o.maxBodyBytes,
    maxGraphTasks: o.maxGraphTasks,
    ...(o.limitNames ? { limitNames: o.limitNames } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(metrics ? { metrics } : {}),
    ...(o.rateLimit > 0 ? { rateLimits: rateLimitsOf(o) } : {}),
    ready,
    loggerInstance: logger,
  });
  const release = async (): Promise<ShutdownOutcome> => {
    untap();
    untapMetrics?.();
    ops.disconnect();
    return scheduler.close();
  };
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (e) {
    await release();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, prefix: o.prefix, auth: o.token !== undefined }, 'scheduler listening');
  return {
    url,
    scheduler,
    log: logger,
    closeWithinMs: CLOSE_HTTP_MS + CLOSE_REDIS_MS + 500,
    async close() {
      // Open event streams end (clients reconnect to the next scheduler); nothing in Redis is touched.
      if (!(await settledWithin(app.close(), CLOSE_HTTP_MS))) app.server.closeAllConnections();
      const outcome = await release();
      if (outcome.undone.length === 0) logger.info('scheduler stopped; graph state stays in Redis');
      else logger.warn({ undone: outcome.undone }, `shutdown incomplete (Redis unreachable): ${outcome.undone.join('; ')}`);
      return outcome;
    },
  };
}

function rateLimitsOf(o: z.output<typeof SchedulerOptionsSchema>): RateLimits {
  const names = o.limitNames;
  return {
    requestsPerSecond: o.rateLimit,
    burst: o.rateBurst,
    bytesPerSecond: o.rateLimitBytes,
    bytesBurst: 2 * o.rateLimitBytes,
    inFlight: o.clientInFlight,
    ...(names
      ? { names: { requestsPerSecond: names['rateLimit'] ?? 'rateLimit', bytesPerSecond: names['rateLimitBytes'] ?? 'rateLimitBytes', inFlight: names['clientInFlight'] ?? 'clientInFlight' } }
      : {}),
  };
}

/** Graph ends and task failures, with their ids; every task transition at debug level. */
function logEvent(log: Logger, ev: EngineEvent): void {
  if (ev.type === 'graph') {
    if (ev.state === 'running') log.info({ graph: ev.graph, tasks: ev.total }, 'graph running');
    else if (ev.state === 'erred') log.warn({ graph: ev.graph, tasks: ev.total, done: ev.done, error: ev.error?.message }, 'graph erred');
    else log.info({ graph: ev.graph, tasks: ev.total, done: ev.done, state: ev.state }, `graph ${ev.state}`);
    return;
  }
  if (ev.state === 'erred')
    log.warn({ graph: ev.graph, task: ev.key, op: ev.op, worker: ev.worker, error: ev.error?.message }, 'task erred');
  else if (log.isLevelEnabled('debug')) log.debug({ graph: ev.graph, task: ev.key, state: ev.state, worker: ev.worker }, 'task');
}

/** A Redis that evicts keys under memory pressure would drop graphs: say so at start. */
async function checkEviction(redis: Redis, log: Logger): Promise<void> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy && policy !== 'noeviction') {
      log.warn(
        { policy },
        'Redis maxmemory-policy is not noeviction: under memory pressure it may evict graph state; set maxmemory-policy noeviction',
      );
    }
  } catch {
    // CONFIG is often disabled on managed Redis: nothing to check then.
  }
}

async function ping(redis: Redis, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      redis.ping().then((r) => r === 'PONG'),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Jobs in each BullMQ list of the shared queue and each worker's queue. */
async function queueDepths(redis: Redis, bullPrefix: string, workers: string[]): Promise<{ queue: string; state: string; jobs: number }[]> {
  const names = [SHARED_QUEUE, ...workers.map(workerQueueName)];
  const p = redis.pipeline();
  for (const q of names) {
    const k = `${bullPrefix}:${q}`;
    p.llen(`${k}:wait`).zcard(`${k}:prioritized`).llen(`${k}:active`).zcard(`${k}:delayed`);
  }
  const res = (await p.exec()) ?? [];
  const states = ['waiting', 'prioritized', 'active', 'delayed'];
  const out: { queue: string; state: string; jobs: number }[] = [];
  names.forEach((queue, i) => {
    states.forEach((state, j) => {
      const [err, n] = res[i * states.length + j] ?? [null, 0];
      if (!err) out.push({ queue, state, jobs: Number(n) });
    });
  });
  return out;
}

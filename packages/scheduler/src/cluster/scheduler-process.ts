import { z } from 'zod';
import { InvalidArgumentError } from '@tessera/protocol';
import { buildServer } from '../server/build-server.js';
import { ClusterScheduler } from './cluster-scheduler.js';

export const SchedulerOptionsSchema = z
  .object({
    redis: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
    /** Listen address: loopback unless told otherwise. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8786),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -')
      .default('tessera'),
    heartbeatMs: z.number().int().min(10).max(60_000).default(1_000),
    workerTimeoutMs: z.number().int().min(50).max(3_600_000).default(10_000),
    endedGraphTtlMs: z.number().int().min(1_000).default(3_600_000),
    bodyLimit: z.number().int().positive().default(256 * 2 ** 20),
  })
  .strict();
export type SchedulerOptions = z.input<typeof SchedulerOptionsSchema>;

export interface SchedulerProcess {
  /** http://host:port the API answers on. */
  readonly url: string;
  readonly scheduler: ClusterScheduler;
  close(): Promise<void>;
}

/** The scheduler process: resume from Redis, then serve the HTTP API. */
export async function startScheduler(options: SchedulerOptions): Promise<SchedulerProcess> {
  const parsed = SchedulerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new InvalidArgumentError(`scheduler option ${i.path.join('.') || '(options)'}: ${i.message}`);
  }
  const o = parsed.data;
  const scheduler = await ClusterScheduler.start(o);
  const app = buildServer(scheduler, { bodyLimit: o.bodyLimit });
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (e) {
    await scheduler.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    scheduler,
    async close() {
      await app.close();
      await scheduler.close();
    },
  };
}

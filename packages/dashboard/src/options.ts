import { InvalidArgumentError, type Engine } from '@tessera/protocol';
import { z } from 'zod';

/** An engine in this process that a dashboard can read: one with a monitor (the local engine). */
const MonitoredEngine = z.custom<Engine>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { monitor?: unknown }).monitor === 'function',
  'must be an engine of this process with monitor() (the local engine: client.engine of Client.connect() without an address); for a cluster pass scheduler: URL',
);

export const DashboardOptionsSchema = z
  .object({
    /** Base URL of the scheduler's HTTP API (a cluster). */
    scheduler: z
      .string()
      .regex(/^https?:\/\/[^\s/]+/, 'must be an http:// or https:// URL')
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    /** Or an engine in this process (the embedded local engine), read without HTTP. */
    engine: MonitoredEngine.optional(),
    /** Listen address: loopback unless told otherwise. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
    /** One message to each browser at most this often (ms). */
    tickMs: z.number().int().min(50).max(10_000).default(250),
    /** Task-stream bars sent per tick at most; beyond that a sample (errors always go). */
    maxBarsPerTick: z.number().int().min(10).max(100_000).default(400),
    /** How often the worker table is read from the scheduler (ms). */
    workersPollMs: z.number().int().min(100).max(60_000).default(1_000),
    /** How often the graph list is read from the scheduler (ms); the event feed fills in between. */
    graphsPollMs: z.number().int().min(200).max(600_000).default(3_000),
    /** Graphs with at most this many tasks are drawn task by task; larger ones by task group. */
    dagMaxTasks: z.number().int().min(0).max(100_000).default(5_000),
    /** Bearer token for the scheduler's API, if it asks for one. */
    token: z.string().min(1).optional(),
  })
  .strict()
  .refine((o) => (o.scheduler === undefined) !== (o.engine === undefined), {
    message: 'give either scheduler (a URL) or engine (an engine in this process), not both',
    path: ['scheduler'],
  });
export type DashboardOptions = z.input<typeof DashboardOptionsSchema>;
export type ResolvedOptions = z.output<typeof DashboardOptionsSchema>;

/** Parse or throw an InvalidArgumentError naming the option. */
export function parseOptions(options: DashboardOptions): ResolvedOptions {
  const r = DashboardOptionsSchema.safeParse(options);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new InvalidArgumentError(`dashboard option ${i.path.join('.') || '(options)'}: ${i.message}`);
}

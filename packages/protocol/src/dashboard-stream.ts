import { z } from 'zod';
import { TaskEvent, TaskState } from './engine.js';
import { GraphStatus, WorkerView } from './http.js';

/**
 * What the dashboard server sends its browsers on GET /stream (event names `snapshot` and
 * `tick`): one schema, so the server builds typed messages and the page's tests check what the
 * page receives. The page (public/app.js) reads these types through JSDoc.
 */

const count = z.number().int().nonnegative();
const ms = z.number();

/**
 * One bar of the task stream: [graph, key, worker, thread, start, stop, 'm' (memory) | 'e'
 * (erred)], then, when the task fetched inputs from peers first, the transfer's [start, stop,
 * bytes, from workers joined by ','] (drawn before the compute bar, distinctly).
 */
export const DashboardBar = z.union([
  z.tuple([z.string(), z.string(), z.string(), z.number().int(), ms, ms, z.enum(['m', 'e'])]),
  z.tuple([z.string(), z.string(), z.string(), z.number().int(), ms, ms, z.enum(['m', 'e']), ms, ms, count, z.string()]),
]);
export type DashboardBar = z.infer<typeof DashboardBar>;

/** A row of the graphs table: GraphStatus, `archived` when only the history has it (its keys expired). */
export const DashboardGraphRow = GraphStatus.extend({ archived: z.boolean().optional() });
export type DashboardGraphRow = z.infer<typeof DashboardGraphRow>;

export const DashboardWorkerRow = z
  .object({
    view: WorkerView,
    alive: z.boolean(),
    /** When the dashboard saw it gone (ms since epoch). */
    diedAt: ms.optional(),
  })
  .strict();
export type DashboardWorkerRow = z.infer<typeof DashboardWorkerRow>;

/** A task group of a graph, with its tasks by state. */
export const DashboardGroup = z
  .object({ group: z.string(), op: z.string(), total: count, counts: z.record(TaskState, count), deps: z.array(z.string()) })
  .strict();
export type DashboardGroup = z.infer<typeof DashboardGroup>;

/** A task as the dashboard last saw it (the erred ones go to the page): its last event, less type and graph. */
export const DashboardTask = TaskEvent.omit({ type: true, graph: true });
export type DashboardTask = z.infer<typeof DashboardTask>;

/** One graph in detail: its row, groups, last errors, and whether its structure (and a drawable DAG) is there. */
export const DashboardGraphDetail = z
  .object({
    row: DashboardGraphRow,
    groups: z.array(DashboardGroup),
    errors: z.array(DashboardTask),
    structure: z.enum(['none', 'loading', 'loaded', 'failed']),
    dag: z.boolean(),
  })
  .strict();
export type DashboardGraphDetail = z.infer<typeof DashboardGraphDetail>;

/** Tasks finished in one second: [second since epoch, count]. */
export const DashboardSecond = z.tuple([z.number().int(), count]);
export type DashboardSecond = z.infer<typeof DashboardSecond>;

/** Everything, when a browser connects (or falls too far behind). */
export const DashboardSnapshot = z
  .object({
    type: z.literal('snapshot'),
    now: ms,
    tickMs: z.number().int().positive(),
    scheduler: z.object({ url: z.string().optional(), label: z.string(), up: z.boolean(), error: z.string().optional() }).strict(),
    workers: z.array(DashboardWorkerRow),
    graphs: z.array(DashboardGraphRow),
    details: z.array(DashboardGraphDetail),
    bars: z.array(DashboardBar),
    series: z.array(DashboardSecond),
    totalFinished: count,
  })
  .strict();
export type DashboardSnapshot = z.infer<typeof DashboardSnapshot>;

/** What changed since the last message, at most once every tickMs. */
export const DashboardTick = z
  .object({
    type: z.literal('tick'),
    now: ms,
    scheduler: z.object({ up: z.boolean(), error: z.string().optional() }).strict(),
    totalFinished: count,
    second: DashboardSecond.nullable(),
    bars: z.array(DashboardBar).optional(),
    details: z.array(DashboardGraphDetail).optional(),
    /** The whole list when graphs came or went; otherwise only the rows that moved. */
    graphs: z.array(DashboardGraphRow).optional(),
    rows: z.array(DashboardGraphRow).optional(),
    workers: z.array(DashboardWorkerRow).optional(),
  })
  .strict();
export type DashboardTick = z.infer<typeof DashboardTick>;

export const DashboardMessage = z.discriminatedUnion('type', [DashboardSnapshot, DashboardTick]);
export type DashboardMessage = z.infer<typeof DashboardMessage>;

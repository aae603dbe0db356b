import { z } from 'zod';
import { GraphStatus, type WorkerView } from './http.js';
import { TaskState, type EngineEvent } from './engine.js';

/**
 * What the scheduler serves for the dashboard (issue 5), beside the graph API: a graph's shape
 * (task groups, and the tasks themselves when few enough to draw), and the summaries of ended
 * graphs it keeps after their keys expire. The dashboard server reads these, never Redis.
 */

/** Graphs up to this many tasks come with every task (a drawable DAG); larger ones only by group. */
export const STRUCTURE_MAX_TASKS = 5_000;

export const GroupShape = z
  .object({
    group: z.string(),
    op: z.string(),
    total: z.number().int().nonnegative(),
    /** Tasks of the group by state when the structure was read. */
    counts: z.record(TaskState, z.number().int().nonnegative()),
    /** Groups this one's tasks depend on. */
    deps: z.array(z.string()),
  })
  .strict();
export type GroupShape = z.infer<typeof GroupShape>;

/** GET /api/graphs/:id/structure */
export const GraphStructure = z
  .object({
    id: z.string(),
    total: z.number().int().nonnegative(),
    groups: z.array(GroupShape),
    /** Every task, when the graph has at most `maxTasks` of them: key, state, and deps as indexes into this array. */
    tasks: z.array(z.object({ key: z.string(), state: TaskState, deps: z.array(z.number().int().nonnegative()) }).strict()).optional(),
  })
  .strict();
export type GraphStructure = z.infer<typeof GraphStructure>;

/** GET /api/history: ended graphs, newest first, kept (capped) after their own keys expire. */
export const GraphHistory = z.object({ graphs: z.array(GraphStatus) }).strict();
export type GraphHistory = z.infer<typeof GraphHistory>;

/**
 * What a dashboard reads of an engine running in this process (the embedded local engine's
 * `monitor()`): the same things a scheduler serves over HTTP for it, without HTTP.
 */
export interface EngineMonitor {
  /** Every graph's events as they happen, in batches; returns the unsubscribe. */
  tapEvents(listener: (events: readonly EngineEvent[]) => void): () => void;
  graphs(): Promise<GraphStatus[]>;
  /** A graph's task groups, and every task when it has at most `maxTasks`. */
  structure(id: string, maxTasks: number): Promise<GraphStructure>;
  /** The engine as workers: the local engine is one (this host, its pool threads, what it holds). */
  workers(): Promise<WorkerView[]>;
}

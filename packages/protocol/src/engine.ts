import { z } from 'zod';
import type { Chunk } from './chunk.js';
import { SerializedError } from './errors.js';
import type { Graph } from './graph.js';
import type { EngineMonitor } from './dashboard.js';

export const TASK_STATES = ['waiting', 'queued', 'processing', 'memory', 'erred', 'released'] as const;
export const TaskState = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskState>;

export const GRAPH_STATES = ['running', 'finished', 'erred', 'cancelled'] as const;
export const GraphState = z.enum(GRAPH_STATES);
export type GraphState = z.infer<typeof GraphState>;

/**
 * Inputs a task fetched from other workers before it ran (cluster mode): when the fetches began
 * and the last ended, their bytes, and the workers they came from. Absent when every input was
 * already on the task's worker.
 */
export const TransferTiming = z
  .object({
    start: z.number(),
    stop: z.number(),
    nbytes: z.number().int().nonnegative(),
    /** Worker ids the inputs came from. */
    from: z.array(z.string().min(1)).min(1),
  })
  .strict();
export type TransferTiming = z.infer<typeof TransferTiming>;

/** A task changed state. Times are ms since the epoch (performance.timeOrigin based). */
export const TaskEvent = z
  .object({
    type: z.literal('task'),
    graph: z.string(),
    key: z.string(),
    group: z.string(),
    op: z.string(),
    state: TaskState,
    worker: z.string().optional(),
    thread: z.number().int().optional(),
    start: z.number().optional(),
    stop: z.number().optional(),
    nbytes: z.number().int().optional(),
    error: SerializedError.optional(),
    /** The inputs fetched from peers for the run that ended here (memory or erred). */
    transfer: TransferTiming.optional(),
  })
  .strict();
export type TaskEvent = z.infer<typeof TaskEvent>;

export const GraphEvent = z
  .object({
    type: z.literal('graph'),
    graph: z.string(),
    state: GraphState,
    total: z.number().int().nonnegative(),
    done: z.number().int().nonnegative(),
    error: SerializedError.optional(),
  })
  .strict();
export type GraphEvent = z.infer<typeof GraphEvent>;

export const EngineEvent = z.discriminatedUnion('type', [TaskEvent, GraphEvent]);
export type EngineEvent = z.infer<typeof EngineEvent>;

export interface SubmitOptions {
  /** Keep the output chunks on the engine after the graph is released (client.persist). */
  persist?: boolean;
  /** Subscribed before the graph starts, so no event is missed (the first is the graph's 'running'). */
  onEvent?: (ev: EngineEvent) => void;
}

/**
 * What a Client drives: the embedded local engine now, the HTTP client of a scheduler later.
 * One graph id per submission; outputs stay held until `release`.
 */
export interface Engine {
  submit(graph: Graph, options?: SubmitOptions): Promise<string>;
  /** Listen to one graph's events; returns the unsubscribe function. */
  subscribe(graphId: string, listener: (ev: EngineEvent) => void): () => void;
  /** Resolves when every output is in memory; rejects with the typed error of the first failure. */
  wait(graphId: string): Promise<void>;
  gather(graphId: string, keys: readonly string[]): Promise<Chunk[]>;
  cancel(graphId: string): Promise<void>;
  /** Forget a graph and free what only it held. */
  release(graphId: string): Promise<void>;
  /** Drop persisted chunks. */
  unpersist(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
  /** What a dashboard in this process reads (every graph's events, graphs, workers); engines in this process only. */
  monitor?(): EngineMonitor;
}

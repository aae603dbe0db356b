import type { Graph, GraphState, SerializedError, TaskSpec, TaskState } from '@tessera/protocol';

export interface GraphRecord {
  id: string;
  state: GraphState;
  total: number;
  done: number;
  outputs: string[];
  persist: boolean;
  submittedAt: number;
  finishedAt?: number;
  error?: SerializedError;
}

export interface CompletionResult {
  /** Tasks whose last dependency just completed: now ready to run. */
  ready: string[];
  /** Tasks no pending dependent needs any more: their chunks may be freed. */
  releasable: string[];
  /** Every task of the graph is in memory (or released). */
  finished: boolean;
  /** False when the completion was ignored (graph not running, task not processing/queued). */
  applied: boolean;
}

/**
 * The seam between the scheduler core and where its state lives. Each method is one atomic
 * transition (a Lua script or MULTI for Redis, plain code for memory), so the core never reads,
 * decides and writes across a gap another process could fill.
 */
export interface Store {
  /** Persist a validated graph; returns its root tasks (no dependencies), now ready. */
  createGraph(id: string, graph: Graph, options: { persist: boolean; now: number }): Promise<{ ready: string[] }>;
  getGraph(id: string): Promise<GraphRecord | undefined>;
  listGraphs(): Promise<GraphRecord[]>;
  getTasks(id: string, keys: readonly string[]): Promise<TaskSpec[]>;
  getTaskState(id: string, key: string): Promise<{ state: TaskState; worker?: string } | undefined>;
  /** Counts of tasks by state. */
  stateCounts(id: string): Promise<Record<TaskState, number>>;
  /** ready → queued (on a worker) → processing. Only moves tasks that are in the prior state. */
  markQueued(id: string, keys: readonly string[], worker: string): Promise<void>;
  markProcessing(id: string, keys: readonly string[], worker: string): Promise<void>;
  /** A task's chunk is in memory on `worker`: update counters, find what became ready or releasable. */
  completeTask(id: string, key: string, info: { worker: string; nbytes: number; now: number }): Promise<CompletionResult>;
  /**
   * A task failed: it errs, the graph errs (first error wins). With no key, the graph failed
   * outside any task (a scheduler-side error). Returns false if the graph was not running.
   */
  failTask(id: string, key: string | undefined, error: SerializedError, now: number): Promise<boolean>;
  /** running → cancelled. Returns false if the graph was not running. */
  cancelGraph(id: string, now: number): Promise<boolean>;
  deleteGraph(id: string): Promise<void>;
}

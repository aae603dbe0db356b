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
  /** The completions that applied, in order (others: graph not running, task not runnable). */
  applied: string[];
  /** Tasks whose last dependency just completed: now ready to run. */
  ready: string[];
  /** The specs of `ready`, in order: read in the same transition, saving a round trip per hop. */
  readySpecs: TaskSpec[];
  /** Tasks no pending dependent needs any more: their chunks may be freed. */
  releasable: string[];
  /** For each applied completion, how many of `releasable` (in order) it freed. */
  freed: number[];
  /** Every task of the graph is in memory (or released). */
  finished: boolean;
}

export interface Completion {
  key: string;
  worker: string;
}

export interface RecoveryResult {
  /** Tasks back to waiting with nothing pending: to dispatch again. */
  ready: string[];
  /** Tasks that were queued or processing and are waiting again (their running copies are void). */
  moved: string[];
}

/** Where a running graph stands, to pick it up after a scheduler restart. */
export interface ResumeState {
  /** Tasks in memory, and the worker holding each. */
  memory: { key: string; worker: string }[];
  /** Tasks queued or processing, and where they were sent ('' when not recorded). */
  active: { key: string; state: 'queued' | 'processing'; worker: string }[];
  /** Waiting tasks with nothing pending: ready but not yet dispatched. */
  ready: string[];
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
  /** Tasks' chunks are in memory: update counters, find what became ready or releasable. One transition for the batch. */
  completeTasks(id: string, completions: readonly Completion[], now: number): Promise<CompletionResult>;
  /**
   * Chunks of `lost` tasks are gone and `dropped` tasks will not complete where they were sent:
   * put back to waiting what must run again (lineage recompute). Undefined if the graph is not running.
   */
  recoverTasks(id: string, lost: readonly string[], dropped: readonly string[]): Promise<RecoveryResult | undefined>;
  /** Read a graph's task states at once, to resume it. */
  resumeState(id: string): Promise<ResumeState>;
  /**
   * A task failed: it errs, the graph errs (first error wins). With no key, the graph failed
   * outside any task (a scheduler-side error). Returns false if the graph was not running.
   */
  failTask(id: string, key: string | undefined, error: SerializedError, now: number): Promise<boolean>;
  /** running → cancelled. Returns false if the graph was not running. */
  cancelGraph(id: string, now: number): Promise<boolean>;
  deleteGraph(id: string): Promise<void>;
}

import type { SerializedError, TaskSpec, TransferTiming } from '@tessera/protocol';

export interface TaskTiming {
  worker: string;
  thread?: number;
  start: number;
  stop: number;
  /** Inputs fetched from peers before the run (cluster workers). */
  transfer?: TransferTiming;
}

/** What the core tells the execution side (a local pool, or BullMQ dispatch in a cluster). */
export interface Executor {
  /** Run ready tasks of a graph; say where each went with `tasksQueued` once it is sent. */
  run(graphId: string, tasks: readonly TaskSpec[]): void;
  /** The graph needs these chunks no more. */
  free(graphId: string, keys: readonly string[]): void;
  /** Drop whatever of the graph is still queued; results of running tasks will be ignored. */
  cancel(graphId: string): void;
}

/** What the execution side reports back to the core. */
export interface ExecutionListener {
  /** Tasks go to `worker` (a worker id, or the shared queue's name); resolves once that is recorded. */
  /**
   * `onSent` runs once the store's update is written to its connection, before Redis answers:
   * a command sent after it on the same connection is applied after it.
   */
  tasksQueued(graphId: string, keys: readonly string[], worker: string, onSent?: () => void): Promise<void>;
  taskStarted(graphId: string, keys: readonly string[], worker: string, thread?: number): void;
  taskFinished(graphId: string, key: string, nbytes: number, timing: TaskTiming): void;
  taskFailed(graphId: string, key: string, error: SerializedError, timing: TaskTiming): void;
}

import type { Chunk, Dtype } from '@tessera/protocol';

/** Main thread → pool thread: a batch of tasks to run in order. */
export interface RunBatch {
  type: 'run';
  tasks: PoolTask[];
}

export interface PoolTask {
  /** Pool-local id, echoed back. */
  id: number;
  key: string;
  op: string;
  params: Record<string, unknown>;
  shape: number[];
  dtype: Dtype;
  /** Chunks on SharedArrayBuffers: posting them shares memory, nothing is copied. */
  inputs: Chunk[];
}

export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack?: string | undefined;
}

export type TaskOutcome =
  | { id: number; ok: true; chunk: Chunk; start: number; stop: number }
  | { id: number; ok: false; error: RemoteErrorInfo; start: number; stop: number };

/** Pool thread → main thread. */
export type ThreadMessage =
  | { type: 'ready' }
  | { type: 'init-failed'; error: RemoteErrorInfo }
  | { type: 'done'; outcomes: TaskOutcome[] };

export interface ThreadInit {
  /** Module specifiers (paths or URLs) whose top level calls registerKernel. */
  kernels: string[];
  index: number;
}

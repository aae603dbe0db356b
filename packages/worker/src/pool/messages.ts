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
  /** A freed buffer of exactly the output's size for the kernel to allocate its output in. */
  out?: SharedArrayBuffer | undefined;
}

export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack?: string | undefined;
}

/** `unused`: the task's `out` buffer when the kernel did not take it, handed back. */
export type TaskOutcome =
  | { id: number; ok: true; chunk: Chunk; start: number; stop: number; unused?: SharedArrayBuffer }
  | { id: number; ok: false; error: RemoteErrorInfo; start: number; stop: number; unused?: SharedArrayBuffer }
  /** Cancelled while it waited in the thread's batch: never ran. */
  | { id: number; ok: false; skipped: true; start: number; stop: number; unused?: SharedArrayBuffer };

/** Pool thread → main thread. */
export type ThreadMessage =
  | { type: 'ready' }
  | { type: 'init-failed'; error: RemoteErrorInfo }
  | { type: 'done'; outcomes: TaskOutcome[] };

/** Slots of the shared cancel flags: task id & (CANCEL_SLOTS - 1). Far more than tasks in flight. */
export const CANCEL_SLOTS = 1 << 16;

export interface ThreadInit {
  /** Int32 flags shared by all threads: non-zero at a task's slot means skip it. */
  cancelFlags: SharedArrayBuffer;
  /** Module specifiers (paths or URLs) whose top level calls registerKernel. */
  kernels: string[];
  index: number;
  /** The pool's size: the cores a lone GEMM may spread over (kernels/gemm.ts setGemmThreads). */
  threads: number;
}

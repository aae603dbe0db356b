import { TesseraError, type Chunk, type Dtype } from '@tessera/protocol';
import type { DeviceChunk } from './buffers.js';

/** What a GPU kernel needs of a task (a TaskSpec without scheduling fields). */
export interface GpuTask {
  key: string;
  op: string;
  params: Record<string, unknown>;
  shape: readonly number[];
  dtype: Dtype;
}

/**
 * A task's result: a chunk left on the device, or (reduction partials, which only CPU tasks
 * read: float64 merges) a small host chunk read back as part of the task.
 */
export type GpuOutput = { device: DeviceChunk; host?: undefined } | { host: Chunk; device?: undefined };

/** A device error (validation, out of memory) raised while running one task. */
export class GpuTaskError extends TesseraError {
  constructor(
    message: string,
    readonly outOfMemory: boolean,
  ) {
    super('GPU_TASK_FAILED', message);
  }
}

export * from './kernels/index.js';
export { ThreadPool, PoolInitError, type ThreadPoolOptions, type OutcomeHandler } from './pool/thread-pool.js';
export type { PoolTask, TaskOutcome, RemoteErrorInfo } from './pool/messages.js';
export { ChunkStore } from './executor/chunk-store.js';
export {
  InProcessExecutor,
  type ExecutorOptions,
  type GpuExecutorStats,
  type GpuReadiness,
} from './executor/executor.js';
export { isDeviceChunk, type Held, type RunOrder, type RunResult } from './executor/task-runner.js';
export { WorkerChunks, type SpillOptions } from './executor/worker-chunks.js';
export { BufferPool } from './buffer-pool.js';
export { runTask } from './pool/run-task.js';
export { startWorker, WorkerStartError, type WorkerProcess, type WorkerStats } from './process/worker-process.js';
export { WorkerOptionsSchema, type WorkerOptions } from './process/config.js';
export { runsInline, leastLoadedThread } from './pool/thread-choice.js';
export * from './gpu/index.js';

export * from './kernels/index.js';
export { ThreadPool, PoolInitError, type ThreadPoolOptions, type OutcomeHandler } from './pool/thread-pool.js';
export type { PoolTask, TaskOutcome, RemoteErrorInfo } from './pool/messages.js';
export { ChunkStore } from './chunk-store.js';
export { BufferPool } from './buffer-pool.js';
export { runTask } from './pool/run-task.js';
export { startWorker, WorkerStartError, type WorkerProcess, type WorkerStats } from './process/worker-process.js';
export { WorkerOptionsSchema, type WorkerOptions } from './process/config.js';
export { runsInline, leastLoadedThread } from './pool/thread-choice.js';

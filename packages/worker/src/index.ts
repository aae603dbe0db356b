export * from './kernels/index.js';
export { ThreadPool, PoolInitError, type ThreadPoolOptions, type OutcomeHandler } from './pool/thread-pool.js';
export type { PoolTask, TaskOutcome, RemoteErrorInfo } from './pool/messages.js';
export { ChunkStore } from './chunk-store.js';
export { BufferPool } from './buffer-pool.js';
export { runTask } from './pool/run-task.js';

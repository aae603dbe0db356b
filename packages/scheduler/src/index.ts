export { SchedulerCore } from './core/scheduler-core.js';
export type { Executor, ExecutionListener, TaskTiming } from './core/executor.js';
export { MemoryStore } from './store/memory-store.js';
export { graphStatus } from './core/graph-status.js';
export type { Store, GraphRecord, CompletionResult } from './store/store.js';
export { RedisStore, type RedisStoreOptions } from './store/redis-store.js';
export { ClusterScheduler, VERSION, type ClusterSchedulerOptions } from './cluster/cluster-scheduler.js';
export type { ClusterApi, EventBatch } from './cluster/cluster-api.js';
export {
  startScheduler,
  SchedulerOptionsSchema,
  DEFAULT_MAX_GRAPH_BYTES,
  type SchedulerOptions,
  type SchedulerProcess,
} from './scheduler-process.js';
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_GRAPH_TASKS } from './server/limits.js';
export { buildServer, type ServerOptions } from './server/index.js';
export { ReadyQueue, type ReadyItem } from './core/ready-queue.js';

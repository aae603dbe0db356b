export { createLocalEngine, LocalEngine, type LocalEngineOptions, type LocalEngineStats } from './local/local-engine.js';
export { SchedulerCore } from './core/scheduler-core.js';
export type { Executor, ExecutionListener, TaskTiming } from './core/executor.js';
export { MemoryStore } from './store/memory-store.js';
export type { Store, GraphRecord, CompletionResult } from './store/store.js';
export { RedisStore, type RedisStoreOptions } from './store/redis-store.js';

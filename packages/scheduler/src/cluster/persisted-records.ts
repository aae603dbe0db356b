import { clusterKeys } from '@tessera/protocol';
import type { ClusterContext } from './cluster-state.js';

/**
 * The records of persisted chunks in Redis (`<prefix>:{cluster}:persisted`), read by a scheduler that
 * resumes. They are written beside the work, not awaited by it: a write Redis refuses (at its
 * maxmemory, or away mid-restart) is logged, never thrown, so it cannot take the scheduler down
 * (an unhandled rejection here once did). The chunk stays pinned in this scheduler's directory;
 * only a restart before the record is written would not know it, and its readers then get a
 * typed CHUNK_LOST.
 */
export function recordPersisted(ctx: Pick<ClusterContext, 'redis' | 'prefix' | 'log'>, key: string, entry: { worker: string; nbytes: number; dtype: string; shape: readonly number[] }): void {
  ctx.redis
    .hset(clusterKeys(ctx.prefix).persisted, key, JSON.stringify({ worker: entry.worker, nbytes: entry.nbytes, dtype: entry.dtype, shape: entry.shape }))
    .catch((err: unknown) => ctx.log.warn({ err, chunk: key }, 'recording a persisted chunk failed'));
}

/** Forget records of chunks no longer persisted (unpersisted, or lost with their worker); a refused delete is logged. */
export function forgetPersisted(ctx: Pick<ClusterContext, 'redis' | 'prefix' | 'log'>, keys: readonly string[]): void {
  if (keys.length === 0) return;
  ctx.redis
    .hdel(clusterKeys(ctx.prefix).persisted, ...keys)
    .catch((err: unknown) => ctx.log.warn({ err, chunks: keys.length }, 'forgetting persisted chunks failed'));
}

import { Cluster, Redis } from 'ioredis';
import { openRedis } from '@tessera/protocol';

/**
 * A connection to the Redis of a `--redis` URL: one server, a Redis Cluster or a Sentinel group
 * (protocol's openRedis). Typed as Redis: the commands, pipelines, transactions and scripts the
 * scheduler sends are ones a Cluster has too, each on keys of one hash tag (redis-keys.ts).
 */
export function connectRedis(url: string, options: Record<string, unknown>): Redis {
  return openRedis<Redis>(url, options, { Redis, Cluster: Cluster as unknown as new (nodes: object[], options: object) => Redis });
}

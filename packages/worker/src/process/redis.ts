import { Cluster, Redis } from 'ioredis';
import { openRedis, watchRedisErrors } from '@tessera/protocol';
import type { Log } from './log.js';

/**
 * A connection that waits out Redis restarts: commands queue while it is down
 * (maxRetriesPerRequest: null) and it reconnects forever, so the loops built on it only ever
 * see slow commands, or errors they retry, never a dead client.
 */
export function connectRedis(url: string, name: string, log: Log): Redis {
  const r = openRedis<Redis>(
    url,
    { maxRetriesPerRequest: null, connectionName: name, retryStrategy: (times: number) => Math.min(50 * times, 1_000) },
    // Typed as Redis: what the worker sends a Cluster has too, on keys of one hash tag.
    { Redis, Cluster: Cluster as unknown as new (nodes: object[], options: object) => Redis },
  );
  let down = false;
  watchRedisErrors(r, (reason) => {
    down = true;
    log.warn(`redis (${name})`, reason);
  });
  r.on('ready', () => {
    if (down) log.info(`redis (${name}) is back`);
    down = false;
  });
  return r;
}

/** quit() waits for Redis; a connection that cannot reach it (or, `wait` false, one that does not answer) is just dropped. */
export async function closeRedis(r: Redis, wait = true): Promise<void> {
  if (wait && r.status === 'ready') {
    await Promise.race([r.quit().catch(() => undefined), new Promise((res) => setTimeout(res, 1_000))]);
  }
  r.disconnect();
}

import type { Redis } from 'ioredis';
import { clusterKeys } from '@tessera/protocol';
import type { JobQueues } from './job-queues.js';
import { defaultClusterLog, type ClusterLog } from './log.js';

/** A dead worker's keys are removed again this long after it died: late writes have landed by then. */
const GRACE_MS = 30_000;

/**
 * Keys of dead workers, removed for good. Dropping a queue when its worker dies is not enough: a
 * scheduler killed between declaring the worker dead and dropping its queue never drops it, Redis
 * may refuse the drop (restarting, full), and a write already on its way (a job add, a free, the
 * dying worker's own BullMQ calls) brings keys back. Every worker that joins is noted in a Redis
 * set, so a restarted scheduler knows them too; one that has been dead past the grace has its
 * queue and control list removed and leaves the set.
 */
export class DeadWorkerSweep {
  private readonly noted = new Set<string>();
  private readonly deadSince = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly queues: JobQueues,
    private readonly log: ClusterLog = defaultClusterLog,
    private readonly graceMs = GRACE_MS,
  ) {}

  /** A worker joined: its keys are ours to clean once it is gone. */
  note(worker: string): void {
    if (this.noted.has(worker)) return;
    this.noted.add(worker);
    this.redis.sadd(clusterKeys(this.prefix).queues, worker).catch(() => this.noted.delete(worker));
  }

  /** One pass: remove the keys of workers dead past the grace. Resolves to the ids cleaned. */
  async sweep(isAlive: (worker: string) => boolean, now = Date.now()): Promise<string[]> {
    const keys = clusterKeys(this.prefix);
    const cleaned: string[] = [];
    for (const id of await this.redis.smembers(keys.queues)) {
      if (isAlive(id)) {
        this.deadSince.delete(id);
        continue;
      }
      const since = this.deadSince.get(id) ?? now;
      this.deadSince.set(id, since);
      if (now - since < this.graceMs) continue;
      if (!(await this.queues.drop(id))) continue;
      await this.redis.multi().del(keys.control(id)).srem(keys.queues, id).exec();
      this.deadSince.delete(id);
      this.noted.delete(id);
      cleaned.push(id);
    }
    if (cleaned.length) this.log.info({ workers: cleaned }, 'dead workers\' queues removed');
    return cleaned;
  }
}

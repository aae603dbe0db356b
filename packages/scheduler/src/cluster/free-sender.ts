import type { Redis } from 'ioredis';
import { clusterKeys, packMessage } from '@tessera/protocol';
import { defaultClusterLog, type ClusterLog } from './log.js';

/** Frees of this many bytes go out at once; fewer wait up to FREE_DELAY_MS for company. */
const FREE_NOW_BYTES = 2 ** 20;
const FREE_DELAY_MS = 20;

/**
 * Tells workers to drop chunks, through their control lists. Frees of big chunks go out at the
 * next turn of the loop; small ones gather for FREE_DELAY_MS, so a chain of tiny tasks does not
 * wake its worker (and cost a Redis command) for a free at every hop.
 */
export class FreeSender {
  private readonly frees = new Map<string, string[]>();
  private bytes = 0;
  private immediate = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Frees go only to live workers: a dead one's chunks went with it. */
    private readonly isAlive: (worker: string) => boolean,
    private readonly log: ClusterLog = defaultClusterLog,
  ) {}

  /** Tell `worker` to drop `key` (nbytes: when known, small frees may wait a moment). */
  send(worker: string, key: string, nbytes = Infinity): void {
    if (!this.isAlive(worker)) return;
    const list = this.frees.get(worker) ?? [];
    list.push(key);
    this.frees.set(worker, list);
    this.bytes += nbytes;
    if (this.bytes >= FREE_NOW_BYTES) {
      if (this.immediate) return;
      this.immediate = true;
      setImmediate(() => this.flush());
    } else if (!this.timer && !this.immediate) {
      this.timer = setTimeout(() => this.flush(), FREE_DELAY_MS);
      this.timer.unref();
    }
  }

  /** The worker is gone: what it held is gone with it. */
  dropWorker(worker: string): void {
    this.frees.delete(worker);
  }

  private flush(): void {
    this.immediate = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.bytes = 0;
    if (this.frees.size === 0) return;
    const pipe = this.redis.pipeline();
    for (const [w, keys] of this.frees) pipe.lpush(clusterKeys(this.prefix).control(w), packMessage({ type: 'free', keys }));
    this.frees.clear();
    pipe.exec().catch((e: unknown) => this.log.error({ err: e }, 'sending frees failed'));
  }
}

import type { Redis } from 'ioredis';
import { settledWhileUp, type WorkerHeartbeat, type WorkerInfo } from '@tessera/protocol';
import { errorMessage, type Log } from './log.js';

export type HeartbeatSample = Omit<WorkerHeartbeat, 'id' | 'at' | 'rss'>;

/**
 * Registration and liveness. Every beat writes the heartbeat *and* the WorkerInfo again: it is
 * cheap, and a Redis that lost its data, or a scheduler that removed a worker it took for dead,
 * sees this worker again at the next beat.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;
  private readonly infoJson: string;

  constructor(
    private readonly redis: Redis,
    private readonly keys: { workers: string; heartbeats: string; gone: (worker: string) => string },
    private readonly info: WorkerInfo,
    private readonly sample: () => HeartbeatSample,
    private readonly everyMs: number,
    private readonly log: Log,
    /** A beat found this worker's tombstone: a scheduler took it for dead while it was away. */
    private readonly onForgotten: () => void = () => undefined,
  ) {
    this.infoJson = JSON.stringify(info);
  }

  /** First beat (registration), then one every `everyMs`. Waits for Redis if it is down. */
  async start(): Promise<void> {
    await this.write();
    this.schedule();
  }

  /**
   * Stop beating and remove this worker's entries, waiting at most `timeoutMs` for Redis and not
   * at all while it is down. Whether the entries are gone (the scheduler saw this worker leave).
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopped = true;
    clearTimeout(this.timer);
    const id = this.info.id;
    let left = false;
    const leave = (async () => {
      await this.beating;
      await this.redis.multi().hdel(this.keys.workers, id).hdel(this.keys.heartbeats, id).exec();
      left = true;
    })().catch((e: unknown) => this.log.warn('heartbeat', `could not deregister: ${errorMessage(e)}`));
    await settledWhileUp(leave, this.redis, timeoutMs);
    return left;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      // A beat still waiting for Redis is not doubled: the next one goes after it.
      this.beating = this.write()
        .catch((e: unknown) => this.log.warn('heartbeat', errorMessage(e)))
        .finally(() => {
          this.beating = undefined;
          this.schedule();
        });
    }, this.everyMs);
  }

  private async write(): Promise<void> {
    const hb: WorkerHeartbeat = { id: this.info.id, at: Date.now(), rss: process.memoryUsage.rss(), ...this.sample() };
    // One transaction: the tombstone is taken at the instant the registration is written again.
    // (A Redis that lost its data loses tombstones too: the worker then keeps what it holds.)
    const gone = this.keys.gone(this.info.id);
    const r = await this.redis
      .multi()
      .exists(gone)
      .del(gone)
      .hset(this.keys.workers, this.info.id, this.infoJson)
      .hset(this.keys.heartbeats, this.info.id, JSON.stringify(hb))
      .exec();
    if (r?.[0]?.[1] === 1) this.onForgotten();
  }
}

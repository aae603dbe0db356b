import type { Redis } from 'ioredis';
import { WorkerHeartbeat, WorkerInfo, clusterKeys, type WorkerView } from '@tessera/protocol';
import { defaultClusterLog, type ClusterLog } from './log.js';

/** How long a dead worker's tombstone (clusterKeys.gone) waits for it to come back. */
const GONE_TTL_MS = 24 * 3_600_000;

export interface RegistryOptions {
  /** How often workers heartbeat, and how often the registry looks. */
  heartbeatMs: number;
  /** A worker whose heartbeat has not changed for this long is dead. */
  timeoutMs: number;
}

export interface RegistryHandlers {
  joined(info: WorkerInfo): void;
  died(id: string): void;
  /** It removed its own registration (graceful shutdown); default: treated as `died`. */
  left?(id: string): void;
}

interface Seen {
  info: WorkerInfo;
  heartbeat?: WorkerHeartbeat;
  /** Scheduler clock when the heartbeat last changed: worker clocks may be skewed, ours is not. */
  changedAt: number;
}

/**
 * Which workers are alive, from what they write to Redis (registration and heartbeats). A worker
 * is dead once its heartbeat stops changing for `timeoutMs`, or its entry disappears; the dead one
 * is removed from Redis, and comes back as a new worker if it ever heartbeats again.
 */
export class WorkerRegistry {
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: RegistryOptions,
    private readonly handlers: RegistryHandlers,
    private readonly log: ClusterLog = defaultClusterLog,
  ) {}

  /** Read once (at start, before resuming graphs), then keep looking. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => {
      this.polling ??= this.poll()
        .catch((e: unknown) => this.log.warn({ err: e }, 'reading workers failed'))
        .finally(() => (this.polling = undefined));
    }, this.options.heartbeatMs);
  }

  /** Look now (a report came from a worker not seen yet). */
  async refresh(): Promise<void> {
    await (this.polling ??= this.poll().finally(() => (this.polling = undefined)));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  isAlive(id: string): boolean {
    return this.seen.has(id);
  }

  get(id: string): WorkerInfo | undefined {
    return this.seen.get(id)?.info;
  }

  alive(): WorkerInfo[] {
    return [...this.seen.values()].map((s) => s.info);
  }

  views(now = Date.now()): WorkerView[] {
    return [...this.seen.values()].map((s) => {
      const v: WorkerView = { info: s.info, age: Math.max(0, now - s.changedAt), alive: true };
      if (s.heartbeat) v.heartbeat = s.heartbeat;
      return v;
    });
  }

  /** Declare a worker dead now (its peer server refused us, or it said it is leaving). */
  async remove(id: string, reason: 'died' | 'left' = 'died'): Promise<void> {
    if (!this.seen.delete(id)) return;
    const keys = clusterKeys(this.prefix);
    // Its control list too: nobody reads it any more, and frees sent while it was dying would stay.
    const tx = this.redis.multi().hdel(keys.workers, id).hdel(keys.heartbeats, id).del(keys.control(id));
    // Should it come back, it must know it was taken for dead: its chunks are recomputed elsewhere.
    if (reason === 'died') tx.set(keys.gone(id), '1', 'PX', GONE_TTL_MS);
    await tx.exec();
    if (reason === 'left' && this.handlers.left) {
      this.log.info({ worker: id }, 'worker left');
      this.handlers.left(id);
    } else this.handlers.died(id);
  }

  private async poll(): Promise<void> {
    const keys = clusterKeys(this.prefix);
    const [infos, beats] = await Promise.all([this.redis.hgetall(keys.workers), this.redis.hgetall(keys.heartbeats)]);
    const now = Date.now();
    for (const [id, raw] of Object.entries(infos)) {
      const info = parse(WorkerInfo, raw);
      if (!info || info.id !== id) continue;
      const hb = beats[id] === undefined ? undefined : parse(WorkerHeartbeat, beats[id]!);
      const s = this.seen.get(id);
      if (!s) {
        // A fresh registration, or one left by a worker that died while no scheduler watched:
        // it must heartbeat within the timeout to count.
        const entry: Seen = { info, changedAt: now };
        if (hb) entry.heartbeat = hb;
        this.seen.set(id, entry);
        this.log.info({ worker: id, threads: info.threads, address: info.address }, 'worker joined');
        this.handlers.joined(info);
        continue;
      }
      s.info = info;
      if (hb && hb.at !== s.heartbeat?.at) {
        s.heartbeat = hb;
        s.changedAt = now;
      }
    }
    for (const [id, s] of this.seen) {
      // No entry: it deregistered (a graceful shutdown), so what it ran was not what killed it.
      if (infos[id] === undefined) await this.remove(id, 'left');
      else if (now - s.changedAt > this.options.timeoutMs) await this.remove(id);
    }
  }
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, raw: string): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

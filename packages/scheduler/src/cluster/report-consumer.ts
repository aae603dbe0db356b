import type { Redis } from 'ioredis';
import { WorkerReport, clusterKeys, unpackMessage } from '@tessera/protocol';
import { defaultClusterLog, type ClusterLog } from './log.js';

const GROUP = 'scheduler';
/** One scheduler reads at a time; a restarted one takes over the pending entries of the last. */
const CONSUMER = 'scheduler';
const BATCH = 500;
const BLOCK_MS = 1_000;

type Entry = [id: Buffer, fields: Buffer[]];

/**
 * Reads the workers' report stream through a consumer group. An entry is acknowledged (and
 * deleted) only after `handle` resolves, i.e. after its completions are applied in the store, so a
 * scheduler killed in between re-reads it on restart instead of losing (and recomputing) work.
 */
export class ReportConsumer {
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    /** A connection of its own: XREADGROUP BLOCK holds it. */
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly handle: (reports: WorkerReport[]) => Promise<void>,
    private readonly log: ClusterLog = defaultClusterLog,
  ) {}

  /** Create the group if needed, then apply everything already in the stream (pending first). */
  async drain(): Promise<void> {
    await this.createGroup();
    // Entries delivered to a previous scheduler but never acknowledged: its last words.
    while ((await this.readOnce('0', 0)) > 0);
    while ((await this.readOnce('>', 0)) > 0);
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.readOnce('>', BLOCK_MS);
        } catch (e) {
          if (!this.running) break;
          // The stream went with the data of a Redis that lost it (restarted empty, or a replica
          // promoted before its first sync): make it again, and the workers' next reports land there.
          if (String(e).includes('NOGROUP')) {
            this.log.error({ err: e }, 'the reports stream or its group is gone from Redis (it lost its data): made again');
            await this.createGroup().catch(() => undefined);
            continue;
          }
          this.log.warn({ err: e }, 'reading reports failed; retrying');
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    })();
  }

  private async createGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', clusterKeys(this.prefix).reports, GROUP, '0', 'MKSTREAM');
    } catch (e) {
      if (!String(e).includes('BUSYGROUP')) throw e;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await this.loop;
  }

  /** Read, apply and acknowledge one batch; returns how many entries it held. */
  private async readOnce(from: '0' | '>', blockMs: number): Promise<number> {
    const stream = clusterKeys(this.prefix).reports;
    const args: (string | number)[] = ['GROUP', GROUP, CONSUMER, 'COUNT', BATCH];
    if (blockMs > 0) args.push('BLOCK', blockMs);
    args.push('STREAMS', stream, from);
    const reply = (await this.redis.callBuffer('XREADGROUP', ...args)) as [Buffer, Entry[]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) return 0;
    const reports: WorkerReport[] = [];
    for (const [, fields] of entries) {
      // A report that does not parse is dropped with a message; it must not stop the others.
      try {
        const i = fields.findIndex((f) => f.toString() === 'm');
        if (i < 0 || !fields[i + 1]) throw new Error('no m field');
        reports.push(unpackMessage(WorkerReport, fields[i + 1]!, 'worker report'));
      } catch (e) {
        this.log.warn({ err: e }, 'ignoring a bad worker report');
      }
    }
    if (reports.length) await this.handle(reports);
    const ids = entries.map(([id]) => id.toString());
    // Not awaited: the next XREADGROUP follows it on this connection anyway. An ack that fails
    // (Redis went away) leaves the entries pending; a restarted scheduler re-reads them, and
    // completions apply once.
    this.redis
      .multi()
      .xack(stream, GROUP, ...ids)
      .xdel(stream, ...ids)
      .exec()
      .catch((e: unknown) => this.log.warn({ err: e }, 'acknowledging reports failed'));
    return entries.length;
  }
}

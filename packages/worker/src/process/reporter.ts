import type { Redis } from 'ioredis';
import { packMessage, settledWhileUp, type ReportItem } from '@tessera/protocol';
import { errorMessage, sleep, type Log } from './log.js';

/** Items per stream entry: big enough to carry a burst of tiny tasks, small enough to decode fast. */
const MAX_BATCH = 512;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

interface Pending {
  item: ReportItem;
  written?: () => void;
}

/**
 * Writes what this worker did to the cluster's report stream, many items per XADD: items wait for
 * the next macrotask (or until 512 are pending), so concurrent jobs share a round trip. One flush
 * runs at a time and a failed one is retried until Redis answers: a report is never lost, and the
 * stream keeps each worker's items in order (a task's `started` before its `done`).
 */
export class Reporter {
  private pending: Pending[] = [];
  /** The batch being written. */
  private writing: Pending[] = [];
  private scheduled = false;
  private flushing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly stream: string,
    private readonly worker: string,
    private readonly log: Log,
  ) {}

  /** A `started` item: nobody waits for it. */
  note(item: ReportItem): void {
    this.pending.push({ item });
    this.schedule();
  }

  /**
   * A `started` item written at once, not at the next turn: a user kernel may kill this process
   * (a segfault, an OOM kill) before a batch goes out, and the scheduler strikes only runs it
   * knows had started. The XADD is handed to the socket before the kernel is posted; if it fails
   * the item goes the batched way.
   */
  noteNow(item: ReportItem): void {
    if (this.stopped) return;
    this.redis.xadd(this.stream, '*', 'm', packMessage({ worker: this.worker, items: [item] })).catch(() => this.note(item));
  }

  /** Resolves once the stream entry holding `item` is written. */
  report(item: ReportItem): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push({ item, written: resolve });
      this.schedule();
    });
  }

  /**
   * Flush what is pending, waiting at most `timeoutMs` for Redis, and not at all while it is
   * down; what is left then is dropped and its waiters released (the process is going away).
   * Returns how many items were dropped.
   */
  async close(timeoutMs: number): Promise<number> {
    if (this.pending.length > 0 && !this.flushing) this.startFlush();
    if (this.flushing) await settledWhileUp(this.flushing, this.redis, timeoutMs);
    this.stopped = true;
    const dropped = [...this.writing, ...this.pending.splice(0)];
    this.writing = [];
    for (const p of dropped) p.written?.();
    return dropped.length;
  }

  private schedule(): void {
    if (this.flushing) return; // the running flush takes everything pending when it is done
    if (this.pending.length >= MAX_BATCH) {
      this.startFlush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (!this.flushing && this.pending.length > 0) this.startFlush();
      });
    }
  }

  private startFlush(): void {
    this.flushing = this.flushAll().finally(() => {
      this.flushing = undefined;
      // Items that came after the loop's last look, before this callback.
      if (this.pending.length > 0 && !this.stopped) this.schedule();
    });
  }

  private async flushAll(): Promise<void> {
    while (this.pending.length > 0 && !this.stopped) {
      const batch = (this.writing = this.pending.splice(0, MAX_BATCH));
      await this.write(batch.map((p) => p.item));
      this.writing = [];
      // Released even when close() gave up on the write: nobody may wait forever.
      for (const p of batch) p.written?.();
    }
  }

  private async write(all: ReportItem[]): Promise<void> {
    const items = dropFinishedStarts(all);
    if (items.length === 0) return;
    const message = packMessage({ worker: this.worker, items });
    for (let wait = RETRY_MIN_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      try {
        await this.redis.xadd(this.stream, '*', 'm', message);
        return;
      } catch (e) {
        if (this.stopped) return;
        this.log.warn('report stream', `XADD failed, retrying: ${errorMessage(e)}`);
        await sleep(wait);
      }
    }
  }
}

/** A `started` whose `done` or `failed` (same run) is in the same batch says nothing the scheduler needs. */
export function dropFinishedStarts(items: ReportItem[]): ReportItem[] {
  const run = (i: ReportItem): string => `${i.graph}\0${i.key}\0${i.attempt ?? 0}`;
  const finished = new Set<string>();
  for (const i of items) if (i.type !== 'started') finished.add(run(i));
  if (finished.size === 0) return items;
  return items.filter((i) => i.type !== 'started' || !finished.has(run(i)));
}

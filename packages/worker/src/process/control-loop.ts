import type { Redis } from 'ioredis';
import { ControlMessage, settledWithin, unpackMessage } from '@tessera/protocol';
import { errorMessage, sleep, type Log } from './log.js';

/** BRPOP timeout: how long stop() may wait for the blocked command at worst. */
const BLOCK_SECONDS = 1;
const RETRY_MS = 500;

/**
 * Reads this worker's control list (scheduler → worker: free chunks, cancelled graphs) on a
 * connection of its own, since BRPOP blocks it. Errors (Redis restarting, a malformed message)
 * are logged and the loop carries on.
 */
export class ControlLoop {
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly list: string,
    private readonly handle: (m: ControlMessage) => void,
    private readonly log: Log,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Ends the loop; the connection is dropped to wake a blocked BRPOP at once. A BRPOP queued while
   * Redis is down never settles once dropped (ioredis): the wait is bounded, and skipped when
   * Redis is known not to answer (`wait` false).
   */
  async stop(wait = true): Promise<void> {
    this.stopped = true;
    const up = wait && this.redis.status === 'ready';
    this.redis.disconnect();
    if (up && this.loop) await settledWithin(this.loop, RETRY_MS);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let popped: [Buffer, Buffer] | null;
      try {
        popped = await this.redis.brpopBuffer(this.list, BLOCK_SECONDS);
      } catch (e) {
        if (this.stopped) return;
        this.log.warn('control list', `BRPOP failed, retrying: ${errorMessage(e)}`);
        await sleep(RETRY_MS);
        continue;
      }
      if (!popped) continue;
      try {
        this.handle(unpackMessage(ControlMessage, popped[1], 'control message'));
      } catch (e) {
        this.log.warn('control list', `ignored a message: ${errorMessage(e)}`);
      }
    }
  }
}

/** Graphs cancelled recently; an entry is forgotten after `ttlMs` (its jobs are long gone by then). */
export class CancelledGraphs {
  private readonly until = new Map<string, number>();

  constructor(private readonly ttlMs = 10 * 60_000) {}

  add(graphs: readonly string[]): void {
    const now = Date.now();
    for (const [g, t] of this.until) if (t <= now) this.until.delete(g);
    for (const g of graphs) this.until.set(g, now + this.ttlMs);
  }

  has(graph: string): boolean {
    const t = this.until.get(graph);
    if (t === undefined) return false;
    if (t > Date.now()) return true;
    this.until.delete(graph);
    return false;
  }
}

import type { Logger } from 'pino';

/** What pauses: the worker's BullMQ consumers (a paused one takes no new job; running jobs go on). */
export interface Pausable {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): void;
}

/** How often chunk memory is looked at: a task's result lands at most this long before a pause. */
const CHECK_MS = 200;

/**
 * Dask's worker pause: past `pauseAt` bytes of chunk memory (80% of the limit) the worker takes
 * no new tasks, so a spill disk that is full (or slower than the tasks) ends in a wait rather than
 * an out-of-memory kill; below `resumeAt` (where spilling starts, 70%) it takes them again. Tasks
 * running go on, and peers still fetch the chunks it holds, which is how memory drops.
 */
export class MemoryPause {
  paused = false;
  private readonly timer: NodeJS.Timeout;
  /** Jobs that arrived while paused (a fetch BullMQ had under way when it paused), waiting to run. */
  private waiting: (() => void)[] = [];

  constructor(
    private readonly bytes: () => number,
    private readonly pauseAt: number,
    private readonly resumeAt: number,
    private readonly consumers: readonly Pausable[],
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  check(): void {
    const b = this.bytes();
    if (!this.paused && b >= this.pauseAt) {
      this.paused = true;
      this.log.warn({ bytes: b, pauseAt: this.pauseAt }, 'chunk memory past its pause point: taking no new tasks until it is below the spill target');
      for (const c of this.consumers) void c.pause(true).catch(() => undefined);
    } else if (this.paused && b < this.resumeAt) {
      this.paused = false;
      this.log.info({ bytes: b }, 'chunk memory below the spill target again: taking tasks');
      for (const c of this.consumers) c.resume();
      this.release();
    }
  }

  /** Resolves when the worker is not paused: a job taken while paused waits here before it runs. */
  whenRunning(): Promise<void> {
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** No more checks; held jobs go on (shutdown's grace period decides their fate). */
  stop(): void {
    clearInterval(this.timer);
    this.release();
  }

  private release(): void {
    for (const go of this.waiting.splice(0)) go();
  }
}

import { CancelledError, type Engine, type EngineEvent } from '@tessera/protocol';

function isTerminal(ev: EngineEvent): boolean {
  return ev.type === 'graph' && ev.state !== 'running';
}

/**
 * Receives a graph's events from the moment it is submitted (it is the `onEvent` of the submit,
 * so nothing is missed), hands each to a listener and buffers it for `Job.events()`.
 */
export class EventFeed {
  readonly buffer: EngineEvent[] = [];
  private readonly wake: (() => void)[] = [];
  ended = false;

  constructor(
    private readonly listener?: (ev: EngineEvent) => void,
    private readonly keep = true,
  ) {}

  push = (ev: EngineEvent): void => {
    if (this.ended) return;
    this.listener?.(ev);
    if (this.keep) this.buffer.push(ev);
    this.notify();
    if (isTerminal(ev)) this.end();
  };

  /** Resolves when something new arrived or the feed ended. */
  next(): Promise<void> {
    return new Promise<void>((r) => this.wake.push(r));
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    for (const w of this.wake.splice(0)) w();
  }
}

/**
 * One submitted graph: its events (buffered from submission, ending after the graph's terminal
 * event, or once the job settled if that event never came) and its result.
 */
export class Job<R> {
  readonly id: string;
  private readonly aborter = new AbortController();
  private outcome: Promise<R> | undefined;

  /** @internal Created by Client.submit. */
  constructor(
    private readonly engine: Engine,
    id: string,
    private readonly collect: () => Promise<R>,
    private readonly feed: EventFeed,
    signal?: AbortSignal,
  ) {
    this.id = id;
    if (signal) {
      if (signal.aborted) this.aborter.abort();
      else signal.addEventListener('abort', () => this.aborter.abort(), { once: true });
    }
  }

  /** The engine's events for this graph, from its submission to its terminal GraphEvent. */
  async *events(): AsyncGenerator<EngineEvent, void, undefined> {
    const feed = this.feed;
    let i = 0;
    for (;;) {
      if (i < feed.buffer.length) {
        yield feed.buffer[i++]!;
        continue;
      }
      if (feed.ended) return;
      await feed.next();
    }
  }

  /**
   * Wait for the graph, gather and assemble its outputs, then release it on the engine (also
   * after a failure). Rejects with the engine's typed error, or CancelledError after cancel().
   */
  result(): Promise<R> {
    this.outcome ??= this.run();
    return this.outcome;
  }

  /** Cancel on the engine; result() then rejects with CancelledError. */
  async cancel(): Promise<void> {
    this.aborter.abort();
    await this.engine.cancel(this.id);
  }

  private async run(): Promise<R> {
    const signal = this.aborter.signal;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        this.engine.cancel(this.id).then(
          () => reject(new CancelledError()),
          () => reject(new CancelledError()),
        );
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    const waited = this.engine.wait(this.id);
    waited.catch(() => undefined); // if the abort wins the race, this rejection is expected
    aborted.catch(() => undefined);
    try {
      await Promise.race([waited, aborted]);
      return await Promise.race([this.collect(), aborted]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      await this.engine.release(this.id).catch(() => undefined);
      // Let events already on their way arrive before the stream ends.
      setImmediate(() => this.feed.end());
    }
  }
}

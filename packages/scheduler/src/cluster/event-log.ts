import type { Redis } from 'ioredis';
import { EngineEvent, graphKeys, graphSideKeys } from '@tessera/protocol';
import { runScript } from '../store/redis-scripts/redis-script.js';
import { appendEvents } from '../store/redis-scripts/side-write-2.js';
import type { EventBatch } from './cluster-api.js';
import { defaultClusterLog, type ClusterLog } from './log.js';

/** Events are written in batches: one stream entry per flush, not per event. */
const FLUSH_MS = 20;
const FLUSH_EVENTS = 2_000;
/** Entries kept per graph (approximate trim): a 10^5-task graph's history is capped, not whole. */
const MAX_ENTRIES = 2_000;
/** A write Redis refused is tried again this much later. */
const RETRY_MS = 250;
const RETRY = Symbol('retry');

type Live = (batch: EventBatch) => void;
/** Sees every graph's batches as written: its stream id, the events, and their JSON (made once). */
export type EventTap = (graph: string, id: string, events: EngineEvent[], json: string) => void;

/**
 * Each graph's events in a capped Redis stream beside its keys, so a client or dashboard that
 * connects late, or reconnects to a restarted scheduler, reads what it missed (by stream id), then
 * follows live batches fanned out from memory (no blocking Redis read per subscriber).
 */
export class EventLog {
  private readonly buffers = new Map<string, EngineEvent[]>();
  private readonly live = new Map<string, Set<Live>>();
  private readonly taps = new Set<EventTap>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Events handed to a write that has not ended yet. */
  private inFlight = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: ClusterLog = defaultClusterLog,
  ) {}

  /** Graphs whose stream is closed: their terminal event is written, or they were released. */
  private readonly ended = new Set<string>();

  push(ev: EngineEvent): void {
    // Nothing follows a graph's end into its stream: a late write would recreate a deleted key.
    if (this.ended.has(ev.graph)) return;
    if (ev.type === 'graph' && ev.state !== 'running') this.ended.add(ev.graph);
    let buf = this.buffers.get(ev.graph);
    if (!buf) this.buffers.set(ev.graph, (buf = []));
    buf.push(ev);
    // A graph's end is written at once: a waiting client learns it without the flush delay.
    if (ev.type === 'graph' && ev.state !== 'running') this.flushSoon(0);
    else this.flushSoon(buf.length >= FLUSH_EVENTS ? 0 : FLUSH_MS);
  }

  /** The graph is released: drop what is unwritten, wait for writes under way, write nothing more. */
  async forget(graphId: string): Promise<void> {
    this.ended.add(graphId);
    this.buffers.delete(graphId);
    await this.writing;
    // Bounded: a long-lived scheduler must not remember every graph it ever saw.
    if (this.ended.size > 100_000) this.ended.clear();
  }

  /** Written so far (tests, shutdown). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batches = [...this.buffers];
    this.buffers.clear();
    const n = batches.reduce((sum, [, events]) => sum + events.length, 0);
    this.inFlight += n;
    const done = this.writing.then(() => this.write(batches)).finally(() => (this.inFlight -= n));
    this.writing = done.catch(() => undefined);
    await done;
  }

  /** Events not written yet: buffered, or in a write under way (a shutdown without Redis drops them). */
  unwritten(): number {
    let n = this.inFlight;
    for (const events of this.buffers.values()) n += events.length;
    return n;
  }

  /**
   * Batches after `after` ('0' or undefined: from the start), history first, then live ones,
   * until the graph's terminal event or `signal` aborts. `endOf`: the graph has ended (its
   * terminal event, made from its record), so nothing live is waited for.
   */
  async *read(graphId: string, after: string | undefined, signal: AbortSignal, endOf?: EngineEvent): AsyncGenerator<EventBatch> {
    const queue: EventBatch[] = [];
    let wake: (() => void) | undefined;
    const onLive: Live = (b) => {
      queue.push(b);
      wake?.();
    };
    // Subscribe before reading history, then skip live batches the history already held.
    let set = this.live.get(graphId);
    if (!set) this.live.set(graphId, (set = new Set()));
    set.add(onLive);
    const onAbort = (): void => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      let last = after ?? '0';
      const history = await this.redis.xrange(graphSideKeys(this.prefix, graphId).events, after ? `(${after}` : '-', '+');
      for (const [id, fields] of history) {
        const batch = { id, events: decode(fields) };
        last = id;
        yield batch;
        if (ends(batch)) return;
      }
      // The graph is over (`endOf`, from its record) and its end is not in the stream: a
      // scheduler killed between ending it and writing the event. Say it, or the reader waits for ever.
      if (endOf) {
        yield { id: last, events: [endOf] };
        return;
      }
      while (!signal.aborted) {
        const b = queue.shift();
        if (!b) {
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        if (compareIds(b.id, last) <= 0) continue;
        last = b.id;
        yield b;
        if (ends(b)) return;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(onLive);
      if (set.size === 0) this.live.delete(graphId);
    }
  }

  /** Follow every graph's batches as they are written (the dashboard feed); returns the unsubscribe. */
  tap(fn: EventTap): () => void {
    this.taps.add(fn);
    return () => void this.taps.delete(fn);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush().catch((e: unknown) => this.log.error({ err: e }, 'writing events failed')), ms);
  }

  private async write(batches: [string, EngineEvent[]][]): Promise<void> {
    if (batches.length === 0) return;
    const jsons = batches.map(([, events]) => JSON.stringify(events));
    // Sent back to back on one connection (pipelined); a graph already gone gets nothing.
    const replies = await Promise.all(
      batches.map(([graph], i) =>
        runScript(
          this.redis,
          appendEvents,
          [graphKeys(this.prefix, graph).meta, graphSideKeys(this.prefix, graph).events],
          [MAX_ENTRIES, jsons[i]!],
        ).then(
          (id) => id,
          () => RETRY,
        ),
      ),
    );
    // Redis refused (full, restarting): those batches go back in front of newer events and are
    // written again shortly, so a graph's end is never lost to a client waiting on its stream.
    let retry = false;
    for (let i = batches.length - 1; i >= 0; i--) {
      const [graph, events] = batches[i]!;
      if (replies[i] !== RETRY) continue;
      retry = true;
      this.buffers.set(graph, [...events, ...(this.buffers.get(graph) ?? [])]);
    }
    if (retry) this.flushSoon(RETRY_MS);
    batches.forEach(([graph, events], i) => {
      const id = replies[i];
      if (id === RETRY) return;
      if (typeof id !== 'string') {
        // The graph's keys are gone (lost with a failover's writes, a flush): nothing is written,
        // but its end still reaches those reading it live, after whatever they have seen.
        const end = events.filter((e) => e.type === 'graph' && e.state !== 'running');
        if (end.length) for (const fn of this.live.get(graph) ?? []) fn({ id: LAST_ID, events: end });
        return;
      }
      for (const fn of this.live.get(graph) ?? []) fn({ id, events });
      for (const fn of this.taps) fn(graph, id, events, jsons[i]!);
    });
  }
}

function decode(fields: string[]): EngineEvent[] {
  const i = fields.indexOf('e');
  if (i < 0 || fields[i + 1] === undefined) return [];
  const raw = JSON.parse(fields[i + 1]!) as unknown[];
  return raw.map((e) => EngineEvent.parse(e));
}

function ends(b: EventBatch): boolean {
  return b.events.some((e) => e.type === 'graph' && e.state !== 'running');
}

/** Redis stream ids are `<ms>-<seq>`. */
/** An id after every id of a stream: for an end that has no stream left to be written to. */
const LAST_ID = `${Number.MAX_SAFE_INTEGER}-0`;

function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

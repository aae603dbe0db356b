import type { Redis } from 'ioredis';
import { GraphStatus, clusterBase, type EngineEvent } from '@tessera/protocol';
import { defaultClusterLog, type ClusterLog } from './log.js';

/** Summaries kept: the newest ended graphs, whatever their own keys' TTL. */
export const HISTORY_LIMIT = 500;

/**
 * The summaries of ended graphs (state, counts, times, error) in one capped Redis list, so a
 * dashboard still lists them after the scheduler restarts and after the graphs' own keys expire.
 * Written when a graph's terminal event goes by; one LPUSH+LTRIM per graph, never per task.
 */
export class GraphHistory {
  private readonly key: string;
  /** When this scheduler saw each graph start (for a summary written after a fast release). */
  private readonly started = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly statusOf: (id: string) => Promise<GraphStatus | undefined>,
    private readonly log: ClusterLog = defaultClusterLog,
  ) {
    this.key = `${clusterBase(prefix)}:history`;
  }

  /** Give it every event batch (an EventLog tap): it records the graphs that ended in it. */
  observe(events: readonly EngineEvent[]): void {
    for (const e of events) {
      if (e.type !== 'graph') continue;
      if (e.state === 'running') {
        if (this.started.size > 10_000) this.started.clear();
        this.started.set(e.graph, Date.now());
        continue;
      }
      const submittedAt = this.started.get(e.graph);
      this.started.delete(e.graph);
      // What the event says, should the graph be released before its status is read.
      const fallback: GraphStatus = {
        id: e.graph,
        state: e.state,
        total: e.total,
        done: e.done,
        counts: {},
        outputs: 0,
        persist: false,
        submittedAt: submittedAt ?? Date.now(),
        finishedAt: Date.now(),
      };
      if (e.error) fallback.error = e.error;
      void this.record(e.graph, fallback).catch((err: unknown) =>
        this.log.error({ err, graph: e.graph }, 'recording the graph in history failed'),
      );
    }
  }

  async record(id: string, fallback?: GraphStatus): Promise<void> {
    const s = (await this.statusOf(id)) ?? fallback;
    if (!s || s.state === 'running') return;
    await this.redis
      .multi()
      .lpush(this.key, JSON.stringify(s))
      .ltrim(this.key, 0, HISTORY_LIMIT - 1)
      .exec();
  }

  /** Newest first. */
  async list(limit = HISTORY_LIMIT): Promise<GraphStatus[]> {
    const raw = await this.redis.lrange(this.key, 0, Math.max(0, Math.min(limit, HISTORY_LIMIT) - 1));
    const out: GraphStatus[] = [];
    const seen = new Set<string>();
    for (const r of raw) {
      try {
        const s = GraphStatus.safeParse(JSON.parse(r));
        if (s.success && !seen.has(s.data.id)) {
          seen.add(s.data.id);
          out.push(s.data);
        }
      } catch {
        // A malformed entry is skipped, never fatal.
      }
    }
    return out;
  }
}

import {
  HEARTBEAT,
  SSE_HEADERS,
  type GraphHistory,
  type GraphStructure,
  NotFoundError,
  STRUCTURE_MAX_TASKS,
  UnavailableError,
  sseComment,
  sseMessage,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ClusterApi } from '../cluster/cluster-api.js';
import { GraphParams, parseParam } from './params.js';

/**
 * What the dashboard server reads (issue 5), kept cheap for the scheduler: one cluster-wide event
 * feed whose messages are the event log's own JSON (made once per batch, whoever listens), a
 * graph's shape read once per graph, and the history of ended graphs. Aggregation, throttling and
 * fan-out to browsers happen in the dashboard server, never here.
 */

export interface FeedRouteOptions {
  heartbeatMs: number;
  /** Event streams still open; the server aborts them when it closes. */
  streams: Set<AbortController>;
  /** A feed reader this far behind (bytes unsent) is cut off: it reconnects and reads state anew. */
  maxBufferedBytes?: number;
}

const FeedQuery = z.object({ tasks: z.enum(['0', '1'], { message: 'tasks must be 0 or 1' }).optional() });
const StructureQuery = z.object({
  maxTasks: z.coerce.number({ message: 'maxTasks must be a number' }).int().min(0).max(100_000).optional(),
});
const HistoryQuery = z.object({ limit: z.coerce.number({ message: 'limit must be a number' }).int().min(1).max(500).optional() });

const DEFAULT_MAX_BUFFERED = 32 * 1024 * 1024;
/**
 * Feed messages are written to each reader at most this often, many per write: a socket write
 * costs the scheduler more than the message (the dashboard ticks at 250 ms anyway).
 */
const FEED_WRITE_MS = 100;

function missing(what: string): never {
  throw new NotFoundError(`this scheduler has no ${what}`);
}

export function feedRoutes(app: FastifyInstance, api: ClusterApi, opts: FeedRouteOptions): void {
  const maxBuffered = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;

  /** SSE of every graph's event batches: `data: <JSON array of EngineEvent>`, no ids, no replay. */
  app.get('/api/events', async (request, reply) => {
    const tap = api.tapEvents?.bind(api) ?? missing('event feed');
    const { tasks } = parseParam(FeedQuery, request.query, 'query parameter');
    const graphsOnly = tasks === '0';
    const aborter = new AbortController();
    opts.streams.add(aborter);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, SSE_HEADERS);
    res.write(sseComment('tessera event feed'));
    let untap: () => void = () => undefined;
    let pending: string[] = [];
    let pendingBytes = 0;
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      flushTimer = undefined;
      if (pending.length === 0 || res.writableEnded || res.destroyed) return;
      const out = pending.join('');
      pending = [];
      pendingBytes = 0;
      res.write(out);
    };
    const send = (message: string): void => {
      pending.push(message);
      pendingBytes += message.length;
      flushTimer ??= setTimeout(flush, FEED_WRITE_MS);
    };
    const ping = setInterval(() => {
      if (!res.writableEnded && !res.destroyed) res.write(HEARTBEAT);
    }, opts.heartbeatMs);
    const stop = (): void => {
      clearInterval(ping);
      if (flushTimer) clearTimeout(flushTimer);
      pending = [];
      untap();
      opts.streams.delete(aborter);
      if (!res.writableEnded) res.end();
    };
    aborter.signal.addEventListener('abort', stop, { once: true });
    res.on('close', () => aborter.abort());
    untap = tap((json, events) => {
      if (res.writableEnded || res.destroyed) return;
      if (res.writableLength + pendingBytes > maxBuffered) {
        // Never buffer without bound for a reader that does not keep up: it resyncs on reconnect.
        request.log.warn('event feed reader fell behind; closing its stream');
        aborter.abort();
        return;
      }
      if (!graphsOnly) send(sseMessage({ data: json }));
      else {
        const g = events.filter((e) => e.type === 'graph');
        if (g.length) send(sseMessage({ data: JSON.stringify(g) }));
      }
    });
  });

  app.get('/api/graphs/:id/structure', async (request): Promise<GraphStructure> => {
    if (!api.structure) missing('graph structures');
    const { id } = parseParam(GraphParams, request.params, 'path parameter');
    const { maxTasks } = parseParam(StructureQuery, request.query, 'query parameter');
    return api.structure(id, maxTasks ?? STRUCTURE_MAX_TASKS);
  });

  app.get('/api/history', async (request): Promise<GraphHistory> => {
    if (!api.history) missing('graph history');
    const { limit } = parseParam(HistoryQuery, request.query, 'query parameter');
    try {
      return { graphs: await api.history(limit ?? 500) };
    } catch (err) {
      throw new UnavailableError(`cannot read the graph history: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

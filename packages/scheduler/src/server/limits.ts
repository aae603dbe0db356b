import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, formatBytes } from './error-reply.js';

/**
 * Size limits of what clients may send. A graph over a limit is refused with a 413 that names the
 * limit, its value and the setting that raises it, before the graph is validated or stored.
 */
export interface RequestLimits {
  /** Largest msgpack body of POST /api/graphs, bytes. */
  maxGraphBytes: number;
  /** Most tasks in one submitted graph. */
  maxGraphTasks: number;
  /** Largest body of every other route, bytes. */
  maxBodyBytes: number;
  /** How each limit is set, quoted in the answer (e.g. `--max-graph-tasks / TESSERA_MAX_GRAPH_TASKS`). */
  names?: Partial<Record<'maxGraphBytes' | 'maxGraphTasks' | 'maxBodyBytes', string>>;
}

export const DEFAULT_MAX_GRAPH_TASKS = 1_000_000;
export const DEFAULT_MAX_BODY_BYTES = 16 * 2 ** 20;

export function limitLabel(limits: RequestLimits, which: 'maxGraphBytes' | 'maxGraphTasks' | 'maxBodyBytes'): string {
  const name = limits.names?.[which];
  return name ? ` (${name})` : ` (${which})`;
}

/** The 413 message of a body over its route's limit. */
export function bodyTooLargeMessage(limits: RequestLimits, isGraph: boolean): string {
  const which = isGraph ? 'maxGraphBytes' : 'maxBodyBytes';
  const what = isGraph ? 'a submitted graph' : 'a request body';
  return `request body is larger than the limit of ${formatBytes(limits[which])} for ${what}${limitLabel(limits, which)}`;
}

export function isGraphSubmit(method: string, routeUrl: string | undefined): boolean {
  return method === 'POST' && routeUrl === '/api/graphs';
}

/** Counts the tasks of a decoded submit body before anything else looks at it. */
export function enforceGraphLimits(app: FastifyInstance, limits: RequestLimits): void {
  app.addHook('preHandler', async (request) => {
    if (!isGraphSubmit(request.method, request.routeOptions.url)) return;
    const graph = (request.body as { graph?: unknown } | undefined)?.graph;
    const tasks = typeof graph === 'object' && graph !== null ? (graph as { tasks?: unknown }).tasks : undefined;
    if (Array.isArray(tasks) && tasks.length > limits.maxGraphTasks) {
      throw new HttpError(
        413,
        'INVALID_ARGUMENT',
        `the graph has ${tasks.length} tasks, more than the limit of ${limits.maxGraphTasks} tasks per graph${limitLabel(limits, 'maxGraphTasks')}`,
      );
    }
  });
}

/** The most of a refused body read (and dropped) so that its sender gets the 413, bytes. */
const MAX_DRAIN_BYTES = 256 * 2 ** 20;

/**
 * Fastify answers a body over its limit with `connection: close`, so the socket closes with the
 * rest of the body unread: the sender, still writing, often sees a reset (EPIPE) instead of the
 * 413 and its message. A body of a known, bounded length is read to its end and dropped instead
 * (Node discards what the answer left unread), and the connection stays open.
 */
export function keepOpenToDrain(request: FastifyRequest, reply: FastifyReply): void {
  const length = Number(request.headers['content-length']);
  if (Number.isFinite(length) && length <= MAX_DRAIN_BYTES) reply.removeHeader('connection');
}

import { Readable, Transform } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ClusterApi } from '../cluster/cluster-api.js';
import type { SchedulerMetrics } from './metrics.js';

const RESULT_ROUTES = new Set(['/api/graphs/:id/results/:key', '/api/graphs/:id/gather']);

/** GET /ready: 200 when the scheduler can take work (Redis answers, every graph resumed), else 503. */
export interface ReadyState {
  ready: boolean;
  /** Redis answered a PING just now. */
  redis: boolean;
  /** The scheduler finished resuming the graphs Redis held when it started. */
  resumed: boolean;
  workers: number;
}

export interface OpsRouteOptions {
  /** Default: from api.health() (ok means both). */
  ready?: () => Promise<ReadyState>;
  metrics?: SchedulerMetrics;
}

/** Operations routes: readiness, Prometheus metrics (and request counting for them). */
export function opsRoutes(app: FastifyInstance, api: ClusterApi, opts: OpsRouteOptions): void {
  const ready =
    opts.ready ??
    (async (): Promise<ReadyState> => {
      const h = await api.health();
      return { ready: h.ok, redis: h.ok, resumed: h.ok, workers: h.workers };
    });

  app.get('/ready', async (request, reply) => {
    let state: ReadyState;
    try {
      state = await ready();
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      state = { ready: false, redis: false, resumed: false, workers: 0 };
    }
    return reply.code(state.ready ? 200 : 503).send(state);
  });

  const metrics = opts.metrics;
  if (!metrics) return;
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.code(200).type(contentType).send(body);
  });
  // Result chunks sent to clients are counted as they stream out (a pass-through, no copies).
  app.addHook('onSend', async (request, reply, payload) => {
    if (!RESULT_ROUTES.has(request.routeOptions.url ?? '') || reply.statusCode !== 200) return payload;
    if (payload instanceof Readable) {
      return payload.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            metrics.resultBytes((chunk as { byteLength: number }).byteLength);
            done(null, chunk);
          },
        }),
      );
    }
    if (typeof payload === 'string' || payload instanceof Uint8Array) metrics.resultBytes(Buffer.byteLength(payload));
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.routeOptions.url ?? 'unmatched', reply.statusCode);
  });
}

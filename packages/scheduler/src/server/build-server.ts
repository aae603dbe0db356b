import { InvalidArgumentError, MSGPACK, NotFoundError, decodeMsgpack, serializeError } from '@tessera/protocol';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { z } from 'zod';
import type { ClusterApi } from '../cluster/cluster-api.js';
import { requireToken } from './auth.js';
import { clusterRoutes } from './cluster-routes.js';
import { errorReply } from './error-reply.js';
import { feedRoutes } from './feed-routes.js';
import { gatherRoute } from './gather-route.js';
import { graphRoutes } from './graph-routes.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_GRAPH_TASKS, type RequestLimits, bodyTooLargeMessage, enforceGraphLimits, isGraphSubmit, keepOpenToDrain } from './limits.js';
import type { SchedulerMetrics } from './metrics.js';
import { opsRoutes, type ReadyState } from './ops-routes.js';
import { parseParam } from './params.js';
import { ClientRateLimiter, type RateLimits, enforceRateLimits } from './rate-limit.js';

export interface ServerOptions {
  /** Largest msgpack graph (POST /api/graphs body) in bytes; default 256 MiB. */
  bodyLimit?: number;
  /** Largest body of the other routes (an unpersist list), bytes; default 16 MiB. */
  maxBodyBytes?: number;
  /** Most tasks in one submitted graph; default 1,000,000. */
  maxGraphTasks?: number;
  /** How each limit is set, quoted in 413 answers (e.g. `--max-graph-tasks / TESSERA_MAX_GRAPH_TASKS`). */
  limitNames?: RequestLimits['names'];
  /** Each client's share of the API (absent: no limit); over it, 429 with Retry-After. */
  rateLimits?: RateLimits;
  /** When set, every route but /health and /ready needs `Authorization: Bearer <token>`. */
  token?: string;
  /** GET /metrics serves these (absent: no /metrics route). */
  metrics?: SchedulerMetrics;
  /** GET /ready's check; default: from the api's health. */
  ready?: () => Promise<ReadyState>;
  /** Interval of the `: ping` comment on event streams, ms; default 15 s. */
  heartbeatMs?: number;
  /** Fastify's logger (pino options, or true); off unless asked for. */
  logger?: FastifyServerOptions['logger'];
  /** A pino logger to use instead (the scheduler process's own). */
  loggerInstance?: FastifyBaseLogger;
}

export const DEFAULT_BODY_LIMIT = 256 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;

const ServerOptionsSchema = z.object({
  bodyLimit: z.number().int().positive().optional(),
  maxBodyBytes: z.number().int().positive().optional(),
  maxGraphTasks: z.number().int().positive().optional(),
  limitNames: z.record(z.string()).optional(),
  rateLimits: z
    .object({
      requestsPerSecond: z.number().positive(),
      burst: z.number().min(1),
      bytesPerSecond: z.number().positive(),
      bytesBurst: z.number().min(1),
      inFlight: z.number().int().min(1),
      names: z.record(z.string()).optional(),
    })
    .optional(),
  token: z.string().min(1).optional(),
  metrics: z.unknown().optional(),
  ready: z.function().optional(),
  heartbeatMs: z.number().int().positive().optional(),
  logger: z.unknown().optional(),
  loggerInstance: z.unknown().optional(),
});

/** Task keys run long (op names of fused tasks, 40-hex tokens); find-my-way's default is 100. */
const MAX_PARAM_LENGTH = 4096;

/**
 * The scheduler's HTTP API over a ClusterApi (routes in graph-routes.ts and cluster-routes.ts).
 * Every error answer is an ErrorResponse with the status of its code (error-reply.ts). The caller
 * listens (`await app.listen({port})`) and closes; closing ends open event streams.
 */
export function buildServer(api: ClusterApi, options: ServerOptions = {}): FastifyInstance {
  parseParam(ServerOptionsSchema, options, 'server option');
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const limits: RequestLimits = {
    maxGraphBytes: bodyLimit,
    maxGraphTasks: options.maxGraphTasks ?? DEFAULT_MAX_GRAPH_TASKS,
    maxBodyBytes: options.maxBodyBytes ?? Math.min(bodyLimit, DEFAULT_MAX_BODY_BYTES),
    ...(options.limitNames ? { names: options.limitNames } : {}),
  };
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const app = Fastify({
    ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: options.logger ?? false }),
    // Each request is not worth a log line (a gather is thousands); errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.maxBodyBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A URL that is not valid percent-encoding never reaches a route: answer it in our shape too.
    frameworkErrors: (err, _request, reply) => {
      const message = err.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid percent-encoding' : err.message;
      void (reply as unknown as FastifyReply)
        .code(400)
        .type('application/json; charset=utf-8')
        .send({ error: serializeError(new InvalidArgumentError(message)) });
    },
  });
  const describe = (err: unknown) => errorReply(err, { bodyLimit }).body;

  // No bodyLimit here: each route's own applies (the graph route's is maxGraphBytes).
  app.addContentTypeParser(MSGPACK, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, decodeMsgpack(body as Buffer));
    } catch (err) {
      done(new InvalidArgumentError(`request body is not valid msgpack: ${err instanceof Error ? err.message : String(err)}`), undefined);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const isGraph = isGraphSubmit(request.method, request.routeOptions.url);
    const { status, body } = errorReply(err, {
      bodyLimit: isGraph ? limits.maxGraphBytes : limits.maxBodyBytes,
      tooLarge: bodyTooLargeMessage(limits, isGraph),
    });
    if (status >= 500) request.log.error({ err }, 'request failed');
    if (status === 413) keepOpenToDrain(request, reply);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]?.slice(0, 200) ?? '';
    const err = new NotFoundError(`no route ${request.method} ${path} (the API lives under /api/, health at /health)`);
    return reply
      .code(404)
      .type('application/json; charset=utf-8')
      .send({ error: serializeError(err) });
  });

  const streams = new Set<AbortController>();
  // Open event streams would hold close() until their graphs end: end them first.
  app.addHook('preClose', async () => {
    for (const s of streams) s.abort();
  });

  // Before the token check: a flood of unauthenticated requests is a flood too.
  if (options.rateLimits) {
    const limiter = new ClientRateLimiter(options.rateLimits);
    enforceRateLimits(app, limiter, () => options.metrics?.rateLimited());
  }
  requireToken(app, options.token);
  enforceGraphLimits(app, limits);
  clusterRoutes(app, api);
  graphRoutes(app, api, { bodyLimit, heartbeatMs, describe, streams });
  opsRoutes(app, api, {
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.ready ? { ready: options.ready } : {}),
  });
  feedRoutes(app, api, { heartbeatMs, streams });
  gatherRoute(app, api, describe);
  return app;
}

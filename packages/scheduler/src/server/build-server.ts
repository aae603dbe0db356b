import { InvalidArgumentError, MSGPACK, NotFoundError, decodeMsgpack, serializeError } from '@tessera/protocol';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { z } from 'zod';
import type { ClusterApi } from '../cluster/cluster-api.js';
import { clusterRoutes } from './cluster-routes.js';
import { errorReply } from './error-reply.js';
import { graphRoutes } from './graph-routes.js';
import { parseParam } from './params.js';

export interface ServerOptions {
  /** Largest request body in bytes (a msgpack graph, an unpersist list); default 256 MiB. */
  bodyLimit?: number;
  /** Interval of the `: ping` comment on event streams, ms; default 15 s. */
  heartbeatMs?: number;
  /** Fastify's logger (pino options, or true); off unless asked for. */
  logger?: FastifyServerOptions['logger'];
}

export const DEFAULT_BODY_LIMIT = 256 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;

const ServerOptionsSchema = z.object({
  bodyLimit: z.number().int().positive().optional(),
  heartbeatMs: z.number().int().positive().optional(),
  logger: z.unknown().optional(),
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
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit, routerOptions: { maxParamLength: MAX_PARAM_LENGTH } });
  const describe = (err: unknown) => errorReply(err, { bodyLimit }).body;

  app.addContentTypeParser(MSGPACK, { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    try {
      done(null, decodeMsgpack(body as Buffer));
    } catch (err) {
      done(new InvalidArgumentError(`request body is not valid msgpack: ${err instanceof Error ? err.message : String(err)}`), undefined);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = errorReply(err, { bodyLimit });
    if (status >= 500) request.log.error({ err }, 'request failed');
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

  clusterRoutes(app, api);
  graphRoutes(app, api, { bodyLimit, heartbeatMs, describe, streams });
  return app;
}

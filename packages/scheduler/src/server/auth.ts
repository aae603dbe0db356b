import { bearerMatches } from '@tessera/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './error-reply.js';

/** Routes a load balancer or an orchestrator probes: they say nothing a stranger may not know. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

/**
 * With a token configured, every route but /health and /ready answers 401 without
 * `Authorization: Bearer <token>`: the API, event streams, results, metrics. Runs onRequest,
 * before any body is read.
 */
export function requireToken(app: FastifyInstance, token: string | undefined): void {
  if (token === undefined) return;
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (OPEN_PATHS.has(path)) return;
    if (bearerMatches(request.headers.authorization, token)) return;
    reply.header('www-authenticate', 'Bearer realm="tessera"');
    throw new HttpError(
      401,
      'INVALID_ARGUMENT',
      request.headers.authorization === undefined
        ? 'this scheduler requires a token: send Authorization: Bearer <token> (TESSERA_TOKEN)'
        : "the token in the Authorization header is not this scheduler's token",
    );
  });
}

import {
  NotFoundError,
  type Backlog,
  type ClusterInfo,
  type HealthResponse,
  type OkResponse,
  UnavailableError,
  UnpersistRequest,
  type WorkerList,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { ClusterApi } from '../cluster/cluster-api.js';
import { parseParam } from './params.js';

/** Routes about the cluster rather than one graph: health, join info, workers, unpersist. */
export function clusterRoutes(app: FastifyInstance, api: ClusterApi): void {
  // 503 while not ok, with the same body, so load balancers and `connect` both read it.
  app.get('/health', async (request, reply) => {
    let health: HealthResponse;
    try {
      health = await api.health();
    } catch (err) {
      request.log.warn({ err }, 'health check failed');
      throw new UnavailableError(`the scheduler cannot check its health: ${err instanceof Error ? err.message : String(err)}`);
    }
    return reply.code(health.ok ? 200 : 503).send(health);
  });

  app.get('/api/cluster', async (): Promise<ClusterInfo> => api.info);

  app.get('/api/workers', async (): Promise<WorkerList> => ({ workers: await api.workers() }));

  app.get('/api/backlog', async (): Promise<Backlog> => {
    if (!api.backlog) throw new NotFoundError('this scheduler has no backlog to report');
    return api.backlog();
  });

  app.post('/api/unpersist', async (request): Promise<OkResponse> => {
    const { keys } = parseParam(UnpersistRequest, request.body, 'unpersist request');
    await api.unpersist(keys);
    return { ok: true };
  });
}

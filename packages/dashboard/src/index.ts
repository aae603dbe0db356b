import { buildDashboard, type DashboardServer } from './app.js';
import { parseOptions, type DashboardOptions } from './options.js';

export { buildDashboard, sourceOf, type DashboardServer } from './app.js';
export { EngineSource, SchedulerSource, type DashboardSource } from './source.js';
export { ClusterModel, GraphModel, type Bar, type GraphRow, type GroupView, type TaskRecord, type WorkerRow } from './model.js';
export { DashboardOptionsSchema, parseOptions, type DashboardOptions, type ResolvedOptions } from './options.js';
export { SchedulerClient } from './scheduler-client.js';

export interface RunningDashboard {
  /** http://host:port of the page. */
  readonly url: string;
  readonly server: DashboardServer;
  close(): Promise<void>;
}

/**
 * Start the dashboard server: options are zod-checked (a bad one throws naming it), then it listens.
 * A cluster: `startDashboard({ scheduler: 'http://host:8786' })`. The embedded local engine:
 * `startDashboard({ engine: client.engine })` (or `Client.connect({ dashboard: true })`).
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const o = parseOptions(options);
  const server = buildDashboard(o);
  try {
    await server.app.listen({ host: o.host, port: o.port });
  } catch (e) {
    await server.close();
    throw e;
  }
  const addr = server.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    server,
    close: () => server.close(),
  };
}

import { InvalidArgumentError, type Engine } from '@tessera/protocol';
import { importOptional } from './optional-import.js';

/** `Client.connect({ dashboard })`: true for the defaults (127.0.0.1:8787), or where to listen. */
export type DashboardRequest = boolean | { port?: number; host?: string; quiet?: boolean };

export interface ClientDashboard {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Start the dashboard (issue 5) beside a client, like Dask's `Client()` and its dashboard link:
 * over the engine in this process, or in front of the scheduler at `address`. @tessera/dashboard
 * is an optional peer the client must not depend on: imported through a variable, only when asked.
 */
export async function startClientDashboard(
  request: DashboardRequest,
  target: { engine: Engine } | { scheduler: string; token?: string | undefined },
): Promise<ClientDashboard | undefined> {
  if (request === false) return undefined;
  if (request !== true && (typeof request !== 'object' || request === null)) {
    throw new InvalidArgumentError(`dashboard must be true, false or { port, host }, got ${JSON.stringify(request)}`);
  }
  const where = request === true ? {} : request;
  const start = await importOptional('@tessera/dashboard', 'startDashboard', 'dashboard: true needs the package @tessera/dashboard: install it (npm install @tessera/dashboard)');
  const options: Record<string, unknown> = 'engine' in target ? { engine: target.engine } : { scheduler: target.scheduler };
  if ('token' in target && target.token !== undefined) options.token = target.token;
  if (where.port !== undefined) options.port = where.port;
  if (where.host !== undefined) options.host = where.host;
  const d = (await (start as (o: object) => Promise<ClientDashboard>)(options)) as ClientDashboard;
  if (!where.quiet) process.stderr.write(`tessera dashboard: ${d.url}\n`);
  return d;
}

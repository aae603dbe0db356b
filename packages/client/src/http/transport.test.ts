import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimitedError, UnavailableError } from '@tessera/protocol';
import { retryAfterMs } from './retry.js';
import { HttpTransport } from './transport.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const port = await serve(() => undefined);
  await new Promise((r) => servers.pop()!.close(r));
  return port;
}

const ok = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');

describe('HttpTransport retries', () => {
  it('sends a POST again while the scheduler refuses connections (a restart), and it arrives once', async () => {
    const port = await freePort();
    const bodies: string[] = [];
    setTimeout(() => {
      void serve((req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          bodies.push(body);
          ok(res);
        });
      }, port);
    }, 400);
    const t = new HttpTransport(`http://127.0.0.1:${port}`, undefined, 10_000);
    const res = await t.request('/api/graphs', { method: 'POST', body: 'graph', contentType: 'text/plain' });
    expect(res.status).toBe(200);
    expect(bodies).toEqual(['graph']);
  });

  it('gives up with an UnavailableError naming the address once its window is over', async () => {
    const port = await freePort();
    const t = new HttpTransport(`http://127.0.0.1:${port}`, undefined, 300);
    const started = Date.now();
    await expect(t.request('/api/graphs')).rejects.toThrow(UnavailableError);
    await expect(t.request('/api/graphs')).rejects.toThrow(new RegExp(`127.0.0.1:${port}.*ECONNREFUSED`));
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('does not send a POST twice when the connection dropped after it was sent', async () => {
    let seen = 0;
    const port = await serve((req) => {
      seen++;
      req.socket.destroy();
    });
    const t = new HttpTransport(`http://127.0.0.1:${port}`, undefined, 5_000);
    await expect(t.request('/api/graphs', { method: 'POST', body: 'x' })).rejects.toThrow(UnavailableError);
    expect(seen).toBe(1);
    // The same drop on an idempotent request is retried until it is answered.
    seen = 0;
    const port2 = await serve((req, res) => (++seen < 3 ? req.socket.destroy() : ok(res)));
    const t2 = new HttpTransport(`http://127.0.0.1:${port2}`, undefined, 5_000);
    expect((await t2.request('/api/graphs/g/gather', { method: 'POST', body: '{}', idempotent: true })).status).toBe(200);
    expect(seen).toBe(3);
  });

  it('waits what Retry-After says on a 429, then sends again', async () => {
    const at: number[] = [];
    const port = await serve((_req, res) => {
      at.push(Date.now());
      if (at.length === 1) res.writeHead(429, { 'retry-after': '0.3', 'content-type': 'application/json' }).end('{}');
      else ok(res);
    });
    const t = new HttpTransport(`http://127.0.0.1:${port}`, undefined, 5_000);
    expect((await t.request('/x', { method: 'POST', body: 'b' })).status).toBe(200);
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(290);
  });

  it('a 429 past the window is a RateLimitedError', async () => {
    const port = await serve((_req, res) => res.writeHead(429, { 'retry-after': '30' }).end('slow down'));
    const t = new HttpTransport(`http://127.0.0.1:${port}`, undefined, 1_000);
    await expect(t.request('/x')).rejects.toThrow(RateLimitedError);
  });

  it('retry: false tries once', async () => {
    let seen = 0;
    const port = await serve((_req, res) => {
      seen++;
      res.writeHead(429, { 'retry-after': '0' }).end();
    });
    const t = new HttpTransport(`http://127.0.0.1:${port}`, undefined, 5_000);
    await expect(t.request('/x', { retry: false })).rejects.toThrow(RateLimitedError);
    expect(seen).toBe(1);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0.5')).toBe(500);
    expect(retryAfterMs(new Date(61_000).toUTCString(), 1_000)).toBe(60_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs('-1')).toBeUndefined();
  });
});

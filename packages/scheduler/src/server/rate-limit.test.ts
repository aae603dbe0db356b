import { ErrorResponse, RateLimitedError, deserializeError } from '@tessera/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './build-server.js';
import { FakeClusterApi } from './fake-cluster-api.test-util.js';
import { CLIENT_HEADER, ClientRateLimiter, type RateLimits } from './rate-limit.js';

const LIMITS: RateLimits = { requestsPerSecond: 10, burst: 5, bytesPerSecond: 1000, bytesBurst: 2000, inFlight: 2 };

describe('ClientRateLimiter', () => {
  it('lets a burst through, then the rate, each client on its own bucket', () => {
    let t = 0;
    const l = new ClientRateLimiter(LIMITS, () => t);
    for (let i = 0; i < 5; i++) expect(l.admit('a', 0, false).ok).toBe(true);
    const refused = l.admit('a', 0, false);
    expect(refused).toMatchObject({ ok: false, retryAfterS: 1 });
    expect(!refused.ok && refused.reason).toMatch(/more than 10 requests per second \(bursts of 5\)/);
    // Another client is not touched by a's flood.
    expect(l.admit('b', 0, false).ok).toBe(true);
    t += 100; // 10/s: one more request after 100 ms
    expect(l.admit('a', 0, false).ok).toBe(true);
    expect(l.admit('a', 0, false).ok).toBe(false);
    t += 10_000; // refills to the burst, not beyond
    for (let i = 0; i < 5; i++) expect(l.admit('a', 0, false).ok).toBe(true);
    expect(l.admit('a', 0, false).ok).toBe(false);
    expect(l.limited).toBe(3);
  });

  it('counts open requests and frees them once, whatever the caller does', () => {
    const l = new ClientRateLimiter({ ...LIMITS, burst: 100 }, () => 0);
    const first = l.admit('a', 0, true);
    const second = l.admit('a', 0, true);
    expect(first.ok && second.ok).toBe(true);
    const third = l.admit('a', 0, true);
    expect(!third.ok && third.reason).toMatch(/more than 2 requests open at once/);
    // An event stream does not hold a slot.
    expect(l.admit('a', 0, false).ok).toBe(true);
    if (first.ok) {
      first.release();
      first.release();
    }
    expect(l.admit('a', 0, true).ok).toBe(true);
    expect(l.admit('a', 0, true).ok).toBe(false);
  });

  it('charges body bytes, and waits as long as the bytes need', () => {
    let t = 0;
    const l = new ClientRateLimiter({ ...LIMITS, burst: 100 }, () => t);
    expect(l.admit('a', 1500, false).ok).toBe(true);
    const refused = l.admit('a', 1500, false);
    expect(refused).toMatchObject({ ok: false, retryAfterS: 1 });
    expect(!refused.ok && refused.reason).toMatch(/1000 bytes of request bodies per second/);
    t += 1000;
    expect(l.admit('a', 1500, false).ok).toBe(true);
    // A body bigger than the whole burst passes on a full bucket (the body limits bound it).
    t += 10_000;
    expect(l.admit('a', 50_000, false).ok).toBe(true);
  });
});

describe('rate limits on the HTTP API', () => {
  let app: FastifyInstance;
  afterEach(async () => app.close());

  it('answers 429 with Retry-After and a RateLimitedError that names the setting; others, probes and metrics go on', async () => {
    app = buildServer(new FakeClusterApi(), {
      rateLimits: { ...LIMITS, inFlight: 100, names: { requestsPerSecond: '--rate-limit / TESSERA_RATE_LIMIT' } },
    });
    const flood = { [CLIENT_HEADER]: 'c-flood' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => app.inject({ url: '/api/graphs', headers: flood })));
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
    expect(statuses).toContain(429);
    const limited = answers.find((r) => r.statusCode === 429)!;
    expect(limited.headers['retry-after']).toBe('1');
    const err = deserializeError(ErrorResponse.parse(limited.json()).error);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.message).toMatch(/requests per second.*--rate-limit \/ TESSERA_RATE_LIMIT.*retry after 1 s/);
    // A bad request costs its share too: the flooder stays refused, a quiet client is served.
    expect(
      (await app.inject({ method: 'POST', url: '/api/graphs', headers: { ...flood, 'content-type': 'text/plain' }, payload: 'junk' }))
        .statusCode,
    ).toBe(429);
    expect((await app.inject({ url: '/api/graphs', headers: { [CLIENT_HEADER]: 'c-quiet' } })).statusCode).toBe(200);
    for (const path of ['/health', '/ready']) expect((await app.inject({ url: path, headers: flood })).statusCode).toBeLessThan(429);
  });

  it('without rateLimits there is no limit (the embedded uses, the route tests)', async () => {
    app = buildServer(new FakeClusterApi());
    const answers = await Promise.all(Array.from({ length: 50 }, () => app.inject('/api/graphs')));
    expect(answers.every((r) => r.statusCode === 200)).toBe(true);
  });
});

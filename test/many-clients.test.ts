import { afterAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { MSGPACK } from '@tessera/protocol';
import { testRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, within } from './cluster.test-util.js';

// Fifty clients against one scheduler while one more floods it with bad and huge requests: every
// client gets its right answers, and only the flooder is answered 429 (with Retry-After). The
// limits are set low here (10 requests/s a client) so the flood is far past them.

const redis = await testRedis();
afterAll(() => redis.close());

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

describe('many clients and one flooder', () => {
  it('50 clients submitting and fetching are all served right; the flooder alone is slowed, with 429 and Retry-After', async () => {
    const c = await startCluster({ redis: redis.url, workers: 2, env: { TESSERA_RATE_LIMIT: '10', TESSERA_RATE_BURST: '10' } });
    const clients = await Promise.all(Array.from({ length: 50 }, () => ta.Client.connect(c.url)));
    const statuses = new Map<number, number>();
    let withoutRetryAfter = 0;
    let flooding = true;
    const flood = async (body: Uint8Array) => {
      while (flooding) {
        const res = await fetch(`${c.url}/api/graphs`, {
          method: 'POST',
          headers: { 'content-type': MSGPACK, 'x-tessera-client': 'c-flooder' },
          body,
        }).catch(() => undefined);
        if (!res) continue;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 429 && !res.headers.get('retry-after')) withoutRetryAfter++;
        await res.arrayBuffer().catch(() => undefined);
      }
    };
    const junk = new Uint8Array([0xc1, 0xc1, 0xc1]);
    const huge = new Uint8Array(8 * 2 ** 20).fill(0xc1);
    const flooders = [...Array.from({ length: 8 }, () => flood(junk)), flood(huge), flood(huge)];
    try {
      const latencies = await within(
        c,
        Promise.all(
          clients.map(async (client, i) => {
            const ms: number[] = [];
            for (let j = 0; j < 3; j++) {
              const n = 1_000 + 37 * i + j;
              const t0 = performance.now();
              const got = await client.compute(
                ta
                  .arange(n, { dtype: 'float64', chunks: [97] })
                  .mul(2)
                  .sum(),
              );
              ms.push(performance.now() - t0);
              expect([i, j, got]).toEqual([i, j, n * (n - 1)]);
            }
            return ms;
          }),
        ),
        120_000,
      );
      flooding = false;
      await Promise.all(flooders);
      expect(statuses.get(429) ?? 0).toBeGreaterThan(0);
      expect(withoutRetryAfter).toBe(0);
      // The flooder's bad requests that got through were told why (400), none broke the server.
      expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
      const metrics = await (await fetch(`${c.url}/metrics`)).text();
      expect(Number(/^tessera_http_rate_limited_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      const p99 = latencies.map((ms) => quantile(ms, 0.99));
      console.log(
        `50 clients x 3 graphs beside a flood (${[...statuses].map(([s, n]) => `${n} x ${s}`).join(', ')}): per-client p99 median ${quantile(p99, 0.5).toFixed(0)} ms, worst ${Math.max(...p99).toFixed(0)} ms`,
      );
    } finally {
      flooding = false;
      await Promise.all(flooders);
      await Promise.all(clients.map((cl) => cl.close()));
      await c.stop();
    }
  }, 180_000);
});

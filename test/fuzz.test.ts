// Bad input: thousands of random and mutated requests against every route of a real scheduler
// (buildServer over a ClusterScheduler on Redis). Every answer is below 500, every 4xx is an
// ErrorResponse with a message, the scheduler stays healthy, and once the graphs that happened to
// be valid are released, Redis holds no more keys under the test's prefix than before.
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { ErrorResponse, MSGPACK, encodeSubmitRequest, type Graph } from '@tessera/protocol';
import { ClusterScheduler, buildServer } from '@tessera/scheduler';
import { testRedis, type TestRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';

let redis: TestRedis;
let prefix: string;
let scheduler: ClusterScheduler;
let app: FastifyInstance;
let baseline: number;
const created = new Set<string>();
const failures: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);

/** A small valid graph, as the client builds it: the seed of the mutations. */
function validGraph(seed: number): Graph {
  const x = ta.random.uniform([40, 40], { chunks: [20, 20], seed });
  return ta.toGraph([x.add(x.T).mul(2).sum({ axis: 0 })]);
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  redis = await testRedis();
  prefix = redis.uniquePrefix();
  scheduler = await ClusterScheduler.start({
    redis: redis.url,
    prefix,
    heartbeatMs: 1_000,
    workerTimeoutMs: 10_000,
    endedGraphTtlMs: 60_000,
  });
  app = buildServer(scheduler, { bodyLimit: 256 * 1024, maxBodyBytes: 64 * 1024, maxGraphTasks: 500, heartbeatMs: 50 });
  await app.ready();
  // One valid submit and release first: BullMQ's per-queue keys (meta, id counter) exist from then on.
  const res = await app.inject({
    method: 'POST',
    url: '/api/graphs',
    headers: { 'content-type': MSGPACK },
    payload: Buffer.from(encodeSubmitRequest({ graph: validGraph(0) })),
  });
  expect(res.statusCode).toBe(201);
  expect((await app.inject({ method: 'DELETE', url: `/api/graphs/${(res.json() as { id: string }).id}` })).statusCode).toBe(200);
  await settle();
  baseline = await redis.keyCount(prefix);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await app?.close();
  await scheduler?.close();
  await redis?.deletePrefix(prefix);
  await redis?.close();
});

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

/** Send one request; record what breaks the rules (no assertion inside fast-check's loop). */
async function send(req: InjectOptions): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const res = await Promise.race([app.inject(req), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 5_000)))]);
  clearTimeout(timer);
  if (!res) {
    failures.push(`${req.method ?? 'GET'} ${String(req.url)}: no answer within 5 s`);
    return;
  }
  const what = `${req.method ?? 'GET'} ${String(req.url)} -> ${res.statusCode}`;
  if (res.statusCode >= 500) failures.push(`${what}: ${res.body.slice(0, 300)}`);
  else if (res.statusCode >= 400) {
    let body: unknown;
    try {
      body = res.json();
    } catch {
      body = undefined;
    }
    const parsed = ErrorResponse.safeParse(body);
    if (!parsed.success || parsed.data.error.message.length === 0)
      failures.push(`${what}: not an ErrorResponse: ${res.body.slice(0, 300)}`);
  } else if (req.method === 'POST' && req.url === '/api/graphs' && res.statusCode === 201) {
    created.add((res.json() as { id: string }).id);
  }
}

const CONTENT_TYPES = [
  MSGPACK,
  'application/json',
  'text/plain',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  'application/msgpack; charset=utf-8',
  undefined,
];
const contentType = fc.constantFrom(...CONTENT_TYPES);

/** Path segments: plausible ids and keys, junk, encodings, very long ones. */
const segment = fc
  .oneof(
    fc.constantFrom('g1', 'g1795265632380-1', 'add-0123456789abcdef:0', 'sum-0123456789abcdef:0,1', '%00', '%2F', '%ZZ', '{x}', ''),
    fc.string({ maxLength: 40 }),
    fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/),
    fc.string({ minLength: 200, maxLength: 5000 }),
  )
  // A `.` or `..` segment would be resolved away: `/api/graphs/../events` is the dashboard's
  // endless event feed, which the last test probes over a real connection instead.
  .map((s) => (s === '.' || s === '..' ? 'dot' : s))
  .map((s) => encodeURIComponent(s).replace(/%25(?=[0-9A-Fa-f]{2}|ZZ)/g, '%'));

const query = fc.oneof(
  fc.constant(''),
  fc
    .record(
      { tasks: fc.oneof(fc.constantFrom('0', '1', '2', ''), fc.string({ maxLength: 5 })), after: fc.string({ maxLength: 30 }) },
      { requiredKeys: [] },
    )
    .map((q) => `?${new URLSearchParams(q as Record<string, string>).toString()}`),
  fc.string({ maxLength: 50 }).map((s) => `?${s}`),
);

/** Bodies: random bytes, JSON of anything, msgpack of anything. */
const randomBody = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.anything({ maxDepth: 3 }).map((v) => {
    try {
      return Buffer.from(encodeSubmitRequest(v as never));
    } catch {
      return Buffer.alloc(0);
    }
  }),
  fc.record({ keys: fc.array(fc.string({ maxLength: 60 }), { maxLength: 20 }) }).map((v) => Buffer.from(JSON.stringify(v))),
);

/** A valid submit body, then broken: bytes flipped, cut short, or one field of the graph replaced. */
const mutatedSubmit = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 5 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }))
    .map(([seed, flips]) => {
      const b = Buffer.from(encodeSubmitRequest({ graph: validGraph(seed) }));
      for (const [at, v] of flips) b[at % b.length] = v;
      return b;
    }),
  fc.tuple(fc.integer({ min: 1, max: 5 }), fc.double({ min: 0, max: 1, noNaN: true })).map(([seed, f]) => {
    const b = Buffer.from(encodeSubmitRequest({ graph: validGraph(seed) }));
    return b.subarray(0, Math.floor(b.length * f));
  }),
  fc
    .tuple(
      fc.integer({ min: 1, max: 5 }),
      fc.nat(),
      fc.constantFrom('key', 'op', 'deps', 'params', 'shape', 'dtype', 'nbytes', 'chunks', 'outputs', 'tasks'),
      fc.anything({ maxDepth: 2 }),
      fc.boolean(),
    )
    .map(([seed, which, field, value, persistJunk]) => {
      const g = validGraph(seed) as unknown as { tasks: Record<string, unknown>[]; outputs: unknown };
      if (field === 'outputs') g.outputs = value;
      else if (field === 'tasks') g.tasks = value as never;
      else {
        const t = g.tasks[which % g.tasks.length]!;
        t[field] = value;
      }
      return Buffer.from(encodeSubmitRequest({ graph: g, ...(persistJunk ? { persist: value as never } : {}) } as never));
    }),
);

type Route = { method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH'; path: (a: string, b: string) => string };
const ROUTES: Route[] = [
  { method: 'GET', path: () => '/health' },
  { method: 'GET', path: () => '/ready' },
  { method: 'GET', path: () => '/metrics' },
  { method: 'GET', path: () => '/api/cluster' },
  { method: 'GET', path: () => '/api/workers' },
  { method: 'GET', path: () => '/api/graphs' },
  { method: 'GET', path: () => '/api/history' },
  { method: 'GET', path: (a) => `/api/graphs/${a}` },
  { method: 'GET', path: (a) => `/api/graphs/${a}/events` },
  { method: 'GET', path: (a) => `/api/graphs/${a}/structure` },
  { method: 'GET', path: (a, b) => `/api/graphs/${a}/results/${b}` },
  { method: 'POST', path: () => '/api/graphs' },
  { method: 'POST', path: (a) => `/api/graphs/${a}/cancel` },
  { method: 'POST', path: (a) => `/api/graphs/${a}/gather` },
  { method: 'DELETE', path: (a) => `/api/graphs/${a}` },
  { method: 'POST', path: () => '/api/unpersist' },
  { method: 'PUT', path: (a) => `/api/${a}` },
  { method: 'PATCH', path: (a, b) => `/${a}/${b}` },
];

describe('fuzz: every route of a real scheduler', () => {
  it('random requests to every route: no 5xx, every 4xx an ErrorResponse', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        segment,
        segment,
        query,
        fc.option(randomBody, { nil: undefined }),
        contentType,
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        async (route, a, b, q, body, type, lastEventId) => {
          const headers: Record<string, string> = {};
          if (type !== undefined) headers['content-type'] = type;
          if (lastEventId !== undefined) headers['last-event-id'] = lastEventId.replace(/[\r\n]/g, '');
          const withBody = route.method !== 'GET' && body !== undefined;
          await send({ method: route.method, url: route.path(a, b) + q, headers, ...(withBody ? { payload: body } : {}) });
        },
      ),
      { numRuns: 2_500 },
    );
    expect(failures).toEqual([]);
  });

  it('mutated graph submissions: rejected with 400/413/415 naming the problem, or accepted as valid graphs', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedSubmit, fc.constantFrom(MSGPACK, MSGPACK, MSGPACK, 'application/json'), async (body, type) => {
        await send({ method: 'POST', url: '/api/graphs', headers: { 'content-type': type }, payload: body });
      }),
      { numRuns: 1_500 },
    );
    // Over the limits: a graph of too many tasks, a body too big, each a 413 naming its limit.
    const many = ta.toGraph([ta.ones([600], { chunks: [1] }).sum()]);
    let res = await app.inject({
      method: 'POST',
      url: '/api/graphs',
      headers: { 'content-type': MSGPACK },
      payload: Buffer.from(encodeSubmitRequest({ graph: many })),
    });
    expect(res.statusCode).toBe(413);
    expect(ErrorResponse.parse(res.json()).error.message).toMatch(/limit of 500 tasks per graph/);
    res = await app.inject({
      method: 'POST',
      url: '/api/graphs',
      headers: { 'content-type': MSGPACK },
      payload: Buffer.alloc(300 * 1024, 0xc0),
    });
    expect(res.statusCode).toBe(413);
    expect(ErrorResponse.parse(res.json()).error.message).toMatch(/limit of 262144 bytes for a submitted graph/);
    res = await app.inject({
      method: 'POST',
      url: '/api/unpersist',
      headers: { 'content-type': 'application/json' },
      payload: Buffer.alloc(70 * 1024, 0x20),
    });
    expect(res.statusCode).toBe(413);
    expect(ErrorResponse.parse(res.json()).error.message).toMatch(/limit of 65536 bytes for a request body/);
    expect(failures).toEqual([]);
  });

  it('the dashboard feed (a stream without end) answers too', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    for (const q of ['', '?x=1', '?graph=%00', `?${'a'.repeat(5000)}=1`]) {
      const ac = new AbortController();
      const res = await fetch(`${base}/api/events${q}`, { signal: ac.signal });
      expect(res.status).toBeLessThan(500);
      ac.abort();
      await res.body?.cancel().catch(() => undefined);
    }
  });

  it('afterwards: the scheduler is healthy, nothing went unhandled, and Redis holds no garbage', async () => {
    expect(unhandled).toEqual([]);
    expect(await scheduler.health()).toMatchObject({ ok: true });
    for (const id of created) {
      const res = await app.inject({ method: 'DELETE', url: `/api/graphs/${id}` });
      expect([id, res.statusCode]).toEqual([id, 200]);
    }
    await settle();
    expect(await redis.keyCount(prefix)).toBe(baseline);
  });
});

import { ErrorResponse, MSGPACK, encodeSubmitRequest } from '@tessera/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './build-server.js';
import { FakeClusterApi } from './fake-cluster-api.test-util.js';
import { SchedulerMetrics } from './metrics.js';

const TOKEN = 'unit-test-token-0123456789';
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const errorOf = (res: { json(): unknown }) => ErrorResponse.parse(res.json()).error;

describe('bearer token', () => {
  it('guards every route but /health and /ready, before any body is read', async () => {
    const api = new FakeClusterApi();
    api.addGraph('g1');
    app = buildServer(api, { token: TOKEN });
    expect((await app.inject('/health')).statusCode).toBe(200);
    expect((await app.inject('/ready')).statusCode).toBe(200);
    for (const [method, url] of [
      ['GET', '/api/cluster'],
      ['GET', '/api/graphs'],
      ['GET', '/api/graphs/g1'],
      ['GET', '/api/graphs/g1/events'],
      ['POST', '/api/graphs'],
      ['DELETE', '/api/graphs/g1'],
      ['POST', '/api/unpersist'],
      ['GET', '/nope'],
    ] as const) {
      const res = await app.inject({ method, url, headers: { 'content-type': MSGPACK }, payload: Buffer.alloc(8) });
      expect([url, res.statusCode]).toEqual([url, 401]);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(errorOf(res).message).toMatch(/token/);
    }
    const ok = await app.inject({ url: '/api/graphs/g1', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    // Nothing reached the api without the token.
    expect(api.calls.filter((c) => c.method !== 'health' && c.method !== 'status')).toEqual([]);
  });
});

describe('limits', () => {
  it('a graph of too many tasks is a 413 naming the limit and its setting, before the api sees it', async () => {
    const api = new FakeClusterApi();
    app = buildServer(api, { maxGraphTasks: 3, limitNames: { maxGraphTasks: '--max-graph-tasks / TESSERA_MAX_GRAPH_TASKS' } });
    const post = (tasks: number) =>
      app!.inject({
        method: 'POST',
        url: '/api/graphs',
        headers: { 'content-type': MSGPACK },
        payload: Buffer.from(encodeSubmitRequest({ graph: { tasks: Array.from({ length: tasks }, (_, i) => ({ i })), outputs: [] } })),
      });
    const res = await post(4);
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).message).toBe(
      'the graph has 4 tasks, more than the limit of 3 tasks per graph (--max-graph-tasks / TESSERA_MAX_GRAPH_TASKS)',
    );
    expect(api.calls.filter((c) => c.method === 'submit')).toHaveLength(0);
    expect((await post(3)).statusCode).toBe(201);
  });

  it('a body over the graph limit is a 413 its sender reads, over a real socket, time after time', async () => {
    app = buildServer(new FakeClusterApi(), { bodyLimit: 64 * 1024, limitNames: { maxGraphBytes: '--max-graph-bytes' } });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const body = new Uint8Array(8 * 2 ** 20);
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${base}/api/graphs`, { method: 'POST', headers: { 'content-type': MSGPACK }, body });
      expect(res.status).toBe(413);
      // Closing would reset a sender still writing (EPIPE): the rest of the body is read and dropped.
      expect(res.headers.get('connection')).not.toBe('close');
      expect(ErrorResponse.parse(await res.json()).error.message).toMatch(/limit of .* for a submitted graph \(--max-graph-bytes\)/);
    }
  });

  it('other routes have their own, smaller body limit', async () => {
    app = buildServer(new FakeClusterApi(), { maxBodyBytes: 100 });
    const res = await app.inject({
      method: 'POST',
      url: '/api/unpersist',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ keys: ['x'.repeat(200)] }),
    });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).message).toMatch(/limit of 100 bytes for a request body \(maxBodyBytes\)/);
  });

  it('a URL that is not valid percent-encoding is a 400 ErrorResponse', async () => {
    app = buildServer(new FakeClusterApi());
    const res = await app.inject('/api/graphs/%ZZ');
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/percent-encoding/);
  });
});

describe('/ready and /metrics', () => {
  it('/ready is 503 with what is missing', async () => {
    const api = new FakeClusterApi();
    app = buildServer(api, { ready: async () => ({ ready: false, redis: false, resumed: true, workers: 2 }) });
    const res = await app.inject('/ready');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, redis: false, resumed: true, workers: 2 });
  });

  it('/metrics renders graphs, tasks, workers, queues and what the events said', async () => {
    const api = new FakeClusterApi();
    api.addGraph('g1', { counts: { memory: 3, processing: 1 } });
    api.workerList = [
      {
        info: { id: 'w1', host: 'h', address: 'http://h:1', pid: 1, threads: 2, memoryLimit: 100, device: 'cpu', startedAt: 0 },
        heartbeat: { id: 'w1', at: 0, chunks: 4, bytes: 4096, running: 1, executed: 9, rss: 123456 },
        age: 500,
        alive: true,
      },
    ];
    const metrics = new SchedulerMetrics(
      {
        graphs: () => api.graphs(),
        workers: () => api.workers(),
        queueDepths: async () => [{ queue: 'tasks', state: 'waiting', jobs: 7 }],
      },
      { defaultMetrics: false },
    );
    metrics.observe({
      type: 'task',
      graph: 'g1',
      key: 'add-0123456789abcdef:0',
      group: 'add-0123456789abcdef',
      op: 'add',
      state: 'memory',
      start: 1000,
      stop: 1250,
      nbytes: 800,
    });
    metrics.observe({ type: 'graph', graph: 'g1', state: 'finished', total: 4, done: 4 });
    app = buildServer(api, { metrics });
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    for (const line of [
      'tessera_graphs{state="running"} 1',
      'tessera_tasks{state="memory"} 3',
      'tessera_tasks{state="processing"} 1',
      'tessera_workers 1',
      'tessera_worker_rss_bytes{worker="w1"} 123456',
      'tessera_worker_chunk_bytes{worker="w1"} 4096',
      'tessera_queue_jobs{queue="tasks",state="waiting"} 7',
      'tessera_task_duration_seconds_bucket{le="0.25"} 1',
      'tessera_task_output_bytes_total 800',
      'tessera_graphs_ended_total{state="finished"} 1',
    ]) {
      expect(text).toContain(line);
    }
  });
});

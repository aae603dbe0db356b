import {
  ARROW_STREAM,
  CHUNK_FRAMES,
  decodeFrames,
  CancelledError,
  ChunkLostError,
  ClusterInfo,
  ERROR_CODES,
  ErrorResponse,
  GraphList,
  GraphStatus,
  GraphValidationError,
  HealthResponse,
  InvalidArgumentError,
  KilledWorkerError,
  MSGPACK,
  NotFoundError,
  OkResponse,
  SubmitResponse,
  TaskError,
  TesseraError,
  UnavailableError,
  WorkerList,
  decodeChunk,
  encodeChunk,
  encodeSubmitRequest,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer } from './build-server.js';
import { errorReply, statusOfCode } from './error-reply.js';
import { FakeClusterApi } from './fake-cluster-api.test-util.js';

const KEY = 'add-0123456789abcdef:0,1';

let api: FakeClusterApi;
let app: FastifyInstance;
beforeEach(() => {
  api = new FakeClusterApi();
  app = buildServer(api);
});
afterEach(async () => {
  await app.close();
});

function errorOf(res: { json: () => unknown }): ErrorResponse['error'] {
  return ErrorResponse.parse(res.json()).error;
}

function postGraph(payload: Uint8Array | string, contentType = MSGPACK) {
  return app.inject({ method: 'POST', url: '/api/graphs', headers: { 'content-type': contentType }, payload: Buffer.from(payload) });
}

describe('health and cluster info', () => {
  it('GET /health: 200 while ok, 503 with the same body while not, 503 ErrorResponse when it cannot tell', async () => {
    let res = await app.inject('/health');
    expect(res.statusCode).toBe(200);
    expect(HealthResponse.parse(res.json())).toEqual({ ok: true, workers: 2, version: '0.1.0' });
    api.health_ = { ok: false, workers: 0, version: '0.1.0' };
    res = await app.inject('/health');
    expect(res.statusCode).toBe(503);
    expect(HealthResponse.parse(res.json()).ok).toBe(false);
    api.health_ = new Error('redis is down');
    res = await app.inject('/health');
    expect(res.statusCode).toBe(503);
    expect(errorOf(res).code).toBe('UNAVAILABLE');
  });

  it('GET /api/cluster answers the ClusterInfo', async () => {
    const res = await app.inject('/api/cluster');
    expect(res.statusCode).toBe(200);
    expect(ClusterInfo.parse(res.json())).toEqual(api.info);
  });

  it('GET /api/workers answers the WorkerList', async () => {
    api.workerList = [
      {
        info: { id: 'w1', host: 'h', address: 'http://127.0.0.1:9', pid: 1, threads: 4, memoryLimit: 1024, device: 'cpu', startedAt: 5 },
        age: 12,
        alive: true,
      },
    ];
    const res = await app.inject('/api/workers');
    expect(res.statusCode).toBe(200);
    expect(WorkerList.parse(res.json())).toEqual({ workers: api.workerList });
  });
});

describe('POST /api/graphs', () => {
  it('decodes msgpack, passes graph and persist to submit, answers 201 with the id', async () => {
    const graph = { tasks: [{ key: KEY }], outputs: [KEY] };
    const res = await postGraph(encodeSubmitRequest({ graph, persist: true }));
    expect(res.statusCode).toBe(201);
    expect(SubmitResponse.parse(res.json())).toEqual({ id: 'g1' });
    expect(api.calls.at(-1)).toEqual({ method: 'submit', args: [graph, { persist: true }] });
    await postGraph(encodeSubmitRequest({ graph }));
    expect(api.calls.at(-1)?.args[1]).toEqual({ persist: false });
  });

  it('refuses JSON and bodies without a content type with 415', async () => {
    let res = await postGraph(JSON.stringify({ graph: {} }), 'application/json');
    expect(res.statusCode).toBe(415);
    expect(errorOf(res)).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(errorOf(res).message).toContain(MSGPACK);
    res = await app.inject({ method: 'POST', url: '/api/graphs' });
    expect(res.statusCode).toBe(415);
    expect(api.calls.filter((c) => c.method === 'submit')).toHaveLength(0);
  });

  it('answers 400 for bytes that are not msgpack, and for a request of the wrong shape', async () => {
    let res = await postGraph(Uint8Array.of(0x82, 0xa1)); // a map of 2 entries, cut short
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/not valid msgpack/);
    res = await postGraph(encodeSubmitRequest({ graph: {}, persist: 'yes' } as never));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/persist/);
    res = await postGraph(encodeSubmitRequest({ persist: true }));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/graph/);
    expect(api.calls.filter((c) => c.method === 'submit')).toHaveLength(0);
  });

  it('answers 413 naming the limit for a body over it', async () => {
    await app.close();
    app = buildServer(api, { bodyLimit: 1024 });
    const res = await postGraph(encodeSubmitRequest({ graph: { pad: 'x'.repeat(2000) } }));
    expect(res.statusCode).toBe(413);
    expect(errorOf(res)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('1024 bytes') });
    expect((await postGraph(encodeSubmitRequest({ graph: { pad: 'x'.repeat(900) } }))).statusCode).toBe(201);
  });

  it('a graph the scheduler rejects is a 400 GRAPH_INVALID with its issues', async () => {
    const res = await postGraph(encodeSubmitRequest({ graph: 'not a graph' }));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'GRAPH_INVALID', issues: [{ message: 'graph must be an object' }] });
  });
});

describe('graph routes', () => {
  it('lists graphs and answers one status; an unknown graph is a 404', async () => {
    api.addGraph('ga');
    api.addGraph('gb', { state: 'finished', done: 2, finishedAt: 9 });
    let res = await app.inject('/api/graphs');
    expect(GraphList.parse(res.json()).graphs.map((g) => g.id)).toEqual(['ga', 'gb']);
    res = await app.inject('/api/graphs/gb');
    expect(res.statusCode).toBe(200);
    expect(GraphStatus.parse(res.json())).toMatchObject({ id: 'gb', state: 'finished', finishedAt: 9 });
    res = await app.inject('/api/graphs/nope');
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('NOT_FOUND');
  });

  it('validates graph ids and task keys in the path: 400 naming the parameter', async () => {
    let res = await app.inject('/api/graphs/has%20space');
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/path parameter id/);
    res = await app.inject(`/api/graphs/${'x'.repeat(200)}/cancel`);
    expect(res.statusCode).toBe(404); // wrong method on a valid path shape: GET .../cancel is no route
    res = await app.inject({ method: 'POST', url: `/api/graphs/${'x'.repeat(200)}/cancel` });
    expect(res.statusCode).toBe(400);
    res = await app.inject('/api/graphs/g1/results/not-a-key');
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/path parameter key/);
    expect(api.calls).toHaveLength(0);
  });

  it('GET results: the Arrow stream of the parts, with content type and length', async () => {
    api.addGraph('g1', { state: 'finished' });
    const chunk = { dtype: 'float64' as const, shape: [2, 3], data: Float64Array.of(1, 2, 3, 4, 5, 6) };
    const parts = encodeChunk(chunk);
    expect(parts.length).toBeGreaterThan(1);
    api.results.set(`g1/${KEY}`, parts);
    const res = await app.inject(`/api/graphs/g1/results/${encodeURIComponent(KEY)}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(ARROW_STREAM);
    expect(Number(res.headers['content-length'])).toBe(parts.reduce((n, p) => n + p.byteLength, 0));
    const back = decodeChunk(new Uint8Array(res.rawPayload));
    expect(back.shape).toEqual([2, 3]);
    expect([...back.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(api.calls.at(-1)).toEqual({ method: 'result', args: ['g1', KEY] });
  });

  it('POST gather: frames in key order; errors before the answer are statuses, after it an error frame', async () => {
    api.addGraph('g1', { state: 'finished' });
    const keys = Array.from({ length: 40 }, (_, i) => `add-0123456789abcdef:${i}`);
    keys.forEach((k, i) => api.results.set(`g1/${k}`, encodeChunk({ dtype: 'int32', shape: [i % 3], data: Int32Array.from({ length: i % 3 }, () => i) })));
    const gather = (body: unknown, id = 'g1') =>
      app.inject({ method: 'POST', url: `/api/graphs/${id}/gather`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    let res = await gather({ keys });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(CHUNK_FRAMES);
    const frames = decodeFrames(new Uint8Array(res.rawPayload), keys);
    expect(frames.map((f) => [...f.chunk.data])).toEqual(keys.map((_, i) => Array.from({ length: i % 3 }, () => i)));

    res = await gather({ keys: ['nope'] });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/gather request keys\.0/);
    res = await gather({ keys: [] });
    expect(res.statusCode).toBe(400);
    res = await gather({ keys }, 'g9');
    expect(res.statusCode).toBe(404);

    const missing = [...keys.slice(0, 5), 'add-0123456789abcdef:99', keys[6]!];
    res = await gather({ keys: missing });
    expect(res.statusCode).toBe(200);
    expect(() => decodeFrames(new Uint8Array(res.rawPayload), missing)).toThrow(/not an output/);
    res = await gather({ keys: ['add-0123456789abcdef:99'] });
    expect(res.statusCode).toBe(404);
  });

  it('cancel, release and unpersist answer ok and reach the api', async () => {
    api.addGraph('g1');
    let res = await app.inject({ method: 'POST', url: '/api/graphs/g1/cancel' });
    expect(OkResponse.parse(res.json())).toEqual({ ok: true });
    expect(api.graphsById.get('g1')?.state).toBe('cancelled');
    res = await app.inject({ method: 'DELETE', url: '/api/graphs/g1' });
    expect(OkResponse.parse(res.json())).toEqual({ ok: true });
    expect(api.graphsById.has('g1')).toBe(false);
    res = await app.inject({ method: 'DELETE', url: '/api/graphs/g1' });
    expect(res.statusCode).toBe(404);
    res = await app.inject({ method: 'POST', url: '/api/unpersist', payload: { keys: [KEY] } });
    expect(OkResponse.parse(res.json())).toEqual({ ok: true });
    expect(api.calls.at(-1)).toEqual({ method: 'unpersist', args: [[KEY]] });
  });

  it('unpersist validates its body: 400 for a bad key, malformed JSON, or no body', async () => {
    let res = await app.inject({ method: 'POST', url: '/api/unpersist', payload: { keys: ['bad key'] } });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/keys\.0/);
    res = await app.inject({
      method: 'POST',
      url: '/api/unpersist',
      headers: { 'content-type': 'application/json' },
      payload: '{"keys": [',
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('INVALID_ARGUMENT');
    res = await app.inject({ method: 'POST', url: '/api/unpersist' });
    expect(res.statusCode).toBe(400);
    expect(api.calls).toHaveLength(0);
  });
});

describe('errors', () => {
  it('Redis away or full in the middle of a request is a 503 that says so, not an internal error', () => {
    const away = errorReply(Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }), { bodyLimit: 1 });
    expect([away.status, away.body.error.code]).toEqual([503, 'UNAVAILABLE']);
    expect(errorReply(new Error('LOADING Redis is loading the dataset in memory'), { bodyLimit: 1 }).body.error.code).toBe('UNAVAILABLE');
    expect(errorReply(new Error('Connection is closed.'), { bodyLimit: 1 }).status).toBe(503);
    const full = errorReply(new Error("OOM command not allowed when used memory > 'maxmemory'."), { bodyLimit: 1 });
    expect([full.status, full.body.error.code]).toEqual([503, 'REDIS_FULL']);
    const other = errorReply(new Error('something else'), { bodyLimit: 1 });
    expect([other.status, other.body.error.code, other.body.error.message]).toEqual([500, 'INTERNAL', 'internal scheduler error (see the scheduler log)']);
  });

  it('maps every code to its status', () => {
    const want: Record<string, number> = {
      INVALID_ARGUMENT: 400,
      GRAPH_INVALID: 400,
      SHAPE_ERROR: 400,
      DTYPE_ERROR: 400,
      CHUNK_ERROR: 400,
      FILE_FORMAT: 400,
      NOT_FOUND: 404,
      CANCELLED: 409,
      TASK_FAILED: 409,
      KILLED_WORKER: 409,
      CHUNK_LOST: 409,
      UNAVAILABLE: 503,
      REDIS_FULL: 503,
      RATE_LIMITED: 429,
      ENGINE_CLOSED: 503,
      GPU_UNAVAILABLE: 503,
      PEER_FETCH_FAILED: 503,
    };
    for (const code of ERROR_CODES) expect([code, statusOfCode(code)]).toEqual([code, want[code] ?? 500]);
  });

  it('answers typed errors with their status and serialized form', async () => {
    api.addGraph('g1');
    const cases: [TesseraError, number][] = [
      [new InvalidArgumentError('graph g1 is running'), 400],
      [new GraphValidationError([{ key: KEY, message: 'bad' }]), 400],
      [new NotFoundError('gone'), 404],
      [new CancelledError(), 409],
      [new TaskError(KEY, 'add', { name: 'RangeError', message: 'boom' }), 409],
      [new KilledWorkerError(KEY, 3), 409],
      [new ChunkLostError(KEY), 409],
      [new UnavailableError('redis is down'), 503],
    ];
    for (const [err, status] of cases) {
      api.failNext = err;
      const res = await app.inject('/api/graphs/g1');
      expect([err.code, res.statusCode]).toEqual([err.code, status]);
      const body = errorOf(res);
      expect(body).toMatchObject({ code: err.code, message: err.message });
    }
    api.failNext = new TaskError(KEY, 'add', { name: 'RangeError', message: 'boom' });
    expect(errorOf(await app.inject('/api/graphs/g1'))).toMatchObject({ key: KEY, op: 'add', remote: { message: 'boom' } });
  });

  it('anything else is a 500 INTERNAL that leaks neither message nor stack', async () => {
    api.failNext = new Error('secret path /etc/tessera/key');
    const res = await app.inject('/api/graphs');
    expect(res.statusCode).toBe(500);
    expect(errorOf(res).code).toBe('INTERNAL');
    expect(res.body).not.toMatch(/secret|stack|at /);
    // and the server keeps serving
    expect((await app.inject('/api/graphs')).statusCode).toBe(200);
  });

  it('unknown routes and wrong methods are 404 ErrorResponses', async () => {
    for (const req of [
      { method: 'GET' as const, url: '/nope' },
      { method: 'GET' as const, url: '/api/graphs/g1/nothing' },
      { method: 'PUT' as const, url: '/api/graphs' },
      { method: 'GET' as const, url: '/api/unpersist' },
    ]) {
      const res = await app.inject(req);
      expect(res.statusCode).toBe(404);
      expect(errorOf(res)).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(req.url) });
    }
  });

  it('rejects bad options naming them', () => {
    expect(() => buildServer(api, { bodyLimit: -1 })).toThrow(/bodyLimit/);
    expect(() => buildServer(api, { heartbeatMs: 0.5 })).toThrow(/heartbeatMs/);
  });
});

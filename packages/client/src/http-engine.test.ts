import {
  CHUNK_FRAMES,
  FRAME_CHUNK,
  encodeErrorFrame,
  encodeFrame,
  CancelledError,
  EngineClosedError,
  type EngineEvent,
  type GraphEvent,
  NotFoundError,
  TaskError,
  type TaskEvent,
  UnavailableError,
  decodeMsgpack,
  encodeChunk,
  type Graph,
} from '@tessera/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpEngine } from './http-engine.js';
import { FakeScheduler, errorAnswer, json, sleep, sseHead, sseMessage, writeInPieces } from './http/fake-scheduler.test-util.js';
import * as ta from './index.js';

const KEY = 'add-0123456789abcdef:0';
const GRAPH = { tasks: [], outputs: [KEY] } as unknown as Graph;
const gev = (state: GraphEvent['state'], extra: Partial<GraphEvent> = {}): GraphEvent => ({
  type: 'graph',
  graph: 'g1',
  state,
  total: 1,
  done: 0,
  ...extra,
});
const tev = (state: TaskEvent['state']): TaskEvent => ({
  type: 'task',
  graph: 'g1',
  key: KEY,
  group: 'add-0123456789abcdef',
  op: 'add',
  state,
});
const EVENTS = /^\/api\/graphs\/g1\/events$/;

let fake: FakeScheduler;
let engine: HttpEngine | undefined;
beforeEach(async () => {
  fake = await FakeScheduler.start();
});
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  await fake.close();
});

async function connect(options = {}): Promise<HttpEngine> {
  engine = await HttpEngine.connect(fake.base, { reconnectWindowMs: 3000, ...options });
  return engine;
}

/** The three batches of a graph that runs one task to the end. */
const BATCHES: [string, EngineEvent[]][] = [
  ['1', [gev('running')]],
  ['2', [tev('processing'), tev('memory')]],
  ['3', [gev('finished', { done: 1 })]],
];
const ALL = BATCHES.flatMap(([, evs]) => evs);

describe('HttpEngine.connect', () => {
  it('checks /health, retrying while the scheduler is not ready', async () => {
    let tries = 0;
    fake.on('GET', '/health', (_req, res) => json(res, ++tries < 3 ? 503 : 200, { ok: tries >= 3, workers: 1, version: '0.1.0' }));
    await connect();
    expect(tries).toBe(3);
  });

  it('an address where nothing answers is an UnavailableError naming it, after the retry window', async () => {
    const address = 'http://127.0.0.1:2'; // a privileged port nothing listens on (fetch refuses port 1)
    const t0 = Date.now();
    const err = await HttpEngine.connect(address, { connectTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain(address);
    expect((err as Error).message).toMatch(/ECONNREFUSED|timeout/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('a server that is no scheduler fails at once; a bad address is an InvalidArgumentError', async () => {
    fake.on('GET', '/health', (_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>'));
    await expect(HttpEngine.connect(fake.base, { connectTimeoutMs: 60_000 })).rejects.toThrow(/not a Tessera scheduler/);
    await expect(HttpEngine.connect('127.0.0.1:8786')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(HttpEngine.connect(fake.base, { gatherConcurrency: 0 })).rejects.toThrow(/gatherConcurrency/);
  });
});

describe('HttpEngine', () => {
  it('submit posts the graph as msgpack and subscribes onEvent from the start; SSE pieces cut anywhere', async () => {
    fake.on('POST', '/api/graphs', (_req, res) => json(res, 201, { id: 'g1' }));
    const text = BATCHES.map(([id, evs]) => sseMessage(id, evs))
      .join(': pïng\n\n')
      .replace(/\n/g, '\r\n');
    fake.on('GET', EVENTS, async (_req, res) => {
      sseHead(res);
      // cut inside "data", between \r and \n, inside a UTF-8 character, mid-JSON
      const cuts = [
        3,
        9,
        20,
        21,
        22,
        40,
        text.indexOf('\r') + 1,
        text.indexOf('ï') + 1,
        Buffer.byteLength(text) - 3,
        Buffer.byteLength(text) - 1,
      ];
      await writeInPieces(
        res,
        text,
        cuts.sort((a, b) => a - b),
      );
      res.end();
    });
    const e = await connect();
    const got: EngineEvent[] = [];
    const id = await e.submit(GRAPH, { persist: true, onEvent: (ev) => got.push(ev) });
    expect(id).toBe('g1');
    const [post] = fake.seen('POST', '/api/graphs');
    expect(post!.headers['content-type']).toBe('application/msgpack');
    expect(decodeMsgpack(post!.body)).toEqual({ graph: GRAPH, persist: true });
    await e.wait(id);
    // wait rode on the task stream: every event was delivered before it resolved
    expect(got).toEqual(ALL);
    const [sub] = fake.seen('GET', EVENTS);
    expect(sub!.query.get('tasks')).toBe('1');
    expect(sub!.headers['last-event-id']).toBeUndefined();
    expect(fake.seen('GET', EVENTS)).toHaveLength(1);
  });

  it('reconnects a dropped stream with Last-Event-ID and delivers each event once', async () => {
    fake.on('GET', EVENTS, async (req, res) => {
      sseHead(res);
      const after = Number(req.headers['last-event-id'] ?? 0);
      if (after === 0) {
        res.write(sseMessage('1', BATCHES[0]![1]) + sseMessage('2', BATCHES[1]![1]));
        await sleep(20);
        res.write(sseMessage('3', BATCHES[2]![1]).slice(0, 15)); // a batch cut off half way
        await sleep(20);
        res.destroy(); // the connection drops
        return;
      }
      res.end(
        BATCHES.slice(after)
          .map(([id, evs]) => sseMessage(id, evs))
          .join(''),
      );
    });
    const e = await connect();
    const got: EngineEvent[] = [];
    const unsubscribe = e.subscribe('g1', (ev) => got.push(ev));
    await e.wait('g1');
    expect(got).toEqual(ALL);
    const tries = fake.seen('GET', EVENTS);
    expect(tries.map((r) => r.headers['last-event-id'])).toEqual([undefined, '2']);
    unsubscribe();
  });

  it('wait survives a scheduler restart, on a stream of graph events only', async () => {
    fake.on('GET', EVENTS, async (_req, res) => {
      sseHead(res);
      res.write(sseMessage('1', [gev('running')]));
    });
    const e = await connect();
    const waited = e.wait('g1');
    for (let i = 0; i < 100 && fake.seen('GET', EVENTS).length === 0; i++) await sleep(10);
    expect(fake.seen('GET', EVENTS)[0]!.query.get('tasks')).toBe('0');
    const port = fake.port;
    await fake.close(); // the scheduler dies with the stream open
    await sleep(300);
    const restarted = await FakeScheduler.start(port);
    restarted.on('GET', EVENTS, (_req, res) => {
      sseHead(res);
      res.end(sseMessage('2', [gev('finished', { done: 1 })]));
    });
    fake = restarted;
    await waited;
    expect(restarted.seen('GET', EVENTS).map((r) => r.headers['last-event-id'])).toEqual(['1']);
  });

  it('wait rejects with the typed error of an erred graph, CancelledError for a cancelled one', async () => {
    const remote = { name: 'RangeError', message: 'boom' };
    const error = { code: 'TASK_FAILED' as const, name: 'TaskError', message: 'task failed', key: KEY, op: 'add', remote };
    fake.on('GET', EVENTS, (_req, res) => {
      sseHead(res);
      res.end(sseMessage('1', [gev('erred', { error })]));
    });
    const e = await connect();
    const err = await e.wait('g1').catch((x: unknown) => x);
    expect(err).toBeInstanceOf(TaskError);
    expect(err).toMatchObject({ key: KEY, op: 'add', remote });
    fake.on('GET', EVENTS, (_req, res) => {
      sseHead(res);
      res.end(sseMessage('1', [gev('cancelled')]));
    });
    await expect(e.wait('g1')).rejects.toBeInstanceOf(CancelledError);
  });

  it('an unknown graph, or an error event in the stream, rejects wait with its typed error', async () => {
    const e = await connect();
    await expect(e.wait('g1')).rejects.toBeInstanceOf(NotFoundError); // the fake has no such route: 404
    fake.on('GET', EVENTS, (_req, res) => {
      sseHead(res);
      res.end(
        `event: error\ndata: ${JSON.stringify({ error: { code: 'NOT_FOUND', name: 'NotFoundError', message: 'graph g1 was released' } })}\n\n`,
      );
    });
    await expect(e.wait('g1')).rejects.toThrow(/graph g1 was released/);
  });

  it('a stream that ends without a terminal event asks the graph status', async () => {
    fake.on('GET', EVENTS, (_req, res) => {
      sseHead(res);
      res.end(sseMessage('1', [gev('running')]));
    });
    fake.on('GET', '/api/graphs/g1', (_req, res) =>
      json(res, 200, { id: 'g1', state: 'finished', total: 1, done: 1, counts: {}, outputs: 1, persist: false, submittedAt: 1 }),
    );
    const e = await connect();
    const got: EngineEvent[] = [];
    e.subscribe('g1', (ev) => got.push(ev));
    await e.wait('g1');
    expect(got.map((ev) => ev.type === 'graph' && ev.state)).toEqual(['running', 'finished']);
  });

  it('gather: batches of keys, a bounded number of requests at a time, chunks in key order, zero-copy decoded', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `add-0123456789abcdef:${i}`);
    let inFlight = 0;
    let most = 0;
    const batches: string[][] = [];
    fake.on('POST', /^\/api\/graphs\/g1\/gather$/, async (req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      const asked = (JSON.parse(req.body.toString()) as { keys: string[] }).keys;
      batches.push(asked);
      // Hold answers until the engine has as many requests out as it may (or a while passed),
      // then let them come back out of order.
      for (let t = 0; t < 100 && most < 3; t++) await sleep(5);
      await sleep(10 * ((batches.length * 3) % 4));
      res.writeHead(200, { 'content-type': CHUNK_FRAMES });
      for (const key of asked) {
        const i = Number(key.split(':')[1]);
        for (const p of encodeFrame(key, FRAME_CHUNK, encodeChunk({ dtype: 'float64', shape: [2], data: Float64Array.of(i, -i) }))) res.write(p);
      }
      res.end();
      inFlight--;
    });
    const e = await connect({ gatherConcurrency: 3, gatherBatch: 2 });
    const chunks = await e.gather('g1', keys);
    expect(chunks.map((c) => [...c.data])).toEqual(keys.map((_, i) => [i, -i]));
    expect(batches.map((b) => b.length).sort()).toEqual([1, 2, 2, 2]);
    expect(most).toBe(3);
    expect(await e.gather('g1', [])).toEqual([]);
  });

  it('gather: an error answer or error frame is thrown as its typed error; a non-frames answer is refused', async () => {
    fake.on('POST', /gather/, (_req, res) =>
      errorAnswer(res, 409, { code: 'CHUNK_LOST', name: 'ChunkLostError', message: 'lost', key: KEY }),
    );
    const e = await connect();
    await expect(e.gather('g1', [KEY])).rejects.toMatchObject({ code: 'CHUNK_LOST', key: KEY });
    fake.on('POST', /gather/, (_req, res) => {
      res.writeHead(200, { 'content-type': CHUNK_FRAMES });
      for (const p of encodeErrorFrame(KEY, { error: { code: 'CHUNK_LOST', name: 'ChunkLostError', message: 'lost later', key: KEY } })) res.write(p);
      res.end();
    });
    await expect(e.gather('g1', [KEY])).rejects.toMatchObject({ code: 'CHUNK_LOST', key: KEY });
    fake.on('POST', /gather/, (_req, res) => json(res, 200, { not: 'frames' }));
    await expect(e.gather('g1', [KEY])).rejects.toThrow(/not application\/vnd\.tessera\.chunk-frames/);
  });

  it('maps answers to typed errors: ErrorResponse by code, bare statuses by class, a dead scheduler to Unavailable', async () => {
    const e = await connect();
    fake.on('POST', '/api/graphs/g1/cancel', (_req, res) =>
      errorAnswer(res, 400, { code: 'INVALID_ARGUMENT', name: 'InvalidArgumentError', message: 'no' }),
    );
    await expect(e.cancel('g1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'no' });
    fake.on('POST', '/api/graphs/g1/cancel', (_req, res) => res.writeHead(502).end('bad gateway'));
    await expect(e.cancel('g1')).rejects.toBeInstanceOf(UnavailableError);
    fake.on('POST', '/api/graphs/g1/cancel', (_req, res) => res.writeHead(500).end('<html>'));
    await expect(e.cancel('g1')).rejects.toMatchObject({ code: 'INTERNAL' });
    fake.on('POST', '/api/graphs/g1/cancel', (_req, res) => json(res, 200, { ok: 'sure' }));
    await expect(e.cancel('g1')).rejects.toThrow(/malformed/);
    fake.on('POST', '/api/graphs/g1/cancel', (_req, res) => json(res, 200, { ok: true }));
    await e.cancel('g1');
    await fake.close();
    const err = await e.release('g1').catch((x: unknown) => x);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain(fake.base);
    fake = await FakeScheduler.start(); // for afterEach
  });

  it('release is a DELETE, unpersist a JSON POST', async () => {
    fake.on('DELETE', '/api/graphs/g1', (_req, res) => json(res, 200, { ok: true }));
    fake.on('POST', '/api/unpersist', (_req, res) => json(res, 200, { ok: true }));
    const e = await connect();
    await e.release('g1');
    await e.unpersist([KEY]);
    const [up] = fake.seen('POST', '/api/unpersist');
    expect(up!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(up!.body.toString())).toEqual({ keys: [KEY] });
    expect(fake.seen('DELETE', '/api/graphs/g1')).toHaveLength(1);
  });

  it('close ends open streams and pending waits; later calls throw EngineClosedError', async () => {
    let closedByClient = 0;
    fake.on('GET', EVENTS, (_req, res) => {
      sseHead(res);
      res.write(sseMessage('1', [gev('running')]));
      res.on('close', () => closedByClient++);
    });
    const e = await connect();
    e.subscribe('g1', () => undefined);
    const waited = e.wait('g1');
    for (let i = 0; i < 100 && fake.seen('GET', EVENTS).length < 1; i++) await sleep(10);
    await sleep(20);
    expect(fake.seen('GET', EVENTS)).toHaveLength(1); // wait rides on the subscription's stream
    await e.close();
    await expect(waited).rejects.toBeInstanceOf(EngineClosedError);
    for (let i = 0; i < 100 && closedByClient < 1; i++) await sleep(10);
    expect(closedByClient).toBeGreaterThanOrEqual(1);
    await expect(e.submit(GRAPH)).rejects.toBeInstanceOf(EngineClosedError);
    await expect(e.gather('g1', [KEY])).rejects.toBeInstanceOf(EngineClosedError);
    expect(() => e.subscribe('g1', () => undefined)).toThrow(EngineClosedError);
    await e.close();
  });
});

describe('Client.connect with an address', () => {
  it('computes through the HTTP engine: submit, events, wait, gather, release', async () => {
    let outputs: string[] = [];
    fake.on('POST', '/api/graphs', (req, res) => {
      outputs = (decodeMsgpack(req.body) as { graph: Graph }).graph.outputs;
      json(res, 201, { id: 'g1' });
    });
    fake.on('GET', EVENTS, (_req, res) => {
      sseHead(res);
      res.end(sseMessage('1', [gev('running')]) + sseMessage('2', [gev('finished', { done: 1 })]));
    });
    fake.on('POST', /gather/, (req, res) => {
      const [key] = (JSON.parse(req.body.toString()) as { keys: string[] }).keys;
      res.writeHead(200, { 'content-type': CHUNK_FRAMES });
      for (const p of encodeFrame(key!, FRAME_CHUNK, encodeChunk({ dtype: 'float64', shape: [], data: Float64Array.of(42) }))) res.write(p);
      res.end();
    });
    fake.on('DELETE', '/api/graphs/g1', (_req, res) => json(res, 200, { ok: true }));
    const client = await ta.Client.connect(`${fake.base}/`);
    try {
      const seen: EngineEvent[] = [];
      expect(await client.compute(ta.ones([4], { chunks: [2] }).sum(), { onEvent: (ev) => seen.push(ev) })).toBe(42);
      expect(seen.map((ev) => ev.type === 'graph' && ev.state)).toEqual(['running', 'finished']);
      expect(outputs).toHaveLength(1);
      expect(fake.seen('POST', /gather/)[0]!.path).toBe('/api/graphs/g1/gather');
      expect(fake.seen('DELETE', '/api/graphs/g1')).toHaveLength(1);
    } finally {
      await client.close();
    }
    await expect(ta.Client.connect({ address: fake.base, threads: 2 })).rejects.toThrow(/embedded local engine/);
  });
});

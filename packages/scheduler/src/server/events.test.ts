import { once } from 'node:events';
import { type IncomingMessage, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EngineEvent, ErrorResponse, NotFoundError, type GraphEvent, type TaskEvent } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer } from './build-server.js';
import { FakeClusterApi } from './fake-cluster-api.test-util.js';

const KEY = 'add-0123456789abcdef:0';
const graphEv = (state: GraphEvent['state'], done = 0): GraphEvent => ({ type: 'graph', graph: 'g1', state, total: 1, done });
const taskEv = (state: TaskEvent['state']): TaskEvent => ({
  type: 'task',
  graph: 'g1',
  key: KEY,
  group: 'add-0123456789abcdef',
  op: 'add',
  state,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let api: FakeClusterApi;
let app: FastifyInstance;
beforeEach(() => {
  api = new FakeClusterApi();
  api.addGraph('g1');
  app = buildServer(api, { heartbeatMs: 20 });
});
afterEach(async () => {
  await app.close();
});

/** A whole graph's stream: running, a task, finished, in three batches. */
function publishAll(): void {
  api.publish('g1', [graphEv('running')]);
  api.publish('g1', [taskEv('processing'), taskEv('memory')]);
  api.publish('g1', [graphEv('finished', 1)]);
}

/** Messages of an SSE body (no comments), as {id, event, data}. */
function messages(body: string): { id?: string; event?: string; data: unknown }[] {
  return body
    .split('\n\n')
    .filter((block) => block.length > 0 && !block.startsWith(':'))
    .map((block) => {
      const m: { id?: string; event?: string; data: unknown } = { data: undefined };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') m.id = value;
        else if (field === 'event') m.event = value;
        else if (field === 'data') m.data = JSON.parse(value);
      }
      return m;
    });
}

describe('GET /api/graphs/:id/events', () => {
  it('frames one message per batch, `id` then `data` (a JSON array of events), and ends after the terminal event', async () => {
    publishAll();
    const res = await app.inject('/api/graphs/g1/events');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toContain('no-cache');
    expect(res.body).toBe(
      `id: 1\ndata: ${JSON.stringify([graphEv('running')])}\n\n` +
        `id: 2\ndata: ${JSON.stringify([taskEv('processing'), taskEv('memory')])}\n\n` +
        `id: 3\ndata: ${JSON.stringify([graphEv('finished', 1)])}\n\n`,
    );
    for (const m of messages(res.body)) for (const ev of m.data as unknown[]) EngineEvent.parse(ev);
    expect(api.calls.find((c) => c.method === 'events')?.args).toEqual(['g1', undefined, { tasks: true }]);
  });

  it('resumes after `after`, and a Last-Event-ID header wins over it', async () => {
    publishAll();
    let res = await app.inject('/api/graphs/g1/events?after=1');
    expect(messages(res.body).map((m) => m.id)).toEqual(['2', '3']);
    res = await app.inject({ url: '/api/graphs/g1/events?after=1', headers: { 'last-event-id': '2' } });
    expect(messages(res.body).map((m) => m.id)).toEqual(['3']);
    expect(api.calls.filter((c) => c.method === 'events').map((c) => c.args[1])).toEqual(['1', '2']);
  });

  it('tasks=0 asks for graph events only', async () => {
    publishAll();
    const res = await app.inject('/api/graphs/g1/events?tasks=0');
    expect(api.calls.find((c) => c.method === 'events')?.args[2]).toEqual({ tasks: false });
    expect(
      messages(res.body)
        .flatMap((m) => m.data as EngineEvent[])
        .every((e) => e.type === 'graph'),
    ).toBe(true);
  });

  it('validates its query and header: 400 naming the parameter, before any stream', async () => {
    for (const [url, headers, name] of [
      ['/api/graphs/g1/events?tasks=2', {}, 'tasks'],
      ['/api/graphs/g1/events?after=a%20b', {}, 'after'],
      ['/api/graphs/g1/events', { 'last-event-id': 'x y' }, 'Last-Event-ID'],
      ['/api/graphs/g%21/events', {}, 'id'],
    ] as const) {
      const res = await app.inject({ url, headers });
      expect([url, res.statusCode]).toEqual([url, 400]);
      expect(ErrorResponse.parse(res.json()).error.message).toContain(name);
    }
    expect(api.calls.filter((c) => c.method === 'events')).toHaveLength(0);
  });

  it('an unknown graph is a 404 ErrorResponse, not a stream', async () => {
    const res = await app.inject('/api/graphs/nope/events');
    expect(res.statusCode).toBe(404);
    expect(ErrorResponse.parse(res.json()).error.code).toBe('NOT_FOUND');
  });

  it('an error after the stream began is an `error` event, then the end', async () => {
    api.publish('g1', [graphEv('running')]);
    api.failEvents = new NotFoundError('graph g1 was released');
    let res = await app.inject('/api/graphs/g1/events');
    let ms = messages(res.body);
    expect(ms.map((m) => m.event)).toEqual([undefined, 'error']);
    expect(ErrorResponse.parse(ms[1]!.data).error).toMatchObject({ code: 'NOT_FOUND', message: 'graph g1 was released' });
    api.failEvents = new Error('secret internals');
    res = await app.inject('/api/graphs/g1/events');
    ms = messages(res.body);
    expect(ErrorResponse.parse(ms[1]!.data).error.code).toBe('INTERNAL');
    expect(res.body).not.toContain('secret');
  });

  it('sends a `: ping` comment while the graph is quiet', async () => {
    api.publish('g1', [graphEv('running')]);
    setTimeout(() => api.publish('g1', [graphEv('finished', 1)]), 120);
    const res = await app.inject('/api/graphs/g1/events');
    expect(res.body).toMatch(/\n\n: ping\n\n/);
    expect(messages(res.body).map((m) => m.id)).toEqual(['1', '2']);
  });

  describe('over a real connection', () => {
    let base: string;
    beforeEach(async () => {
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    });

    async function open(path: string): Promise<{ res: IncomingMessage; first: string }> {
      const req = get(`${base}${path}`);
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.setEncoding('utf8');
      const [first] = (await once(res, 'data')) as [string];
      return { res, first };
    }

    it('aborts the event iterable when the client disconnects', async () => {
      api.publish('g1', [graphEv('running')]);
      const { res, first } = await open('/api/graphs/g1/events');
      expect(first).toContain('id: 1\n');
      const signal = api.streamSignals[0]!;
      expect(signal.aborted).toBe(false);
      res.destroy();
      for (let i = 0; i < 100 && !signal.aborted; i++) await sleep(10);
      expect(signal.aborted).toBe(true);
      // The server still answers after the client went away.
      expect((await app.inject('/health')).statusCode).toBe(200);
    });

    it('closing the server ends open streams', async () => {
      api.publish('g1', [graphEv('running')]);
      const { res } = await open('/api/graphs/g1/events');
      const ended = once(res, 'end');
      await app.close();
      await ended;
      expect(api.streamSignals[0]!.aborted).toBe(true);
    });
  });
});

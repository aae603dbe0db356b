import { Readable } from 'node:stream';
import {
  ARROW_STREAM,
  type ErrorResponse,
  type GraphList,
  type GraphStatus,
  InvalidArgumentError,
  MSGPACK,
  type OkResponse,
  SubmitRequest,
  encodeChunk,
  type SubmitResponse,
  partsByteLength,
} from '@tessera/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ClusterApi } from '../cluster/cluster-api.js';
import { HttpError } from './error-reply.js';
import { EventIdParam, EventsQuery, GraphParams, ResultParams, parseParam } from './params.js';
import { pipeSse } from './sse.js';

export interface GraphRouteOptions {
  bodyLimit: number;
  heartbeatMs: number;
  describe: (err: unknown) => ErrorResponse;
  /** Event streams still open; the server aborts them when it closes. */
  streams: Set<AbortController>;
}

/** The media type of a Content-Type header, without parameters, lower case. */
function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase();
}

const LastEventIdHeader = z.object({ 'Last-Event-ID': EventIdParam });

/** `after` for an event stream: a reconnecting client's Last-Event-ID wins over the query. */
function afterOf(request: FastifyRequest, fromQuery: string | undefined): string | undefined {
  const raw = request.headers['last-event-id'];
  const header = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (header === undefined || header === '') return fromQuery;
  return parseParam(LastEventIdHeader, { 'Last-Event-ID': header }, 'header')['Last-Event-ID'];
}

/** Graph routes: submit, list, status, events (SSE), results (Arrow), cancel, release. */
export function graphRoutes(app: FastifyInstance, api: ClusterApi, opts: GraphRouteOptions): void {
  app.post(
    '/api/graphs',
    {
      bodyLimit: opts.bodyLimit,
      // Checked before the body is read: a JSON graph is refused without parsing it.
      onRequest: async (request) => {
        const type = mediaType(request.headers['content-type']);
        if (type !== MSGPACK) {
          throw new HttpError(
            415,
            'INVALID_ARGUMENT',
            `POST /api/graphs takes ${MSGPACK} (encodeSubmitRequest), not ${type ?? 'a body without content type'}`,
          );
        }
      },
    },
    async (request, reply) => {
      const req = parseParam(SubmitRequest, request.body, 'submit request');
      if (req.graph === undefined) throw new InvalidArgumentError('invalid submit request graph: Required');
      const id = await api.submit(req.graph, { persist: req.persist ?? false });
      const body: SubmitResponse = { id };
      return reply.code(201).send(body);
    },
  );

  app.get('/api/graphs', async (): Promise<GraphList> => ({ graphs: await api.graphs() }));

  app.get('/api/graphs/:id', async (request): Promise<GraphStatus> => {
    const { id } = parseParam(GraphParams, request.params, 'path parameter');
    return api.status(id);
  });

  app.get('/api/graphs/:id/events', async (request, reply) => {
    const { id } = parseParam(GraphParams, request.params, 'path parameter');
    const query = parseParam(EventsQuery, request.query, 'query parameter');
    const after = afterOf(request, query.after);
    const tasks = query.tasks !== '0';
    // An unknown graph is a plain 404 answer, decided before the stream's 200 goes out.
    await api.status(id);
    const aborter = new AbortController();
    opts.streams.add(aborter);
    reply.hijack();
    // 'close' comes when the response ended or the client went away: either way, stop reading.
    reply.raw.on('close', () => aborter.abort());
    try {
      await pipeSse(reply.raw, () => api.events(id, after, { tasks, signal: aborter.signal }), {
        heartbeatMs: opts.heartbeatMs,
        signal: aborter.signal,
        describe: opts.describe,
        onError: (err) => request.log.error({ err, graph: id }, 'event stream failed'),
      });
    } finally {
      opts.streams.delete(aborter);
    }
  });

  app.get('/api/graphs/:id/results/:key', async (request, reply) => {
    const { id, key } = parseParam(ResultParams, request.params, 'path parameter');
    const got = await api.result(id, key);
    const parts = 'chunk' in got ? encodeChunk(got.chunk) : got.arrow;
    // The parts go out one by one (the chunk's data by reference), never joined into one buffer.
    return reply
      .code(200)
      .header('content-type', ARROW_STREAM)
      .header('content-length', partsByteLength(parts))
      .send(Readable.from(parts, { objectMode: false }));
  });

  app.post('/api/graphs/:id/cancel', async (request): Promise<OkResponse> => {
    const { id } = parseParam(GraphParams, request.params, 'path parameter');
    await api.cancel(id);
    return { ok: true };
  });

  app.delete('/api/graphs/:id', async (request): Promise<OkResponse> => {
    const { id } = parseParam(GraphParams, request.params, 'path parameter');
    await api.release(id);
    return { ok: true };
  });
}

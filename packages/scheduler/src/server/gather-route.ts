import { Readable } from 'node:stream';
import { CHUNK_FRAMES, FRAME_CHUNK, GatherRequest, encodeErrorFrame, encodeFrame, encodeRawFrame, type ErrorResponse } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { ClusterApi } from '../cluster/cluster-api.js';
import { GraphParams, parseParam } from './params.js';

/** Results fetched at once while an answer streams out: overlaps peer fetches, bounds memory. */
const LOOKAHEAD = 32;
/** Small frames are joined into writes of about this size. */
const WRITE_BYTES = 64 * 1024;

/**
 * `POST /api/graphs/:id/gather` `{keys}`: many results in one answer of frames (protocol
 * gather.ts). The first result is fetched before the 200 goes out, so a graph that has not
 * finished or a key that is not an output is a plain error answer; a fetch that fails later
 * becomes an error frame in its place and ends the answer.
 */
export function gatherRoute(app: FastifyInstance, api: ClusterApi, describe: (err: unknown) => ErrorResponse): void {
  app.post('/api/graphs/:id/gather', async (request, reply) => {
    const { id } = parseParam(GraphParams, request.params, 'path parameter');
    const { keys } = parseParam(GatherRequest, request.body, 'gather request');
    // Started in order, LOOKAHEAD ahead of what is written; each settles to parts or an error.
    const pending: Promise<Uint8Array[] | Error>[] = [];
    let started = 0;
    const fill = (): void => {
      while (started < keys.length && pending.length < LOOKAHEAD) {
        const key = keys[started++]!;
        pending.push(api.result(id, key).then(
          (got) => ('chunk' in got ? encodeRawFrame(key, got.chunk) : encodeFrame(key, FRAME_CHUNK, got.arrow)),
          (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
        ));
      }
    };
    fill();
    // Awaited but left in place: the answer's status waits on the first result only.
    const head = await pending[0]!;
    if (head instanceof Error) throw head;
    async function* frames(): AsyncGenerator<Uint8Array> {
      // Small frames are copied together into writes of ~64 KiB (a socket write per 4-part
      // frame would cost more than the frame); big payloads go out by reference.
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      const take = (): Buffer => {
        const out = Buffer.concat(batch, batchBytes);
        batch = [];
        batchBytes = 0;
        return out;
      };
      for (let i = 0; i < keys.length; i++) {
        const next = await pending.shift()!;
        fill();
        const parts = next instanceof Error ? encodeErrorFrame(keys[i]!, describe(next)) : next;
        for (const part of parts) {
          if (part.byteLength >= WRITE_BYTES) {
            if (batchBytes) yield take();
            yield part;
          } else {
            batch.push(part);
            batchBytes += part.byteLength;
          }
        }
        if (next instanceof Error) break;
        if (batchBytes >= WRITE_BYTES) yield take();
      }
      if (batchBytes) yield take();
    }
    return reply.code(200).header('content-type', CHUNK_FRAMES).send(Readable.from(frames(), { objectMode: false }));
  });
}

import { z } from 'zod';
import type { Chunk } from './chunk.js';
import { decodeChunk, encodeChunk, partsByteLength } from './codec-stream.js';
import { TaskKey } from './graph.js';

/**
 * Many chunks, or regions of chunks, from one peer in one request: `POST /chunks` with this JSON
 * body. A task that reads pieces of many blocks a peer holds (a rechunk) makes one request to that
 * peer instead of one per block, as Dask's P2P rechunk moves one transfer per worker pair.
 */
export const PeerBatchRequest = z
  .object({
    items: z
      .array(
        z
          .object({
            key: TaskKey,
            region: z.object({ start: z.array(z.number().int().nonnegative()), count: z.array(z.number().int().nonnegative()) }).strict().optional(),
          })
          .strict(),
      )
      .min(1)
      .max(4096),
  })
  .strict();
export type PeerBatchRequest = z.infer<typeof PeerBatchRequest>;

/** A batch request body is a list of keys and boxes: this is generous. */
export const PEER_BATCH_REQUEST_LIMIT = 1 << 20;

const FRAME = 8;
const pad = (n: number): number => (FRAME - (n % FRAME)) % FRAME;

/**
 * The answer: per item, its Arrow stream's length (8 bytes, little-endian) then the stream, padded
 * to 8 bytes so that every stream starts aligned and decodes as a view, not a copy.
 */
export function encodeBatch(chunks: readonly Chunk[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    const parts = encodeChunk(c);
    const n = partsByteLength(parts);
    const head = new Uint8Array(FRAME);
    new DataView(head.buffer).setBigUint64(0, BigInt(n), true);
    out.push(head, ...parts);
    if (pad(n) > 0) out.push(new Uint8Array(pad(n)));
  }
  return out;
}

/** The most bytes a batch of chunks with these element counts and item sizes can take. */
export function batchLimit(sizes: readonly number[], headerAllowance: number): number {
  return sizes.reduce((s, bytes) => s + FRAME + bytes + headerAllowance + FRAME, 0);
}

/** The chunks of a batch answer, each checked against what was asked; throws naming the item. */
export function decodeBatch(body: Uint8Array, expect: readonly Parameters<typeof decodeChunk>[1][]): Chunk[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const chunks: Chunk[] = [];
  let at = 0;
  for (const [i, e] of expect.entries()) {
    if (at + FRAME > body.byteLength) throw new Error(`batch answer ends before item ${i}`);
    const n = Number(view.getBigUint64(at, true));
    at += FRAME;
    if (at + n > body.byteLength) throw new Error(`batch item ${i} claims ${n} bytes past the end`);
    chunks.push(decodeChunk(body.subarray(at, at + n), e));
    at += n + pad(n);
  }
  if (at !== body.byteLength) throw new Error(`batch answer has ${body.byteLength - at} bytes after its ${expect.length} items`);
  return chunks;
}

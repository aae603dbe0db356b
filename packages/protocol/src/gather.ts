import { z } from 'zod';
import { TaskKey } from './graph.js';
import { ErrorResponse } from './http.js';
import { type Chunk, viewOf } from './chunk.js';
import { decodeChunk } from './codec-stream.js';
import { Dtype, itemsize } from './dtype.js';
import { CodecError, deserializeError } from './errors.js';

/**
 * Batch gather: `POST /api/graphs/:id/gather` with a JSON `GatherRequest` answers one response of
 * frames, one per key in request order, so 10^4 small results cost a few requests rather than
 * 10^4. A frame is a 16-byte header (u32 key length, u32 kind, u64 payload length, little
 * endian), the key's UTF-8 bytes, then the payload; key and payload are each padded to 8 bytes
 * so an Arrow payload sits 8-byte aligned in the response buffer and decodes without copying.
 * Kind 0: the payload is the key's chunk as an Arrow IPC stream (chunks fetched from workers are
 * relayed as they came). Kind 2: a small chunk the scheduler holds, raw: u32 length of a JSON
 * `{dtype, shape}`, the JSON, padding to 8, the values; an Arrow stream costs ~600 bytes and
 * ~80 µs to encode and decode, which would dominate 10^4 one-value results. Kind 1: the payload
 * is a JSON ErrorResponse (the fetch of that key failed after the answer had begun).
 */
export const CHUNK_FRAMES = 'application/vnd.tessera.chunk-frames';

/** Keys per gather request: bounds what the scheduler holds for one answer. */
export const MAX_GATHER_KEYS = 4096;

export const GatherRequest = z.object({ keys: z.array(TaskKey).min(1).max(MAX_GATHER_KEYS) }).strict();
export type GatherRequest = z.infer<typeof GatherRequest>;

export const FRAME_CHUNK = 0;
export const FRAME_ERROR = 1;
export const FRAME_RAW = 2;
const HEADER_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const pad8 = (n: number): number => (8 - (n % 8)) % 8;
const ZEROS = new Uint8Array(8);

/** One frame as parts (header+key, the payload parts by reference, padding). */
export function encodeFrame(key: string, kind: number, payload: readonly Uint8Array[]): Uint8Array[] {
  const keyBytes = encoder.encode(key);
  let payloadBytes = 0;
  for (const p of payload) payloadBytes += p.byteLength;
  const head = new Uint8Array(HEADER_BYTES + keyBytes.byteLength + pad8(keyBytes.byteLength));
  const view = new DataView(head.buffer);
  view.setUint32(0, keyBytes.byteLength, true);
  view.setUint32(4, kind, true);
  view.setBigUint64(8, BigInt(payloadBytes), true);
  head.set(keyBytes, HEADER_BYTES);
  const tail = pad8(payloadBytes);
  return tail ? [head, ...payload, ZEROS.subarray(0, tail)] : [head, ...payload];
}

export function encodeErrorFrame(key: string, body: ErrorResponse): Uint8Array[] {
  return encodeFrame(key, FRAME_ERROR, [encoder.encode(JSON.stringify(body))]);
}

/** A small chunk as a raw frame: its values by reference, no Arrow encoding. */
export function encodeRawFrame(key: string, chunk: Chunk): Uint8Array[] {
  const meta = encoder.encode(JSON.stringify({ dtype: chunk.dtype, shape: chunk.shape }));
  const head = new Uint8Array(4 + meta.byteLength + pad8(4 + meta.byteLength));
  new DataView(head.buffer).setUint32(0, meta.byteLength, true);
  head.set(meta, 4);
  const d = chunk.data;
  return encodeFrame(key, FRAME_RAW, [head, new Uint8Array(d.buffer, d.byteOffset, d.byteLength)]);
}

const RawMeta = z.object({ dtype: Dtype, shape: z.array(z.number().int().nonnegative()) }).strict();

function decodeRaw(payload: Uint8Array, key: string): Chunk {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const metaLen = payload.byteLength >= 4 ? view.getUint32(0, true) : Infinity;
  if (4 + metaLen > payload.byteLength) throw new CodecError(`gather answer raw frame for ${key} is truncated`);
  let meta: unknown;
  try {
    meta = JSON.parse(decoder.decode(payload.subarray(4, 4 + metaLen)));
  } catch {
    throw new CodecError(`gather answer raw frame for ${key} has a header that is not JSON`);
  }
  const m = RawMeta.safeParse(meta);
  if (!m.success) throw new CodecError(`gather answer raw frame for ${key} has a bad header: ${m.error.issues[0]?.message ?? ''}`);
  const dataAt = 4 + metaLen + pad8(4 + metaLen);
  const count = m.data.shape.reduce((a, b) => a * b, 1);
  const bytes = payload.byteLength - dataAt;
  if (bytes !== count * itemsize(m.data.dtype)) {
    throw new CodecError(`gather answer raw frame for ${key}: ${bytes} bytes for ${m.data.dtype} of shape [${m.data.shape.join(', ')}]`);
  }
  return { dtype: m.data.dtype, shape: m.data.shape, data: viewOf(m.data.dtype, payload.buffer, payload.byteOffset + dataAt, count) };
}

export interface Frame {
  key: string;
  /** The key's chunk: a view into the response buffer, not a copy. */
  chunk: Chunk;
}

/**
 * Split a gather answer into its chunks, checked against the keys asked for (same keys, same
 * order). An error frame throws the error it carries; a truncated or malformed answer throws
 * CodecError.
 */
export function decodeFrames(bytes: Uint8Array, keys: readonly string[]): Frame[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Frame[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    if (at + HEADER_BYTES > bytes.byteLength) throw new CodecError(`gather answer truncated in a frame header at byte ${at}`);
    const keyLen = view.getUint32(at, true);
    const kind = view.getUint32(at + 4, true);
    const len = Number(view.getBigUint64(at + 8, true));
    const keyAt = at + HEADER_BYTES;
    const payloadAt = keyAt + keyLen + pad8(keyLen);
    if (payloadAt + len > bytes.byteLength) throw new CodecError(`gather answer truncated: frame at byte ${at} claims ${len} bytes`);
    const key = decoder.decode(bytes.subarray(keyAt, keyAt + keyLen));
    const payload = bytes.subarray(payloadAt, payloadAt + len);
    const expected = keys[out.length];
    if (key !== expected) throw new CodecError(`gather answer frame ${out.length} is for "${key.slice(0, 200)}", expected "${expected ?? '(no more frames)'}"`);
    if (kind === FRAME_ERROR) throw errorOf(payload, key);
    if (kind === FRAME_CHUNK) out.push({ key, chunk: decodeChunk(payload) });
    else if (kind === FRAME_RAW) out.push({ key, chunk: decodeRaw(payload, key) });
    else throw new CodecError(`gather answer frame for ${key} has unknown kind ${kind}`);
    at = payloadAt + len + pad8(len);
  }
  if (out.length !== keys.length) throw new CodecError(`gather answer has ${out.length} frames for ${keys.length} keys`);
  return out;
}

function errorOf(payload: Uint8Array, key: string): Error {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(payload));
  } catch {
    return new CodecError(`gather answer error frame for ${key} is not JSON`);
  }
  const parsed = ErrorResponse.safeParse(body);
  return parsed.success ? deserializeError(parsed.data.error) : new CodecError(`gather answer error frame for ${key} is not an ErrorResponse`);
}

import { allocChunk, castScalar, isWideData, itemsize, lanes, type ArangeParams, type Chunk, type ChunkData, type Dtype, type FromBytesParams, type FullParams } from '@tessera/protocol';
import { storeWide } from './wide.js';

/** Kernels that make chunks from nothing but their parameters. */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `into`: write into this array (a fused source's scratch) instead of a new chunk. */
export function full(p: FullParams, shape: number[], dtype: Dtype, into?: ChunkData): Chunk {
  const out = into ? { dtype, shape, data: into } : allocChunk(dtype, shape);
  const d = out.data;
  if (isWideData(d)) {
    // Wrapped from the integer itself: a double of the wrapped value (castScalar) may round (-1 as uint64).
    const v = Number.isFinite(p.value) ? (d instanceof BigInt64Array ? BigInt.asIntN : BigInt.asUintN)(64, BigInt(Math.trunc(p.value))) : 0n;
    if ((into || v !== 0n) && d.length > 0) d.fill(v);
    return out;
  }
  const v = castScalar(dtype, p.value);
  if (lanes(dtype) === 2) {
    // A real value: the imaginary halves stay 0.
    if (into) d.fill(0);
    if (v !== 0 || Object.is(v, -0)) for (let i = 0; i < d.length; i += 2) d[i] = v;
  } else if (into || v !== 0 || Object.is(v, -0)) d.fill(v);
  return out;
}

/** Element i = start + i*step, stored into the dtype (typed-array stores convert exactly like castScalar). */
export function arange(p: ArangeParams, shape: number[], dtype: Dtype, into?: ChunkData): Chunk {
  if (shape.length !== 1) throw new Error(`arange: chunks are 1-D, got [${shape.join(', ')}]`);
  const out = into ? { dtype, shape, data: into } : allocChunk(dtype, shape);
  const d = out.data;
  const { start, step } = p;
  if (isWideData(d)) {
    // Doubles a tile at a time, stored as 64-bit halves (no BigInt per element).
    const tile = new Float64Array(Math.min(d.length, 4096));
    for (let o = 0; o < d.length; o += tile.length) {
      const n = Math.min(tile.length, d.length - o);
      for (let i = 0; i < n; i++) tile[i] = Math.trunc(start + (o + i) * step);
      storeWide(d, o, tile, 0, n);
    }
  } else for (let i = 0; i < d.length; i++) d[i] = start + i * step;
  return out;
}

export function fromBytes(p: FromBytesParams, shape: number[], dtype: Dtype): Chunk {
  const out = allocChunk(dtype, shape);
  const want = out.data.byteLength;
  if (p.bytes.byteLength !== want) throw new Error(`from-bytes: ${p.bytes.byteLength} bytes cannot hold ${dtype}[${shape.join(', ')}] (${want} bytes)`);
  // Chunks are little-endian on the wire; every platform Node runs on here is too.
  if (!LITTLE_ENDIAN && itemsize(dtype) > 1) throw new Error('from-bytes: big-endian hosts are not supported');
  new Uint8Array(out.data.buffer, out.data.byteOffset, want).set(p.bytes);
  // A bool byte is 0 or 1 (numpy's too): any other non-zero byte is true.
  if (dtype === 'bool') for (let i = 0; i < out.data.length; i++) out.data[i] = out.data[i] !== 0 ? 1 : 0;
  return out;
}

import { allocChunk, checkChunk, type Chunk, type ChunkData, type Dtype, type ZarrRegionParams } from '@tessera/protocol';
import { openArray, openZarrStore, registerZarrCodecs, useZstd, withChunkScope, type ZarrStore } from '@tessera/protocol/zarr';
import * as zarr from 'zarrita';
import { zstdKernels } from './native.js';
import { cStrides } from './strided.js';
import { permuteInto } from './structure.js';
import { moveView } from './wide.js';

/**
 * Zarr chunks read and written on the worker that runs the task: bytes go between the store and
 * this worker's memory only. zarrita decodes and encodes (and reads every store chunk under a
 * region, or merges a partial store chunk with what is there).
 */

type Opened = zarr.Array<zarr.DataType, ZarrStore>;

// libzstd where it was built (3x faster to decode than numcodecs' WebAssembly, 13x to encode).
const zstd = zstdKernels();
if (zstd) useZstd(zstd);
const opened = new Map<string, Promise<Opened>>();
const OPENED_MAX = 32;

/** The array a task names, opened once per thread for tasks of the same array. */
function arrayOf(p: ZarrRegionParams): Promise<Opened> {
  const id = `${p.store}\0${p.path}\0${p.format}\0${p.doc}`;
  let a = opened.get(id);
  if (!a) {
    registerZarrCodecs();
    a = openArray(openZarrStore(p.store), p, 'zarr');
    a.catch(() => opened.delete(id));
    if (opened.size >= OPENED_MAX) opened.delete(opened.keys().next().value!);
    opened.set(id, a);
  }
  return a;
}

function selection(p: ZarrRegionParams): zarr.Slice[] {
  return p.region.map(([a, b]) => zarr.slice(a, b));
}

function where(p: ZarrRegionParams): string {
  return `${p.store}${p.path ? `/${p.path}` : ''} [${p.region.map(([a, b]) => `${a}:${b}`).join(', ')}]`;
}

/** `spare`: a recycled buffer of the output's size, which a whole-chunk zstd decode writes into (Chunk.data's buffer then). */
export async function readZarr(p: ZarrRegionParams, shape: number[], dtype: Dtype, spare?: SharedArrayBuffer): Promise<Chunk> {
  // An empty region has no chunks to read (and zarrita wants at least one).
  if (p.region.some(([a, b]) => b <= a)) return allocChunk(dtype, shape);
  const arr = await arrayOf(p);
  let got: unknown;
  try {
    // A region that is one whole store chunk is that chunk as decoded (no copy into a region).
    const coords = wholeChunk(arr, p.region);
    got = coords
      ? (await withChunkScope(spare, () => arr.getChunk(coords, undefined, { useSharedArrayBuffer: true }))).value
      : await zarr.get(arr, selection(p), { useSharedArrayBuffer: true });
  } catch (e) {
    throw new Error(`read-zarr: ${where(p)}: ${(e as Error).message}`, { cause: e });
  }
  const data = shared(chunkData(got, dtype), dtype, shape);
  const out: Chunk = { dtype, shape: [...shape], data: cOrder(data, (got as { stride?: number[] }).stride, shape, dtype) };
  const bad = checkChunk(out, { dtype, shape });
  if (bad) throw new Error(`read-zarr: ${where(p)} gave ${bad}`);
  return out;
}

/** The store chunk a region is, where it is exactly one (not an edge chunk, which is stored padded). */
function wholeChunk(arr: Opened, region: readonly (readonly [number, number])[]): number[] | undefined {
  const cs = arr.chunks;
  if (region.length === 0 || cs.length !== region.length) return undefined;
  const coords: number[] = [];
  for (let i = 0; i < region.length; i++) {
    const [a, b] = region[i]!;
    if (a % cs[i]! !== 0 || b - a !== cs[i]) return undefined;
    coords.push(a / cs[i]!);
  }
  return coords;
}

/** Chunks live in shared memory (threads and peers read them): data decoded elsewhere is copied there. */
function shared(data: ChunkData, dtype: Dtype, shape: readonly number[]): ChunkData {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const out = allocChunk(dtype, [...shape]).data;
  (out as Uint8Array).set(data as Uint8Array);
  return out;
}

/** zarrita's result as a chunk's data: typed arrays as they are, bools as bytes, a 0-d scalar as one element. */
function chunkData(got: unknown, dtype: Dtype): ChunkData {
  if (got !== null && typeof got === 'object' && 'data' in got) {
    const d = (got as { data: ChunkData | zarr.BoolArray }).data;
    if (d instanceof zarr.BoolArray) return new Uint8Array(d.buffer, d.byteOffset, d.length);
    return d;
  }
  // A 0-d array's region is the whole array: zarrita gives its one value.
  const one = allocChunk(dtype, []).data as unknown as { [i: number]: unknown };
  one[0] = dtype === 'bool' ? (got ? 1 : 0) : got;
  return one as unknown as ChunkData;
}

/**
 * zarrita lays a region out in the array's own order (Fortran order for an order 'F' v2 array):
 * data in any other order than C is permuted into a C-order chunk.
 */
function cOrder(data: ChunkData, stride: readonly number[] | undefined, shape: readonly number[], dtype: Dtype): ChunkData {
  const c = cStrides(shape);
  if (!stride || shape.every((d, i) => d <= 1 || stride[i] === c[i])) return data;
  const order = shape.map((_, i) => i).sort((a, b) => stride[b]! - stride[a]!);
  const out = allocChunk(dtype, [...shape]);
  permuteInto(moveView(data), order.map((a) => shape[a]!), shape.map((_, i) => order.indexOf(i)), moveView(out.data));
  return out.data;
}

/** Write a chunk at its region of the store; gives its bytes (before compression) as int64[1]. */
export async function writeZarr(p: ZarrRegionParams, x: Chunk): Promise<Chunk> {
  const arr = await arrayOf(p);
  if (!arr.store.set) throw new Error(`write-zarr: store ${p.store} cannot be written`);
  if (p.region.some(([a, b]) => b <= a)) return written(0);
  const data = x.dtype === 'bool' ? new zarr.BoolArray(x.data.buffer, x.data.byteOffset, x.data.length) : x.data;
  try {
    await zarr.set(arr as zarr.Array<zarr.DataType, zarr.AsyncMutable>, selection(p), { data, shape: [...x.shape], stride: cStrides(x.shape) } as never);
  } catch (e) {
    throw new Error(`write-zarr: ${where(p)}: ${(e as Error).message}`, { cause: e });
  }
  return written(x.data.byteLength);
}

function written(bytes: number): Chunk {
  const out = allocChunk('int64', [1]);
  (out.data as BigInt64Array)[0] = BigInt(bytes);
  return out;
}

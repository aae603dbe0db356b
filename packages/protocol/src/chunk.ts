import { type ChunkData, type Dtype, dtypeOfData, isDtypeName, itemsize, lanes, realPart, typedArrayCtor } from './dtype.js';
import { fmtShape, sizeOf } from './shape.js';

/** One block of an array: C-order data of `dtype` with `shape` (complex: interleaved re, im pairs, see `lanes`). */
export interface Chunk {
  dtype: Dtype;
  shape: number[];
  data: ChunkData;
}

/** Hands out a free buffer of exactly `byteLength` bytes, or nothing. */
export type BufferSource = (byteLength: number) => SharedArrayBuffer | undefined;
let bufferSource: BufferSource | undefined;

/**
 * Let allocChunk reuse buffers (a pool thread sets this per task to the buffer the engine
 * recycled for the task's output). Freed SharedArrayBuffers otherwise wait for the garbage
 * collectors of every thread that saw them, and memory grows far past what is live.
 */
export function setBufferSource(source: BufferSource | undefined): void {
  bufferSource = source;
}

/** Buffers from this size up are given to the advice hook (numpy advises huge pages from 4 MiB). */
const ADVISE_FROM = 4 * 2 ** 20;
let advise: ((view: Uint8Array) => void) | undefined;

/**
 * Told of every new large buffer before anything touches it: the worker asks the kernel for
 * transparent huge pages under it (native/gemm.cc adviseHugePages), which halves what the first
 * touch of a big chunk costs where page faults are dear (a virtual machine's).
 */
export function setLargeBufferAdvice(hook: ((view: Uint8Array) => void) | undefined): void {
  advise = hook;
}

/** A new zeroed SharedArrayBuffer, advised (see setLargeBufferAdvice) when it is large. */
export function newSharedBuffer(bytes: number): SharedArrayBuffer {
  const b = new SharedArrayBuffer(bytes);
  if (advise && bytes >= ADVISE_FROM) advise(new Uint8Array(b));
  return b;
}

/**
 * Zero a buffer. On shared memory V8 fills element by element, so 8-byte elements are ~8× faster
 * than bytes (16 MiB: 1.5 ms against 11 ms here).
 */
export function zeroBuffer(b: SharedArrayBuffer | ArrayBuffer): void {
  const words = Math.floor(b.byteLength / 8);
  new BigInt64Array(b, 0, words).fill(0n);
  new Uint8Array(b, words * 8).fill(0);
}

/**
 * Allocate a zeroed chunk on a SharedArrayBuffer, so threads of a pool can read and write it
 * without copying. `overwrite`: the caller writes every element before anyone reads the chunk, so
 * a recycled buffer is handed over as it is (its old bytes never leave the caller).
 */
export function allocChunk(dtype: Dtype, shape: readonly number[], opts?: { overwrite?: boolean }): Chunk {
  const n = sizeOf(shape);
  const bytes = n * itemsize(dtype);
  const reused = bytes > 0 ? bufferSource?.(bytes) : undefined;
  if (reused && !opts?.overwrite) zeroBuffer(reused);
  const data = viewOf(dtype, reused ?? newSharedBuffer(bytes), 0, n);
  return { dtype, shape: [...shape], data };
}

export function chunkNbytes(c: Chunk): number {
  return c.data.byteLength;
}

/** Explicit checks of a chunk that came from elsewhere (a kernel, a peer, a user module). */
export function checkChunk(c: unknown, want?: { dtype: Dtype; shape: readonly number[] }): string | undefined {
  if (typeof c !== 'object' || c === null) return 'not an object';
  const { dtype, shape, data } = c as Partial<Chunk>;
  if (!ArrayBuffer.isView(data) || data instanceof DataView) return 'data is not a typed array';
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) return 'shape is not a list of non-negative integers';
  const actual = dtypeOfData(data);
  if (!actual) return `unsupported typed array ${(data as object).constructor.name}`;
  if (!(isDtypeName(dtype) && (dtype === actual || (dtype === 'bool' && actual === 'uint8') || realPart(dtype) === actual))) return `dtype ${String(dtype)} does not match its data (${actual})`;
  const slots = sizeOf(shape) * lanes(dtype);
  if (data.length !== slots) {
    return lanes(dtype) === 1
      ? `data holds ${data.length} elements, shape ${fmtShape(shape)} needs ${slots}`
      : `data holds ${data.length} values, ${dtype}${fmtShape(shape)} needs ${slots} (a pair per element)`;
  }
  if (want && (want.dtype !== dtype || want.shape.length !== shape.length || want.shape.some((d, i) => d !== shape[i]))) {
    return `expected ${want.dtype}${fmtShape(want.shape)}, got ${dtype}${fmtShape(shape)}`;
  }
  return undefined;
}

/** A typed array of `dtype` over any buffer (shared or not), without copying: `length` elements (2 slots each for complex). */
export function viewOf(dtype: Dtype, buffer: ArrayBufferLike, byteOffset: number, length: number): ChunkData {
  const Ctor = typedArrayCtor(dtype) as unknown as new (b: ArrayBufferLike, o: number, l: number) => ChunkData;
  return new Ctor(buffer, byteOffset, length * lanes(dtype));
}

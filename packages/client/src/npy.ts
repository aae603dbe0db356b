import { readFile, rename, writeFile } from 'node:fs/promises';
import { type ChunkData, type Dtype, InvalidArgumentError, NotFoundError, decodeNpy, encodeNpy, isWide, typedArrayCtor } from '@tessera/protocol';
import { type ChunkedArray, type NDArray, isChunkedArray } from './array.js';
import { type ChunksSpec, normalizeChunks } from './chunks.js';
import { fromArray } from './creation.js';

/**
 * numpy's .npy files for arrays that fit the client (numpy.load / numpy.save): the file is read
 * or written here and its data travels with the graph, as fromArray's does. Arrays bigger than
 * the client belong in a chunked store the workers read themselves.
 */

/** An array from a .npy file (any byte order, C or Fortran order), chunked as `chunks` says. */
export async function fromNpy(path: string, opts: { chunks?: ChunksSpec } = {}): Promise<ChunkedArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`fromNpy: no file ${path}`);
    throw new InvalidArgumentError(`fromNpy: cannot read ${path}: ${(e as Error).message}`);
  }
  const a = decodeNpy(bytes, `fromNpy: ${path}`);
  // Fortran order is the transpose's C order: read it so, then transpose back (a lazy view).
  const fileShape = a.fortranOrder ? [...a.shape].reverse() : a.shape;
  const x = fromArray(a.data, { shape: fileShape, dtype: a.dtype, chunks: a.fortranOrder ? undefined : opts.chunks });
  if (!a.fortranOrder) return x;
  const t = a.shape.length > 1 ? x.transpose() : x;
  return t.rechunk(normalizeChunks('fromNpy', a.shape, opts.chunks, a.dtype));
}

/** What toNpy needs of a client: compute. */
interface Computes {
  compute(a: ChunkedArray): Promise<NDArray | number>;
}

/**
 * Write an array as a .npy file: an NDArray as it is, a lazy array computed by `client` first.
 * Written to a temporary name and renamed, so a reader never sees half a file.
 */
export async function toNpy(path: string, x: NDArray | ChunkedArray, opts: { client?: Computes } = {}): Promise<void> {
  let a: NDArray;
  if (isChunkedArray(x)) {
    if (!opts.client) throw new InvalidArgumentError('toNpy: a lazy array needs { client } to compute it');
    const r = await opts.client.compute(x);
    a = typeof r === 'number' ? { shape: [], dtype: x.dtype, data: scalarData(x.dtype, r) } : r;
  } else a = x;
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, encodeNpy(a));
  await rename(tmp, path);
}

/** A 0-d result (compute gives it as a number) as one element of its dtype. */
function scalarData(dtype: Dtype, v: number): ChunkData {
  const data = new (typedArrayCtor(dtype))(1);
  if (isWide(dtype)) (data as BigInt64Array)[0] = BigInt(v);
  else (data as Float64Array)[0] = v;
  return data as ChunkData;
}

import { mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ChunkData, type Dtype, FileFormatError, checkChunk, itemsize, InvalidArgumentError, NotFoundError, decodeNpy, encodeNpy, isWide, parseNpyHeader, typedArrayCtor, type NpyHeader } from '@tessera/protocol';
import { type ChunkedArray, type NDArray, isChunkedArray, makeArray } from './array.js';
import { type ChunksSpec, normalizeChunks } from './chunks.js';
import { fromArray } from './creation.js';
import { daskStackAxis, daskStackInfo } from './dask-info.js';

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
  } else {
    const bad = checkChunk(x, { dtype: x.dtype, shape: x.shape });
    if (bad) throw new InvalidArgumentError(`toNpy: the NDArray is not one: ${bad}`);
    a = x;
  }
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, encodeNpy(a));
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new InvalidArgumentError(`toNpy: cannot write ${path}: ${(e as Error).message}`);
  }
}

/** A 0-d result (compute gives it as a number) as one element of its dtype. */
function scalarData(dtype: Dtype, v: number): ChunkData {
  const data = new (typedArrayCtor(dtype))(1);
  if (isWide(dtype)) (data as BigInt64Array)[0] = BigInt(v);
  else (data as Float64Array)[0] = v;
  return data as ChunkData;
}

/**
 * Dask's npy stack (`da.to_npy_stack`): a folder of `0.npy`, `1.npy`, ... that are the blocks
 * along one axis. The client reads only the files' headers (the folder must be on a filesystem
 * the workers share, at the same absolute path); each task reads its own file on its worker.
 * The blocks' shapes come from their headers; the axis from Dask's `info` where it is there
 * (only that int is read from the pickle), else `axis` (default 0).
 */
export async function fromNpyStack(dir: string, opts: { axis?: number } = {}): Promise<ChunkedArray> {
  const root = resolve(dir);
  let names: string[];
  try {
    names = (await readdir(root)).filter((f) => /^\d+\.npy$/.test(f));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`fromNpyStack: no folder ${root}`);
    throw new InvalidArgumentError(`fromNpyStack: cannot list ${root}: ${(e as Error).message}`);
  }
  const files = names.map((f) => Number.parseInt(f, 10)).sort((a, b) => a - b);
  if (files.length === 0) throw new NotFoundError(`fromNpyStack: ${root} holds no 0.npy, 1.npy, ...`);
  files.forEach((n, i) => {
    if (n !== i) throw new FileFormatError(`fromNpyStack: ${root} has ${n}.npy but no ${i}.npy`);
  });
  const heads = await Promise.all(files.map(async (i) => ({ path: join(root, `${i}.npy`), ...(await readHeader(join(root, `${i}.npy`))) })));
  const first = heads[0]!;
  const ndim = first.h.shape.length;
  // Dask's info says which axis the blocks are stacked along; a different `axis` is a mistake.
  const info = await readFile(join(root, 'info')).then(daskStackAxis, () => undefined);
  if (info !== undefined && opts.axis !== undefined && opts.axis !== info) throw new InvalidArgumentError(`fromNpyStack: ${root}/info stacks along axis ${info}, not ${opts.axis}`);
  const axis = opts.axis ?? info ?? 0;
  if (!Number.isInteger(axis) || axis < 0 || axis >= Math.max(1, ndim)) throw new InvalidArgumentError(`fromNpyStack: axis ${axis} is not an axis of the ${ndim}-d blocks in ${root}`);
  for (const { path, h } of heads) {
    const off = h.shape.length !== ndim || h.shape.some((d, ax) => ax !== axis && d !== first.h.shape[ax]);
    if (h.dtype !== first.h.dtype || off) throw new FileFormatError(`fromNpyStack: ${path} is ${h.dtype}(${h.shape.join(', ')}), the first block ${first.h.dtype}(${first.h.shape.join(', ')}): blocks must differ only along axis ${axis}`);
    if (h.fortranOrder && ndim > 1) throw new FileFormatError(`fromNpyStack: ${path} is in Fortran order; blocks of a stack are C order (numpy.save of a block)`);
  }
  const along = heads.map(({ h }) => h.shape[axis]!);
  const shape = first.h.shape.map((d, ax) => (ax === axis ? along.reduce((a, b) => a + b, 0) : d));
  return makeArray({
    label: 'from-npy-stack',
    op: 'read-npy',
    shape,
    dtype: first.h.dtype,
    chunks: shape.map((d, ax) => (ax === axis ? along : [d])),
    inputs: [],
    // The files' sizes and times are in the key: a stack rewritten in place is read again, not served from a persisted copy.
    token: heads.map(({ path, size, mtimeMs }) => [path, size, mtimeMs]),
    block: (index) => {
      const { path, h } = heads[index[axis]!]!;
      return { params: { path, offset: h.dataOffset, bigEndian: h.bigEndian }, deps: [] };
    },
  });
}

/** A .npy file's header, its size and modification time, reading only the header's bytes. */
async function readHeader(path: string): Promise<{ h: NpyHeader; size: number; mtimeMs: number }> {
  const f = await open(path, 'r').catch((e: Error) => {
    throw new InvalidArgumentError(`fromNpyStack: cannot open ${path}: ${e.message}`);
  });
  try {
    const { size, mtimeMs } = await f.stat();
    const lead = new Uint8Array(12);
    await f.read(lead, 0, 12, 0);
    // The header's length is in bytes 8..10 (version 1) or 8..12 (versions 2 and 3).
    const view = new DataView(lead.buffer);
    const len = lead[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
    const head = new Uint8Array(Math.min(len, size, 1 << 24));
    await f.read(head, 0, head.length, 0);
    const h = parseNpyHeader(head, `fromNpyStack: ${path}`);
    const need = h.shape.reduce((a, b) => a * b, 1) * itemsize(h.dtype);
    if (size - h.dataOffset < need) throw new FileFormatError(`fromNpyStack: ${path}: its ${h.dtype}(${h.shape.join(', ')}) needs ${need} bytes, the file has ${size - h.dataOffset}`);
    return { h, size, mtimeMs };
  } finally {
    await f.close();
  }
}

/**
 * Write an array as Dask's npy stack along `axis` (default 0): the array is rechunked to one
 * block across every other axis (as Dask's to_npy_stack does), each block's worker writes its
 * own `i.npy`, and the client writes Dask's `info` last, so `da.from_npy_stack` and
 * `fromNpyStack` read it. The folder must be one the workers share, at the same absolute path.
 */
export async function toNpyStack(dir: string, x: ChunkedArray, opts: { axis?: number; client: Computes }): Promise<void> {
  if (!opts?.client) throw new InvalidArgumentError('toNpyStack: needs { client } to run the writes');
  const axis = opts.axis ?? 0;
  if (!Number.isInteger(axis) || axis < 0 || axis >= x.ndim) throw new InvalidArgumentError(`toNpyStack: axis ${axis} is not an axis of a ${x.ndim}-d array`);
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const y = x.rechunk(x.shape.map((d, ax) => (ax === axis ? x.chunks[ax]! : [d])));
  const n = y.chunks[axis]!.length;
  const writes = makeArray({
    label: 'to-npy-stack',
    op: 'write-npy',
    shape: [n],
    dtype: 'int64',
    chunks: [Array.from({ length: n }, () => 1)],
    inputs: [y],
    token: root,
    block: ([i]) => ({ params: { path: join(root, `${i}.npy`) }, deps: [y.key(y.shape.map((_, ax) => (ax === axis ? i! : 0)))] }),
  });
  await opts.client.compute(writes.sum());
  const tmp = join(root, `info.${process.pid}.tmp`);
  await writeFile(tmp, daskStackInfo(y.chunks, x.dtype, axis));
  await rename(tmp, join(root, 'info'));
}

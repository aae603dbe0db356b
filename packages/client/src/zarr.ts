import { ChunkError, DTYPES, Dtype as DtypeSchema, InvalidArgumentError, ShapeError, type Dtype, type ZarrRegionParams } from '@tessera/protocol';
import {
  metadataKey,
  newArrayDoc,
  normalizeStoreUrl,
  openZarrStore,
  readArrayInfo,
  storePath,
  writeParentGroups,
  type ZarrArrayInfo,
  type ZarrCompressor,
  type ZarrFormat,
  type ZarrStore,
} from '@tessera/protocol/zarr';
import { type ChunkedArray, type ComputesArrays, isChunkedArray, makeArray } from './array.js';
import { type ChunksSpec, normalizeChunks } from './chunks.js';

/**
 * Zarr stores read and written by the workers (Dask's from_zarr / to_zarr / store). The client
 * reads or makes only the metadata; every task opens the store on its own worker and moves its
 * region's bytes there. A store is a filesystem path (one the workers share, at the same path),
 * a file:// or http(s):// URL (read only), or a scheme given to registerZarrStore.
 */

/** A Zarr array in a store: what openZarr gives and client.store writes into. */
export interface ZarrArrayRef extends ZarrArrayInfo {
  /** The store, as a normalized URL (filesystem paths made absolute). */
  store: string;
}

let nonce = 0;
/** Store reads and writes are not pure: each call's keys are its own, so no cache serves an old read or skips a write. */
function callToken(): string {
  return `${process.pid}.${Date.now()}.${nonce++}`;
}

/** The Zarr array at `path` (default the root) of `store`, v2 or v3. */
export async function openZarr(store: string, opts: { path?: string } = {}): Promise<ZarrArrayRef> {
  const url = normalizeStoreUrl(store);
  return { store: url, ...(await readArrayInfo(openZarrStore(url), arrayPath(opts.path), 'openZarr')) };
}

/**
 * An array of a Zarr array's values, chunked as the store is (or as `chunks` says: a task then
 * reads every store chunk under its block). Missing chunks read as the fill value, as in zarr.
 */
export async function fromZarr(store: string | ZarrArrayRef, opts: { path?: string; chunks?: ChunksSpec } = {}): Promise<ChunkedArray> {
  const ref = typeof store === 'string' ? await openZarr(store, opts) : store;
  const chunks = normalizeChunks('fromZarr', ref.shape, opts.chunks ?? ref.chunks, ref.dtype);
  const starts = chunks.map(offsets);
  return makeArray({
    label: 'from-zarr',
    op: 'read-zarr',
    shape: ref.shape,
    dtype: ref.dtype,
    chunks,
    inputs: [],
    token: [ref.store, ref.path, ref.doc, callToken()],
    block: (index) => ({ params: regionParams(ref, index.map((b, ax) => [starts[ax]![b]!, starts[ax]![b + 1]!])), deps: [] }),
  });
}

function regionParams(ref: ZarrArrayRef, region: [number, number][]): ZarrRegionParams {
  return { store: ref.store, path: ref.path, format: ref.format, doc: ref.doc, region };
}

/** Each block's start along an axis, and the axis's end. */
export function offsets(sizes: readonly number[]): number[] {
  const out = [0];
  for (const s of sizes) out.push(out[out.length - 1]! + s);
  return out;
}

export interface ToZarrOptions {
  /** The array's path in the store (default the root). */
  path?: string;
  /** The store's chunk shape (default the array's first block on each axis). */
  chunks?: number | readonly number[];
  /** Default zstd (level 1). */
  compressor?: ZarrCompressor;
  /** Default 2: what zarr-python 2 and 3 both read. */
  zarrFormat?: ZarrFormat;
  /** Replace an array already at `path` (its chunks are removed first). */
  overwrite?: boolean;
  /** Write into the existing array at `path`, at [start, stop) per axis (null: the whole axis); no metadata is written. */
  region?: readonly ([number, number] | null)[];
}

/**
 * Write an array to a Zarr store from the workers, each block by the worker that holds it.
 * A new array's metadata is written last (after every chunk), so a write that dies half way
 * leaves no metadata that describes chunks it did not write. With `region`, the existing
 * array's metadata stays as it is.
 */
export async function toZarr(x: ChunkedArray, store: string, opts: ToZarrOptions & { client: ComputesArrays }): Promise<ZarrArrayRef> {
  if (!isChunkedArray(x)) throw new InvalidArgumentError('toZarr: the first argument is a lazy array (a ChunkedArray)');
  if (!opts?.client) throw new InvalidArgumentError('toZarr: needs { client } to run the writes');
  const url = normalizeStoreUrl(store);
  const path = arrayPath(opts.path);
  const s = writableStore(url, 'toZarr');
  if (opts.region) {
    const ref = { store: url, ...(await readArrayInfo(s, path, 'toZarr')) };
    await storeArrays(opts.client, [x], [ref], [opts.region]);
    return ref;
  }
  const ref = await newArray('toZarr', s, url, path, { ...opts, shape: [...x.shape], chunks: storeChunks(x, opts.chunks), dtype: x.dtype });
  await storeArrays(opts.client, [x], [ref], [undefined]);
  await writeMetadata(s, ref);
  return ref;
}

/**
 * A new, empty Zarr array (metadata only, like zarr.create): client.store writes into it. Chunks
 * not written read as 0.
 */
export async function createZarr(
  store: string,
  o: { shape: readonly number[]; dtype: Dtype; chunks: readonly number[]; path?: string; compressor?: ZarrCompressor; zarrFormat?: ZarrFormat; overwrite?: boolean },
): Promise<ZarrArrayRef> {
  if (o.shape.length !== o.chunks.length || o.chunks.some((c) => !Number.isInteger(c) || c < 1) || o.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new InvalidArgumentError(`createZarr: shape (${o.shape.join(', ')}) and chunks (${o.chunks.join(', ')}) must be as long and hold whole numbers (chunks >= 1)`);
  }
  if (!DtypeSchema.safeParse(o.dtype).success) throw new InvalidArgumentError(`createZarr: dtype ${JSON.stringify(o.dtype)} is not one of ${DTYPES.join(', ')}`);
  const url = normalizeStoreUrl(store);
  const s = writableStore(url, 'createZarr');
  const ref = await newArray('createZarr', s, url, arrayPath(o.path), { ...o, shape: [...o.shape], chunks: [...o.chunks] });
  await writeMetadata(s, ref);
  return ref;
}

/** A path in a store as ZarrArrayRef keeps it: '' for the root, 'a/b' below it. */
function arrayPath(path: string | undefined): string {
  return storePath(path ?? '').slice(1);
}

/**
 * The ref of a new array at `path` (its metadata not written yet): an array already there is
 * refused unless `overwrite`, which removes it first.
 */
async function newArray(
  fn: string,
  s: ZarrStore,
  url: string,
  path: string,
  o: { shape: number[]; chunks: number[]; dtype: Dtype; compressor?: ZarrCompressor; zarrFormat?: ZarrFormat; overwrite?: boolean },
): Promise<ZarrArrayRef> {
  const format = o.zarrFormat ?? 2;
  if (format !== 2 && format !== 3) throw new InvalidArgumentError(`${fn}: zarrFormat ${String(format)} is not 2 or 3`);
  const doc = newArrayDoc({ format, shape: o.shape, chunks: o.chunks, dtype: o.dtype, compressor: o.compressor ?? 'zstd' });
  const existing = (await s.get(metadataKey(path, 2))) ?? (await s.get(metadataKey(path, 3)));
  if (existing && !o.overwrite) throw new InvalidArgumentError(`${fn}: ${url}${storePath(path)} holds an array already; { overwrite: true } replaces it`);
  if (existing) {
    if (!s.clear) throw new InvalidArgumentError(`${fn}: store ${url} cannot remove the array it would overwrite`);
    await s.clear(storePath(path));
  }
  return { store: url, format, path, shape: o.shape, chunks: o.chunks, dtype: o.dtype, doc };
}

/** The array's metadata, and the groups' above it where they lack theirs. */
async function writeMetadata(s: ZarrStore, ref: ZarrArrayRef): Promise<void> {
  await writeParentGroups(s, ref.path, ref.format);
  await s.set!(metadataKey(ref.path, ref.format), new TextEncoder().encode(ref.doc));
}

function writableStore(url: string, fn: string): ZarrStore {
  const s = openZarrStore(url);
  if (!s.set) throw new InvalidArgumentError(`${fn}: store ${url} cannot be written`);
  return s;
}

/** A store chunk shape: given, or the array's first block per axis (Dask's to_zarr rule, without its regular-chunks demand). */
function storeChunks(x: ChunkedArray, spec: number | readonly number[] | undefined): number[] {
  const c = spec === undefined ? x.chunks.map((a) => Math.max(1, a[0] ?? 1)) : typeof spec === 'number' ? x.shape.map(() => spec) : [...spec];
  if (c.length !== x.ndim || c.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError(`toZarr: chunks ${JSON.stringify(spec)} is not a positive whole number per axis of a ${x.ndim}-d array`);
  return c;
}

/**
 * Write sources into Zarr arrays (Dask's da.store), all in one graph. A source whose blocks
 * straddle store chunks is rechunked first, so that each store chunk is written by one task.
 */
export async function storeArrays(client: ComputesArrays, sources: readonly ChunkedArray[], targets: readonly ZarrArrayRef[], regions: readonly (ToZarrOptions['region'] | undefined)[]): Promise<void> {
  if (sources.length !== targets.length) throw new InvalidArgumentError(`store: ${sources.length} sources for ${targets.length} targets`);
  const writes = sources.map((x, i) => writeLayer(x, targets[i]!, regions[i]));
  await client.compute(writes.map((w) => w.sum()));
}

function writeLayer(x: ChunkedArray, ref: ZarrArrayRef, regionSpec: ToZarrOptions['region'] | undefined): ChunkedArray {
  if (!isChunkedArray(x)) throw new InvalidArgumentError('store: sources are lazy arrays (ChunkedArray)');
  if (x.dtype !== ref.dtype) throw new InvalidArgumentError(`store: a ${x.dtype} array into the ${ref.dtype} Zarr array ${ref.store}${storePath(ref.path)} (astype first)`);
  const region = resolveRegion(ref, regionSpec);
  const extent = region.map(([a, b]) => b - a);
  if (extent.length !== x.ndim || extent.some((d, i) => d !== x.shape[i])) {
    throw new ShapeError(`store: an array of shape (${x.shape.join(', ')}) into a region of shape (${extent.join(', ')}) of ${ref.store}${storePath(ref.path)}`);
  }
  if (x.chunks.some((a) => a.some((n) => Number.isNaN(n)))) throw new ChunkError('store: the array has unknown chunk sizes; await client.computeChunkSizes(x) first');
  const y = x.rechunk(x.chunks.map((a, ax) => alignedChunks(a, region[ax]![0], ref.chunks[ax]!)));
  const starts = y.chunks.map(offsets);
  const grid = y.chunks.map((a) => a.length);
  const n = grid.reduce((a, b) => a * b, 1);
  return makeArray({
    label: 'to-zarr',
    op: 'write-zarr',
    shape: [n],
    dtype: 'int64',
    chunks: [Array.from({ length: n }, () => 1)],
    inputs: [y],
    token: [ref.store, ref.path, ref.doc, region, callToken()],
    block: ([flat]) => {
      const index = unflatten(flat!, grid);
      const at = index.map((b, ax): [number, number] => [region[ax]![0] + starts[ax]![b]!, region[ax]![0] + starts[ax]![b + 1]!]);
      return { params: regionParams(ref, at), deps: [y.key(index)] };
    },
  });
}

function resolveRegion(ref: ZarrArrayRef, spec: ToZarrOptions['region'] | undefined): [number, number][] {
  if (spec === undefined) return ref.shape.map((d) => [0, d]);
  if (!Array.isArray(spec) || spec.length !== ref.shape.length) throw new InvalidArgumentError(`store: region ${JSON.stringify(spec)} needs one [start, stop] or null per axis of the ${ref.shape.length}-d array`);
  return spec.map((r, ax) => {
    const d = ref.shape[ax]!;
    if (r === null) return [0, d];
    const [a, b] = r;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a || b > d) throw new InvalidArgumentError(`store: region [${a}, ${b}] on axis ${ax} is not within [0, ${d}]`);
    return [a, b];
  });
}

/**
 * Block sizes along one axis whose edges fall on store chunk edges (the region starting at
 * `start`): the blocks as they are where they do, else blocks of the store chunk's multiple
 * nearest the old size, the first cut to reach the next store chunk edge.
 */
function alignedChunks(sizes: readonly number[], start: number, chunk: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  let at = start;
  let aligned = true;
  for (const s of sizes.slice(0, -1)) {
    at += s;
    if (at % chunk !== 0) aligned = false;
  }
  if (aligned) return [...sizes];
  const step = Math.max(1, Math.round((sizes[0] ?? chunk) / chunk)) * chunk;
  const out: number[] = [];
  let left = total;
  const lead = (chunk - (start % chunk)) % chunk;
  if (lead > 0) {
    out.push(Math.min(lead, left));
    left -= out[0]!;
  }
  while (left > 0) {
    out.push(Math.min(step, left));
    left -= out[out.length - 1]!;
  }
  return out.length ? out : [0];
}

function unflatten(flat: number, grid: readonly number[]): number[] {
  const out = new Array<number>(grid.length);
  for (let ax = grid.length - 1; ax >= 0; ax--) {
    out[ax] = flat % grid[ax]!;
    flat = Math.floor(flat / grid[ax]!);
  }
  return out;
}

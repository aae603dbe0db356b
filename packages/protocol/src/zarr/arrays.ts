import * as zarr from 'zarrita';
import { DTYPES, NO_FLOAT16, itemsize, type Dtype } from '../dtype.js';
import { FileFormatError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { NUMPY_TYPE_CHARS } from '../npy.js';
import type { ZarrStore } from './stores.js';

/**
 * Zarr arrays as Tessera sees them: the metadata document (v2 `.zarray` or v3 `zarr.json`) is
 * read or made once, in the client, and travels with each task, so a worker opens the array
 * without reading metadata and a write can leave metadata for last. zarrita does the format:
 * codecs, chunk keys, byte order, Fortran order.
 */

export type ZarrFormat = 2 | 3;

export type BloscName = 'lz4' | 'lz4hc' | 'blosclz' | 'zstd' | 'zlib';
/** How chunks are compressed: a name with the codec's defaults, a configuration, or none. */
export type ZarrCompressor =
  | 'zstd'
  | 'gzip'
  | 'blosc'
  | 'none'
  | { id: 'zstd'; level?: number }
  | { id: 'gzip'; level?: number }
  | { id: 'blosc'; cname?: BloscName; clevel?: number; shuffle?: 'noshuffle' | 'shuffle' | 'bitshuffle' };

export interface ZarrArrayInfo {
  format: ZarrFormat;
  /** The array's path in the store, '' for the root. */
  path: string;
  shape: number[];
  /** The store's chunk shape. */
  chunks: number[];
  dtype: Dtype;
  /** The metadata document, as stored. */
  doc: string;
}

/** A path inside a store as zarrita keys it: '' or 'a/b' becomes '/' or '/a/b'. */
export function storePath(path: string): zarr.AbsolutePath {
  const parts = path.split('/').filter((p) => p.length > 0);
  if (parts.some((p) => p === '.' || p === '..')) throw new InvalidArgumentError(`zarr: path "${path}" may not hold . or ..`);
  return `/${parts.join('/')}`;
}

export function metadataKey(path: string, format: ZarrFormat): zarr.AbsolutePath {
  const p = storePath(path);
  return `${p === '/' ? '' : p}/${format === 2 ? '.zarray' : 'zarr.json'}`;
}

/** The array's metadata and what Tessera needs of it; NotFoundError where there is no array. */
export async function readArrayInfo(store: ZarrStore, path: string, what: string): Promise<ZarrArrayInfo> {
  for (const format of [3, 2] as const) {
    const bytes = await store.get(metadataKey(path, format));
    if (!bytes) continue;
    const doc = new TextDecoder().decode(bytes);
    const arr = await openArray(store, { format, path, doc }, what);
    const dtype = tesseraDtype(arr.dtype, `${what}: ${store.url}${storePath(path)}`);
    return { format, path, shape: [...arr.shape], chunks: [...arr.chunks], dtype, doc };
  }
  throw new NotFoundError(`${what}: no Zarr array at ${storePath(path)} in ${store.url} (neither zarr.json nor .zarray)`);
}

/**
 * A zarrita array over `store` whose metadata is `doc` (not read from the store: it may not be
 * written yet). Chunk reads and writes go to the store.
 */
export async function openArray(store: ZarrStore, meta: Pick<ZarrArrayInfo, 'format' | 'path' | 'doc'>, what: string): Promise<zarr.Array<zarr.DataType, ZarrStore>> {
  const key = metadataKey(meta.path, meta.format);
  const bytes = new TextEncoder().encode(meta.doc);
  const view: ZarrStore = {
    url: store.url,
    get: (k, o) => (k === key ? Promise.resolve(bytes) : store.get(k, o)),
    ...(store.getRange && { getRange: store.getRange.bind(store) }),
    ...(store.set && { set: store.set.bind(store) }),
  };
  const loc = zarr.root(view).resolve(storePath(meta.path));
  try {
    return meta.format === 2 ? await zarr.open.v2(loc, { kind: 'array', attrs: false }) : await zarr.open.v3(loc, { kind: 'array' });
  } catch (e) {
    const why = (e as Error).message;
    throw new FileFormatError(`${what}: ${store.url}${storePath(meta.path)} is not a Zarr v${meta.format} array Tessera can open: ${why}${/float16/.test(why) ? ` (${NO_FLOAT16})` : ''}`);
  }
}

function tesseraDtype(d: zarr.DataType, what: string): Dtype {
  if ((DTYPES as readonly string[]).includes(d)) return d as Dtype;
  throw new FileFormatError(`${what}: data type ${d} has no Tessera dtype (${DTYPES.join(', ')})`);
}

/** The metadata document of a new array. Chunks are C order, little-endian, fill value 0. */
export function newArrayDoc(o: { format: ZarrFormat; shape: number[]; chunks: number[]; dtype: Dtype; compressor: ZarrCompressor }): string {
  const c = compressorConfig(o.compressor);
  const fill = o.dtype === 'bool' ? false : 0;
  if (o.format === 2) {
    const compressor = c && (c.id === 'blosc' ? { id: 'blosc', cname: c.cname, clevel: c.clevel, shuffle: SHUFFLES.indexOf(c.shuffle), blocksize: 0 } : c);
    const dtype = `${itemsize(o.dtype) === 1 ? '|' : '<'}${NUMPY_TYPE_CHARS[o.dtype]}`;
    return JSON.stringify({ zarr_format: 2, shape: o.shape, chunks: o.chunks, dtype, compressor, fill_value: fill, order: 'C', filters: null, dimension_separator: '.' });
  }
  const codecs: unknown[] = [{ name: 'bytes', configuration: { endian: 'little' } }];
  if (c?.id === 'blosc') codecs.push({ name: 'blosc', configuration: { cname: c.cname, clevel: c.clevel, shuffle: c.shuffle, typesize: itemsize(o.dtype), blocksize: 0 } });
  else if (c?.id === 'zstd') codecs.push({ name: 'zstd', configuration: { level: c.level, checksum: false } });
  else if (c) codecs.push({ name: 'gzip', configuration: { level: c.level } });
  return JSON.stringify({
    zarr_format: 3,
    node_type: 'array',
    shape: o.shape,
    data_type: o.dtype,
    chunk_grid: { name: 'regular', configuration: { chunk_shape: o.chunks } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: fill,
    codecs,
    attributes: {},
  });
}

/** The group metadata of each folder above an array that lacks it (zarr.open_group opens the root). */
export async function writeParentGroups(store: ZarrStore, path: string, format: ZarrFormat): Promise<void> {
  const parts = storePath(path).split('/').filter((p) => p.length > 0);
  for (let i = 0; i < parts.length; i++) {
    const dir = parts.slice(0, i).map((p) => `/${p}`).join('');
    const key = `${dir}/${format === 2 ? '.zgroup' : 'zarr.json'}` as zarr.AbsolutePath;
    if (await store.get(key)) continue;
    const doc = format === 2 ? { zarr_format: 2 } : { zarr_format: 3, node_type: 'group', attributes: {} };
    await store.set!(key, new TextEncoder().encode(JSON.stringify(doc)));
  }
}

const SHUFFLES = ['noshuffle', 'shuffle', 'bitshuffle'] as const;
const BLOSC_NAMES: readonly BloscName[] = ['lz4', 'lz4hc', 'blosclz', 'zstd', 'zlib'];

type CompressorConfig =
  | { id: 'zstd'; level: number }
  | { id: 'gzip'; level: number }
  | { id: 'blosc'; cname: BloscName; clevel: number; shuffle: (typeof SHUFFLES)[number] };

/** A compressor option checked and filled with defaults (zarr-python's: zstd 1, gzip 5, blosc lz4 5 shuffle); null for none. */
export function compressorConfig(c: ZarrCompressor): CompressorConfig | null {
  const o = (typeof c === 'string' ? (c === 'none' ? null : { id: c }) : c) as { id: string; level?: number } | null;
  if (o === null) return null;
  const level = (v: unknown, lo: number, hi: number, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi) throw new InvalidArgumentError(`zarr: ${o.id} level ${String(v)} is not an integer in [${lo}, ${hi}]`);
    return v as number;
  };
  switch (o.id) {
    case 'zstd': return { id: 'zstd', level: level(o.level, -7, 22, 1) };
    case 'gzip': return { id: 'gzip', level: level(o.level, 0, 9, 5) };
    case 'blosc': {
      const b = o as { cname?: BloscName; clevel?: number; shuffle?: (typeof SHUFFLES)[number] };
      if (b.cname !== undefined && !BLOSC_NAMES.includes(b.cname)) throw new InvalidArgumentError(`zarr: blosc cname "${String(b.cname)}" is not one of ${BLOSC_NAMES.join(', ')}`);
      if (b.shuffle !== undefined && !SHUFFLES.includes(b.shuffle)) throw new InvalidArgumentError(`zarr: blosc shuffle "${String(b.shuffle)}" is not one of ${SHUFFLES.join(', ')}`);
      return { id: 'blosc', cname: b.cname ?? 'lz4', clevel: level(b.clevel, 0, 9, 5), shuffle: b.shuffle ?? 'shuffle' };
    }
    default:
      throw new InvalidArgumentError(`zarr: compressor ${JSON.stringify(c)} is not zstd, gzip, blosc or none`);
  }
}

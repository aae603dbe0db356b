import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { NO_FLOAT16, type Dtype } from '../dtype.js';
import { FileFormatError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { isDtypeName } from './columns.js';

/**
 * HDF5 files (and NetCDF4, which is HDF5) through h5wasm, the HDF Group's library compiled to
 * WebAssembly: the client reads a dataset's metadata, each task reads its own hyperslab. h5wasm's
 * Node build reads the file in place (no copy of it into WebAssembly memory), and loads only when
 * a file is opened.
 */

type H5 = typeof import('h5wasm/node').default & { Module: Awaited<typeof import('h5wasm/node').ready> };
type H5File = InstanceType<H5['File']>;
type H5Dataset = InstanceType<H5['Dataset']>;

let h5: Promise<H5> | undefined;
function h5wasm(): Promise<H5> {
  h5 ??= import('h5wasm/node').then(async (m) => Object.assign(Object.create(m.default) as typeof m.default, { Module: await m.default.ready }));
  return h5;
}

/** What a task needs to know of a dataset, read once by the client. */
export interface Hdf5DatasetInfo {
  /** The file's absolute path (the workers must see it at the same path). */
  file: string;
  /** The dataset's path in the file, as '/group/name'. */
  dataset: string;
  shape: number[];
  dtype: Dtype;
  /** The dataset's chunk shape, or null for a contiguous (or compact) dataset. */
  chunks: number[] | null;
  /** The filters its chunks pass through ('deflate', 'shuffle', ...). */
  filters: string[];
}

// The HDF5 signature sits at 0 or after a user block of 512, 1024, 2048, ... bytes.
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Refuse a path that is not there or holds no HDF5 signature before HDF5 sees it (its own errors are a C trace on stderr). */
function checkFile(file: string, fn: string): void {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new NotFoundError(`${fn}: cannot open ${file}: ${(e as Error).message}`);
  }
  const fd = openSync(file, 'r');
  try {
    const head = new Uint8Array(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      if (readSync(fd, head, 0, 8, at) === 8 && SIGNATURE.every((b, i) => head[i] === b)) return;
    }
  } finally {
    closeSync(fd);
  }
  throw new FileFormatError(`${fn}: ${file} is not an HDF5 (or NetCDF4) file: no HDF5 signature`);
}

/** Open `file`, run `use` on it, close it (HDF5 keeps a file's handle until closed). */
async function withHdf5File<T>(file: string, fn: string, use: (f: H5File) => T): Promise<T> {
  checkFile(file, fn);
  const m = await h5wasm();
  const f = new m.File(file, 'r');
  if (f.file_id < 0n) throw new FileFormatError(`${fn}: HDF5 cannot open ${file}`);
  try {
    return use(f);
  } finally {
    f.close();
  }
}

/** The dataset at `path` in an open file, or a typed error that says what is there instead. */
function hdf5Dataset(m: { Dataset: H5['Dataset'] }, f: H5File, file: string, path: string, fn: string): H5Dataset {
  const obj = f.get(path);
  if (obj === null || obj === undefined) {
    throw new NotFoundError(`${fn}: ${file} has no dataset ${path}${rootNames(f)}`);
  }
  if (!(obj instanceof m.Dataset)) throw new InvalidArgumentError(`${fn}: ${path} in ${file} is a ${obj.constructor.name}, not a dataset`);
  return obj;
}

function rootNames(f: H5File): string {
  const names = f.keys();
  return names.length ? ` (the root holds ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', ...' : ''})` : '';
}

/** The Tessera dtype of an HDF5 type, or why there is none. */
export function hdf5Dtype(meta: { type: number; size: number; signed: boolean; enum_type?: { members: Record<string, number> } }): Dtype | string {
  // H5T classes: 0 integer, 1 float, 8 enum (h5py stores numpy's bool as the enum FALSE=0, TRUE=1).
  if (meta.type === 0) {
    const bits = meta.size * 8;
    if (bits === 8 || bits === 16 || bits === 32 || bits === 64) return `${meta.signed ? 'int' : 'uint'}${bits}` as Dtype;
  }
  if (meta.type === 1 && (meta.size === 4 || meta.size === 8)) return meta.size === 4 ? 'float32' : 'float64';
  if (meta.type === 1 && meta.size === 2) return NO_FLOAT16;
  const members = meta.enum_type?.members;
  if (meta.type === 8 && meta.size === 1 && members && Object.keys(members).length === 2 && members.FALSE === 0 && members.TRUE === 1) return 'bool';
  const classes: Record<number, string> = { 2: 'time', 3: 'string', 4: 'bitfield', 5: 'opaque', 6: 'compound', 7: 'reference', 8: 'enum', 9: 'variable length', 10: 'array' };
  return `${classes[meta.type] ?? `class ${meta.type}`} of ${meta.size} bytes (not a numeric type Tessera has)`;
}

/** A dataset's shape, dtype and chunking, reading only the file's metadata. */
export async function readHdf5Info(file: string, dataset: string, fn: string): Promise<Hdf5DatasetInfo> {
  const m = await h5wasm();
  const path = dataset.startsWith('/') ? dataset : `/${dataset}`;
  return withHdf5File(file, fn, (f) => {
    const ds = hdf5Dataset(m, f, file, path, fn);
    const meta = ds.metadata;
    const dtype = hdf5Dtype(meta);
    if (!isDtypeName(dtype)) throw new FileFormatError(`${fn}: ${path} in ${file} holds ${dtype}`);
    return { file, dataset: path, shape: meta.shape ?? [], dtype, chunks: meta.chunks, filters: ds.filters.map((x) => x.name) };
  });
}

/**
 * Read `region` ([start, stop) per axis) of a dataset into `out` (its bytes, C order, the
 * machine's byte order: HDF5 converts). HDF5 writes into WebAssembly memory, copied once from
 * there into `out`: no array in between for the garbage collector to find later.
 */
export async function readHdf5Into(file: string, dataset: string, region: readonly (readonly [number, number])[], out: Uint8Array, fn: string): Promise<void> {
  const m = await h5wasm();
  await withHdf5File(file, fn, (f) => {
    const ds = hdf5Dataset(m, f, file, dataset, fn);
    const meta = ds.metadata;
    const shape = meta.shape ?? [];
    if (shape.length !== region.length || region.some(([a, b], i) => a < 0 || b < a || b > shape[i]!)) {
      throw new InvalidArgumentError(`${fn}: region [${region.map(([a, b]) => `${a}:${b}`).join(', ')}] is not within ${dataset}'s shape (${shape.join(', ')}) in ${file}`);
    }
    const n = region.reduce((acc, [a, b]) => acc * (b - a), 1) * meta.size;
    if (n !== out.byteLength) throw new InvalidArgumentError(`${fn}: ${dataset} [${region.map(([a, b]) => `${a}:${b}`).join(', ')}] in ${file} is ${n} bytes, not ${out.byteLength}`);
    const M = m.Module;
    const ptr = M._malloc(Math.max(1, n));
    if (ptr === 0) throw new Error(`${fn}: no WebAssembly memory for ${n} bytes of ${dataset}`);
    try {
      // A 0-d dataset is read whole (an empty selection list).
      const sel = region.length ? [region.map(([a, b]) => BigInt(b - a)), region.map(([a]) => BigInt(a)), region.map(() => 1n)] : [null, null, null];
      // A read that fails (a corrupt or truncated chunk) says so: the buffer would hold whatever malloc left.
      if (M.get_dataset_data(f.file_id, dataset, sel[0]!, sel[1]!, sel[2]!, BigInt(ptr)) < 0) {
        throw new FileFormatError(`${fn}: HDF5 could not read ${dataset} [${region.map(([a, b]) => `${a}:${b}`).join(', ')}] in ${file} (a corrupt or truncated chunk?)`);
      }
      out.set(M.HEAPU8.subarray(ptr, ptr + n));
    } finally {
      M._free(ptr);
    }
  });
}

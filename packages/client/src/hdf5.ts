import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, itemsize, type Dtype, type ReadHdf5Params } from '@tessera/protocol';
import { readHdf5Info, type Hdf5DatasetInfo } from '@tessera/protocol/formats';
import { type ChunkedArray, makeArray } from './array.js';
import { AUTO_CHUNK_BYTES, type ChunksSpec, normalizeChunks } from './chunks.js';
import { offsets } from './zarr.js';

/**
 * HDF5 and NetCDF4 datasets read by the workers (Dask's `da.from_array(h5py_dataset)`): the
 * client reads the dataset's metadata, each task reads its block's hyperslab from the file at
 * the same path on its worker (a shared filesystem in a cluster).
 */

export interface Hdf5Ref extends Hdf5DatasetInfo {
  /** The file's size and modification time when opened: in task keys, so a rewritten file is read again. */
  stamp: [number, number];
}

/** A dataset's shape, dtype and chunking (`dataset` is its path in the file, e.g. '/group/x'). */
export async function openHdf5(file: string, opts: { dataset: string }): Promise<Hdf5Ref> {
  if (typeof opts?.dataset !== 'string' || opts.dataset === '') throw new InvalidArgumentError('openHdf5: { dataset } names the dataset to read, e.g. "/group/x"');
  const path = resolve(file);
  const info = await readHdf5Info(path, opts.dataset, 'openHdf5');
  const { size, mtimeMs } = await stat(path);
  return { ...info, stamp: [size, mtimeMs] };
}

/**
 * An array of an HDF5 dataset's values. Chunks: `chunks`, or the dataset's own chunk shape grown
 * by powers of two toward Dask's 128 MiB blocks (so a task reads whole HDF5 chunks, never a
 * part of one twice); a contiguous dataset is chunked as 'auto'. Values are the stored ones
 * (no NetCDF scale_factor or _FillValue masking).
 */
export async function fromHdf5(file: string | Hdf5Ref, opts: { dataset?: string; chunks?: ChunksSpec } = {}): Promise<ChunkedArray> {
  const ref = typeof file === 'string' ? await openHdf5(file, { dataset: opts.dataset ?? '' }) : file;
  const chunks = normalizeChunks('fromHdf5', ref.shape, opts.chunks ?? (ref.chunks ? grownChunks(ref.shape, ref.chunks, ref.dtype) : 'auto'), ref.dtype);
  const starts = chunks.map(offsets);
  return makeArray({
    label: 'from-hdf5',
    op: 'read-hdf5',
    shape: ref.shape,
    dtype: ref.dtype,
    chunks,
    inputs: [],
    token: [ref.file, ref.dataset, ref.stamp],
    block: (index) => {
      const params: ReadHdf5Params = { file: ref.file, dataset: ref.dataset, region: index.map((b, ax) => [starts[ax]![b]!, starts[ax]![b + 1]!]) };
      return { params, deps: [] };
    },
  });
}

/** A NetCDF4 variable (an HDF5 dataset of the same name): fromHdf5 with `variable` for `dataset`. */
export async function fromNetcdf(file: string, opts: { variable: string; chunks?: ChunksSpec }): Promise<ChunkedArray> {
  if (typeof opts?.variable !== 'string' || opts.variable === '') throw new InvalidArgumentError('fromNetcdf: { variable } names the variable to read');
  return fromHdf5(file, { dataset: opts.variable, ...(opts.chunks !== undefined ? { chunks: opts.chunks } : {}) });
}

/** Storage chunks doubled along the last axes first (the contiguous ones) while a block stays within AUTO_CHUNK_BYTES. */
function grownChunks(shape: readonly number[], storage: readonly number[], dtype: Dtype): number[] {
  const block = storage.map((c, ax) => Math.max(1, Math.min(c, shape[ax]!)));
  let bytes = block.reduce((a, b) => a * b, itemsize(dtype));
  for (let grew = true; grew; ) {
    grew = false;
    for (let ax = block.length - 1; ax >= 0; ax--) {
      if (block[ax]! >= shape[ax]! || bytes * 2 > AUTO_CHUNK_BYTES) continue;
      const next = Math.min(shape[ax]!, block[ax]! * 2);
      bytes = (bytes / block[ax]!) * next;
      block[ax] = next;
      grew = true;
    }
  }
  return block;
}

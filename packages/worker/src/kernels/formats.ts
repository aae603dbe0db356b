import { allocChunk, itemsize, sizeOf, typedArrayCtor, type Chunk, type ChunkData, type ColumnPartParams, type Dtype, type ReadHdf5Params, type WriteParquetParams } from '@tessera/protocol';
import { readArrowIpcColumn, readHdf5Into, readParquetColumn, writeParquetFile } from '@tessera/protocol/formats';

/**
 * HDF5, Parquet and Arrow IPC chunks read and written on the worker that runs the task, from
 * and to its own filesystem (the libraries are in @tessera/protocol/formats).
 */

/**
 * The output chunk, in `spare` (a recycled buffer of its size the pool offers) where there is one:
 * a fresh SharedArrayBuffer per read is freed only when every thread's garbage collector has
 * let go of it, and a worker reading files fast held a gigabyte of them that way.
 */
function outputChunk(dtype: Dtype, shape: number[], spare: SharedArrayBuffer | undefined): Chunk {
  const n = sizeOf(shape);
  if (!spare || spare.byteLength !== n * itemsize(dtype)) return allocChunk(dtype, shape);
  return { dtype, shape: [...shape], data: new (typedArrayCtor(dtype))(spare as unknown as ArrayBuffer, 0, n) as ChunkData };
}

/** A region of an HDF5 dataset as a chunk, read straight into its shared memory. */
export async function readHdf5(p: ReadHdf5Params, shape: number[], dtype: Dtype, spare?: SharedArrayBuffer): Promise<Chunk> {
  const out = outputChunk(dtype, shape, spare);
  if (out.data.length === 0) return out;
  const bytes = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  await readHdf5Into(p.file, p.dataset, p.region, bytes, 'read-hdf5');
  // An HDF5 enum bool can hold other bytes than 0 and 1; numpy's bool is 0 or 1.
  if (dtype === 'bool') for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 1) bytes[i] = 1;
  return out;
}

/** One column of a Parquet row group (`read-parquet`) or an Arrow IPC record batch (`read-arrow`). */
export async function readColumnPart(format: 'parquet' | 'arrow', p: ColumnPartParams, shape: number[], dtype: Dtype, spare?: SharedArrayBuffer): Promise<Chunk> {
  const out = outputChunk(dtype, shape, spare);
  if (format === 'parquet') await readParquetColumn(p.path, p.part, p.column, dtype, out.data, 'read-parquet');
  else await readArrowIpcColumn(p.path, p.part, p.column, dtype, out.data, 'read-arrow');
  return out;
}

/** The input chunks as the columns of one Parquet file; gives its bytes as int64[1]. */
export async function writeParquet(p: WriteParquetParams, inputs: readonly Chunk[]): Promise<Chunk> {
  const cols = inputs.map((c, i): { name: string; dtype: Dtype; data: ChunkData } => ({ name: p.names[i]!, dtype: c.dtype, data: c.data }));
  const n = await writeParquetFile(p.path, cols, p.compression);
  const out = allocChunk('int64', [1]);
  (out.data as BigInt64Array)[0] = BigInt(n);
  return out;
}

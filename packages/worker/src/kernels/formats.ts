import { allocChunk, type Chunk, type ChunkData, type ColumnPartParams, type Dtype, type ReadHdf5Params, type WriteParquetParams } from '@tessera/protocol';
import { readArrowIpcColumn, readHdf5Region, readParquetColumn, writeParquetFile } from '@tessera/protocol/formats';

/**
 * HDF5, Parquet and Arrow IPC chunks read and written on the worker that runs the task, from
 * and to its own filesystem (the libraries are in @tessera/protocol/formats).
 */

/** A region of an HDF5 dataset as a chunk: h5wasm's values copied into shared memory. */
export async function readHdf5(p: ReadHdf5Params, shape: number[], dtype: Dtype): Promise<Chunk> {
  const out = allocChunk(dtype, shape);
  if (out.data.length === 0) return out;
  const got = await readHdf5Region(p.file, p.dataset, p.region, 'read-hdf5');
  if (typeof got === 'number' || typeof got === 'bigint') {
    (out.data as unknown as (number | bigint)[])[0] = dtype === 'int64' || dtype === 'uint64' ? BigInt(got) : Number(got);
    return out;
  }
  if (got.byteLength !== out.data.byteLength) {
    throw new Error(`read-hdf5: ${p.file} ${p.dataset} [${p.region.map(([a, b]) => `${a}:${b}`).join(', ')}] gave ${got.byteLength} bytes for ${dtype}[${shape.join(', ')}]`);
  }
  const bytes = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  bytes.set(new Uint8Array(got.buffer, got.byteOffset, got.byteLength));
  // An HDF5 enum bool can hold other bytes than 0 and 1; numpy's bool is 0 or 1.
  if (dtype === 'bool') for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 1) bytes[i] = 1;
  return out;
}

/** One column of a Parquet row group (`read-parquet`) or an Arrow IPC record batch (`read-arrow`). */
export async function readColumnPart(format: 'parquet' | 'arrow', p: ColumnPartParams, shape: number[], dtype: Dtype): Promise<Chunk> {
  const out = allocChunk(dtype, shape);
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

import { join, resolve } from 'node:path';
import { ChunkError, InvalidArgumentError, PARQUET_COMPRESSIONS, ShapeError, type ColumnPartParams, type Dtype, type OpName, type ParquetCompression } from '@tessera/protocol';
import { prepareParquetDir, readArrowIpcInfo, readParquetInfo } from '@tessera/protocol/formats';
import { type ChunkedArray, type ComputesArrays, isChunkedArray, makeArray } from './array.js';
import { zeros } from './creation.js';

/**
 * Columnar files as 1-d arrays, one per numeric column: Parquet (a file, or a directory of part
 * files as Dask's and Spark's to_parquet write) with one task per row group, and Arrow IPC files
 * with one task per record batch. Tasks read on their workers; the client reads footers only.
 */

export type Columns = Record<string, ChunkedArray>;

interface Part {
  path: string;
  part: number;
  rows: number;
}

function columnArrays(fn: string, op: OpName, columns: readonly { name: string; dtype: Dtype }[], parts: readonly Part[], token: unknown): Columns {
  const out: Columns = {};
  // Empty row groups or batches hold no values; a block of 0 rows is only for an empty column.
  const used = parts.filter((p) => p.rows > 0);
  for (const { name, dtype } of columns) {
    if (used.length === 0) {
      out[name] = zeros([0], { dtype });
      continue;
    }
    out[name] = makeArray({
      label: fn,
      op,
      shape: [used.reduce((a, p) => a + p.rows, 0)],
      dtype,
      chunks: [used.map((p) => p.rows)],
      inputs: [],
      token: [token, name],
      block: ([i]) => {
        const p = used[i!]!;
        const params: ColumnPartParams = { path: p.path, part: p.part, column: name };
        return { params, deps: [] };
      },
    });
  }
  return out;
}

function checkColumns(fn: string, columns: readonly string[] | undefined): void {
  if (columns !== undefined && (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== 'string' || c === ''))) {
    throw new InvalidArgumentError(`${fn}: columns is a non-empty list of column names, got ${JSON.stringify(columns)}`);
  }
}

/**
 * The numeric columns of a Parquet file or dataset directory (`columns`, or every numeric
 * one), each a 1-d array chunked by row group. Float nulls read as NaN; an integer or bool
 * column with nulls fails the task that meets them.
 */
export async function fromParquet(path: string, opts: { columns?: readonly string[] } = {}): Promise<Columns> {
  checkColumns('fromParquet', opts.columns);
  const info = await readParquetInfo(resolve(path), opts.columns, 'fromParquet');
  const parts = info.files.flatMap((f) => f.rowGroups.map((rows, part) => ({ path: f.path, part, rows })));
  return columnArrays('from-parquet', 'read-parquet', info.columns, parts, info.files.map((f) => [f.path, f.size, f.mtimeMs]));
}

/** The numeric columns of an Arrow IPC file (Feather v2), each a 1-d array chunked by record batch. */
export async function fromArrowIpc(path: string, opts: { columns?: readonly string[] } = {}): Promise<Columns> {
  checkColumns('fromArrowIpc', opts.columns);
  const info = await readArrowIpcInfo(resolve(path), opts.columns, 'fromArrowIpc');
  const parts = info.batches.map((rows, part) => ({ path: info.path, part, rows }));
  return columnArrays('from-arrow-ipc', 'read-arrow', info.columns, parts, [info.path, info.size, info.mtimeMs]);
}

export interface ToParquetOptions {
  client: ComputesArrays;
  /** Default 'snappy', as pandas and Dask write. */
  compression?: ParquetCompression;
  /** Replace the .parquet files already in the directory. */
  overwrite?: boolean;
}

/**
 * Write 1-d arrays of one length as the columns of a Parquet dataset: a directory with one
 * `part.i.parquet` per block (Dask's to_parquet layout), each written by the worker that holds
 * the block. Columns are rechunked to the first column's blocks. A directory holding .parquet
 * files is refused unless `overwrite`.
 */
export async function toParquet(columns: Columns, dir: string, opts: ToParquetOptions): Promise<{ path: string; files: number; bytes: number }> {
  if (!opts?.client) throw new InvalidArgumentError('toParquet: needs { client } to run the writes');
  const names = Object.keys(columns ?? {});
  if (names.length === 0) throw new InvalidArgumentError('toParquet: give the columns as { name: array, ... }');
  const compression = opts.compression ?? 'snappy';
  if (!PARQUET_COMPRESSIONS.includes(compression)) throw new InvalidArgumentError(`toParquet: compression ${JSON.stringify(compression)} is not one of ${PARQUET_COMPRESSIONS.join(', ')}`);
  const arrays = names.map((n) => columns[n]);
  const first = arrays[0]!;
  for (const [i, a] of arrays.entries()) {
    if (!isChunkedArray(a)) throw new InvalidArgumentError(`toParquet: column "${names[i]}" is not a lazy array (a ChunkedArray)`);
    if (a.ndim !== 1 || a.shape[0] !== first.shape[0]) throw new ShapeError(`toParquet: columns are 1-d arrays of one length; "${names[i]}" has shape (${a.shape.join(', ')}), "${names[0]}" (${first.shape.join(', ')})`);
    if (a.chunks[0]!.some((n) => Number.isNaN(n))) throw new ChunkError(`toParquet: column "${names[i]}" has unknown chunk sizes; await client.computeChunkSizes(x) first`);
  }
  const root = resolve(dir);
  await prepareParquetDir(root, opts.overwrite ?? false, 'toParquet');
  const blocks = first.chunks[0]!;
  const aligned = (arrays as ChunkedArray[]).map((a) => (a.chunks[0]!.every((n, i) => n === blocks[i]) && a.chunks[0]!.length === blocks.length ? a : a.rechunk([blocks])));
  const writes = makeArray({
    label: 'to-parquet',
    op: 'write-parquet',
    shape: [blocks.length],
    dtype: 'int64',
    chunks: [blocks.map(() => 1)],
    inputs: aligned,
    token: [root, names, compression, process.pid, Date.now()],
    block: ([i]) => ({ params: { path: join(root, `part.${i}.parquet`), names, compression }, deps: aligned.map((a) => a.key([i!])) }),
  });
  const [bytes] = (await opts.client.compute([writes.sum()])) as [number | bigint];
  return { path: root, files: blocks.length, bytes: Number(bytes) };
}

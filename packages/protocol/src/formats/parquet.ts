import { openAsBlob } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import type { ChunkData, Dtype } from '../dtype.js';
import { FileFormatError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { ParquetCompression } from '../ops/catalogue.js';
import { columnInto, numericColumns, tableOfColumns } from './columns.js';

/**
 * Parquet files through parquet-wasm (Apache Arrow's Rust Parquet reader and writer, compiled to
 * WebAssembly): the client reads the footers, each task one column of one row group, reading
 * only that column chunk's bytes (a Blob over the file, which parquet-wasm reads by range).
 */

type PW = typeof import('parquet-wasm');
let pw: Promise<PW> | undefined;
function parquetWasm(): Promise<PW> {
  pw ??= import('parquet-wasm');
  return pw;
}


/** One file of a Parquet dataset: its rows per row group, and its size and time (in task keys: a rewritten file is read again). */
export interface ParquetFileInfo {
  path: string;
  rowGroups: number[];
  size: number;
  mtimeMs: number;
}

export interface ParquetInfo {
  files: ParquetFileInfo[];
  columns: { name: string; dtype: Dtype }[];
}

/**
 * The files of a Parquet dataset: the file itself, or a directory's `*.parquet` files in natural
 * order (part.2 before part.10), as Dask and Spark write them; names starting with `_` or `.`
 * (`_metadata`, `_SUCCESS`) are not data.
 */
async function datasetFiles(path: string, fn: string): Promise<string[]> {
  const st = await stat(path).catch((e: Error) => {
    throw new NotFoundError(`${fn}: cannot open ${path}: ${e.message}`);
  });
  if (!st.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => n.endsWith('.parquet') && !n.startsWith('_') && !n.startsWith('.'));
  if (names.length === 0) throw new NotFoundError(`${fn}: ${path} is a directory with no .parquet files`);
  names.sort(new Intl.Collator('en', { numeric: true }).compare);
  return names.map((n) => join(path, n));
}

async function openFile(path: string, fn: string): Promise<import('parquet-wasm').ParquetFile> {
  const m = await parquetWasm();
  let blob: Blob;
  try {
    // openAsBlob throws (not rejects) for a path it cannot stat.
    blob = await openAsBlob(path);
  } catch (e) {
    throw new NotFoundError(`${fn}: cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    return await m.ParquetFile.fromFile(blob);
  } catch (e) {
    throw new FileFormatError(`${fn}: ${path} is not a Parquet file: ${String((e as Error).message ?? e)}`);
  }
}

/** The row groups and numeric columns of a Parquet file or directory, reading only footers. */
export async function readParquetInfo(path: string, columns: readonly string[] | undefined, fn: string): Promise<ParquetInfo> {
  const files: ParquetFileInfo[] = [];
  let cols: { name: string; dtype: Dtype }[] | undefined;
  for (const file of await datasetFiles(path, fn)) {
    const f = await openFile(file, fn);
    try {
      const schema = arrow.tableFromIPC(f.schema().intoIPCStream()).schema;
      const here = numericColumns(schema.fields, columns ?? cols?.map((c) => c.name), `${fn}: ${file}`);
      if (cols && here.some((c, i) => c.dtype !== cols![i]!.dtype)) {
        throw new FileFormatError(`${fn}: ${file}'s columns are ${describe(here)}, the first file's ${describe(cols)}`);
      }
      cols ??= here;
      const { size, mtimeMs } = await stat(file);
      files.push({ path: file, rowGroups: f.metadata().rowGroups().map((g) => g.numRows()), size, mtimeMs });
    } finally {
      f.free();
    }
  }
  if (!cols || cols.length === 0) throw new FileFormatError(`${fn}: ${path} has no numeric columns`);
  return { files, columns: cols };
}

function describe(cols: readonly { name: string; dtype: Dtype }[]): string {
  return cols.map((c) => `${c.name}: ${c.dtype}`).join(', ');
}

/** One column of one row group, into `out` (the row group's length). */
export async function readParquetColumn(path: string, rowGroup: number, column: string, dtype: Dtype, out: ChunkData, fn: string): Promise<void> {
  const f = await openFile(path, fn);
  let table: arrow.Table;
  try {
    const groups = f.metadata().numRowGroups();
    if (rowGroup >= groups) throw new FileFormatError(`${fn}: ${path} has ${groups} row groups, not ${rowGroup + 1} (was it rewritten?)`);
    const t = await f.read({ rowGroups: [rowGroup], columns: [column], batchSize: Math.max(1, out.length) });
    table = arrow.tableFromIPC(t.intoIPCStream());
  } finally {
    f.free();
  }
  const col = table.getChild(column);
  if (!col) throw new FileFormatError(`${fn}: ${path} has no column "${column}" (was it rewritten?)`);
  columnInto(col, out, dtype, `${fn}: ${path} row group ${rowGroup} column "${column}"`);
}

/**
 * Write 1-d chunks as the columns of one Parquet file (one row group), to a temporary name and
 * then renamed, so a reader sees the whole file or none. Gives the file's size.
 */
export async function writeParquetFile(
  path: string,
  columns: readonly { name: string; dtype: Dtype; data: ChunkData }[],
  compression: ParquetCompression,
): Promise<number> {
  const m = await parquetWasm();
  const codes: Record<ParquetCompression, number> = {
    snappy: m.Compression.SNAPPY,
    zstd: m.Compression.ZSTD,
    gzip: m.Compression.GZIP,
    brotli: m.Compression.BROTLI,
    lz4: m.Compression.LZ4_RAW,
    none: m.Compression.UNCOMPRESSED,
  };
  const rows = columns[0]?.data.length ?? 0;
  const props = new m.WriterPropertiesBuilder()
    .setCompression(codes[compression])
    .setMaxRowGroupSize(Math.max(1, rows))
    .setCreatedBy('tessera')
    .build();
  const ipc = arrow.tableToIPC(tableOfColumns(columns), 'stream');
  const bytes = m.writeParquet(m.Table.fromIPCStream(ipc), props);
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return bytes.length;
}

/**
 * Make `dir` ready for a dataset's part files: created if missing; one that holds .parquet
 * files is refused unless `overwrite`, which removes them (and nothing else).
 */
export async function prepareParquetDir(dir: string, overwrite: boolean, fn: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new InvalidArgumentError(`${fn}: ${dir} is a file; a Parquet dataset is written as a directory of part files`);
  await mkdir(dir, { recursive: true });
  const old = (await readdir(dir)).filter((n) => n.endsWith('.parquet'));
  if (old.length && !overwrite) throw new InvalidArgumentError(`${fn}: ${dir} holds .parquet files already; { overwrite: true } replaces them`);
  await Promise.all(old.map((n) => unlink(join(dir, n))));
}

import { open } from 'node:fs/promises';
import * as arrow from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { Message } from 'apache-arrow/ipc/metadata/message';
import type { ChunkData, Dtype } from '../dtype.js';
import { FileFormatError, NotFoundError } from '../errors.js';
import { columnInto, numericColumns } from './columns.js';

/**
 * Arrow IPC files (Feather v2): the client reads the footer and each record batch's message
 * header (its row count), never a batch's body; each task reads one record batch.
 */

export interface ArrowIpcInfo {
  path: string;
  /** Rows per record batch. */
  batches: number[];
  columns: { name: string; dtype: Dtype }[];
  size: number;
  mtimeMs: number;
}

const MAGIC = 'ARROW1';

export async function readArrowIpcInfo(path: string, columns: readonly string[] | undefined, fn: string): Promise<ArrowIpcInfo> {
  const f = await open(path, 'r').catch((e: Error) => {
    throw new NotFoundError(`${fn}: cannot open ${path}: ${e.message}`);
  });
  try {
    const { size, mtimeMs } = await f.stat();
    const bad = (why: string) => new FileFormatError(`${fn}: ${path} is not an Arrow IPC file: ${why}`);
    if (size < 6 + 2 + 10) throw bad(`${size} bytes`);
    // The file ends with the footer, its int32 length and the magic.
    const tail = Buffer.alloc(10);
    await f.read(tail, 0, 10, size - 10);
    const head = Buffer.alloc(6);
    await f.read(head, 0, 6, 0);
    if (head.toString('latin1') !== MAGIC || tail.subarray(4).toString('latin1') !== MAGIC) throw bad('no ARROW1 magic at its start and end (an IPC stream, not a file?)');
    const len = tail.readInt32LE(0);
    if (len <= 0 || len > size - 18) throw bad(`a footer of ${len} bytes`);
    const fb = Buffer.alloc(len);
    await f.read(fb, 0, len, size - 10 - len);
    let footer: InstanceType<typeof Footer>;
    try {
      footer = Footer.decode(fb);
    } catch (e) {
      throw bad(`its footer does not decode (${(e as Error).message})`);
    }
    const cols = numericColumns(footer.schema.fields, columns, `${fn}: ${path}`);
    if (cols.length === 0) throw new FileFormatError(`${fn}: ${path} has no numeric columns`);
    const batches: number[] = [];
    for (const b of footer.recordBatches()) {
      const offset = Number(b.offset);
      if (b.metaDataLength < 8 || offset + b.metaDataLength > size) throw bad(`record batch ${batches.length} lies outside the file`);
      const mb = Buffer.alloc(b.metaDataLength);
      await f.read(mb, 0, mb.length, offset);
      // A message is a 0xFFFFFFFF continuation (format 0.15 on), its length, then the flatbuffer.
      const at = mb.readUInt32LE(0) === 0xffffffff ? 8 : 4;
      const header = Message.decode(mb.subarray(at)).header();
      if (!(header instanceof Object) || typeof (header as { length?: unknown }).length !== 'number') throw bad(`record batch ${batches.length}'s header is not a record batch`);
      batches.push((header as { length: number }).length);
    }
    return { path, batches, columns: cols, size, mtimeMs };
  } finally {
    await f.close();
  }
}

/** One column of one record batch, into `out` (the batch's length). */
export async function readArrowIpcColumn(path: string, batch: number, column: string, dtype: Dtype, out: ChunkData, fn: string): Promise<void> {
  const fh = await open(path, 'r').catch((e: Error) => {
    throw new NotFoundError(`${fn}: cannot open ${path}: ${e.message}`);
  });
  let rb: arrow.RecordBatch | null | undefined;
  try {
    const reader = await arrow.RecordBatchReader.from(fh);
    await reader.open();
    if (!reader.isFile()) throw new FileFormatError(`${fn}: ${path} is not an Arrow IPC file`);
    if (batch >= reader.numRecordBatches) throw new FileFormatError(`${fn}: ${path} has ${reader.numRecordBatches} record batches, not ${batch + 1} (was it rewritten?)`);
    rb = await reader.readRecordBatch(batch);
  } finally {
    await fh.close().catch(() => undefined);
  }
  const col = rb?.getChild(column);
  if (!col) throw new FileFormatError(`${fn}: ${path} record batch ${batch} has no column "${column}"`);
  columnInto(col, out, dtype, `${fn}: ${path} record batch ${batch} column "${column}"`);
}

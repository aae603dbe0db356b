/**
 * Chunks as Arrow IPC stream bytes, both ways (the wire format described in codec.ts): encoding
 * keeps the chunk's data by reference between a small header and trailer, and decoding checks
 * the framing (ipc-verify.ts) before apache-arrow reads it and every property of the chunk after.
 */
import { RecordBatch, RecordBatchReader, RecordBatchStreamWriter, Schema } from 'apache-arrow';
import type { Chunk } from './chunk.js';
import { chunkFromBatch, chunkToRecordBatch } from './codec.js';
import type { Dtype } from './dtype.js';
import { CodecError } from './errors.js';
import { verifyIpcStream } from './ipc-verify.js';
import { fmtShape, shapeEquals } from './shape.js';

// Encoding

/**
 * apache-arrow's stream writer with its byte sink replaced by a plain list: `_write` is where every
 * header, body buffer and padding passes (as views, the body buffers over the data's own memory),
 * so collecting them here keeps them unjoined, synchronously.
 */
class PartsWriter extends RecordBatchStreamWriter {
  readonly parts: Uint8Array[] = [];
  protected override _write(chunk: ArrayBufferView): this {
    if (this._started && chunk.byteLength > 0) {
      this.parts.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this._position += chunk.byteLength;
    }
    return this;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * The chunk as an Arrow IPC stream, as a list of buffers to write in order (e.g. with writev):
 * `[header, data, trailer]` where `data` views the chunk's own memory (no copy) and header and
 * trailer are small (schema and record-batch messages; body padding and end-of-stream marker).
 * An empty chunk gives one buffer.
 */
export function encodeChunk(chunk: Chunk): Uint8Array[] {
  const batch = chunkToRecordBatch(chunk);
  const writer = new PartsWriter();
  writer.write(batch);
  writer.finish();
  // Coalesce everything that is not the chunk's data (a dozen small pieces) into few buffers.
  const src = chunk.data.buffer;
  const out: Uint8Array[] = [];
  let small: Uint8Array[] = [];
  for (const p of writer.parts) {
    if (p.buffer === src) {
      if (small.length) out.push(concat(small));
      small = [];
      out.push(p);
    } else {
      small.push(p);
    }
  }
  if (small.length) out.push(concat(small));
  return out;
}

/** The chunk as one contiguous Arrow IPC stream (one copy of the data). */
export function encodeChunkBytes(chunk: Chunk): Uint8Array {
  return concat(encodeChunk(chunk));
}

/** Total byte length of a list of buffers (e.g. what encodeChunk returned). */
export function partsByteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Decoding

const ARROW_FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

function firstBytes(parts: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    if (o >= n) break;
    const take = Math.min(n - o, p.byteLength);
    out.set(p.subarray(0, take), o);
    o += take;
  }
  return out.subarray(0, o);
}

/** Reject what is plainly not an Arrow stream, then bounds-check every message (ipc-verify.ts). */
function checkStream(parts: readonly Uint8Array[], total: number): void {
  if (total === 0) throw new CodecError('not an Arrow IPC stream: the input is empty');
  const head = firstBytes(parts, 8);
  if (head.length >= 6 && ARROW_FILE_MAGIC.every((b, i) => head[i] === b)) {
    throw new CodecError('this is the Arrow IPC *file* format (starts with ARROW1); chunks use the stream format');
  }
  if (total < 8) throw new CodecError(`not an Arrow IPC stream: only ${total} bytes`);
  const summary = verifyIpcStream(parts);
  // Counted here: apache-arrow's reader yields a zero-row placeholder batch for a batch-less stream.
  if (summary.recordBatches === 0) throw new CodecError('the Arrow stream holds no record batch; a chunk is exactly one');
  if (summary.recordBatches > 1) {
    throw new CodecError(`the Arrow stream holds ${summary.recordBatches} record batches; a chunk is exactly one`);
  }
}

/**
 * Decode one chunk from an Arrow IPC stream (one buffer, or the list `encodeChunk` made). Checks
 * framing, that there is exactly one record batch with one row, the column's name and type, the
 * dtype (supported, and matching `tessera.dtype`), the shape (`tessera.shape` and the tensor
 * extension metadata agree, and prod(shape) = the list size = the data length) and no nulls.
 * Throws CodecError (code CHUNK_DECODE) with what was wrong.
 *
 * Zero-copy when the body is aligned: the returned data views the input bytes (for a list, the
 * part that holds the whole body, as `encodeChunk` emits for data lengths that are a multiple of
 * 8 bytes); otherwise apache-arrow copies the body once.
 */
export function decodeChunk(bytes: Uint8Array | readonly Uint8Array[], expect?: { dtype?: Dtype; shape?: readonly number[] }): Chunk {
  const parts: readonly Uint8Array[] = ArrayBuffer.isView(bytes) ? [bytes as Uint8Array] : (bytes as readonly Uint8Array[]);
  if (!Array.isArray(parts) || !parts.every((p) => p instanceof Uint8Array)) {
    throw new CodecError('decodeChunk takes a Uint8Array or a list of Uint8Arrays');
  }
  const total = partsByteLength(parts);
  checkStream(parts, total);

  let schema: Schema;
  let batches: RecordBatch[];
  try {
    // Non-empty parts only: a zero-length part would look like the end of the stream.
    const source = parts.length === 1 ? parts[0]! : parts.filter((p) => p.byteLength > 0);
    const reader = RecordBatchReader.from(source as Uint8Array).open({ autoDestroy: false });
    schema = reader.schema;
    batches = [];
    for (const b of reader) batches.push(b);
    reader.cancel();
  } catch (err) {
    if (err instanceof CodecError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new CodecError(`not a valid Arrow IPC stream: ${msg}`, { cause: err });
  }
  if (!schema) throw new CodecError('not a valid Arrow IPC stream: no schema message');
  let chunk: Chunk;
  try {
    chunk = chunkFromBatch(schema, batches);
  } catch (err) {
    if (err instanceof CodecError) throw err;
    // Defensive: a malformed stream that apache-arrow accepted but left in a shape we did not expect.
    const msg = err instanceof Error ? err.message : String(err);
    throw new CodecError(`malformed chunk stream: ${msg}`, { cause: err });
  }
  if (expect?.dtype !== undefined && expect.dtype !== chunk.dtype) {
    throw new CodecError(`expected dtype ${expect.dtype}, got ${chunk.dtype}`);
  }
  if (expect?.shape !== undefined && !shapeEquals(expect.shape, chunk.shape)) {
    throw new CodecError(`expected shape ${fmtShape(expect.shape)}, got ${fmtShape(chunk.shape)}`);
  }
  return chunk;
}

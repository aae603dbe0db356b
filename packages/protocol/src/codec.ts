/**
 * The chunk codec: a chunk on the wire is an Arrow IPC *stream* holding one record batch with
 * one column `data` of type FixedSizeList<dtype>[prod(shape)] and exactly one row, so the
 * column's child is the flat C-order data of the chunk.
 *
 * - The field carries the Arrow canonical tensor extension (`ARROW:extension:name =
 *   arrow.fixed_shape_tensor`, `ARROW:extension:metadata = {"shape":[...]}`), so pyarrow and
 *   other Arrow readers see a tensor.
 * - The schema carries `tessera.dtype` and `tessera.shape` (JSON).
 *
 * Zero-copy, both ways:
 * - `chunkToArrow` / `chunkFromArrow` wrap the chunk's own typed array (same ArrayBuffer or
 *   SharedArrayBuffer object) in Arrow `Data` and back.
 * - `encodeChunk` returns the stream as a list of buffers: a small header buffer, the chunk's data
 *   *by reference* (a Uint8Array view over the chunk's own buffer), and a small trailer
 *   (body padding + end-of-stream marker). Only the headers are freshly allocated. This is done by
 *   running apache-arrow's own `RecordBatchStreamWriter` with its byte sink replaced by a list
 *   (the stock writer queues the same views, but its only synchronous way out,
 *   `toUint8Array(true)`, joins them into one new buffer; async iteration yields them unjoined
 *   but forces every encode to be async).
 * - `decodeChunk` returns a typed array that views the input bytes when the body is 8-byte
 *   aligned (Arrow pads every message to 8 bytes, so that means: the input starts at an offset
 *   that is a multiple of 8); apache-arrow copies the body only when it is misaligned.
 *
 * Decoding trusts nothing: before apache-arrow sees the bytes, ipc-verify.ts walks the framing and
 * bounds-checks every header flatbuffer (apache-arrow would loop to OOM on a corrupted vector
 * length); after, every property of the chunk is checked against the metadata.
 */
import {
  Data,
  DataType,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Vector,
  makeData,
} from 'apache-arrow';
import { type Chunk, checkChunk } from './chunk.js';
import { type ChunkData, DTYPES, type Dtype, isComplex, isUnsigned, lanes, realPart, storesDtype } from './dtype.js';
import { CodecError, InvalidArgumentError } from './errors.js';
import { fmtShape, shapeEquals, sizeOf } from './shape.js';

export const CHUNK_COLUMN = 'data';
export const TENSOR_EXTENSION_NAME = 'arrow.fixed_shape_tensor';
export const META_EXTENSION_NAME = 'ARROW:extension:name';
export const META_EXTENSION_METADATA = 'ARROW:extension:metadata';
export const META_DTYPE = 'tessera.dtype';
export const META_SHAPE = 'tessera.shape';

type ArrowValueType = Float64 | Float32 | Int8 | Int16 | Int32 | Int64 | Uint8 | Uint16 | Uint32 | Uint64;
/** The Arrow type of one chunk column. */
export type ChunkArrowType = FixedSizeList<ArrowValueType>;

function arrowValueType(dtype: Dtype): ArrowValueType {
  switch (dtype) {
    case 'float64':
    case 'complex128': // (re, im) pairs: a float64 tensor with a last axis of 2 (Arrow has no complex type)
      return new Float64();
    case 'float32':
    case 'complex64':
      return new Float32();
    case 'int64':
      return new Int64();
    case 'int32':
      return new Int32();
    case 'int16':
      return new Int16();
    case 'int8':
      return new Int8();
    case 'uint64':
      return new Uint64();
    case 'uint32':
      return new Uint32();
    case 'uint16':
      return new Uint16();
    case 'uint8':
    case 'bool': // one byte per element, as numpy stores it (Arrow's Bool is bit-packed); tessera.dtype tells them apart
      return new Uint8();
  }
}

/** Our dtype for an Arrow element type, or a description of the unsupported type. */
function dtypeOfArrow(t: DataType): { dtype: Dtype } | { unsupported: string } {
  if (DataType.isFloat(t)) {
    // Precision: HALF = 0, SINGLE = 1, DOUBLE = 2
    if (t.precision === 2) return { dtype: 'float64' };
    if (t.precision === 1) return { dtype: 'float32' };
  } else if (DataType.isInt(t)) {
    const d = DTYPES.find((x) => x === `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}`);
    if (d && isUnsigned(d) === !t.isSigned) return { dtype: d };
  }
  return { unsupported: String(t) };
}

function tensorField(dtype: Dtype, shape: readonly number[]): Field<ChunkArrowType> {
  // Child field as pyarrow names it (`item`, nullable), so the storage type is exactly
  // pyarrow's `fixed_shape_tensor(value_type, shape).storage_type`.
  const type = new FixedSizeList(sizeOf(shape) * lanes(dtype), new Field('item', arrowValueType(dtype), true));
  const metadata = new Map([
    [META_EXTENSION_NAME, TENSOR_EXTENSION_NAME],
    [META_EXTENSION_METADATA, JSON.stringify({ shape: tensorShapeOf(dtype, shape) })],
  ]);
  return new Field(CHUNK_COLUMN, type, false, metadata);
}

/** The shape of the Arrow tensor that holds a chunk: a complex chunk's pairs are a last axis of 2. */
function tensorShapeOf(dtype: Dtype, shape: readonly number[]): readonly number[] {
  return isComplex(dtype) ? [...shape, 2] : shape;
}

/** The schema of a chunk of `dtype` and `shape` on the wire. */
export function chunkSchema(dtype: Dtype, shape: readonly number[]): Schema {
  const metadata = new Map([
    [META_DTYPE, dtype],
    [META_SHAPE, JSON.stringify(shape)],
  ]);
  return new Schema([tensorField(dtype, shape)], metadata);
}

function assertEncodable(chunk: Chunk): void {
  const problem = checkChunk(chunk);
  if (problem) throw new InvalidArgumentError(`cannot encode chunk: ${problem}`);
}

/**
 * The chunk as Arrow Data of type FixedSizeList<dtype>[prod(shape)] with one row. Zero-copy:
 * the child's values are the chunk's own typed array (same buffer object, shared or not).
 */
export function chunkToArrow(chunk: Chunk): Data<ChunkArrowType> {
  assertEncodable(chunk);
  const n = chunk.data.length;
  const valueType = arrowValueType(chunk.dtype);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- makeData's overloads are per type
  const child = makeData({ type: valueType, length: n, nullCount: 0, data: chunk.data } as any) as unknown as Data<ArrowValueType>;
  const type = new FixedSizeList(n, new Field('item', valueType, true));
  return makeData({ type, length: 1, nullCount: 0, child }) as Data<ChunkArrowType>;
}

/** The chunk as a one-row Arrow record batch with the wire schema (metadata included). */
export function chunkToRecordBatch(chunk: Chunk): RecordBatch {
  const column = chunkToArrow(chunk);
  const schema = chunkSchema(chunk.dtype, chunk.shape);
  const struct = makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children: [column] });
  return new RecordBatch(schema, struct);
}

/**
 * A chunk back from Arrow, zero-copy (the returned data views the Arrow values buffer).
 * - A RecordBatch (or anything with `schema` and `getChildAt`) is validated like a decoded stream,
 *   and its dtype and shape come from its metadata.
 * - Data or a Vector of one FixedSizeList row: `shape` defaults to `[listSize]`.
 */
export function chunkFromArrow(source: RecordBatch | Data | Vector, shape?: readonly number[]): Chunk {
  if (source instanceof RecordBatch) return chunkFromBatch(source.schema, [source], shape);
  let data: Data;
  if (source instanceof Vector) {
    if (source.data.length !== 1) throw new CodecError(`expected a vector of one Arrow Data, got ${source.data.length} chunks`);
    data = source.data[0]!;
  } else {
    data = source;
  }
  if (!DataType.isFixedSizeList(data.type)) throw new CodecError(`expected a FixedSizeList column, got ${String(data.type)}`);
  const n = data.type.listSize;
  const want = shape ?? [n];
  return chunkFromListData(data as Data<FixedSizeList>, want, undefined);
}

function chunkFromListData(col: Data<FixedSizeList>, shape: readonly number[], metaDtype: Dtype | undefined): Chunk {
  const type = col.type;
  const child = col.children[0];
  if (!child) throw new CodecError('FixedSizeList column has no child data');
  const found = dtypeOfArrow(type.valueType);
  if ('unsupported' in found) {
    throw new CodecError(`unsupported element type ${found.unsupported} (supported: ${DTYPES.join(', ')})`);
  }
  const named = metaDtype !== undefined && ((metaDtype === 'bool' && found.dtype === 'uint8') || (isComplex(metaDtype) && realPart(metaDtype) === found.dtype));
  const dtype = named ? metaDtype : found.dtype;
  if (metaDtype !== undefined && metaDtype !== dtype) {
    throw new CodecError(`metadata says dtype ${metaDtype} but the column holds ${dtype} (${String(type.valueType)})`);
  }
  const n = sizeOf(shape) * lanes(dtype);
  if (type.listSize !== n) {
    throw new CodecError(`column is FixedSizeList[${type.listSize}] but shape ${fmtShape(shape)} needs ${n} elements`);
  }
  if (col.length !== 1) throw new CodecError(`column has ${col.length} rows, a chunk is exactly one`);
  if (col.nullCount !== 0) throw new CodecError('the chunk row is null');
  if (child.nullCount !== 0) throw new CodecError(`the data holds ${child.nullCount} nulls; chunks have no nulls`);
  const start = child.offset + col.offset * n;
  if (child.length - col.offset * n < n) {
    throw new CodecError(`data holds ${child.length} elements, shape ${fmtShape(shape)} needs ${n}`);
  }
  const values = child.values as unknown;
  if (!ArrayBuffer.isView(values) || !storesDtype(values, dtype) || (values as ChunkData).length < start + n) {
    throw new CodecError(`data buffer of the column is missing or shorter than ${n} ${dtype} elements`);
  }
  const arr = values as ChunkData;
  const data = start === 0 && arr.length === n ? arr : (arr.subarray(start, start + n) as ChunkData);
  return { dtype, shape: [...shape], data };
}

function parseShapeJson(text: string, where: string): number[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CodecError(`${where} is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (!Array.isArray(v) || !v.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new CodecError(`${where} is not a list of non-negative integers: ${text.slice(0, 80)}`);
  }
  return v as number[];
}

function parseTensorMetadata(text: string): number[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CodecError(`${META_EXTENSION_METADATA} is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof v !== 'object' || v === null || !('shape' in v)) {
    throw new CodecError(`${META_EXTENSION_METADATA} has no "shape": ${text.slice(0, 80)}`);
  }
  const meta = v as { shape: unknown; permutation?: unknown };
  const shape = parseShapeJson(JSON.stringify(meta.shape), `${META_EXTENSION_METADATA} shape`);
  if (meta.permutation !== undefined) {
    const p = meta.permutation;
    if (!Array.isArray(p) || p.length !== shape.length || p.some((x, i) => x !== i)) {
      throw new CodecError(`tensor permutation ${JSON.stringify(p)} is not supported (only C order)`);
    }
  }
  return shape;
}

/** Validate a decoded schema + batches and take the chunk out (zero-copy); codec-stream.ts decodes with it. */
export function chunkFromBatch(schema: Schema, batches: RecordBatch[], shapeHint?: readonly number[]): Chunk {
  if (batches.length === 0) throw new CodecError('the Arrow stream holds no record batch; a chunk is exactly one');
  if (batches.length > 1) throw new CodecError(`the Arrow stream holds ${batches.length} record batches; a chunk is exactly one`);
  const batch = batches[0]!;
  if (schema.fields.length !== 1) {
    throw new CodecError(
      `expected one column "${CHUNK_COLUMN}", got ${schema.fields.length}: [${schema.fields.map((f) => f.name).join(', ')}]`,
    );
  }
  const field = schema.fields[0]!;
  if (field.name !== CHUNK_COLUMN) throw new CodecError(`expected the column to be named "${CHUNK_COLUMN}", got "${field.name}"`);
  if (!DataType.isFixedSizeList(field.type)) {
    throw new CodecError(`column "${CHUNK_COLUMN}" has type ${String(field.type)}, expected FixedSizeList<dtype>[n]`);
  }

  // dtype: from the schema metadata when present (must match the column), else from the column.
  const dtypeText = schema.metadata.get(META_DTYPE);
  let metaDtype: Dtype | undefined;
  if (dtypeText !== undefined) {
    if (!(DTYPES as readonly string[]).includes(dtypeText)) {
      throw new CodecError(`unsupported dtype ${JSON.stringify(dtypeText)} in ${META_DTYPE} (supported: ${DTYPES.join(', ')})`);
    }
    metaDtype = dtypeText as Dtype;
  }

  // shape: tessera.shape and the tensor extension metadata must agree where both are present.
  const shapeText = schema.metadata.get(META_SHAPE);
  const extName = field.metadata.get(META_EXTENSION_NAME);
  const extMeta = field.metadata.get(META_EXTENSION_METADATA);
  if (extName !== undefined && extName !== TENSOR_EXTENSION_NAME) {
    throw new CodecError(`column extension type is ${JSON.stringify(extName)}, expected ${TENSOR_EXTENSION_NAME}`);
  }
  if (extName !== undefined && extMeta === undefined)
    throw new CodecError(`${TENSOR_EXTENSION_NAME} column has no ${META_EXTENSION_METADATA}`);
  const metaShape = shapeText !== undefined ? parseShapeJson(shapeText, META_SHAPE) : undefined;
  const tensorShape = extName !== undefined && extMeta !== undefined ? parseTensorMetadata(extMeta) : undefined;
  if (metaShape && tensorShape && !shapeEquals(tensorShapeOf(metaDtype ?? 'float64', metaShape), tensorShape)) {
    throw new CodecError(`${META_SHAPE} ${fmtShape(metaShape)} disagrees with the tensor extension shape ${fmtShape(tensorShape)}`);
  }
  const complexTensor = tensorShape && metaDtype && isComplex(metaDtype) ? tensorShape.slice(0, -1) : tensorShape;
  const shape = metaShape ?? complexTensor ?? (shapeHint ? [...shapeHint] : undefined);
  if (!shape) throw new CodecError(`no shape: neither ${META_SHAPE} nor ${TENSOR_EXTENSION_NAME} metadata is present`);
  if (shapeHint && !shapeEquals(shapeHint, shape)) {
    throw new CodecError(`expected shape ${fmtShape(shapeHint)}, the metadata says ${fmtShape(shape)}`);
  }
  if (batch.numRows !== 1) throw new CodecError(`the record batch has ${batch.numRows} rows, a chunk is exactly one`);
  const col = batch.data.children[0];
  if (!col) throw new CodecError('the record batch has no column data');
  return chunkFromListData(col as Data<FixedSizeList>, shape, metaDtype);
}

// ---------------------------------------------------------------------------------------------

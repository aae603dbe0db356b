import {
  Field,
  FixedSizeList,
  Float64,
  Float16,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Table,
  makeData,
  tableFromArrays,
  tableToIPC,
  type DataType,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { allocChunk, checkChunk, type Chunk } from './chunk.js';
import {
  META_DTYPE,
  META_EXTENSION_METADATA,
  META_EXTENSION_NAME,
  META_SHAPE,
  TENSOR_EXTENSION_NAME,
  chunkFromArrow,
  chunkSchema,
  chunkToArrow,
  chunkToRecordBatch,
} from './codec.js';
import { decodeChunk, encodeChunk, encodeChunkBytes } from './codec-stream.js';
import { DTYPES, type Dtype, lanes, typedArrayCtor } from './dtype.js';
import { CodecError, deserializeError, serializeError } from './errors.js';
import { sizeOf } from './shape.js';

function filled(dtype: Dtype, shape: number[], shared = false): Chunk {
  const c = shared ? allocChunk(dtype, shape) : { dtype, shape, data: new (typedArrayCtor(dtype))(sizeOf(shape) * lanes(dtype)) };
  const d = c.data;
  for (let i = 0; i < d.length; i++) {
    if (d instanceof BigInt64Array || d instanceof BigUint64Array) d[i] = BigInt.asUintN(64, BigInt(i) * 0x9e3779b97f4a7c15n) & (dtype === 'int64' ? (1n << 63n) - 1n : -1n);
    else d[i] = dtype === 'uint8' ? (i * 7) & 255 : dtype === 'float64' || dtype === 'float32' ? i * 0.5 - 3.25 : i * 1000 - 7;
  }
  return c;
}

/** Does `view` lie inside the memory of `data` (same buffer object, overlapping bytes)? */
function sharesMemory(view: ArrayBufferView, data: ArrayBufferView): boolean {
  return (
    view.buffer === data.buffer &&
    view.byteOffset < data.byteOffset + data.byteLength &&
    data.byteOffset < view.byteOffset + view.byteLength
  );
}

function expectCodecError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a CodecError').toBeInstanceOf(CodecError);
  expect((caught as CodecError).code).toBe('CHUNK_DECODE');
  expect((caught as CodecError).message).toMatch(message);
}

const SHAPES: number[][] = [[], [0, 3], [5], [7], [3, 4], [2, 3, 5], [0]];

describe('chunk codec round trip', () => {
  for (const dtype of DTYPES) {
    for (const shape of SHAPES) {
      it(`${dtype} ${JSON.stringify(shape)} (bytes and parts)`, () => {
        const c = filled(dtype, shape);
        for (const decoded of [decodeChunk(encodeChunkBytes(c)), decodeChunk(encodeChunk(c))]) {
          expect(checkChunk(decoded)).toBeUndefined();
          expect(decoded.dtype).toBe(dtype);
          expect(decoded.shape).toEqual(shape);
          expect(decoded.data).toBeInstanceOf(c.data.constructor);
          expect(Array.from(decoded.data as ArrayLike<number | bigint>)).toEqual(Array.from(c.data as ArrayLike<number | bigint>));
        }
      });
    }
  }

  it('round trips SharedArrayBuffer-backed chunks and chunks that are views into a larger buffer', () => {
    const shared = filled('float32', [4, 4], true);
    expect(shared.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(decodeChunk(encodeChunk(shared)).data as ArrayLike<number | bigint>)).toEqual(Array.from(shared.data as ArrayLike<number | bigint>));
    const big = new Float64Array(100).map((_, i) => i);
    const view: Chunk = { dtype: 'float64', shape: [2, 5], data: big.subarray(13, 23) };
    const back = decodeChunk(encodeChunkBytes(view));
    expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(big.subarray(13, 23)));
  });

  it('checks an expected dtype and shape when asked', () => {
    const bytes = encodeChunkBytes(filled('int32', [2, 2]));
    expect(decodeChunk(bytes, { dtype: 'int32', shape: [2, 2] }).shape).toEqual([2, 2]);
    expectCodecError(() => decodeChunk(bytes, { dtype: 'float64' }), /expected dtype float64, got int32/);
    expectCodecError(() => decodeChunk(bytes, { shape: [4] }), /expected shape \(4,\), got \(2, 2\)/);
  });

  it('refuses to encode a malformed chunk', () => {
    expect(() => encodeChunk({ dtype: 'float64', shape: [3], data: new Float64Array(2) })).toThrow(/needs 3/);
    expect(() => encodeChunk({ dtype: 'float32', shape: [2], data: new Float64Array(2) })).toThrow(/does not match/);
  });
});

describe('zero-copy', () => {
  for (const shared of [false, true]) {
    const kind = shared ? 'SharedArrayBuffer' : 'ArrayBuffer';
    it(`chunkToArrow / chunkFromArrow keep the same ${kind}`, () => {
      for (const dtype of DTYPES) {
        const c = filled(dtype, [3, 4], shared);
        const data = chunkToArrow(c);
        const child = data.children[0]!;
        expect(child.values.buffer).toBe(c.data.buffer);
        expect(child.values.byteOffset).toBe(c.data.byteOffset);
        // Bare Arrow data has no dtype beside it: a complex chunk reads back as its float pairs.
        const back = chunkFromArrow(data, lanes(dtype) === 2 ? [3, 4, 2] : [3, 4]);
        expect(back.data.buffer).toBe(c.data.buffer);
        expect(back.data.byteOffset).toBe(c.data.byteOffset);
        const batchBack = chunkFromArrow(chunkToRecordBatch(c));
        expect(batchBack.shape).toEqual([3, 4]);
        expect(batchBack.data.buffer).toBe(c.data.buffer);
      }
    });

    it(`encodeChunk emits the ${kind} data by reference, not a copy`, () => {
      for (const dtype of DTYPES) {
        const c = filled(dtype, [64, 33], shared);
        const parts = encodeChunk(c);
        const dataParts = parts.filter((p) => sharesMemory(p, c.data));
        expect(dataParts).toHaveLength(1);
        const [part] = dataParts;
        expect(part!.byteOffset).toBe(c.data.byteOffset);
        expect(part!.byteLength).toBe(c.data.byteLength);
        // header, data, trailer (padding + end-of-stream); the small ones are all the new memory
        expect(parts).toHaveLength(3);
        const other = parts.reduce((n, p) => n + (p === part ? 0 : p.byteLength), 0);
        expect(other).toBeLessThan(2048);
        // proof by mutation: a write to the chunk shows through the encoded parts
        const d = c.data;
        if (d instanceof BigInt64Array || d instanceof BigUint64Array) d[0] = 42n;
        else d[0] = 42;
        expect(Number(decodeChunk(encodeChunkBytes({ ...c })).data[0])).toBe(42);
        expect(part![0]).toBe(new Uint8Array(c.data.buffer, c.data.byteOffset, 1)[0]);
      }
    });
  }

  it('decodeChunk views the input bytes when they are aligned', () => {
    for (const dtype of DTYPES) {
      const bytes = encodeChunkBytes(filled(dtype, [10, 10]));
      // put it at an 8-aligned, non-zero offset inside a larger buffer, as a network read might
      const holder = new Uint8Array(bytes.byteLength + 64);
      holder.set(bytes, 16);
      const input = holder.subarray(16, 16 + bytes.byteLength);
      const c = decodeChunk(input);
      expect(sharesMemory(c.data, input)).toBe(true);
      // and it is a live view: a write to the input shows in the chunk
      const before = c.data[0];
      const at = c.data.byteOffset - holder.byteOffset;
      holder[at] = holder[at]! ^ 1;
      expect(c.data[0]).not.toBe(before);
    }
  });

  it('decodeChunk on the parts of encodeChunk views the original data (body = data, no padding)', () => {
    for (const shared of [false, true]) {
      const c = filled('float64', [16, 16], shared);
      const back = decodeChunk(encodeChunk(c));
      expect(back.data.buffer).toBe(c.data.buffer);
      expect(sharesMemory(back.data, c.data)).toBe(true);
    }
  });

  it('decodeChunk copies (once, correctly) when the input is misaligned', () => {
    for (const dtype of ['float64', 'float32', 'int32'] as const) {
      const src = filled(dtype, [9, 7]);
      const bytes = encodeChunkBytes(src);
      const holder = new Uint8Array(bytes.byteLength + 3);
      holder.set(bytes, 3);
      const input = holder.subarray(3);
      const c = decodeChunk(input);
      expect(sharesMemory(c.data, input)).toBe(false);
      expect(c.data.byteOffset % c.data.BYTES_PER_ELEMENT).toBe(0);
      expect(Array.from(c.data as ArrayLike<number | bigint>)).toEqual(Array.from(src.data as ArrayLike<number | bigint>));
    }
  });
});

describe('pyarrow-compatible metadata', () => {
  it('carries the fixed_shape_tensor extension on the field and tessera.* on the schema', () => {
    const bytes = encodeChunkBytes(filled('float32', [2, 3, 4]));
    const reader = RecordBatchReader.from(bytes).open({ autoDestroy: false });
    const schema = reader.schema;
    expect(schema.metadata.get(META_DTYPE)).toBe('float32');
    expect(JSON.parse(schema.metadata.get(META_SHAPE)!)).toEqual([2, 3, 4]);
    expect(schema.fields).toHaveLength(1);
    const field = schema.fields[0]!;
    expect(field.name).toBe('data');
    expect(field.metadata.get('ARROW:extension:name')).toBe('arrow.fixed_shape_tensor');
    expect(JSON.parse(field.metadata.get('ARROW:extension:metadata')!)).toEqual({ shape: [2, 3, 4] });
    const type = field.type as FixedSizeList;
    expect(type).toBeInstanceOf(FixedSizeList);
    expect(type.listSize).toBe(24);
    expect(type.children[0]!.name).toBe('item');
    expect(String(type.valueType)).toBe('Float32');
    const batches = [...reader];
    expect(batches).toHaveLength(1);
    expect(batches[0]!.numRows).toBe(1);
  });

  it('chunkSchema is what goes on the wire', () => {
    const s = chunkSchema('int32', [4]);
    expect(s.metadata.get(META_DTYPE)).toBe('int32');
    expect(s.fields[0]!.metadata.get(META_EXTENSION_NAME)).toBe(TENSOR_EXTENSION_NAME);
  });
});

// ---- building malformed-but-valid Arrow streams ---------------------------------------------

function streamOf(schema: Schema, columns: ReturnType<typeof makeData>[], batches = 1): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  const struct = makeData({ type: new Struct(schema.fields), length: columns[0]?.length ?? 0, nullCount: 0, children: columns });
  for (let i = 0; i < batches; i++) writer.write(new RecordBatch(schema, struct));
  if (batches === 0) writer.reset(undefined, schema);
  writer.finish();
  return writer.toUint8Array(true);
}

function tensorStream(opts: {
  valueType?: DataType;
  values?: ArrayBufferView;
  listSize?: number;
  rows?: number;
  name?: string;
  schemaMeta?: Record<string, string>;
  fieldMeta?: Record<string, string>;
  batches?: number;
}): Uint8Array {
  const valueType = opts.valueType ?? new Float64();
  const rows = opts.rows ?? 1;
  const values = opts.values ?? new Float64Array(6 * rows).map((_, i) => i);
  const listSize = opts.listSize ?? 6;
  const type = new FixedSizeList(listSize, new Field('item', valueType, true));
  const field = new Field(
    opts.name ?? 'data',
    type,
    false,
    new Map(
      Object.entries(
        opts.fieldMeta ?? {
          [META_EXTENSION_NAME]: TENSOR_EXTENSION_NAME,
          [META_EXTENSION_METADATA]: JSON.stringify({ shape: [2, 3] }),
        },
      ),
    ),
  );
  const schema = new Schema([field], new Map(Object.entries(opts.schemaMeta ?? { [META_DTYPE]: 'float64', [META_SHAPE]: '[2,3]' })));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const child = makeData({ type: valueType, length: listSize * rows, nullCount: 0, data: values } as any);
  const col = makeData({ type, length: rows, nullCount: 0, child });
  return streamOf(schema, [col], opts.batches ?? 1);
}

describe('decodeChunk rejects what is not a chunk', () => {
  it('accepts the hand-built reference stream (sanity check for the cases below)', () => {
    const c = decodeChunk(tensorStream({}));
    expect(c).toMatchObject({ dtype: 'float64', shape: [2, 3] });
    expect(Array.from(c.data as ArrayLike<number | bigint>)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reads a pyarrow-style tensor without tessera.* metadata (shape from the extension)', () => {
    const c = decodeChunk(tensorStream({ schemaMeta: {} }));
    expect(c).toMatchObject({ dtype: 'float64', shape: [2, 3] });
  });

  it('empty, garbage and non-Arrow bytes', () => {
    expectCodecError(() => decodeChunk(new Uint8Array(0)), /not an Arrow IPC stream: the input is empty/);
    expectCodecError(() => decodeChunk([]), /the input is empty/);
    expectCodecError(() => decodeChunk(new Uint8Array([1, 2, 3])), /not an Arrow IPC stream: only 3 bytes/);
    expectCodecError(() => decodeChunk(new TextEncoder().encode('{"hello": "this is JSON, not Arrow"}')), /not an Arrow IPC stream/);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    for (let i = 0; i < 50; i++) {
      const junk = new Uint8Array(200).map(rand);
      expectCodecError(() => decodeChunk(junk), /Arrow IPC stream/);
    }
    // continuation marker and a plausible length, then junk
    const fake = new Uint8Array(64).fill(0x5a);
    new DataView(fake.buffer).setInt32(0, -1, true);
    new DataView(fake.buffer).setInt32(4, 32, true);
    expectCodecError(() => decodeChunk(fake), /Arrow IPC stream/);
    expectCodecError(() => decodeChunk('nope' as unknown as Uint8Array), /Uint8Array/);
  });

  it('the Arrow IPC file format', () => {
    const file = tableToIPC(tableFromArrays({ data: new Float64Array(3) }), 'file');
    expectCodecError(() => decodeChunk(file), /\*file\* format/);
  });

  it('truncated bytes, at every length', () => {
    const c = filled('float32', [3, 5]);
    const bytes = encodeChunkBytes(c);
    // The 8-byte end-of-stream marker is all that may go missing (like pyarrow, EOF ends a stream).
    for (let n = 0; n < bytes.byteLength - 8; n++) {
      expectCodecError(() => decodeChunk(bytes.subarray(0, n)), /Arrow IPC stream|record batch|message body|metadata/);
    }
    expect(Array.from(decodeChunk(bytes.subarray(0, bytes.byteLength - 8)).data as ArrayLike<number | bigint>)).toEqual(Array.from(c.data as ArrayLike<number | bigint>));
  });

  it('random corruption never escapes as anything but a CodecError or a well-formed chunk', () => {
    const bytes = encodeChunkBytes(filled('float64', [4, 4]));
    let seed = 99;
    const rand = (n: number) => (seed = (seed * 1664525 + 1013904223) >>> 0) % n;
    for (let i = 0; i < 3000; i++) {
      const b = bytes.slice();
      const flips = 1 + rand(4);
      for (let f = 0; f < flips; f++) b[rand(b.length)] = rand(256);
      try {
        const c = decodeChunk(b);
        expect(checkChunk(c)).toBeUndefined();
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(CodecError);
      }
    }
  });

  it('a valid Arrow stream of a different schema', () => {
    const other = tableToIPC(tableFromArrays({ x: new Float64Array([1, 2]), y: new Int32Array([3, 4]) }), 'stream');
    expectCodecError(() => decodeChunk(other), /expected one column "data", got 2: \[x, y\]/);
    const flat = tableToIPC(tableFromArrays({ data: new Float64Array([1, 2]) }), 'stream');
    expectCodecError(() => decodeChunk(flat), /column "data" has type Float64, expected FixedSizeList/);
    expectCodecError(() => decodeChunk(tensorStream({ name: 'values' })), /named "data", got "values"/);
  });

  it('no record batch, or more than one', () => {
    expectCodecError(() => decodeChunk(tensorStream({ batches: 0 })), /no record batch/);
    expectCodecError(() => decodeChunk(tensorStream({ batches: 2 })), /2 record batches/);
    // (apache-arrow's own reader would yield a zero-row placeholder batch for this one)
    const empty = tableToIPC(new Table(chunkSchema('float64', [2])), 'stream');
    expectCodecError(() => decodeChunk(empty), /no record batch/);
  });

  it('more than one row', () => {
    expectCodecError(() => decodeChunk(tensorStream({ rows: 2 })), /2 rows, a chunk is exactly one/);
  });

  it('dtype / metadata mismatches', () => {
    expectCodecError(
      () => decodeChunk(tensorStream({ schemaMeta: { [META_DTYPE]: 'float32', [META_SHAPE]: '[2,3]' } })),
      /metadata says dtype float32 but the column holds float64/,
    );
    expectCodecError(
      () => decodeChunk(tensorStream({ schemaMeta: { [META_DTYPE]: 'complex256', [META_SHAPE]: '[2,3]' } })),
      /unsupported dtype "complex256"/,
    );
    expectCodecError(
      () => decodeChunk(tensorStream({ schemaMeta: { [META_DTYPE]: 'float64', [META_SHAPE]: '[3,2]' } })),
      /tessera.shape \(3, 2\) disagrees with the tensor extension shape \(2, 3\)/,
    );
    expectCodecError(
      () => decodeChunk(tensorStream({ schemaMeta: { [META_DTYPE]: 'float64', [META_SHAPE]: 'not json' } })),
      /tessera.shape is not JSON/,
    );
    expectCodecError(
      () => decodeChunk(tensorStream({ schemaMeta: { [META_DTYPE]: 'float64', [META_SHAPE]: '[2,-3]' } })),
      /not a list of non-negative integers/,
    );
    expectCodecError(
      () => decodeChunk(tensorStream({ fieldMeta: { [META_EXTENSION_NAME]: 'arrow.uuid' } })),
      /extension type is "arrow.uuid"/,
    );
    expectCodecError(
      () =>
        decodeChunk(
          tensorStream({
            fieldMeta: {
              [META_EXTENSION_NAME]: TENSOR_EXTENSION_NAME,
              [META_EXTENSION_METADATA]: JSON.stringify({ shape: [2, 3], permutation: [1, 0] }),
            },
          }),
        ),
      /permutation \[1,0\] is not supported/,
    );
    expectCodecError(() => decodeChunk(tensorStream({ schemaMeta: {}, fieldMeta: {} })), /no shape/);
  });

  it('length ≠ prod(shape)', () => {
    expectCodecError(
      () => decodeChunk(tensorStream({ schemaMeta: { [META_DTYPE]: 'float64', [META_SHAPE]: '[5]' }, fieldMeta: {} })),
      /FixedSizeList\[6\] but shape \(5,\) needs 5 elements/,
    );
  });

  it('unsupported element type', () => {
    expectCodecError(
      () => decodeChunk(tensorStream({ valueType: new Float16(), values: new Uint16Array(6), schemaMeta: { [META_SHAPE]: '[2,3]' } })),
      /unsupported element type Float16/,
    );
  });

  it('CodecError survives serialisation with its code', () => {
    const back = deserializeError(serializeError(new CodecError('bad bytes')));
    expect(back).toBeInstanceOf(CodecError);
    expect(back.code).toBe('CHUNK_DECODE');
    expect(back.message).toBe('bad bytes');
  });
});

import {
  type Dtype,
  DtypeError,
  InvalidArgumentError,
  type ChunkData,
  dtypeOfData,
  ShapeError,
  castScalar,
  dtypeOf,
  fmtShape,
  isFloat,
  isComplex,
  isWide,
  lanes,
  realPart,
  sizeOf,
  tokenize,
  typedArrayCtor,
} from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { type ChunksSpec, boundaries, normalizeChunks } from './chunks.js';
import { astype, checkDtype } from './elementwise.js';
import { copyBox } from './layout.js';

export interface CreationOptions {
  chunks?: ChunksSpec;
  dtype?: Dtype;
}

export function checkShape(fn: string, shape: unknown): number[] {
  const s = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new InvalidArgumentError(`${fn}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return [...(s as number[])];
}

function isChunkData(v: unknown): v is ChunkData {
  return dtypeOfData(v) !== undefined;
}

/**
 * An array from data in memory: one `from-bytes` task per block, holding that block's bytes
 * (little-endian, C order). A plain number[] becomes float64, a boolean[] bool; `dtype` casts
 * the data as numpy.asarray(data, dtype) does.
 */
export function fromArray(
  data: ChunkData | readonly number[] | readonly boolean[],
  opts: { shape?: readonly number[]; chunks?: ChunksSpec; dtype?: Dtype } = {},
): ChunkedArray {
  const want = opts.dtype === undefined ? undefined : checkDtype('fromArray', opts.dtype);
  const bools = Array.isArray(data) && data.length > 0 && data.every((v) => typeof v === 'boolean');
  const src = bools ? Uint8Array.from(data as boolean[], Number) : Array.isArray(data) ? Float64Array.from(data as number[]) : data;
  if (!isChunkData(src) || (Array.isArray(data) && !bools && !data.every((v) => typeof v === 'number'))) {
    throw new InvalidArgumentError(
      'fromArray: data must be a typed array of a dtype (Float64Array, Float32Array, BigInt64Array, Int32Array, Int16Array, Int8Array, BigUint64Array, Uint32Array, Uint16Array, Uint8Array), number[] or boolean[]',
    );
  }
  const shape = checkShape('fromArray', opts.shape ?? [src.length]);
  // Interleaved (re, im) pairs: a complex dtype, a shape, and a float array of twice its size.
  const pairs = want !== undefined && isComplex(want) && opts.shape !== undefined && src.length === 2 * sizeOf(shape) && dtypeOf(src) === realPart(want);
  if (sizeOf(shape) * (pairs ? 2 : 1) !== src.length) throw new ShapeError(`fromArray: ${src.length} elements cannot have shape ${fmtShape(shape)}`);
  const dtype = pairs ? want : bools ? 'bool' : dtypeOf(src);
  // numpy.asarray(data, dtype): the data as it is stored, then cast (bool: non-zero is true).
  if (want !== undefined && want !== dtype) return astype(fromArray(src, { shape, ...(opts.chunks !== undefined ? { chunks: opts.chunks } : {}) }), want);
  const chunks = normalizeChunks('fromArray', shape, opts.chunks, dtype);
  const starts = chunks.map(boundaries);
  const Ctor = typedArrayCtor(dtype);
  return makeArray({
    label: 'from-bytes',
    op: 'from-bytes',
    shape,
    dtype,
    chunks,
    inputs: [],
    token: tokenize(src),
    block: (index) => {
      const bshape = index.map((b, ax) => chunks[ax]![b]!);
      const out = new Ctor(sizeOf(bshape) * lanes(dtype));
      const [s, b] = pairs ? [[...shape, 2], [...bshape, 2]] : [shape, bshape];
      copyBox(src, s, [...index.map((i, ax) => starts[ax]![i]!), ...(pairs ? [0] : [])], out, b, b.map(() => 0), b);
      return { params: { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) }, deps: [] };
    },
  });
}

/** An array of one value: one `full` task per block. */
export function full(shape: readonly number[] | number, value: number | boolean, opts: CreationOptions = {}): ChunkedArray {
  // numpy: full(shape, True) is bool.
  if (typeof value === 'boolean') return filled('full', shape, Number(value), { dtype: 'bool', ...opts });
  return filled('full', shape, value, opts);
}

function filled(fn: string, shapeIn: readonly number[] | number, value: number, opts: CreationOptions): ChunkedArray {
  const shape = checkShape(fn, shapeIn);
  if (typeof value !== 'number') throw new InvalidArgumentError(`${fn}: value must be a number, got ${String(value)}`);
  // numpy: full(shape, 3) is int64, full(shape, 0.5) float64; zeros and ones are float64.
  const dtype = checkDtype(fn, opts.dtype ?? (fn === 'full' && Number.isInteger(value) ? 'int64' : 'float64'));
  // Like numpy: NaN and ±Infinity fill float arrays; an integer array cannot hold them.
  if (!Number.isFinite(value) && !isFloat(dtype)) throw new InvalidArgumentError(`${fn}: cannot store ${value} in a ${dtype} array`);
  // 64-bit integers wrap in the kernel, from the integer itself (a double of the wrapped value may round).
  const v = isWide(dtype) ? Math.trunc(value) : castScalar(dtype, value);
  const chunks = normalizeChunks(fn, shape, opts.chunks, dtype);
  return makeArray({ label: 'full', op: 'full', shape, dtype, chunks, inputs: [], token: v, block: () => ({ params: { value: v }, deps: [] }) });
}

export function zeros(shape: readonly number[] | number, opts: CreationOptions = {}): ChunkedArray {
  return filled('zeros', shape, 0, opts);
}

export function ones(shape: readonly number[] | number, opts: CreationOptions = {}): ChunkedArray {
  return filled('ones', shape, 1, opts);
}

/**
 * Evenly spaced values in [start, stop), numpy style: `arange(stop)`, `arange(start, stop)`,
 * `arange(start, stop, step)`, each optionally followed by `{ chunks, dtype }`. All-integer
 * arguments give int64 (numpy's default integer on Linux), otherwise float64.
 */
export function arange(stop: number, opts?: CreationOptions): ChunkedArray;
export function arange(start: number, stop: number, opts?: CreationOptions): ChunkedArray;
export function arange(start: number, stop: number, step: number, opts?: CreationOptions): ChunkedArray;
export function arange(...args: (number | CreationOptions | undefined)[]): ChunkedArray {
  while (args.length && args[args.length - 1] === undefined) args.pop();
  const last = args[args.length - 1];
  const opts: CreationOptions = typeof last === 'object' && last !== null ? (args.pop() as CreationOptions) : {};
  if (args.length < 1 || args.length > 3 || !args.every((a) => typeof a === 'number' && Number.isFinite(a))) {
    throw new InvalidArgumentError(`arange: expected (stop), (start, stop) or (start, stop, step) as finite numbers, got ${JSON.stringify(args)}`);
  }
  const nums = args as number[];
  const [start, stop, step] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
  if (step === 0) throw new InvalidArgumentError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = checkDtype('arange', opts.dtype ?? (nums.every(Number.isInteger) ? 'int64' : 'float64'));
  // numpy has no bool fill beyond two elements (False, True); a range of truth values is a comparison.
  if (dtype === 'bool') throw new DtypeError('arange: no ranges of dtype bool (numpy: no fill-function for bool); compare a numeric arange instead');
  const chunks = normalizeChunks('arange', [n], opts.chunks, dtype);
  const starts = boundaries(chunks[0]!);
  return makeArray({
    label: 'arange',
    op: 'arange',
    shape: [n],
    dtype,
    chunks,
    inputs: [],
    token: [start, step],
    block: ([b]) => ({ params: { start: start + starts[b!]! * step, step }, deps: [] }),
  });
}

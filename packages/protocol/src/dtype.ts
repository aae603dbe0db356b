import { z } from 'zod';

/**
 * The element types a chunk may hold, numpy's names. `bool` is stored one byte per element
 * (0 or 1) in a Uint8Array, as numpy stores it.
 * int64 / uint64 are stored in BigInt64Array / BigUint64Array; kernels read them as float64
 * where that is exact and fall back to exact BigInt arithmetic where it is not.
 * complex128 / complex64 are interleaved (re, im) pairs in a Float64Array / Float32Array of twice
 * the element count, numpy's memory layout: `lanes(dtype)` is 2 for them, 1 for the rest.
 */
export const DTYPES = ['float64', 'float32', 'int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8', 'bool', 'complex128', 'complex64'] as const;
export const Dtype = z.enum(DTYPES);
export type Dtype = z.infer<typeof Dtype>;
export type RealDtype = Exclude<Dtype, 'complex128' | 'complex64'>;
const NAMES: ReadonlySet<string> = new Set(DTYPES);
/** Whether a string names a dtype (the dtype rules answer a dtype or a message saying why not). */
export function isDtypeName(s: unknown): s is Dtype {
  return typeof s === 'string' && NAMES.has(s);
}
/** Every dtype but the complex ones: what the real kernels (elementwise programs, reductions, GEMM...) take. */
export const REAL_DTYPES = DTYPES.filter((d): d is RealDtype => d !== 'complex128' && d !== 'complex64');

/** Typed arrays whose elements are JS numbers (every dtype but int64 / uint64). */
export type NumericArray = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;
/** Typed arrays of the 64-bit integer dtypes: their elements are bigints. */
export type WideArray = BigInt64Array | BigUint64Array;
/** What a chunk's data may be. */
export type ChunkData = NumericArray | WideArray;
export type NumericArrayCtor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Int32ArrayConstructor
  | Int16ArrayConstructor
  | Int8ArrayConstructor
  | Uint32ArrayConstructor
  | Uint16ArrayConstructor
  | Uint8ArrayConstructor;
export type ChunkDataCtor = NumericArrayCtor | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

const CTORS: Record<Dtype, ChunkDataCtor> = {
  float64: Float64Array,
  float32: Float32Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint64: BigUint64Array,
  uint32: Uint32Array,
  uint16: Uint16Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  complex128: Float64Array,
  complex64: Float32Array,
};

const SIZES: Record<Dtype, number> = {
  float64: 8, float32: 4, int64: 8, int32: 4, int16: 2, int8: 1, uint64: 8, uint32: 4, uint16: 2, uint8: 1, bool: 1, complex128: 16, complex64: 8,
};

/** Bytes per element (16 for complex128: both halves). */
export function itemsize(dtype: Dtype): number {
  return SIZES[dtype];
}

export function isComplex(dtype: Dtype): dtype is 'complex128' | 'complex64' {
  return dtype === 'complex128' || dtype === 'complex64';
}

/** Typed-array slots per element: 2 for the complex dtypes (re, im), else 1. */
export function lanes(dtype: Dtype): 1 | 2 {
  return isComplex(dtype) ? 2 : 1;
}

/** The real dtype of a complex one's halves (float64 for complex128); a real dtype is its own. */
export function realPart(dtype: Dtype): Dtype {
  return dtype === 'complex128' ? 'float64' : dtype === 'complex64' ? 'float32' : dtype;
}

/** The complex dtype a value of `dtype` becomes (numpy's result_type with complex64): complex64 for float32 and integers up to 16 bits. */
export function complexOf(dtype: Dtype): 'complex128' | 'complex64' {
  if (isComplex(dtype)) return dtype;
  return dtype === 'float32' || (!isFloat(dtype) && bits(dtype) <= 16) ? 'complex64' : 'complex128';
}

export function typedArrayCtor(dtype: Dtype): ChunkDataCtor {
  return CTORS[dtype];
}

/** The dtype a typed array stores (a Uint8Array is uint8), or undefined for one no dtype uses (Uint8ClampedArray, DataView...). */
export function dtypeOfData(data: unknown): Dtype | undefined {
  for (const d of DTYPES) if (data instanceof CTORS[d] && !(data instanceof Uint8ClampedArray)) return d;
  return undefined;
}

/** Whether `data` is the typed array that stores `dtype` (a Uint8Array stores uint8 and bool). */
export function storesDtype(data: unknown, dtype: Dtype): boolean {
  return data instanceof CTORS[dtype] && !(data instanceof Uint8ClampedArray);
}

export function dtypeOf(data: ChunkData): Dtype {
  const d = dtypeOfData(data);
  if (!d) throw new TypeError(`no dtype stores a ${(data as object).constructor.name}`);
  return d;
}

export function isFloat(dtype: Dtype): boolean {
  return dtype === 'float64' || dtype === 'float32';
}

/** Integers and bool: every value is exact in a float64 register (int64 / uint64 where below 2^53). */
export function isInteger(dtype: Dtype): boolean {
  return !isFloat(dtype) && !isComplex(dtype);
}

export function isBool(dtype: Dtype): dtype is 'bool' {
  return dtype === 'bool';
}

export function isUnsigned(dtype: Dtype): boolean {
  return dtype.startsWith('uint');
}

/** int64 and uint64: bigint elements, no exact float64 register for every value. */
export function isWide(dtype: Dtype): dtype is 'int64' | 'uint64' {
  return dtype === 'int64' || dtype === 'uint64';
}

export function isWideData(data: ChunkData): data is WideArray {
  return data instanceof BigInt64Array || data instanceof BigUint64Array;
}

function bits(dtype: Dtype): number {
  return SIZES[dtype] * 8;
}

function intOf(signed: boolean, b: number): Dtype {
  return `${signed ? 'int' : 'uint'}${b}` as Dtype;
}

/**
 * numpy.promote_types over these dtypes: bool gives way to any other type; the same kind keeps the wider; signed with unsigned
 * takes a signed type wider than the unsigned one (uint64 with any signed type is float64); an
 * integer with float32 stays float32 up to 16 bits, else float64.
 */
export function promoteTypes(a: Dtype, b: Dtype): Dtype {
  if (a === b || b === 'bool') return a;
  if (a === 'bool') return b;
  if (isComplex(a) || isComplex(b)) {
    // complex64 holds float32 halves: it stays only beside types float32 holds exactly.
    const [c, o] = isComplex(a) ? [a, b] : [b, a];
    return c === 'complex64' && complexOf(o) === 'complex64' ? 'complex64' : 'complex128';
  }
  if (a === 'float64' || b === 'float64') return 'float64';
  if (isFloat(a) || isFloat(b)) {
    const i = isFloat(a) ? b : a;
    return bits(i) <= 16 ? 'float32' : 'float64';
  }
  const ua = isUnsigned(a), ub = isUnsigned(b);
  if (ua === ub) return bits(a) >= bits(b) ? a : b;
  const [u, s] = ua ? [a, b] : [b, a];
  if (bits(s) > bits(u)) return s;
  return bits(u) >= 64 ? 'float64' : intOf(true, bits(u) * 2);
}

/**
 * numpy (NEP 50) rule for an array combined with a plain JS number: the array's dtype wins
 * unless the number is fractional (or non-finite) and the array is integral, then float64; a bool
 * array with an integer gives numpy's default integer, int64.
 */
export function promoteWithScalar(dtype: Dtype, value: number): Dtype {
  if (isFloat(dtype) || isComplex(dtype)) return dtype;
  if (Number.isInteger(value)) return dtype === 'bool' ? 'int64' : dtype;
  return 'float64';
}

/** numpy's result type for a transcendental function of an integer input (float32 for 8 and 16 bits: no float16 here). */
export function floatResultType(dtype: Dtype): Dtype {
  if (isFloat(dtype) || isComplex(dtype)) return dtype;
  return bits(dtype) <= 16 ? 'float32' : 'float64';
}

/** numpy's accumulator type for sum / prod / cumsum of an integer: the platform long (int64), uint64 for unsigned. */
export function accumulatorType(dtype: Dtype): Dtype {
  if (isFloat(dtype) || isComplex(dtype)) return dtype;
  return isUnsigned(dtype) ? 'uint64' : 'int64';
}

const TWO64 = 18446744073709551616;

/**
 * Cast one JS number to what a dtype stores, wrapping integers the way typed arrays and numpy's
 * integer arithmetic do (NaN and the infinities give 0, as typed-array stores do). int64 and
 * uint64 values are returned as the nearest double of the wrapped value.
 */
export function castScalar(dtype: Dtype, v: number): number {
  switch (dtype) {
    case 'float64':
    case 'complex128': // the real half; the imaginary half is 0
      return v;
    case 'float32':
    case 'complex64':
      return Math.fround(v);
    case 'int32':
      return v | 0;
    case 'int16':
      return (v << 16) >> 16;
    case 'int8':
      return (v << 24) >> 24;
    case 'uint32':
      return v >>> 0;
    case 'uint16':
      return v & 0xffff;
    case 'uint8':
      return v & 255;
    case 'bool':
      return v !== 0 ? 1 : 0; // NaN is true, as numpy's bool(nan)
    case 'int64':
    case 'uint64': {
      if (!Number.isFinite(v)) return 0;
      const t = Math.trunc(v);
      const lo = dtype === 'int64' ? -(2 ** 63) : 0;
      if (t >= lo && t < lo + TWO64) return t + 0;
      return Number((dtype === 'int64' ? BigInt.asIntN : BigInt.asUintN)(64, BigInt(t)));
    }
  }
}

/** What a reader says of float16 data, which has no dtype here (Node 20 has no Float16Array). */
export const NO_FLOAT16 = 'float16, which Tessera lacks (Node 20 has no Float16Array): cast it to float32 first';

/** Any JS number a value may hold, NaN and ±Infinity included (zod's number() refuses NaN). */
export const ScalarValue = z.custom<number>((v) => typeof v === 'number', { message: 'Expected a number' });

import { z } from 'zod';

/** The element types a chunk may hold. Booleans (comparison results) are uint8. */
export const DTYPES = ['float64', 'float32', 'int32', 'uint8'] as const;
export const Dtype = z.enum(DTYPES);
export type Dtype = z.infer<typeof Dtype>;

export type NumericArray = Float64Array | Float32Array | Int32Array | Uint8Array;
export type NumericArrayCtor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Int32ArrayConstructor
  | Uint8ArrayConstructor;

const CTORS: Record<Dtype, NumericArrayCtor> = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint8: Uint8Array,
};

const SIZES: Record<Dtype, number> = { float64: 8, float32: 4, int32: 4, uint8: 1 };

export function itemsize(dtype: Dtype): number {
  return SIZES[dtype];
}

export function typedArrayCtor(dtype: Dtype): NumericArrayCtor {
  return CTORS[dtype];
}

export function dtypeOf(data: NumericArray): Dtype {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  return 'uint8';
}

export function isFloat(dtype: Dtype): boolean {
  return dtype === 'float64' || dtype === 'float32';
}

// Rank in numpy's promotion lattice restricted to our dtypes:
// u8 < i32 < f64 and u8 < f32 < f64, with i32 + f32 -> f64 (float32 cannot hold every int32).
export function promoteTypes(a: Dtype, b: Dtype): Dtype {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  const pair = new Set([a, b]);
  if (pair.has('float32')) return pair.has('int32') ? 'float64' : 'float32';
  return 'int32'; // {uint8, int32}
}

/**
 * numpy (NEP 50) rule for an array combined with a plain JS number: the array's dtype wins
 * unless the number is fractional (or non-finite) and the array is integral, then float64.
 */
export function promoteWithScalar(dtype: Dtype, value: number): Dtype {
  if (isFloat(dtype) || Number.isInteger(value)) return dtype;
  return 'float64';
}

/** numpy's result type for a transcendental function of an integer input (no float16 here). */
export function floatResultType(dtype: Dtype): Dtype {
  if (isFloat(dtype)) return dtype;
  return dtype === 'uint8' ? 'float32' : 'float64';
}

/** Cast one JS number to what a dtype stores (wrapping ints the way typed arrays and numpy do). */
export function castScalar(dtype: Dtype, v: number): number {
  switch (dtype) {
    case 'float64':
      return v;
    case 'float32':
      return Math.fround(v);
    case 'int32':
      return v | 0;
    case 'uint8':
      return v & 255;
  }
}

/** Any JS number a value may hold, NaN and ±Infinity included (zod's number() refuses NaN). */
export const ScalarValue = z.custom<number>((v) => typeof v === 'number', { message: 'Expected a number' });

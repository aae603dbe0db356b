import { DtypeError, InvalidArgumentError, isFloat, type Dtype } from '@tessera/protocol';
import type { ChunkedArray, ChunkedScalar, FullReduceOptions, Operand, ReduceOptions } from './array.js';
import { abs, add, astype, div, elementwise, eq, le, maximum, minimum, mul, ne, sub, where } from './elementwise.js';
import { max, min } from './reductions.js';

/**
 * numpy's elementwise functions beyond arithmetic, by numpy's names in camelCase. Each is one
 * program instruction (fused with its neighbours like any other); the composites at the end
 * (clip, round, isclose, nanToNum, ...) are built from them the way numpy defines them.
 */

const unary =
  (op: Parameters<typeof elementwise>[0]) =>
  (x: ChunkedArray): ChunkedArray =>
    elementwise(op, [x]);
const binary =
  (op: Parameters<typeof elementwise>[0]) =>
  (a: Operand, b: Operand): ChunkedArray =>
    elementwise(op, [a, b]);

// Rounding (float results; integer inputs give float64, as numpy's loops do).
export const floor = unary('floor');
export const ceil = unary('ceil');
export const trunc = unary('trunc');
/** To the nearest integer, halves to even. */
export const rint = unary('rint');
/** -1, 0 or 1 (0 and NaN are their own sign). */
export const sign = unary('sign');
export const square = unary('square');
/** 1/x; for integers numpy's integer reciprocal (0 unless |x| is 1; 0 for 0). */
export const reciprocal = unary('reciprocal');
// Exponents and logarithms.
export const log1p = unary('log1p');
export const expm1 = unary('expm1');
export const log2 = unary('log2');
export const log10 = unary('log10');
export const exp2 = unary('exp2');
// Trigonometric and hyperbolic.
export const tan = unary('tan');
export const arcsin = unary('arcsin');
export const arccos = unary('arccos');
export const arctan = unary('arctan');
export const sinh = unary('sinh');
export const cosh = unary('cosh');
export const arcsinh = unary('arcsinh');
export const arccosh = unary('arccosh');
export const arctanh = unary('arctanh');
export const degrees = unary('degrees');
export const radians = unary('radians');
export const arctan2 = binary('arctan2');
export const hypot = binary('hypot');
export const copysign = binary('copysign');
// Floor division and remainders: Python's sign rules (the remainder has the divisor's sign); fmod is C's.
export const floorDivide = binary('floor_divide');
export const remainder = binary('remainder');
export const mod = remainder;
export const fmod = binary('fmod');
// Predicates and logic (bool results).
export const isnan = unary('isnan');
export const isinf = unary('isinf');
export const isfinite = unary('isfinite');
export const logicalNot = unary('logical_not');
export const logicalAnd = binary('logical_and');
export const logicalOr = binary('logical_or');
export const logicalXor = binary('logical_xor');
// Bitwise (integers only: a float operand is a DtypeError when the expression is built).
export const invert = unary('invert');
export const bitwiseNot = invert;
export const bitwiseAnd = binary('bitwise_and');
export const bitwiseOr = binary('bitwise_or');
export const bitwiseXor = binary('bitwise_xor');
export const leftShift = binary('left_shift');
export const rightShift = binary('right_shift');

/** x is +Infinity / -Infinity. */
export const isposinf = (x: ChunkedArray): ChunkedArray => eq(x, Infinity);
export const isneginf = (x: ChunkedArray): ChunkedArray => eq(x, -Infinity);

/** numpy.clip: values below `lo` become `lo`, above `hi` become `hi` (either may be left out); NaN stays NaN. */
export function clip(x: ChunkedArray, lo?: Operand | null, hi?: Operand | null): ChunkedArray {
  if ((lo === undefined || lo === null) && (hi === undefined || hi === null)) {
    throw new InvalidArgumentError('clip: give at least one of the bounds (lo, hi)');
  }
  let y = x;
  if (lo !== undefined && lo !== null) y = maximum(y, lo);
  if (hi !== undefined && hi !== null) y = minimum(y, hi);
  return y;
}

/**
 * numpy.round (around): to `decimals` places, halves to even (x * 10^d, rint, / 10^d, in x's
 * dtype). Integers are returned as they are for decimals >= 0.
 */
export function round(x: ChunkedArray, decimals = 0): ChunkedArray {
  if (!Number.isInteger(decimals)) throw new InvalidArgumentError(`round: decimals must be an integer, got ${decimals}`);
  if (x.dtype === 'bool') {
    // numpy rounds a bool through a float: round(b) is floating, and other decimals cannot cast back.
    if (decimals === 0) return rint(x);
    throw new DtypeError(`round: a bool array rounds only to 0 decimals, got ${decimals} (numpy cannot cast the float result back to bool)`);
  }
  if (!isFloat(x.dtype)) {
    if (decimals >= 0) return x;
    // numpy rounds integers to tens, hundreds, ... in floating point and casts back.
    const f = 10 ** -decimals;
    return astype(mul(rint(div(x, f)), f), x.dtype);
  }
  if (decimals === 0) return rint(x);
  if (decimals > 0) {
    const f = 10 ** decimals;
    return div(rint(mul(x, f)), f);
  }
  const f = 10 ** -decimals;
  return mul(rint(div(x, f)), f);
}
export const around = round;

export interface IsCloseOptions {
  rtol?: number;
  atol?: number;
  /** NaN equals NaN (default false). */
  equalNan?: boolean;
}

/** A JS boolean scalar as the number it stands for (True is 1). */
const numeric = (o: Operand): ChunkedArray | number => (typeof o === 'boolean' ? Number(o) : o);

/** numpy.isclose: |a - b| <= atol + rtol * |b| where both are finite, a == b elsewhere (infinities). */
export function isclose(aIn: Operand, bIn: Operand, opts: IsCloseOptions = {}): ChunkedArray {
  const a = numeric(aIn);
  const b = numeric(bIn);
  const { rtol = 1e-5, atol = 1e-8, equalNan = false } = opts;
  for (const [n, v] of [['rtol', rtol], ['atol', atol]] as const) {
    if (!(v >= 0)) throw new InvalidArgumentError(`isclose: ${n} must be a non-negative number, got ${v}`);
  }
  if (typeof a === 'number' && typeof b === 'number') throw new InvalidArgumentError('isclose: needs at least one array operand');
  // In floating point, as numpy does (integer differences could wrap).
  const asFloat = (o: ChunkedArray | number): ChunkedArray | number => (typeof o === 'number' || isFloat(o.dtype) ? o : astype(o, 'float64'));
  const x = asFloat(a);
  const y = asFloat(b);
  // A number operand's own tests are numbers: the elementwise op takes them as constants.
  const finite = (o: ChunkedArray | number): Operand => (typeof o === 'number' ? (Number.isFinite(o) ? 1 : 0) : isfinite(o));
  const nan = (o: ChunkedArray | number): Operand => (typeof o === 'number' ? (Number.isNaN(o) ? 1 : 0) : isnan(o));
  const tol = typeof y === 'number' ? Math.abs(y) * rtol + atol : add(mul(abs(y), rtol), atol);
  const r = where(logicalAnd(finite(x), finite(y)), le(abs(sub(x, y)), tol), eq(x, y));
  return equalNan ? logicalOr(r, logicalAnd(nan(x), nan(y))) : r;
}

/** numpy.allclose: whether every element isclose (a bool scalar). */
export function allclose(a: Operand, b: Operand, opts: IsCloseOptions = {}): ChunkedScalar {
  return all(isclose(a, b, opts));
}

/** numpy.all: true where every element is non-zero (NaN counts as true); along axes with `axis`. */
export function all(x: ChunkedArray, opts?: FullReduceOptions): ChunkedScalar;
export function all(x: ChunkedArray, opts: ReduceOptions): ChunkedArray;
export function all(x: ChunkedArray, opts?: ReduceOptions): ChunkedArray {
  return min(ne(x, 0), opts as ReduceOptions);
}

/** numpy.any: true where some element is non-zero. */
export function any(x: ChunkedArray, opts?: FullReduceOptions): ChunkedScalar;
export function any(x: ChunkedArray, opts: ReduceOptions): ChunkedArray;
export function any(x: ChunkedArray, opts?: ReduceOptions): ChunkedArray {
  return max(ne(x, 0), opts as ReduceOptions);
}

export interface NanToNumOptions {
  nan?: number;
  /** Default: the dtype's largest finite value. */
  posinf?: number;
  /** Default: the dtype's most negative finite value. */
  neginf?: number;
}

const FINFO_MAX: Partial<Record<Dtype, number>> = { float64: Number.MAX_VALUE, float32: 3.4028234663852886e38 };

/** numpy.nan_to_num: NaN to `nan` (0), infinities to the largest finite values (or the ones given). */
export function nanToNum(x: ChunkedArray, opts: NanToNumOptions = {}): ChunkedArray {
  const big = FINFO_MAX[x.dtype];
  if (big === undefined) return x; // integers have no NaN or infinity
  const { nan = 0, posinf = big, neginf = -big } = opts;
  return where(isnan(x), nan, where(eq(x, Infinity), posinf, where(eq(x, -Infinity), neginf, x)));
}

import {
  beyondInMemory, binaryCheckedInto, binaryInto, check64InMemory, cosInto, divideInto, sinCosInto, sinInto, W_ADD, W_DIV, W_IFLOORDIV, W_IREM, W_MUL, W_SQUARE, W_SUB,
} from './wasm.js';

/**
 * The block interpreter's instructions: op codes, the rounding that storing into a dtype does, and
 * one tight loop per op over a block of Float64Array registers (program.ts compiles to these).
 */

// Op codes. Plain numbers (not a const enum) so isolatedModules is happy.
export const ADD = 1, SUB = 2, MUL = 3, IMUL = 4, DIV = 5, POW = 6, IPOW = 7, SQUARE = 8, ISQUARE = 9;
export const MAXIMUM = 10, MINIMUM = 11, LT = 12, LE = 13, GT = 14, GE = 15, EQ = 16, NE = 17, WHERE = 18;
export const NEG = 19, ABS = 20, SQRT = 21, EXP = 22, LOG = 23, SIN = 24, COS = 25, TANH = 26, COPY = 27;
/** sin into `out` and cos into `c` of the same operand: one argument reduction for both. */
export const SINCOS = 28;
export const FLOOR = 29, CEIL = 30, TRUNC = 31, RINT = 32, SIGN = 33, RECIPROCAL = 34, IRECIPROCAL = 35;
export const LOG1P = 36, EXPM1 = 37, LOG2 = 38, LOG10 = 39, EXP2 = 40, TAN = 41, ASIN = 42, ACOS = 43, ATAN = 44;
export const SINH = 45, COSH = 46, ASINH = 47, ACOSH = 48, ATANH = 49, DEGREES = 50, RADIANS = 51;
export const ISNAN = 52, ISINF = 53, ISFINITE = 54, NOT = 55, INVERT = 56;
export const FLOORDIV = 57, IFLOORDIV = 58, REM = 59, IREM = 60, FMOD = 61, IFMOD = 62, ATAN2 = 63, HYPOT = 64, COPYSIGN = 65;
export const AND = 66, OR = 67, XOR = 68, BAND = 69, BOR = 70, BXOR = 71, LSHIFT = 72, RSHIFT = 73;
// int64 / uint64 loops in doubles: exact below 2^53, the R_I64 / R_U64 check reports the rest.
export const IPOW64 = 74, INVERT64 = 75, BAND64 = 76, BOR64 = 77, BXOR64 = 78, LSHIFT64 = 79, RSHIFT64 = 80, IFLOORDIV64 = 81;
/** uint32's right shift: `>>` would read values past 2^31 as negative. */
export const URSHIFT = 82;
/** IFLOORDIV, IREM and IFLOORDIV64 by a constant nonzero divisor (held in the step's `c`): no division per element. */
export const IFLOORDIVC = 83, IREMC = 84, IFLOORDIV64C = 85;

// Rounding modes applied after an instruction: what storing into the dtype does in numpy.
export const R_NONE = 0, R_F32 = 1, R_I32 = 2, R_U8 = 3, R_I16 = 6, R_I8 = 7, R_U32 = 8, R_U16 = 9;
/** int64 / uint64: no rounding, a check that the double is the exact value (else the exact path runs). */
export const R_I64 = 10, R_U64 = 11;
/** bool: any non-zero value (NaN included) is true, stored as 1. */
export const R_BOOL = 18;
/**
 * astype from a float to an integer type, as numpy does on x86-64 (cvttsd2si): truncation toward
 * zero; NaN, the infinities and values outside int32 give int32's minimum, of which int16, int8,
 * uint16 and uint8 keep the low bits; int64 likewise with int64's range. (Arithmetic results and
 * casts between integers wrap instead: R_I32, R_U8, ...)
 */
export const R_CAST_I32 = 4, R_CAST_U8 = 5, R_CAST_I16 = 12, R_CAST_I8 = 13, R_CAST_U32 = 14, R_CAST_U16 = 15, R_CAST_I64 = 16, R_CAST_U64 = 17;

/**
 * Set when an int64 / uint64 step (or a load of such data) met a value that a double may not
 * hold exactly: the driver then redoes the tile on the exact path (exact.ts).
 */
let inexact = false;
export function takeInexact(): boolean {
  const was = inexact;
  inexact = false;
  return was;
}
export function markInexact(): void {
  inexact = true;
}

export interface Step {
  op: number;
  a: number;
  b: number;
  c: number;
  out: number;
  round: number;
}

/** numpy integer power: exact square-and-multiply with 32-bit wrapping; negative exponents fall back to float. */
function ipow(x: number, e: number): number {
  if (e < 0) return Math.pow(x, e);
  let r = 1;
  let b = x | 0;
  let k = e;
  while (k > 0) {
    if (k & 1) r = Math.imul(r, b);
    b = Math.imul(b, b);
    k = Math.floor(k / 2);
  }
  return r;
}

/** Run one instruction over n elements of its registers. */
export function runStep(s: Step, regs: Float64Array[], n: number): void {
  const o = regs[s.out]!;
  const a = regs[s.a]!;
  const b = regs[s.b]!;
  if (s.round === R_I64 || s.round === R_U64) {
    // int64 / uint64 arithmetic and its store check in one WebAssembly pass.
    const w = s.op === ADD ? W_ADD : s.op === SUB ? W_SUB : s.op === MUL ? W_MUL : s.op === SQUARE ? W_SQUARE : -1;
    if (w >= 0) {
      if (binaryCheckedInto(w, a, b, o, n, s.round === R_I64)) inexact = true;
      return;
    }
  }
  switch (s.op) {
    // The plain float arithmetic is WebAssembly SIMD (wasm.ts): same IEEE operations, same bits.
    case ADD: binaryInto(W_ADD, a, b, o, n); break;
    case SUB: binaryInto(W_SUB, a, b, o, n); break;
    case MUL: binaryInto(W_MUL, a, b, o, n); break;
    case IMUL: for (let i = 0; i < n; i++) o[i] = Math.imul(a[i]!, b[i]!); break;
    case DIV: binaryInto(W_DIV, a, b, o, n); break;
    case POW: for (let i = 0; i < n; i++) o[i] = Math.pow(a[i]!, b[i]!); break;
    case IPOW: for (let i = 0; i < n; i++) o[i] = ipow(a[i]!, b[i]!); break;
    case SQUARE: binaryInto(W_SQUARE, a, a, o, n); break;
    case ISQUARE: for (let i = 0; i < n; i++) { const x = a[i]!; o[i] = Math.imul(x, x); } break;
    // NaN-propagating, like numpy.maximum/minimum.
    case MAXIMUM: for (let i = 0; i < n; i++) { const x = a[i]!, y = b[i]!; o[i] = x > y || x !== x ? x : y; } break;
    case MINIMUM: for (let i = 0; i < n; i++) { const x = a[i]!, y = b[i]!; o[i] = x < y || x !== x ? x : y; } break;
    case LT: for (let i = 0; i < n; i++) o[i] = a[i]! < b[i]! ? 1 : 0; break;
    case LE: for (let i = 0; i < n; i++) o[i] = a[i]! <= b[i]! ? 1 : 0; break;
    case GT: for (let i = 0; i < n; i++) o[i] = a[i]! > b[i]! ? 1 : 0; break;
    case GE: for (let i = 0; i < n; i++) o[i] = a[i]! >= b[i]! ? 1 : 0; break;
    case EQ: for (let i = 0; i < n; i++) o[i] = a[i]! === b[i]! ? 1 : 0; break;
    case NE: for (let i = 0; i < n; i++) o[i] = a[i]! !== b[i]! ? 1 : 0; break;
    case WHERE: {
      const c = regs[s.c]!;
      for (let i = 0; i < n; i++) o[i] = a[i]! !== 0 ? b[i]! : c[i]!;
      break;
    }
    case NEG: for (let i = 0; i < n; i++) o[i] = -a[i]!; break;
    case ABS: for (let i = 0; i < n; i++) o[i] = Math.abs(a[i]!); break;
    case SQRT: for (let i = 0; i < n; i++) o[i] = Math.sqrt(a[i]!); break;
    case EXP: for (let i = 0; i < n; i++) o[i] = Math.exp(a[i]!); break;
    case LOG: for (let i = 0; i < n; i++) o[i] = Math.log(a[i]!); break;
    // WebAssembly SIMD (wasm.ts), within 1 ulp of Math.sin / Math.cos, which it falls back to past 2^30.
    case SIN: sinInto(a, o, n); break;
    case COS: cosInto(a, o, n); break;
    case SINCOS: {
      const c = regs[s.c]!;
      sinCosInto(a, o, c, n);
      if (s.round !== R_NONE) roundInPlace(c, n, s.round);
      break;
    }
    case TANH: for (let i = 0; i < n; i++) o[i] = Math.tanh(a[i]!); break;
    case COPY: if (o !== a) o.set(a.subarray(0, n)); break;
    default: runMathStep(s, o, a, b, n);
  }
  if (s.round !== R_NONE) roundInPlace(o, n, s.round);
}

function remainder(x: number, y: number): number {
  const r = x % y;
  return r !== 0 && r < 0 !== y < 0 ? r + y : r + 0;
}

/** numpy's rint: to the nearest integer, halves to even (Math.round sends halves up). */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const f64 = new Float64Array(1);
const hi32 = new Uint32Array(f64.buffer, 4, 1);
/** The sign bit, NaN's and -0's included (little-endian: the high word comes second). */
function signbit(x: number): boolean {
  f64[0] = x;
  return hi32[0]! >>> 31 === 1;
}

/**
 * numpy's float divmod (npy_divmod): the floor quotient and the remainder with the divisor's
 * sign, computed from fmod so that q * b + r == a holds as closely as float arithmetic allows
 * (floor(a / b) alone gives floor_divide(1, 0.1) = 10 where numpy gives 9).
 */
function divmod(a: number, b: number, want: 'div' | 'mod'): number {
  let mod = a % b;
  if (b === 0) return want === 'mod' ? mod : a / b;
  let div = (a - mod) / b;
  if (mod !== 0) {
    if (b < 0 !== mod < 0) {
      mod += b;
      div -= 1;
    }
  } else mod = b < 0 ? -0 : 0;
  if (want === 'mod') return mod;
  if (div === 0) return signbit(a / b) ? -0 : 0;
  let q = Math.floor(div);
  if (div - q > 0.5) q += 1;
  return q;
}

/** The rest of numpy's elementwise functions: scalar loops, one per op. */
function runMathStep(s: Step, o: Float64Array, a: Float64Array, b: Float64Array, n: number): void {
  switch (s.op) {
    case FLOOR: for (let i = 0; i < n; i++) o[i] = Math.floor(a[i]!); break;
    case CEIL: for (let i = 0; i < n; i++) o[i] = Math.ceil(a[i]!); break;
    case TRUNC: for (let i = 0; i < n; i++) o[i] = Math.trunc(a[i]!); break;
    case RINT: for (let i = 0; i < n; i++) o[i] = rint(a[i]!); break;
    // numpy: the sign of -0 is 0, of NaN NaN.
    case SIGN: for (let i = 0; i < n; i++) { const x = a[i]!; o[i] = x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : x; } break;
    case RECIPROCAL: for (let i = 0; i < n; i++) o[i] = 1 / a[i]!; break;
    // numpy's integer 1/0 is the most negative int32 (0 once wrapped to uint8).
    case IRECIPROCAL: for (let i = 0; i < n; i++) { const x = a[i]!; o[i] = x === 0 ? s.c : Math.trunc(1 / x); } break;
    case LOG1P: for (let i = 0; i < n; i++) o[i] = Math.log1p(a[i]!); break;
    case EXPM1: for (let i = 0; i < n; i++) o[i] = Math.expm1(a[i]!); break;
    case LOG2: for (let i = 0; i < n; i++) o[i] = Math.log2(a[i]!); break;
    case LOG10: for (let i = 0; i < n; i++) o[i] = Math.log10(a[i]!); break;
    case EXP2: for (let i = 0; i < n; i++) o[i] = Math.pow(2, a[i]!); break;
    case TAN: for (let i = 0; i < n; i++) o[i] = Math.tan(a[i]!); break;
    case ASIN: for (let i = 0; i < n; i++) o[i] = Math.asin(a[i]!); break;
    case ACOS: for (let i = 0; i < n; i++) o[i] = Math.acos(a[i]!); break;
    case ATAN: for (let i = 0; i < n; i++) o[i] = Math.atan(a[i]!); break;
    case SINH: for (let i = 0; i < n; i++) o[i] = Math.sinh(a[i]!); break;
    case COSH: for (let i = 0; i < n; i++) o[i] = Math.cosh(a[i]!); break;
    case ASINH: for (let i = 0; i < n; i++) o[i] = Math.asinh(a[i]!); break;
    case ACOSH: for (let i = 0; i < n; i++) o[i] = Math.acosh(a[i]!); break;
    case ATANH: for (let i = 0; i < n; i++) o[i] = Math.atanh(a[i]!); break;
    case DEGREES: for (let i = 0; i < n; i++) o[i] = a[i]! * (180 / Math.PI); break;
    case RADIANS: for (let i = 0; i < n; i++) o[i] = a[i]! * (Math.PI / 180); break;
    case ISNAN: for (let i = 0; i < n; i++) { const x = a[i]!; o[i] = x !== x ? 1 : 0; } break;
    case ISINF: for (let i = 0; i < n; i++) { const x = a[i]!; o[i] = x === Infinity || x === -Infinity ? 1 : 0; } break;
    case ISFINITE: for (let i = 0; i < n; i++) o[i] = Number.isFinite(a[i]!) ? 1 : 0; break;
    // NaN is true (it is not zero), as in numpy.
    case NOT: for (let i = 0; i < n; i++) o[i] = a[i]! === 0 ? 1 : 0; break;
    case INVERT: for (let i = 0; i < n; i++) o[i] = ~a[i]!; break;
    case FLOORDIV: for (let i = 0; i < n; i++) o[i] = divmod(a[i]!, b[i]!, 'div'); break;
    case REM: for (let i = 0; i < n; i++) o[i] = divmod(a[i]!, b[i]!, 'mod'); break;
    // Integer division by zero is 0 in numpy (with a warning), not an error.
    case IFLOORDIV: binaryInto(W_IFLOORDIV, a, b, o, n); break;
    // Below 2^52 floor(x / y) is exact, so x - floor(x / y) * y is too (and far cheaper than fmod);
    // beyond, fmod of doubles is exact and the divisor's sign is added back where it differs.
    // (WebAssembly SIMD, the same IEEE operations, while every dividend is below 2^52.)
    case IREM:
      if (!beyond(a, n, TWO52)) binaryInto(W_IREM, a, b, o, n);
      else remainders(a, b, o, n);
      break;
    // floor(a / b) is exact for |a| < 2^52 (the quotient's rounding error stays below 1/|b|).
    case IFLOORDIV64:
      if (beyond(a, n, TWO52)) inexact = true;
      binaryInto(W_IFLOORDIV, a, b, o, n);
      break;
    case IFLOORDIVC: divideInto(W_IFLOORDIV, a, s.c, o, n); break;
    case IREMC:
      // b is the divisor's constant register, so the array loop serves past 2^52.
      if (!beyond(a, n, TWO52)) divideInto(W_IREM, a, s.c, o, n);
      else remainders(a, b, o, n);
      break;
    case IFLOORDIV64C:
      if (beyond(a, n, TWO52)) inexact = true;
      divideInto(W_IFLOORDIV, a, s.c, o, n);
      break;
    case FMOD: for (let i = 0; i < n; i++) o[i] = a[i]! % b[i]!; break;
    case IFMOD: for (let i = 0; i < n; i++) { const y = b[i]!; o[i] = y === 0 ? 0 : (a[i]! % y) + 0; } break;
    case ATAN2: for (let i = 0; i < n; i++) o[i] = Math.atan2(a[i]!, b[i]!); break;
    case HYPOT: for (let i = 0; i < n; i++) o[i] = Math.hypot(a[i]!, b[i]!); break;
    case COPYSIGN: for (let i = 0; i < n; i++) { const x = Math.abs(a[i]!); o[i] = signbit(b[i]!) ? -x : x; } break;
    case AND: for (let i = 0; i < n; i++) o[i] = a[i]! !== 0 && b[i]! !== 0 ? 1 : 0; break;
    case OR: for (let i = 0; i < n; i++) o[i] = a[i]! !== 0 || b[i]! !== 0 ? 1 : 0; break;
    case XOR: for (let i = 0; i < n; i++) o[i] = (a[i]! !== 0) !== (b[i]! !== 0) ? 1 : 0; break;
    case BAND: for (let i = 0; i < n; i++) o[i] = a[i]! & b[i]!; break;
    case BOR: for (let i = 0; i < n; i++) o[i] = a[i]! | b[i]!; break;
    case BXOR: for (let i = 0; i < n; i++) o[i] = a[i]! ^ b[i]!; break;
    // numpy: a shift by the type's width or more (or a negative count) gives 0 (or the sign, right).
    case LSHIFT: for (let i = 0; i < n; i++) { const k = b[i]!; o[i] = k >= 0 && k < s.c ? a[i]! << k : 0; } break;
    case RSHIFT: for (let i = 0; i < n; i++) { const x = a[i]!, k = b[i]!; o[i] = k >= 0 && k < s.c ? x >> k : x < 0 ? -1 : 0; } break;
    case URSHIFT: for (let i = 0; i < n; i++) { const k = b[i]!; o[i] = k >= 0 && k < 32 ? a[i]! >>> k : 0; } break;
    default: runWideStep(s, o, a, b, n);
  }
}

const TWO32 = 4294967296;
/** 64-bit bitwise ops on doubles below 2^53: the 32-bit halves separately (a high half fits 22 bits). */
function bitwise64(op: number, x: number, y: number): number {
  const hx = Math.floor(x / TWO32), hy = Math.floor(y / TWO32);
  const lx = x - hx * TWO32, ly = y - hy * TWO32;
  const h = op === BAND64 ? hx & hy : op === BOR64 ? hx | hy : hx ^ hy;
  const l = op === BAND64 ? lx & ly : op === BOR64 ? lx | ly : lx ^ ly;
  return h * TWO32 + (l >>> 0);
}

/** Square-and-multiply in doubles; the R_I64 check catches any product past 2^53. */
function ipow64(x: number, e: number): number {
  if (e < 0) return 0;
  let r = 1, b = x, k = e;
  while (k > 0) {
    if (k % 2 === 1) r *= b;
    k = Math.floor(k / 2);
    if (k > 0) b *= b;
    if (Math.abs(b) >= 9007199254740992 && k > 0) { inexact = true; return r * b; }
  }
  return r;
}

function runWideStep(s: Step, o: Float64Array, a: Float64Array, b: Float64Array, n: number): void {
  switch (s.op) {
    case IPOW64: for (let i = 0; i < n; i++) o[i] = ipow64(a[i]!, b[i]!); break;
    case INVERT64: for (let i = 0; i < n; i++) o[i] = -a[i]! - 1; break;
    case BAND64: case BOR64: case BXOR64: for (let i = 0; i < n; i++) o[i] = bitwise64(s.op, a[i]!, b[i]!); break;
    // Past 2^53 the check sends the tile to the exact path, which wraps as numpy does.
    case LSHIFT64: for (let i = 0; i < n; i++) { const k = b[i]!; o[i] = k >= 0 && k < 64 ? a[i]! * 2 ** k : 0; } break;
    case RSHIFT64: for (let i = 0; i < n; i++) { const x = a[i]!, k = b[i]!; o[i] = k >= 0 && k < 64 ? Math.floor(x / 2 ** k) : x < 0 ? -1 : 0; } break;
    default: throw new Error(`elementwise: bad op code ${s.op}`);
  }
}

/** What storing into the dtype does: round to nearest float32, wrap modulo 2^bits, or (64 bits) check exactness. */
export function roundInPlace(o: Float64Array, n: number, mode: number): void {
  switch (mode) {
    case R_F32: for (let i = 0; i < n; i++) o[i] = Math.fround(o[i]!); break;
    case R_I32: for (let i = 0; i < n; i++) o[i] = o[i]! | 0; break;
    case R_I16: for (let i = 0; i < n; i++) o[i] = (o[i]! << 16) >> 16; break;
    case R_I8: for (let i = 0; i < n; i++) o[i] = (o[i]! << 24) >> 24; break;
    case R_U32: for (let i = 0; i < n; i++) o[i] = o[i]! >>> 0; break;
    case R_U16: for (let i = 0; i < n; i++) o[i] = o[i]! & 0xffff; break;
    case R_U8: for (let i = 0; i < n; i++) o[i] = o[i]! & 255; break;
    case R_BOOL: for (let i = 0; i < n; i++) o[i] = o[i] !== 0 ? 1 : 0; break;
    // An integer has no -0 (float multiplication makes one of 0 * -5): zeros are stored as +0.
    case R_I64: case R_U64: {
      const bad = check64InMemory(o, n, mode === R_I64);
      if (bad === true) inexact = true;
      else if (bad === undefined) check64(o, n, mode === R_I64);
      break;
    }
    case R_CAST_I32: for (let i = 0; i < n; i++) o[i] = castToInt32(o[i]!); break;
    case R_CAST_I16: for (let i = 0; i < n; i++) o[i] = (castToInt32(o[i]!) << 16) >> 16; break;
    case R_CAST_I8: for (let i = 0; i < n; i++) o[i] = (castToInt32(o[i]!) << 24) >> 24; break;
    case R_CAST_U16: for (let i = 0; i < n; i++) o[i] = castToInt32(o[i]!) & 0xffff; break;
    case R_CAST_U8: for (let i = 0; i < n; i++) o[i] = castToInt32(o[i]!) & 255; break;
    // Through int64 and its low 32 bits (what C's (uint32_t) cast compiles to on x86-64).
    case R_CAST_U32: for (let i = 0; i < n; i++) { const x = o[i]!; const t = Math.trunc(x); o[i] = t > -9007199254740992 && t < 9007199254740992 ? t >>> 0 : 0; } break;
    case R_CAST_I64: for (let i = 0; i < n; i++) { const t = Math.trunc(o[i]!); o[i] = t >= -9223372036854775808 && t < 9223372036854775808 ? t + 0 : -9223372036854775808; } break;
    case R_CAST_U64: for (let i = 0; i < n; i++) o[i] = castToUint64(o[i]!); break;
  }
}

/** check64InMemory in JS, for registers outside linear memory. */
function check64(o: Float64Array, n: number, signed: boolean): void {
  for (let i = 0; i < n; i++) {
    const x = o[i]!;
    if (!(x < 9007199254740992 && (signed ? x > -9007199254740992 : x >= 0))) inexact = true;
    else if (x === 0) o[i] = 0;
  }
}

const TWO52 = 4503599627370496;
/** numpy's integer remainder, any dividend: below 2^52 through floor, beyond it through fmod (exact). */
function remainders(a: Float64Array, b: Float64Array, o: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = a[i]!, y = b[i]!;
    o[i] = y === 0 ? 0 : x < TWO52 && x > -TWO52 ? x - Math.floor(x / y) * y + 0 : remainder(x, y);
  }
}
/** Whether some |a[i]| (i < n) is not below limit (NaN included). */
function beyond(a: Float64Array, n: number, limit: number): boolean {
  const r = beyondInMemory(a, n, limit);
  if (r !== undefined) return r;
  for (let i = 0; i < n; i++) if (!(Math.abs(a[i]!) < limit)) return true;
  return false;
}

function castToInt32(x: number): number {
  const t = Math.trunc(x);
  return t >= -2147483648 && t <= 2147483647 ? t : -2147483648;
}

/** numpy's float -> uint64 on x86-64: in range truncates; negatives wrap, which a double cannot hold (exact path). */
function castToUint64(x: number): number {
  const t = Math.trunc(x);
  if (t >= 0 && t < 18446744073709551616) return t + 0;
  inexact = true;
  return t;
}

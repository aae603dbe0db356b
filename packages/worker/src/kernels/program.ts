import { castScalar, type Dtype, type ElementwiseParams } from '@tessera/protocol';
import { binaryInto, cosInto, sinCosInto, sinInto, TILE, W_ADD, W_DIV, W_MUL, W_SQUARE, W_SUB, wasmRegister } from './wasm.js';

/**
 * A fused elementwise program compiled for the block interpreter (numexpr style): every value
 * lives in a Float64Array register of BLOCK elements; each instruction is one tight monomorphic
 * loop over a block, chosen by a switch outside the element loop. No JS source is generated.
 */

/** Elements per register: one WebAssembly tile. */
export const BLOCK = TILE;

// Op codes. Plain numbers (not a const enum) so isolatedModules is happy.
const ADD = 1, SUB = 2, MUL = 3, IMUL = 4, DIV = 5, POW = 6, IPOW = 7, SQUARE = 8, ISQUARE = 9;
const MAXIMUM = 10, MINIMUM = 11, LT = 12, LE = 13, GT = 14, GE = 15, EQ = 16, NE = 17, WHERE = 18;
const NEG = 19, ABS = 20, SQRT = 21, EXP = 22, LOG = 23, SIN = 24, COS = 25, TANH = 26, COPY = 27;
/** sin into `out` and cos into `c` of the same operand: one argument reduction for both. */
const SINCOS = 28;
const FLOOR = 29, CEIL = 30, TRUNC = 31, RINT = 32, SIGN = 33, RECIPROCAL = 34, IRECIPROCAL = 35;
const LOG1P = 36, EXPM1 = 37, LOG2 = 38, LOG10 = 39, EXP2 = 40, TAN = 41, ASIN = 42, ACOS = 43, ATAN = 44;
const SINH = 45, COSH = 46, ASINH = 47, ACOSH = 48, ATANH = 49, DEGREES = 50, RADIANS = 51;
const ISNAN = 52, ISINF = 53, ISFINITE = 54, NOT = 55, INVERT = 56;
const FLOORDIV = 57, IFLOORDIV = 58, REM = 59, IREM = 60, FMOD = 61, IFMOD = 62, ATAN2 = 63, HYPOT = 64, COPYSIGN = 65;
const AND = 66, OR = 67, XOR = 68, BAND = 69, BOR = 70, BXOR = 71, LSHIFT = 72, RSHIFT = 73;

const UNARY_CODES: Record<string, number> = {
  neg: NEG, abs: ABS, sqrt: SQRT, exp: EXP, log: LOG, sin: SIN, cos: COS, tanh: TANH, astype: COPY,
  floor: FLOOR, ceil: CEIL, trunc: TRUNC, rint: RINT, sign: SIGN, square: SQUARE, reciprocal: RECIPROCAL,
  log1p: LOG1P, expm1: EXPM1, log2: LOG2, log10: LOG10, exp2: EXP2, tan: TAN, arcsin: ASIN, arccos: ACOS, arctan: ATAN,
  sinh: SINH, cosh: COSH, arcsinh: ASINH, arccosh: ACOSH, arctanh: ATANH, degrees: DEGREES, radians: RADIANS,
  isnan: ISNAN, isinf: ISINF, isfinite: ISFINITE, logical_not: NOT, invert: INVERT,
};
const BINARY_CODES: Record<string, number> = {
  add: ADD, sub: SUB, mul: MUL, div: DIV, pow: POW, maximum: MAXIMUM, minimum: MINIMUM,
  lt: LT, le: LE, gt: GT, ge: GE, eq: EQ, ne: NE,
  floor_divide: FLOORDIV, remainder: REM, fmod: FMOD, arctan2: ATAN2, hypot: HYPOT, copysign: COPYSIGN,
  logical_and: AND, logical_or: OR, logical_xor: XOR, bitwise_and: BAND, bitwise_or: BOR, bitwise_xor: BXOR,
  left_shift: LSHIFT, right_shift: RSHIFT,
};
/** Integer variants of ops whose float algorithm differs (division by zero gives 0, as numpy's integer loops). */
const INT_VARIANT: Record<number, number> = { [MUL]: IMUL, [SQUARE]: ISQUARE, [RECIPROCAL]: IRECIPROCAL, [FLOORDIV]: IFLOORDIV, [REM]: IREM, [FMOD]: IFMOD };
/** Ops whose result is exactly representable in their declared dtype: no rounding pass. */
const EXACT = new Set([
  MAXIMUM, MINIMUM, LT, LE, GT, GE, EQ, NE, WHERE, IMUL, ISQUARE,
  FLOOR, CEIL, TRUNC, RINT, SIGN, ISNAN, ISINF, ISFINITE, NOT, AND, OR, XOR, BAND, BOR, BXOR, IREM, IFMOD,
]);
/** Exact for int32 results only: uint8 ones wrap (or, for shifts, are computed in 32 bits first). */
const WRAPS_IN_U8 = new Set([IMUL, ISQUARE, INVERT, LSHIFT]);

// Rounding modes applied after an instruction: what storing into the dtype does in numpy.
export const R_NONE = 0, R_F32 = 1, R_I32 = 2, R_U8 = 3;
/**
 * astype to an integer type, as numpy does on x86-64 (cvttsd2si): truncation toward zero, and
 * NaN, the infinities and values outside int32 give int32's minimum; uint8 keeps the low 8 bits
 * of that int32. (Arithmetic results wrap instead: R_I32 / R_U8.)
 */
export const R_CAST_I32 = 4, R_CAST_U8 = 5;

export interface Step {
  op: number;
  a: number;
  b: number;
  c: number;
  out: number;
  round: number;
}

export interface Compiled {
  steps: Step[];
  nregs: number;
  /** Register of each task input, -1 when the program never reads it. */
  inputReg: number[];
  consts: { reg: number; value: number }[];
  /** Register holding the program's value (an input register for an empty program). */
  result: number;
}

function roundMode(dtype: Dtype): number {
  return dtype === 'float32' ? R_F32 : dtype === 'int32' ? R_I32 : dtype === 'uint8' ? R_U8 : R_NONE;
}

/**
 * Compile a program. Inputs and constants get fixed registers (input registers may alias input
 * chunk memory, so they are never written); instruction results reuse registers freed after
 * their last use. An empty program passes input 0 through (used by reduce-partial).
 */
export function compile(program: ElementwiseParams['program'], ninputs: number): Compiled {
  let nregs = 0;
  const inputReg = new Array<number>(ninputs).fill(-1);
  const consts: { reg: number; value: number }[] = [];
  const constReg = new Map<string, number>();
  const lastUse = new Array<number>(program.length).fill(-1);
  program.forEach((ins, i) => {
    for (const o of ins.args) {
      if ('ref' in o) {
        if (o.ref >= i) throw new Error(`elementwise: instruction ${i} refers to instruction ${o.ref}, which does not precede it`);
        lastUse[o.ref] = i;
      } else if ('input' in o) {
        if (o.input >= ninputs) throw new Error(`elementwise: instruction ${i} reads input ${o.input}, but the task has ${ninputs} inputs`);
        if (inputReg[o.input] === -1) inputReg[o.input] = nregs++;
      } else {
        const v = castScalar(o.dtype, o.const);
        const k = Object.is(v, -0) ? '-0' : String(v);
        if (!constReg.has(k)) {
          constReg.set(k, nregs);
          consts.push({ reg: nregs++, value: v });
        }
      }
    }
  });
  if (program.length === 0) {
    if (ninputs < 1) throw new Error('elementwise: an empty program needs an input');
    if (inputReg[0] === -1) inputReg[0] = nregs++;
    return { steps: [], nregs, inputReg, consts, result: inputReg[0]! };
  }
  const free: number[] = [];
  const valReg = new Array<number>(program.length);
  const steps: Step[] = [];
  const partner = sinCosPairs(program);
  const aliased = new Set<number>(); // instructions whose value is an input's register
  const regOf = (o: ElementwiseParams['program'][number]['args'][number]): number => {
    if ('ref' in o) return valReg[o.ref]!;
    if ('input' in o) return inputReg[o.input]!;
    const v = castScalar(o.dtype, o.const);
    return constReg.get(Object.is(v, -0) ? '-0' : String(v))!;
  };
  program.forEach((ins, i) => {
    const want = ins.op === 'where' ? 3 : ins.op in UNARY_CODES ? 1 : 2;
    if (ins.args.length !== want) throw new Error(`elementwise: instruction ${i} (${ins.op}) takes ${want} operands, got ${ins.args.length}`);
    const regs = ins.args.map(regOf);
    // Free operands whose last use is here first: loops are index-aligned, so out may alias an operand.
    ins.args.forEach((o) => {
      if ('ref' in o && lastUse[o.ref] === i && !aliased.has(o.ref) && !free.includes(valReg[o.ref]!)) free.push(valReg[o.ref]!);
    });
    const p = partner[i]!;
    if (p >= 0 && p < i) return; // computed with its partner (valReg[i] was set there)
    if (ins.op === 'astype' && roundMode(ins.dtype) === R_NONE && 'input' in ins.args[0]!) {
      // A float64 cast of an input (a reduction straight over a source) changes no value: the
      // input's register stands for it (input registers are never written or freed).
      valReg[i] = regs[0]!;
      aliased.add(i);
      return;
    }
    const out = free.length ? free.pop()! : nregs++;
    valReg[i] = out;
    if (p > i) {
      // The partner's register is taken now and held until its value's last use, like any other.
      const other = free.length ? free.pop()! : nregs++;
      valReg[p] = other;
      const [sinReg, cosReg] = ins.op === 'sin' ? [out, other] : [other, out];
      steps.push({ op: SINCOS, a: regs[0]!, b: regs[0]!, c: cosReg, out: sinReg, round: roundMode(ins.dtype) });
      return;
    }
    const isInt = ins.dtype === 'int32' || ins.dtype === 'uint8';
    let op = ins.op === 'where' ? WHERE : (UNARY_CODES[ins.op] ?? BINARY_CODES[ins.op]!);
    const [a = 0, , c = 0] = regs;
    let b = regs[1] ?? 0;
    if (isInt) op = INT_VARIANT[op] ?? op;
    if (op === POW) {
      const e = ins.args[1]!;
      if ('const' in e && castScalar(e.dtype, e.const) === 2) {
        op = isInt ? ISQUARE : SQUARE;
        b = a;
      } else if (isInt) op = IPOW;
    }
    const cast = op === COPY && (ins.dtype === 'int32' || ins.dtype === 'uint8');
    const round = cast
      ? ins.dtype === 'int32' ? R_CAST_I32 : R_CAST_U8
      : EXACT.has(op) && !(WRAPS_IN_U8.has(op) && ins.dtype === 'uint8') ? R_NONE : roundMode(ins.dtype);
    // Shifts need the width of the result type: it rides in `c`.
    steps.push({ op, a, b, c: op === LSHIFT || op === RSHIFT ? (ins.dtype === 'uint8' ? 8 : 32) : c, out, round });
  });
  return { steps, nregs, inputReg, consts, result: valReg[program.length - 1]! };
}

/**
 * sin and cos of the same operand (sin(y)**2 + cos(y)**2, rotations): partner[i] = j pairs the
 * first such sin with the first such cos, both ways; -1 elsewhere. The pair is computed by one
 * SINCOS step at the earlier of the two.
 */
function sinCosPairs(program: ElementwiseParams['program']): number[] {
  const partner = new Array<number>(program.length).fill(-1);
  const key = (ins: ElementwiseParams['program'][number]): string => {
    const o = ins.args[0]!;
    return `${'ref' in o ? `r${o.ref}` : 'input' in o ? `i${o.input}` : 'c'}:${ins.dtype}`;
  };
  const open = new Map<string, number>(); // operand key of an unpaired sin / cos -> its index
  program.forEach((ins, i) => {
    if (ins.op !== 'sin' && ins.op !== 'cos') return;
    const k = key(ins);
    if (k.startsWith('c')) return;
    const want = `${ins.op === 'sin' ? 'cos' : 'sin'}|${k}`;
    const j = open.get(want);
    if (j !== undefined) {
      partner[i] = j;
      partner[j] = i;
      open.delete(want);
    } else if (!open.has(`${ins.op}|${k}`)) open.set(`${ins.op}|${k}`, i);
  });
  return partner;
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
    case IRECIPROCAL: for (let i = 0; i < n; i++) { const x = a[i]!; o[i] = x === 0 ? -2147483648 : Math.trunc(1 / x); } break;
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
    case IFLOORDIV: for (let i = 0; i < n; i++) { const y = b[i]!; o[i] = y === 0 ? 0 : Math.floor(a[i]! / y); } break;
    case IREM: for (let i = 0; i < n; i++) { const x = a[i]!, y = b[i]!; o[i] = y === 0 ? 0 : x - Math.floor(x / y) * y; } break;
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
    default: throw new Error(`elementwise: bad op code ${s.op}`);
  }
}

/** What storing into a float32 / int32 / uint8 does: round to nearest float32, wrap modulo 2^32 / 2^8. */
export function roundInPlace(o: Float64Array, n: number, mode: number): void {
  if (mode === R_F32) for (let i = 0; i < n; i++) o[i] = Math.fround(o[i]!);
  else if (mode === R_I32) for (let i = 0; i < n; i++) o[i] = o[i]! | 0;
  else if (mode === R_U8) for (let i = 0; i < n; i++) o[i] = o[i]! & 255;
  else if (mode === R_CAST_I32) for (let i = 0; i < n; i++) o[i] = castToInt32(o[i]!);
  else if (mode === R_CAST_U8) for (let i = 0; i < n; i++) o[i] = castToInt32(o[i]!) & 255;
}

function castToInt32(x: number): number {
  const t = Math.trunc(x);
  return t >= -2147483648 && t <= 2147483647 ? t : -2147483648;
}

// Scratch registers, shared by all tasks of this thread (kernels run synchronously, never nested).
// In WebAssembly memory while it has room, so WASM kernels work on them in place.
const pool: Float64Array[] = [];

export function scratch(count: number): Float64Array[] {
  while (pool.length < count) pool.push(wasmRegister() ?? new Float64Array(BLOCK));
  return pool.slice(0, count);
}

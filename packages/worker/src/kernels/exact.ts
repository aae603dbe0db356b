import { castScalar, isUnsigned, isWide, type Dtype, type ElementwiseParams } from '@tessera/protocol';

/**
 * The exact path of a fused program over 64-bit integers: one element at a time, int64 / uint64
 * instructions in BigInt arithmetic wrapped to 64 bits as numpy's integer loops wrap, every other
 * instruction through the float interpreter's own step (so its semantics are written once). The
 * block driver takes this path only for a tile whose float64 evaluation was not exact (a value or
 * a result at or beyond 2^53), so BigInt objects never sit in the hot loop of ordinary data.
 */

export type Exact = number | bigint;
type Program = ElementwiseParams['program'];
type Ins = Program[number];

/** Runs one non-wide instruction on plain numbers (the float interpreter, one element). */
export type ScalarStep = (i: number, args: number[]) => number;

const M64 = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

function wrap(dtype: Dtype, v: bigint): bigint {
  return isUnsigned(dtype) ? v & M64 : BigInt.asIntN(64, v);
}

function big(v: Exact): bigint {
  if (typeof v === 'bigint') return v;
  return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
}

function num(v: Exact): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** numpy's float -> int64 / uint64 cast as x86-64 does it (cvttsd2si: invalid values give 2^63's bit pattern). */
function castFloat(dtype: Dtype, x: number): bigint {
  if (dtype === 'int64') return x >= -(2 ** 63) && x < 2 ** 63 ? BigInt(Math.trunc(x)) : I64_MIN;
  if (x >= 0 && x < 2 ** 64) return BigInt(Math.trunc(x));
  if (x < 0 && x >= -(2 ** 63)) return BigInt(Math.trunc(x)) & M64;
  return x === Infinity || x >= 2 ** 64 ? 0n : 1n << 63n;
}

function ipow(b: bigint, e: bigint, dtype: Dtype): bigint {
  let r = 1n;
  let x = b;
  let k = e;
  while (k > 0n) {
    if (k & 1n) r = wrap(dtype, r * x);
    x = wrap(dtype, x * x);
    k >>= 1n;
  }
  return r;
}

/** One int64 / uint64 instruction. Division by zero gives 0 (numpy's integer loops, with a warning there). */
function wideOp(ins: Ins, args: Exact[], argIsFloat: boolean[]): bigint {
  const t = ins.dtype;
  if (ins.op === 'astype') return argIsFloat[0] ? castFloat(t, num(args[0]!)) : wrap(t, big(args[0]!));
  if (ins.op === 'where') return wrap(t, big(num(args[0]!) !== 0 ? args[1]! : args[2]!));
  const a = big(args[0]!);
  const b = args.length > 1 ? big(args[1]!) : 0n;
  switch (ins.op) {
    case 'add': return wrap(t, a + b);
    case 'sub': return wrap(t, a - b);
    case 'mul': return wrap(t, a * b);
    case 'square': return wrap(t, a * a);
    case 'neg': return wrap(t, -a);
    case 'abs': return wrap(t, a < 0n ? -a : a);
    case 'sign': return a > 0n ? 1n : a < 0n ? wrap(t, -1n) : 0n;
    case 'maximum': return a > b ? a : b;
    case 'minimum': return a < b ? a : b;
    case 'pow': return b < 0n ? 0n : ipow(a, b, t);
    case 'floor_divide': {
      if (b === 0n) return 0n;
      const q = a / b;
      return wrap(t, (a % b !== 0n) && ((a < 0n) !== (b < 0n)) ? q - 1n : q);
    }
    case 'remainder': {
      if (b === 0n) return 0n;
      const r = a % b;
      return r !== 0n && (r < 0n) !== (b < 0n) ? r + b : r;
    }
    case 'fmod': return b === 0n ? 0n : a % b;
    case 'reciprocal': return a === 0n ? (t === 'int64' ? I64_MIN : 0n) : wrap(t, 1n / a);
    case 'bitwise_and': return wrap(t, a & b);
    case 'bitwise_or': return wrap(t, a | b);
    case 'bitwise_xor': return wrap(t, a ^ b);
    case 'invert': return wrap(t, ~a);
    case 'left_shift': return b < 0n || b >= 64n ? 0n : wrap(t, a << b);
    case 'right_shift': return b < 0n || b >= 64n ? (a < 0n ? -1n : 0n) : a >> b;
    default: throw new Error(`elementwise: ${ins.op} has no ${t} loop`);
  }
}

const COMPARE: Record<string, (a: bigint, b: bigint) => boolean> = {
  lt: (a, b) => a < b, le: (a, b) => a <= b, gt: (a, b) => a > b, ge: (a, b) => a >= b, eq: (a, b) => a === b, ne: (a, b) => a !== b,
};

/** Operand sources of the exact path: an input's value at element e, or a constant. */
export interface ExactInputs {
  /** Value of program input `k` at tile element e. */
  read(k: number, e: number): Exact;
  /** Whether input k holds floats (astype from it follows the float cast). */
  isFloat(k: number): boolean;
}

/**
 * Evaluate the program at tile elements [0, n): `emit(e, value)` receives each result (a bigint
 * when the program's result is int64 / uint64).
 */
export function runExact(program: Program, inputs: ExactInputs, n: number, scalar: ScalarStep, emit: (e: number, v: Exact) => void): void {
  const vals = new Array<Exact>(program.length);
  const floatOf = program.map((ins) => ins.dtype === 'float64' || ins.dtype === 'float32');
  if (program.length === 0) {
    for (let e = 0; e < n; e++) emit(e, inputs.read(0, e));
    return;
  }
  for (let e = 0; e < n; e++) {
    for (let i = 0; i < program.length; i++) {
      const ins = program[i]!;
      const args: Exact[] = [];
      const argFloat: boolean[] = [];
      for (const o of ins.args) {
        if ('ref' in o) { args.push(vals[o.ref]!); argFloat.push(floatOf[o.ref]!); }
        else if ('input' in o) { args.push(inputs.read(o.input, e)); argFloat.push(inputs.isFloat(o.input)); }
        else { args.push(castScalar(o.dtype, o.const)); argFloat.push(o.dtype === 'float64' || o.dtype === 'float32'); }
      }
      const cmp = COMPARE[ins.op];
      if (isWide(ins.dtype)) vals[i] = wideOp(ins, args, argFloat);
      else if (cmp && args.some((x) => typeof x === 'bigint') && !argFloat.some((f) => f)) vals[i] = cmp(big(args[0]!), big(args[1]!)) ? 1 : 0;
      else vals[i] = scalar(i, args.map(num));
    }
    emit(e, vals[program.length - 1]!);
  }
}

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

const UNARY_CODES: Record<string, number> = { neg: NEG, abs: ABS, sqrt: SQRT, exp: EXP, log: LOG, sin: SIN, cos: COS, tanh: TANH, astype: COPY };
const BINARY_CODES: Record<string, number> = {
  add: ADD, sub: SUB, mul: MUL, div: DIV, pow: POW, maximum: MAXIMUM, minimum: MINIMUM,
  lt: LT, le: LE, gt: GT, ge: GE, eq: EQ, ne: NE,
};
/** Ops whose result is exactly representable in their declared dtype: no rounding pass. */
const EXACT = new Set([MAXIMUM, MINIMUM, LT, LE, GT, GE, EQ, NE, WHERE, IMUL, ISQUARE]);

// Rounding modes applied after an instruction: what storing into the dtype does in numpy.
export const R_NONE = 0, R_F32 = 1, R_I32 = 2, R_U8 = 3;

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
    if (op === MUL && isInt) op = IMUL;
    if (op === POW) {
      const e = ins.args[1]!;
      if ('const' in e && castScalar(e.dtype, e.const) === 2) {
        op = isInt ? ISQUARE : SQUARE;
        b = a;
      } else if (isInt) op = IPOW;
    }
    const round = EXACT.has(op) && !(op === ISQUARE && ins.dtype === 'uint8') && !(op === IMUL && ins.dtype === 'uint8') ? R_NONE : roundMode(ins.dtype);
    steps.push({ op, a, b, c, out, round });
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
    default: throw new Error(`elementwise: bad op code ${s.op}`);
  }
  if (s.round !== R_NONE) roundInPlace(o, n, s.round);
}

/** What storing into a float32 / int32 / uint8 does: round to nearest float32, wrap modulo 2^32 / 2^8. */
export function roundInPlace(o: Float64Array, n: number, mode: number): void {
  if (mode === R_F32) for (let i = 0; i < n; i++) o[i] = Math.fround(o[i]!);
  else if (mode === R_I32) for (let i = 0; i < n; i++) o[i] = o[i]! | 0;
  else if (mode === R_U8) for (let i = 0; i < n; i++) o[i] = o[i]! & 255;
}

// Scratch registers, shared by all tasks of this thread (kernels run synchronously, never nested).
// In WebAssembly memory while it has room, so WASM kernels work on them in place.
const pool: Float64Array[] = [];

export function scratch(count: number): Float64Array[] {
  while (pool.length < count) pool.push(wasmRegister() ?? new Float64Array(BLOCK));
  return pool.slice(0, count);
}

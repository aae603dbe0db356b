import { castScalar, isFloat, isWide, type Dtype, type ElementwiseParams } from '@tessera/protocol';
import { TILE, wasmRegister } from './wasm.js';
import {
  ADD, SUB, MUL, IMUL, DIV, POW, IPOW, SQUARE, ISQUARE, MAXIMUM, MINIMUM, LT,
  LE, GT, GE, EQ, NE, WHERE, NEG, ABS, SQRT, EXP, LOG, SIN,
  COS, TANH, COPY, SINCOS, FLOOR, CEIL, TRUNC, RINT, SIGN, RECIPROCAL, IRECIPROCAL, LOG1P,
  EXPM1, LOG2, LOG10, EXP2, TAN, ASIN, ACOS, ATAN, SINH, COSH, ASINH, ACOSH,
  ATANH, DEGREES, RADIANS, ISNAN, ISINF, ISFINITE, NOT, INVERT, FLOORDIV, IFLOORDIV, REM, IREM,
  FMOD, IFMOD, ATAN2, HYPOT, COPYSIGN, AND, OR, XOR, BAND, BOR, BXOR, LSHIFT,
  RSHIFT, IPOW64, INVERT64, BAND64, BOR64, BXOR64, LSHIFT64, RSHIFT64, IFLOORDIV64, URSHIFT, IFLOORDIVC, IREMC, IFLOORDIV64C,
  R_NONE, R_F32, R_I32, R_U8, R_I16, R_I8, R_U32, R_U16, R_I64, R_U64, R_CAST_I32, R_CAST_U8,
  R_CAST_I16, R_CAST_I8, R_CAST_U32, R_CAST_U16, R_CAST_I64, R_CAST_U64, R_BOOL,
  runStep,
  type Step,
} from './steps.js';
export { markInexact, runStep, takeInexact, type Step } from './steps.js';

/**
 * A fused elementwise program compiled for the block interpreter (numexpr style): every value
 * lives in a Float64Array register of BLOCK elements; each instruction is one tight monomorphic
 * loop over a block, chosen by a switch outside the element loop. No JS source is generated.
 */

/** Elements per register: one WebAssembly tile. */
export const BLOCK = TILE;


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
/** The same for int64 / uint64, whose values do not fit Math.imul or JS's 32-bit bitwise operators. */
const WIDE_VARIANT: Record<number, number> = {
  [RECIPROCAL]: IRECIPROCAL, [FLOORDIV]: IFLOORDIV64, [REM]: IREM, [FMOD]: IFMOD, [INVERT]: INVERT64,
  [BAND]: BAND64, [BOR]: BOR64, [BXOR]: BXOR64, [LSHIFT]: LSHIFT64, [RSHIFT]: RSHIFT64,
};
/** Ops whose result is exactly representable in their declared dtype: no rounding pass (IFLOORDIV64: its quotient is below its dividend, which it checks is below 2^52). */
const EXACT = new Set([
  MAXIMUM, MINIMUM, LT, LE, GT, GE, EQ, NE, WHERE, IMUL, ISQUARE,
  FLOOR, CEIL, TRUNC, RINT, SIGN, ISNAN, ISINF, ISFINITE, NOT, AND, OR, XOR, BAND, BOR, BXOR, IREM, IFMOD,
  BAND64, BOR64, BXOR64, RSHIFT64, URSHIFT, IFLOORDIV64,
]);
/** Integer division by a constant: the variant that multiplies by its reciprocal (steps.ts). */
const BY_CONSTANT: Record<number, number> = { [IFLOORDIV]: IFLOORDIVC, [IREM]: IREMC, [IFLOORDIV64]: IFLOORDIV64C };
const constOf = (o: Operand): number | undefined => ('const' in o ? castScalar(o.dtype, o.const) : undefined);
/** Exact for int32 results only: other widths wrap (computed in 32 signed bits first). */
const WRAPS = new Set([IMUL, ISQUARE, INVERT, LSHIFT, BAND, BOR, BXOR]);


const WRAP_MODE: Partial<Record<Dtype, number>> = { float32: R_F32, int64: R_I64, int32: R_I32, int16: R_I16, int8: R_I8, uint64: R_U64, uint32: R_U32, uint16: R_U16, uint8: R_U8, bool: R_BOOL };
const CAST_MODE: Partial<Record<Dtype, number>> = { int64: R_CAST_I64, int32: R_CAST_I32, int16: R_CAST_I16, int8: R_CAST_I8, uint64: R_CAST_U64, uint32: R_CAST_U32, uint16: R_CAST_U16, uint8: R_CAST_U8, bool: R_BOOL };
const WIDTH: Partial<Record<Dtype, number>> = { int64: 64, int32: 32, int16: 16, int8: 8, uint64: 64, uint32: 32, uint16: 16, uint8: 8 };


export interface Compiled {
  steps: Step[];
  nregs: number;
  /** Register of each task input, -1 when the program never reads it. */
  inputReg: number[];
  consts: { reg: number; value: number }[];
  /** Register holding the program's value (an input register for an empty program). */
  result: number;
}

type Operand = ElementwiseParams['program'][number]['args'][number];

/** An operand's dtype: an earlier instruction's, the task input's (float64 when unknown), or the constant's. */
function argDtype(program: ElementwiseParams['program'], inputDtypes: readonly Dtype[], o: Operand): Dtype {
  return 'ref' in o ? program[o.ref]!.dtype : 'input' in o ? (inputDtypes[o.input] ?? 'float64') : o.dtype;
}

function roundMode(dtype: Dtype): number {
  return WRAP_MODE[dtype] ?? R_NONE;
}

/**
 * Compile a program. Inputs and constants get fixed registers (input registers may alias input
 * chunk memory, so they are never written); instruction results reuse registers freed after
 * their last use. An empty program passes input 0 through (used by reduce-partial).
 */
export function compile(program: ElementwiseParams['program'], ninputs: number, inputDtypes: readonly Dtype[] = []): Compiled {
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
  const dtypeOfArg = (o: Operand): Dtype => argDtype(program, inputDtypes, o);
  const regOf = (o: Operand): number => {
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
    const wide = isWide(ins.dtype);
    const isInt = !isFloat(ins.dtype);
    let op = ins.op === 'where' ? WHERE : (UNARY_CODES[ins.op] ?? BINARY_CODES[ins.op]!);
    const [a = 0, , c = 0] = regs;
    let b = regs[1] ?? 0;
    if (wide) op = WIDE_VARIANT[op] ?? op;
    else if (isInt) op = INT_VARIANT[op] ?? op;
    if (op === RSHIFT && ins.dtype === 'uint32') op = URSHIFT;
    if (op === INVERT && ins.dtype === 'bool') op = NOT; // numpy's ~ of a bool is logical not
    if (op === POW) {
      const e = ins.args[1]!;
      if ('const' in e && castScalar(e.dtype, e.const) === 2) {
        op = wide ? SQUARE : isInt ? ISQUARE : SQUARE;
        b = a;
      } else if (isInt) op = wide ? IPOW64 : IPOW;
    }
    const fromFloat = isFloat(dtypeOfArg(ins.args[0]!));
    const cast = op === COPY && isInt && fromFloat;
    const round = cast
      ? CAST_MODE[ins.dtype]!
      : EXACT.has(op) && !(WRAPS.has(op) && ins.dtype !== 'int32') ? R_NONE : roundMode(ins.dtype);
    // Shifts need the width of the result type, reciprocal its 1/0: they ride in `c`.
    const cv = op === LSHIFT || op === RSHIFT || op === URSHIFT ? (WIDTH[ins.dtype] ?? 32) : op === IRECIPROCAL ? (ins.dtype === 'int64' ? -(2 ** 63) : isWide(ins.dtype) || ins.dtype === 'uint32' ? 0 : -2147483648) : c;
    const divisor = BY_CONSTANT[op] === undefined ? undefined : constOf(ins.args[1]!);
    if (divisor !== undefined && divisor !== 0 && Math.abs(divisor) < 2 ** 52) {
      steps.push({ op: BY_CONSTANT[op]!, a, b, c: divisor, out, round });
      return;
    }
    steps.push({ op, a, b, c: cv, out, round });
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

// Scratch registers, shared by all tasks of this thread (kernels run synchronously, never nested).
// In WebAssembly memory while it has room, so WASM kernels work on them in place.
const pool: Float64Array[] = [];

export function scratch(count: number): Float64Array[] {
  while (pool.length < count) pool.push(wasmRegister() ?? new Float64Array(BLOCK));
  return pool.slice(0, count);
}

/**
 * One instruction of `program` evaluated on plain numbers through the interpreter itself (for the
 * exact path, which runs every instruction that is not int64 / uint64 here). Compiled on first use.
 */
export function scalarStepper(program: ElementwiseParams['program'], inputDtypes: readonly Dtype[]): (i: number, args: number[]) => number {
  const cache = new Map<number, { prog: Compiled; regs: Float64Array[] }>();
  const dtypeOfArg = (o: Operand): Dtype => argDtype(program, inputDtypes, o);
  return (i, args) => {
    let c = cache.get(i);
    if (!c) {
      const ins = program[i]!;
      const one = compile([{ op: ins.op, dtype: ins.dtype, args: ins.args.map((_, q) => ({ input: q })) }], ins.args.length, ins.args.map(dtypeOfArg));
      c = { prog: one, regs: Array.from({ length: one.nregs }, () => new Float64Array(1)) };
      cache.set(i, c);
    }
    const { prog, regs } = c;
    prog.inputReg.forEach((r, q) => {
      if (r >= 0) regs[r]![0] = args[q]!;
    });
    for (const st of prog.steps) runStep(st, regs, 1);
    return regs[prog.result]![0]!;
  };
}

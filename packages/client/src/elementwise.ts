import {
  DTYPES,
  Dtype,
  DtypeError,
  type ElementwiseOp,
  type Instruction,
  InvalidArgumentError,
  type Operand as ProgramOperand,
  elementwiseDtypeError,
  elementwiseResultDtype,
  isComplex,
  promoteTypes,
  promoteWithScalar,
} from '@tessera/protocol';
import { complexElementwise, complexOp, imag, real } from './complex.js';
import { ChunkedArray, makeArray, type Operand } from './array.js';
import { align } from './blockwise.js';
import { deferCall, hasUnknownChunks } from './deferred.js';
import { nonzero } from './masking.js';

/**
 * The scalar's dtype inside the program (numpy NEP 50): it takes the dtype of the arrays it meets
 * unless it cannot be represented there (a fraction meeting integers, an integer meeting bools);
 * without arrays, int64 for integers (numpy's default integer on Linux), float64 for fractions,
 * bool for a JS boolean (which gives way to any array's dtype, as numpy's True does).
 */
function constDtype(context: Dtype | undefined, v: number | boolean): Dtype {
  if (typeof v === 'boolean') return context ?? 'bool';
  if (context) return promoteWithScalar(context, v);
  return Number.isInteger(v) ? 'int64' : 'float64';
}

/**
 * One elementwise op over arrays and JS numbers, broadcast numpy-style. It becomes a one-
 * instruction `elementwise` task per block; the optimiser later fuses chains of them.
 */
export function elementwise(op: ElementwiseOp, operands: readonly Operand[], castTo?: Dtype): ChunkedArray {
  if (operands.some((o) => o instanceof ChunkedArray && hasUnknownChunks(o))) {
    // Same shape as the unknown operands: the unknown axes stay unknown.
    return deferCall(op, operands, (ops) => elementwise(op, ops as Operand[], castTo), (_p, first) => first.shape.flatMap((d, i) => (Number.isNaN(d) ? [i + _p.ndim - first.ndim] : [])));
  }
  const arrays: ChunkedArray[] = [];
  for (const o of operands) {
    if (o instanceof ChunkedArray) {
      if (!arrays.includes(o)) arrays.push(o);
    } else if (typeof o !== 'number' && typeof o !== 'boolean') {
      // NaN and ±Infinity are numbers too, and propagate like numpy's.
      throw new InvalidArgumentError(`${op}: operands must be arrays or numbers, got ${String(o)}`);
    }
  }
  if (arrays.length === 0) throw new InvalidArgumentError(`${op}: needs at least one array operand, got only numbers`);
  if (arrays.some((a) => isComplex(a.dtype)) || (castTo !== undefined && isComplex(castTo))) return complexElementwise(op, operands, castTo);
  const al = align(op, arrays);
  // For `where` the condition does not take part in the value's dtype.
  const valueOperands = op === 'where' ? operands.slice(1) : operands;
  const valueArrays = valueOperands.filter((o): o is ChunkedArray => o instanceof ChunkedArray);
  const context = valueArrays.length ? valueArrays.map((a) => a.dtype).reduce(promoteTypes) : undefined;
  const args: ProgramOperand[] = operands.map((o) =>
    o instanceof ChunkedArray ? { input: arrays.indexOf(o) } : { const: Number(o), dtype: constDtype(context, o) },
  );
  const argTypes = args.map((a) => ('input' in a ? arrays[a.input]!.dtype : (a as { dtype: Dtype }).dtype));
  const refused = elementwiseDtypeError(op, argTypes);
  if (refused) throw new DtypeError(`${refused}; operand dtypes ${argTypes.join(', ')}`);
  const dtype = op === 'astype' ? castTo! : elementwiseResultDtype(op, argTypes);
  const program: Instruction[] = [{ op, args, dtype }];
  const views = arrays.map(() => ({}));
  return makeArray({
    label: op,
    op: 'elementwise',
    shape: al.shape,
    dtype,
    chunks: al.chunks,
    inputs: al.arrays,
    token: program,
    block: (index) => ({
      params: { program, inputs: views, domain: index.map((b, ax) => al.chunks[ax]![b]!) },
      deps: al.arrays.map((a, k) => a.key(al.blockOf(k, index))),
    }),
  });
}

const binary = (op: ElementwiseOp) => (a: Operand, b: Operand): ChunkedArray => elementwise(op, [a, b]);
const unary = (op: ElementwiseOp) => (x: ChunkedArray): ChunkedArray => elementwise(op, [x]);

export const add = binary('add');
export const sub = binary('sub');
export const mul = binary('mul');
export const div = binary('div');
export const pow = binary('pow');
export const maximum = binary('maximum');
export const minimum = binary('minimum');
/** Comparisons give bool. */
export const lt = binary('lt');
export const le = binary('le');
export const gt = binary('gt');
export const ge = binary('ge');
export const eq = binary('eq');
export const ne = binary('ne');
export const neg = unary('neg');
export const abs = unary('abs');
export const sqrt = unary('sqrt');
export const exp = unary('exp');
export const log = unary('log');
export const sin = unary('sin');
export const cos = unary('cos');
export const tanh = unary('tanh');

/** `a` where `cond` is true (non-zero), else `b`; with `cond` alone, numpy's nonzero(cond). */
export function where(cond: Operand, a: Operand, b: Operand): ChunkedArray;
export function where(cond: ChunkedArray): ChunkedArray[];
export function where(cond: Operand, ...ab: Operand[]): ChunkedArray | ChunkedArray[] {
  if (ab.length === 0 && cond instanceof ChunkedArray) return nonzero(cond);
  if (ab.length !== 2) throw new InvalidArgumentError(`where: takes a condition alone or with both a and b, got ${ab.length + 1} arguments`);
  const [a, b] = [ab[0]!, ab[1]!];
  if ([a, b].some((o) => o instanceof ChunkedArray && isComplex(o.dtype))) {
    // Complex values: the choice made for each part.
    const part = (f: (x: ChunkedArray) => ChunkedArray, o: Operand): Operand => (o instanceof ChunkedArray ? f(o) : f === imag ? 0 : o);
    return complexOp('make', [elementwise('where', [cond, part(real, a), part(real, b)]), elementwise('where', [cond, part(imag, a), part(imag, b)])]);
  }
  return elementwise('where', [cond, a, b]);
}

export function checkDtype(fn: string, dtype: unknown): Dtype {
  const p = Dtype.safeParse(dtype);
  if (!p.success) throw new DtypeError(`${fn}: unknown dtype ${JSON.stringify(dtype)} (supported: ${DTYPES.join(', ')})`);
  return p.data;
}

export function astype(x: ChunkedArray, dtype: Dtype): ChunkedArray {
  const d = checkDtype('astype', dtype);
  return d === x.dtype ? x : elementwise('astype', [x], d);
}

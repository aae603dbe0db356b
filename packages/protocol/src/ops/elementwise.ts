import { z } from 'zod';
import { Dtype, floatResultType, isFloat, promoteTypes } from '../dtype.js';

export const UNARY_OPS = [
  'neg', 'abs', 'sqrt', 'exp', 'log', 'sin', 'cos', 'tanh', 'astype',
  'floor', 'ceil', 'trunc', 'rint', 'sign', 'square', 'reciprocal',
  'log1p', 'expm1', 'log2', 'log10', 'exp2', 'tan', 'arcsin', 'arccos', 'arctan',
  'sinh', 'cosh', 'arcsinh', 'arccosh', 'arctanh', 'degrees', 'radians',
  'isnan', 'isinf', 'isfinite', 'logical_not', 'invert',
] as const;
export const BINARY_OPS = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'lt', 'le', 'gt', 'ge', 'eq', 'ne',
  'floor_divide', 'remainder', 'fmod', 'arctan2', 'hypot', 'copysign',
  'logical_and', 'logical_or', 'logical_xor', 'bitwise_and', 'bitwise_or', 'bitwise_xor', 'left_shift', 'right_shift',
] as const;
export const TERNARY_OPS = ['where'] as const;
export const ELEMENTWISE_OPS = [...UNARY_OPS, ...BINARY_OPS, ...TERNARY_OPS] as const;

export const ElementwiseOp = z.enum(ELEMENTWISE_OPS);
export type ElementwiseOp = z.infer<typeof ElementwiseOp>;
export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Ops whose result is a truth value: numpy's bool. */
const PREDICATES = new Set<string>(['lt', 'le', 'gt', 'ge', 'eq', 'ne', 'isnan', 'isinf', 'isfinite', 'logical_not', 'logical_and', 'logical_or', 'logical_xor']);
/** Float functions: integer inputs give float64 (uint8: float32, where numpy gives float16). */
const FLOAT_FUNCS = new Set<string>([
  'sqrt', 'exp', 'log', 'sin', 'cos', 'tanh', 'floor', 'ceil', 'trunc', 'rint',
  'log1p', 'expm1', 'log2', 'log10', 'exp2', 'tan', 'arcsin', 'arccos', 'arctan',
  'sinh', 'cosh', 'arcsinh', 'arccosh', 'arctanh', 'degrees', 'radians',
]);
/** Binary float functions: the operands' promoted type, made float. */
const FLOAT_BINARY = new Set<string>(['arctan2', 'hypot', 'copysign']);
/** numpy has no bool loop for these: bool operands run (and give) int8. */
const BOOL_AS_INT8 = new Set<string>(['square', 'reciprocal', 'pow', 'floor_divide', 'remainder', 'fmod', 'left_shift', 'right_shift']);
/** numpy refuses these on bool: `-` is not defined for bools (use `~`, `^` or logical_xor). */
const NO_BOOL = new Set<string>(['neg', 'sub', 'sign']);
/** Bitwise ops: integers only (numpy raises a TypeError for floats). */
export const INTEGER_OPS = new Set<string>(['invert', 'bitwise_and', 'bitwise_or', 'bitwise_xor', 'left_shift', 'right_shift']);
const UNARY = new Set<string>(UNARY_OPS);
const BINARY = new Set<string>(BINARY_OPS);

export function arityOf(op: ElementwiseOp): 1 | 2 | 3 {
  if (UNARY.has(op)) return 1;
  if (BINARY.has(op)) return 2;
  return 3;
}

/** Why numpy would refuse these operand dtypes for `op` (bitwise ops of floats, `-` of bools), or undefined. */
export function elementwiseDtypeError(op: ElementwiseOp, operands: readonly Dtype[]): string | undefined {
  if (NO_BOOL.has(op) && operands.every((d) => d === 'bool')) {
    return `${op} is not supported for bool arrays (numpy: ${op === 'sign' ? "ufunc 'sign' has no bool loop" : 'use bitwise_xor, logical_xor or invert instead'})`;
  }
  if (!INTEGER_OPS.has(op)) return undefined;
  const f = operands.find(isFloat);
  return f === undefined ? undefined : `${op} takes integer arrays, not ${f} (numpy: ufunc '${op}' not supported for the input types)`;
}

/**
 * numpy's result dtype of one elementwise op. For `where` the first operand is the condition.
 * `astype` takes its target from the instruction, not from here.
 */
export function elementwiseResultDtype(op: ElementwiseOp, operands: readonly Dtype[]): Dtype {
  const [a = 'float64', b = a, c = b] = operands;
  if (PREDICATES.has(op)) return 'bool';
  if (BOOL_AS_INT8.has(op) && promoteTypes(a, b) === 'bool') return 'int8';
  if (FLOAT_FUNCS.has(op)) return floatResultType(a);
  if (FLOAT_BINARY.has(op)) return floatResultType(promoteTypes(a, b));
  switch (op) {
    case 'neg':
    case 'abs':
    case 'astype':
    case 'sign':
    case 'square':
    case 'reciprocal':
    case 'invert':
      return a;
    case 'div': {
      const p = promoteTypes(a, b);
      return isFloat(p) ? p : 'float64';
    }
    case 'where':
      return promoteTypes(b, c);
    default:
      return promoteTypes(a, b);
  }
}

/**
 * An operand of an instruction: a task input (after its view is applied), a constant, or the
 * result of an earlier instruction of the same program.
 */
export type Operand = { input: number } | { const: number; dtype: Dtype } | { ref: number };

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

// Checked by hand rather than as a zod union: a union records an issue for every branch that
// does not match, and programs hold many operands in every task of a graph.
function isOperand(v: unknown): v is Operand {
  if (typeof v !== 'object' || v === null) return false;
  const keys = Object.keys(v);
  const o = v as Record<string, unknown>;
  if (keys.length === 1) return (keys[0] === 'input' && isIndex(o.input)) || (keys[0] === 'ref' && isIndex(o.ref));
  return keys.length === 2 && typeof o.const === 'number' && Dtype.safeParse(o.dtype).success;
}

export const Operand = z.custom<Operand>(isOperand, {
  message: 'an operand is {input: i}, {ref: j} or {const: number, dtype}',
});

/** One step of a fused elementwise program; `dtype` is its result dtype (the cast target for astype). */
export const Instruction = z
  .object({ op: ElementwiseOp, args: z.array(Operand).min(1).max(3), dtype: Dtype })
  .strict();
export type Instruction = z.infer<typeof Instruction>;

/** The creation ops cheap enough to regenerate inside a fused task rather than hold in memory. */
export const SOURCE_OPS = ['full', 'arange', 'random'] as const;

/**
 * How a task input is seen by the program: first permuted by `perm` (a transpose that was fused
 * away), then broadcast numpy-style (right-aligned, size-1 axes stretched) to the domain.
 * An input with a `source` is not a dependency: the kernel generates that chunk itself (a
 * creation op fused in, like Dask's blockwise fusion of `random` or `ones`), so it is never held.
 * Inputs without a source take the task's dependencies in order.
 */
export const InputView = z
  .object({
    perm: z.array(z.number().int().nonnegative()).optional(),
    source: z
      .object({
        op: z.enum(SOURCE_OPS),
        params: z.record(z.string(), z.unknown()),
        shape: z.array(z.number().int().nonnegative()),
        dtype: Dtype,
      })
      .strict()
      .optional(),
  })
  .strict();
export type InputView = z.infer<typeof InputView>;
export type SourceSpec = NonNullable<InputView['source']>;

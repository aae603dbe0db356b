import { z } from 'zod';
import { accumulatorType, Dtype, isFloat } from '../dtype.js';

/** isum / iprod: sum and prod of integers, exact modulo 2^64 as numpy's int64 / uint64 accumulators. */
export const REDUCTION_KINDS = ['sum', 'prod', 'isum', 'iprod', 'min', 'max', 'mean', 'var', 'std', 'argmin', 'argmax'] as const;
export const ReductionKind = z.enum(REDUCTION_KINDS);
export type ReductionKind = z.infer<typeof ReductionKind>;

/**
 * Partials are float64 chunks with the reduced axes kept as size 1 and one trailing axis of
 * components, so merging partials is elementwise whatever the grid position they came from:
 *   sum, prod, min, max: [value]
 *   mean:                [count, sum]
 *   var, std:            [count, mean, M2]          (Chan et al. parallel variance)
 *   argmin, argmax:      [value, global index]      (first occurrence wins ties; NaN wins)
 *   isum, iprod:         [hi, lo]                   (the value mod 2^64 is hi * 2^32 + lo, hi an
 *                                                    int32 and lo in [0, 2^32): exact in float64)
 */
export function partialComponents(kind: ReductionKind): number {
  switch (kind) {
    case 'sum':
    case 'prod':
    case 'min':
    case 'max':
      return 1;
    case 'mean':
    case 'argmin':
    case 'argmax':
    case 'isum':
    case 'iprod':
      return 2;
    case 'var':
    case 'std':
      return 3;
  }
}

/** The kind that computes `kind` over `input`: integer sums and products are exact (isum / iprod). */
export function reductionKindFor(kind: ReductionKind, input: Dtype): ReductionKind {
  if (isFloat(input)) return kind;
  return kind === 'sum' ? 'isum' : kind === 'prod' ? 'iprod' : kind;
}

/** Result dtype of a finished reduction, numpy's: integer sums and products are int64 (uint64 for unsigned), indices int64. */
export function reductionResultDtype(kind: ReductionKind, input: Dtype): Dtype {
  switch (kind) {
    case 'min':
    case 'max':
      return input;
    case 'argmin':
    case 'argmax':
      return 'int64';
    case 'sum':
    case 'prod':
    case 'isum':
    case 'iprod':
      return accumulatorType(input);
    case 'mean':
    case 'var':
    case 'std':
      return isFloat(input) ? input : 'float64';
  }
}

/** Reductions with no identity cannot reduce an empty axis (numpy raises too). */
export function needsNonEmpty(kind: ReductionKind): boolean {
  return kind === 'min' || kind === 'max' || kind === 'argmin' || kind === 'argmax';
}

export const ReducePartialSpec = z
  .object({
    kind: ReductionKind,
    /** Axes of the domain being reduced, ascending. */
    axes: z.array(z.number().int().nonnegative()),
    /** argmin/argmax only: the chunk's global start per axis and the whole array's shape. */
    offset: z.array(z.number().int().nonnegative()).optional(),
    fullShape: z.array(z.number().int().nonnegative()).optional(),
  })
  .strict();
export type ReducePartialSpec = z.infer<typeof ReducePartialSpec>;

export const ReduceFinal = z
  .object({ dtype: Dtype, keepdims: z.boolean(), ddof: z.number().int().nonnegative() })
  .strict();
export type ReduceFinal = z.infer<typeof ReduceFinal>;

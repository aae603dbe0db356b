import { z } from 'zod';
import { Dtype, isFloat } from '../dtype.js';

export const REDUCTION_KINDS = ['sum', 'prod', 'min', 'max', 'mean', 'var', 'std', 'argmin', 'argmax'] as const;
export const ReductionKind = z.enum(REDUCTION_KINDS);
export type ReductionKind = z.infer<typeof ReductionKind>;

/**
 * Partials are float64 chunks with the reduced axes kept as size 1 and one trailing axis of
 * components, so merging partials is elementwise whatever the grid position they came from:
 *   sum, prod, min, max: [value]
 *   mean:                [count, sum]
 *   var, std:            [count, mean, M2]          (Chan et al. parallel variance)
 *   argmin, argmax:      [value, global index]      (first occurrence wins ties; NaN wins)
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
      return 2;
    case 'var':
    case 'std':
      return 3;
  }
}

/** Result dtype of a finished reduction (no int64 here, so integer sums and products are float64). */
export function reductionResultDtype(kind: ReductionKind, input: Dtype): Dtype {
  switch (kind) {
    case 'min':
    case 'max':
      return input;
    case 'argmin':
    case 'argmax':
      return 'int32';
    case 'sum':
    case 'prod':
      return input === 'float32' ? 'float32' : 'float64';
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

import {
  type ComplexKind,
  type Dtype,
  DtypeError,
  type ElementwiseOp,
  InvalidArgumentError,
  complexResultDtype,
  isComplex,
  isDtypeName,
  realPart,
} from '@tessera/protocol';
import { ChunkedArray, makeArray, type Operand } from './array.js';
import { align } from './blockwise.js';
import { astype, elementwise } from './elementwise.js';
import { zeros } from './creation.js';

/**
 * Complex arrays (complex64, complex128: interleaved re, im pairs, numpy's layout) and numpy's
 * functions of them: real, imag, conj, angle, and the arithmetic and functions of ELEMENTWISE_KINDS
 * on complex operands. Each is one `complex` task per block (not fused with real programs).
 */

const ELEMENTWISE_KINDS: Partial<Record<ElementwiseOp, ComplexKind>> = {
  add: 'add',
  sub: 'subtract',
  mul: 'multiply',
  div: 'divide',
  neg: 'negative',
  abs: 'abs',
  sqrt: 'sqrt',
  exp: 'exp',
  log: 'log',
  square: 'square',
  reciprocal: 'reciprocal',
  sin: 'sin',
  cos: 'cos',
  tan: 'tan',
  sinh: 'sinh',
  cosh: 'cosh',
  tanh: 'tanh',
  pow: 'power',
  eq: 'equal',
  ne: 'not_equal',
  isnan: 'isnan',
  isfinite: 'isfinite',
};

/** An elementwise op of which some operand (or the cast) is complex: the complex kernel's. */
export function complexElementwise(op: ElementwiseOp, operands: readonly Operand[], castTo?: Dtype): ChunkedArray {
  if (op === 'astype') return castComplex(operands[0] as ChunkedArray, castTo!);
  const kind = ELEMENTWISE_KINDS[op];
  if (!kind) {
    const dtypes = operands.map((o) => (o instanceof ChunkedArray ? o.dtype : typeof o));
    throw new DtypeError(`${op} does not take complex operands (${dtypes.join(', ')}); complex arrays have ${Object.keys(ELEMENTWISE_KINDS).join(', ')}, real, imag, conj, angle and fft`);
  }
  return complexOp(kind, operands);
}

/** One `complex` task per block of the broadcast operands (arrays, or one array and a JS number). */
export function complexOp(kind: ComplexKind, operands: readonly Operand[], castTo?: Dtype): ChunkedArray {
  const arrays = operands.filter((o): o is ChunkedArray => o instanceof ChunkedArray);
  const scalars = operands.filter((o) => !(o instanceof ChunkedArray));
  if (scalars.some((s) => typeof s !== 'number' && typeof s !== 'boolean')) throw new InvalidArgumentError(`${kind}: operands must be arrays or numbers, got ${scalars.map(String).join(', ')}`);
  if (arrays.length === 0) throw new InvalidArgumentError(`${kind}: needs an array operand`);
  const scalar = scalars.length ? Number(scalars[0]) : undefined;
  const scalarFirst = scalar !== undefined && !(operands[0] instanceof ChunkedArray);
  const al = align(kind, arrays);
  const dtypes = arrays.map((a) => a.dtype);
  // A JS number is weak (NEP 50): it takes the precision of the array it meets.
  if (scalar !== undefined) dtypes.push(realPart(dtypes[0]!) === 'float32' || dtypes[0] === 'complex64' ? 'float32' : 'float64');
  const dtype = complexResultDtype(kind, dtypes, castTo);
  if (!isDtypeName(dtype)) throw new DtypeError(`${kind}: ${dtype}`);
  return makeArray({
    label: kind === 'astype' ? 'astype' : kind,
    op: 'complex',
    shape: al.shape,
    dtype,
    chunks: al.chunks,
    inputs: al.arrays,
    token: { kind, scalar, scalarFirst },
    block: (index) => ({
      params: { kind, domain: index.map((b, ax) => al.chunks[ax]![b]!), ...(scalar !== undefined ? { scalar, scalarFirst } : {}) },
      deps: al.arrays.map((a, k) => a.key(al.blockOf(k, index))),
    }),
  });
}

function castComplex(x: ChunkedArray, to: Dtype): ChunkedArray {
  if (isComplex(to)) return complexOp('astype', [x], to);
  // numpy discards the imaginary part (with a ComplexWarning); bool is "not zero".
  if (to === 'bool') return complexOp('not_equal', [x, 0]);
  return astype(complexOp('real', [x]), to);
}

/** The real part (numpy.real): a real array is its own. */
export function real(x: ChunkedArray): ChunkedArray {
  return isComplex(x.dtype) ? complexOp('real', [x]) : x;
}

/** The imaginary part (numpy.imag): zeros of a real array's dtype. */
export function imag(x: ChunkedArray): ChunkedArray {
  return isComplex(x.dtype) ? complexOp('imag', [x]) : zeros(x.shape, { dtype: x.dtype, chunks: x.chunks });
}

/** The complex conjugate (numpy.conj): a real array is its own. */
export function conj(x: ChunkedArray): ChunkedArray {
  return isComplex(x.dtype) ? complexOp('conj', [x]) : x;
}
export const conjugate = conj;

/** The argument (numpy.angle) in radians, or degrees with `deg`; float for real input too (π for negatives). */
export function angle(x: ChunkedArray, opts: { deg?: boolean } = {}): ChunkedArray {
  if (opts.deg !== undefined && typeof opts.deg !== 'boolean') throw new InvalidArgumentError(`angle: deg must be a boolean, got ${String(opts.deg)}`);
  const a = complexOp('angle', [x]);
  return opts.deg ? elementwise('mul', [a, 180 / Math.PI]) : a;
}

/** re + i·im of two real arrays (broadcast): numpy's `re + 1j * im`. */
export function complex(re: ChunkedArray, im: ChunkedArray | number): ChunkedArray {
  if (isComplex(re.dtype) || (im instanceof ChunkedArray && isComplex(im.dtype))) throw new DtypeError('complex: takes real and imaginary parts that are real');
  return complexOp('make', [re, im]);
}

/** Whether the dtype is complex (numpy.iscomplexobj of an array). */
export function iscomplexobj(x: ChunkedArray): boolean {
  return isComplex(x.dtype);
}

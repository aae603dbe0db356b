import { InvalidArgumentError, ShapeError, fmtShape, isComplex, promoteTypes } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { type Chunks, chunksEqual, gridIndices, unifyAxis } from './chunks.js';
import { add, astype, sub } from './elementwise.js';
import * as cx from './complex.js';
import { normalizeAxis } from './reductions.js';
import { rechunk } from './slicing.js';
import { requireKnown } from './deferred.js';

export interface TensordotOptions {
  /** numpy's `axes`: n (last n of a with first n of b) or the two lists of contracted axes. Default 2. */
  axes?: number | readonly [readonly number[], readonly number[]];
}

function contractedAxes(a: ChunkedArray, b: ChunkedArray, spec: TensordotOptions['axes']): [number[], number[]] {
  const axes = spec ?? 2;
  if (typeof axes === 'number') {
    if (!Number.isInteger(axes) || axes < 0 || axes > a.ndim || axes > b.ndim) {
      throw new InvalidArgumentError(`tensordot: axes=${axes} is not possible for shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
    }
    return [Array.from({ length: axes }, (_, i) => a.ndim - axes + i), Array.from({ length: axes }, (_, i) => i)];
  }
  if (!Array.isArray(axes) || axes.length !== 2 || axes[0].length !== axes[1].length) {
    throw new InvalidArgumentError(`tensordot: axes must be a number or two lists of equal length, got ${JSON.stringify(axes)}`);
  }
  const la = axes[0].map((x) => normalizeAxis('tensordot', x, a.ndim));
  const lb = axes[1].map((x) => normalizeAxis('tensordot', x, b.ndim));
  if (new Set(la).size !== la.length || new Set(lb).size !== lb.length) throw new InvalidArgumentError(`tensordot: repeated axis in ${JSON.stringify(axes)}`);
  return [la, lb];
}

/**
 * Contract `axA` of a with `axB` of b. After unifying the chunks of each contracted pair, every
 * output block is one `tensordot` task taking all the A blocks and B blocks along the contraction.
 */
/** A complex product from four real ones (three where an operand is real): (ar + i ai)(br + i bi). */
function complexContract(label: string, a: ChunkedArray, b: ChunkedArray, axA: number[], axB: number[]): ChunkedArray {
  const prod = (x: ChunkedArray, y: ChunkedArray): ChunkedArray => contract(label, x, y, axA, axB);
  const [ar, br] = [cx.real(a), cx.real(b)];
  if (!isComplex(b.dtype)) return cx.complexOp('make', [prod(ar, br), prod(cx.imag(a), br)]);
  if (!isComplex(a.dtype)) return cx.complexOp('make', [prod(ar, br), prod(ar, cx.imag(b))]);
  const [ai, bi] = [cx.imag(a), cx.imag(b)];
  return cx.complexOp('make', [sub(prod(ar, br), prod(ai, bi)), add(prod(ar, bi), prod(ai, br))]);
}

function contract(label: string, a0: ChunkedArray, b0: ChunkedArray, axA: number[], axB: number[]): ChunkedArray {
  if (isComplex(a0.dtype) || isComplex(b0.dtype)) return complexContract(label, a0, b0, axA, axB);
  axA.forEach((x, i) => {
    const y = axB[i]!;
    if (a0.shape[x] !== b0.shape[y]) {
      throw new ShapeError(
        `${label}: shapes ${fmtShape(a0.shape)} and ${fmtShape(b0.shape)} are not aligned: ${a0.shape[x]} (axis ${x}) != ${b0.shape[y]} (axis ${y})`,
      );
    }
  });
  const dtype = promoteTypes(a0.dtype, b0.dtype);
  let a = astype(a0, dtype);
  let b = astype(b0, dtype);
  const ca: Chunks = a.chunks.map((c) => [...c]);
  const cb: Chunks = b.chunks.map((c) => [...c]);
  axA.forEach((x, i) => {
    const u = unifyAxis([ca[x]!, cb[axB[i]!]!]);
    ca[x] = u;
    cb[axB[i]!] = u;
  });
  if (!chunksEqual(ca, a.chunks)) a = rechunk(a, ca);
  if (!chunksEqual(cb, b.chunks)) b = rechunk(b, cb);
  const freeA = a.shape.flatMap((_, i) => (axA.includes(i) ? [] : [i]));
  const freeB = b.shape.flatMap((_, i) => (axB.includes(i) ? [] : [i]));
  const chunks: Chunks = [...freeA.map((i) => a.chunks[i]!), ...freeB.map((i) => b.chunks[i]!)];
  const all = [...gridIndices(axA.map((x) => a.chunks[x]!.length))];
  // A long contraction is summed in groups of PAIRS_PER_TASK block products, then the partial
  // results added (Dask's sum over the contracted index): no task holds every block of a row.
  const groups = Array.from({ length: Math.ceil(all.length / PAIRS_PER_TASK) }, (_, g) => all.slice(g * PAIRS_PER_TASK, (g + 1) * PAIRS_PER_TASK));
  const parts = groups.map((combos, g) => products(label, a, b, axA, axB, freeA, freeB, chunks, dtype, combos, groups.length > 1 ? g : undefined));
  let level = parts;
  while (level.length > 1) level = Array.from({ length: Math.ceil(level.length / 2) }, (_, i) => (level[2 * i + 1] ? add(level[2 * i]!, level[2 * i + 1]!) : level[2 * i]!));
  return level[0]!;
}

const PAIRS_PER_TASK = 8;

/** One tensordot layer: each output block the sum of the block products of `combos` (indices along the contracted axes). */
function products(
  label: string,
  ta: ChunkedArray,
  tb: ChunkedArray,
  axA: number[],
  axB: number[],
  freeA: number[],
  freeB: number[],
  chunks: Chunks,
  dtype: ChunkedArray['dtype'],
  combos: readonly number[][],
  group: number | undefined,
): ChunkedArray {
  const params = { axesA: axA, axesB: axB, pairs: combos.length };
  const [a, b] = [ta, tb];
  return makeArray({
    label,
    op: 'tensordot',
    shape: chunks.map((c) => c.reduce((s, d) => s + d, 0)),
    dtype,
    chunks,
    inputs: [ta, tb],
    token: group === undefined ? params : { params, combos },
    block: (index) => {
      const ia = a.shape.map(() => 0);
      const ib = b.shape.map(() => 0);
      freeA.forEach((ax, k) => (ia[ax] = index[k]!));
      freeB.forEach((ax, k) => (ib[ax] = index[freeA.length + k]!));
      const keysA = combos.map((c) => ta.key(ia.map((v, ax) => (axA.includes(ax) ? c[axA.indexOf(ax)]! : v))));
      const keysB = combos.map((c) => tb.key(ib.map((v, ax) => (axB.includes(ax) ? c[axB.indexOf(ax)]! : v))));
      return { params, deps: [...keysA, ...keysB] };
    },
  });
}

/** numpy.tensordot. */
export function tensordot(a: ChunkedArray, b: ChunkedArray, opts: TensordotOptions = {}): ChunkedArray {
  requireKnown('tensordot', a, b);
  const [axA, axB] = contractedAxes(a, b, opts.axes);
  return contract('tensordot', a, b, axA, axB);
}

/** Matrix product of two 2-D arrays. */
export function matmul(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new ShapeError(`matmul: expects 2-D arrays, got shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  return contract('matmul', a, b, [1], [0]);
}

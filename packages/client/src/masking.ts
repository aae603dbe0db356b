import { InvalidArgumentError, ShapeError, fmtShape } from '@tessera/protocol';
import { type ChunkedArray, isChunkedArray, makeArray } from './array.js';
import { arange, fromArray } from './creation.js';
import { deferCall, deferred, hasUnknownChunks, unknownChunksError } from './deferred.js';
import { astype, ne } from './elementwise.js';
import { floorDivide, remainder } from './ufuncs.js';
import { normalizeAxis } from './reductions.js';
import { ravel } from './shape-ops.js';
import { rechunk, slice } from './slicing.js';
import { reshape, stack } from './structure.js';
import { take } from './take.js';

/** A condition: a bool array, or any array / list read as numpy's bool(x) (NaN is true). */
function asBool(fn: string, c: ChunkedArray | readonly number[] | readonly boolean[]): ChunkedArray {
  const a = isChunkedArray(c) ? c : Array.isArray(c) ? fromArray(c) : undefined;
  if (!a) throw new ShapeError(`${fn}: the condition must be an array or a list of numbers or booleans`);
  return a.dtype === 'bool' ? a : astype(a, 'bool');
}

export interface CompressOptions {
  /** The axis to select along (default: the flattened array). */
  axis?: number;
}

/**
 * numpy.compress: the slices of x along `axis` where the 1-D condition is true (x flattened
 * without an axis). The result's extent along that axis is unknown (NaN) until computed, as in
 * Dask: one `count-nonzero` task per block of the condition runs first, then the selection.
 */
export function compress(condition: ChunkedArray | readonly (number | boolean)[] | ArrayLike<number>, x: ChunkedArray, opts: CompressOptions = {}): ChunkedArray {
  if (!isChunkedArray(condition)) {
    // A condition known when the expression is built: a take of its indices, sizes known at once.
    const keep: number[] = [];
    Array.from(condition as ArrayLike<number | boolean>, (c, i) => (c || Number.isNaN(c)) && keep.push(i));
    const axis = opts.axis;
    const n = axis === undefined ? x.size : x.shape[normalizeAxis('compress', axis, x.ndim)]!;
    if (condition.length > n) throw new InvalidArgumentError(`compress: condition of length ${condition.length} is longer than the axis (${n})`);
    return take(x, keep, axis === undefined ? {} : { axis });
  }
  let cond = asBool('compress', condition);
  if (cond.ndim !== 1) throw new ShapeError(`compress: the condition must be 1-D, got shape ${fmtShape(cond.shape)}`);
  if (opts.axis === undefined) return compress(cond, x.ndim === 1 ? x : ravel(x), { axis: 0 });
  const axis = normalizeAxis('compress', opts.axis, x.ndim);
  if (hasUnknownChunks(cond) || hasUnknownChunks(x)) {
    if (Number.isNaN(x.shape[axis]!) !== Number.isNaN(cond.shape[0]!)) throw unknownChunksError('compress along an axis the condition does not match', hasUnknownChunks(x) ? x : cond);
    return deferCall('compress', [cond, x], ([c, y]) => compress(c as ChunkedArray, y as ChunkedArray, { axis }), (probe) => probe.shape.flatMap((d, i) => (Number.isNaN(d) ? [i] : [])), false);
  }
  const n = x.shape[axis]!;
  if (cond.shape[0]! > n) throw new ShapeError(`compress: a condition of length ${cond.shape[0]} is longer than axis ${axis} of shape ${fmtShape(x.shape)}`);
  // numpy: a shorter condition selects from the first len(condition) slices.
  if (cond.shape[0]! < n) x = slice(x, ...x.shape.map((_, i) => (i === axis ? { stop: cond.shape[0]! } : null)));
  const blocks = x.chunks[axis]!;
  if (cond.chunks[0]!.length !== blocks.length || cond.chunks[0]!.some((c, i) => c !== blocks[i])) cond = rechunk(cond, [[...blocks]]);
  const c = cond;
  const src = x;
  const counts = makeArray({
    label: 'count-nonzero',
    op: 'count-nonzero',
    shape: [blocks.length],
    dtype: 'int64',
    chunks: [blocks.map(() => 1)],
    inputs: [c],
    token: null,
    block: ([b]) => ({ params: {}, deps: [c.key([b!])] }),
  });
  const chunksWith = (along: readonly number[]): number[][] => src.chunks.map((ch, i) => (i === axis ? [...along] : [...ch]));
  return deferred(
    'compress',
    [src, c],
    { shape: src.shape.map((d, i) => (i === axis ? NaN : d)), dtype: src.dtype, chunks: chunksWith(blocks.map(() => NaN)) },
    {
      counts,
      rebuild: (_resolve, sizes) => {
        const along = [...sizes!];
        return makeArray({
          label: 'compress',
          op: 'compress',
          shape: src.shape.map((d, i) => (i === axis ? along.reduce((a, b) => a + b, 0) : d)),
          dtype: src.dtype,
          chunks: chunksWith(along),
          inputs: [src, c],
          token: { axis, along },
          block: (index) => ({ params: { axis }, deps: [src.key(index), c.key([index[axis]!])] }),
        });
      },
    },
    { axis },
  );
}

/** numpy.extract: the elements of x where the condition (of x's size) is true, flattened. */
export function extract(condition: ChunkedArray | readonly number[] | readonly boolean[], x: ChunkedArray): ChunkedArray {
  const cond = asBool('extract', condition);
  if (cond.size !== x.size && !(hasUnknownChunks(cond) || hasUnknownChunks(x)))
    throw new ShapeError(`extract: the condition has ${cond.size} elements (shape ${fmtShape(cond.shape)}), the array ${x.size} (shape ${fmtShape(x.shape)})`);
  return compress(cond.ndim === 1 ? cond : ravel(cond), x.ndim === 1 ? x : ravel(x), { axis: 0 });
}

/**
 * numpy's x[mask]: a mask of x's shape gives the selected elements (1-D, C order); a mask of x's
 * leading axes gives the selected sub-arrays along them, flattened into the first axis.
 */
export function mask(x: ChunkedArray, condition: ChunkedArray | readonly number[] | readonly boolean[]): ChunkedArray {
  const cond = asBool('mask', condition);
  const k = cond.ndim;
  if (k === 0 || k > x.ndim || cond.shape.some((d, i) => !Object.is(d, x.shape[i])))
    throw new ShapeError(`mask: a boolean index of shape ${fmtShape(cond.shape)} does not match the leading axes of shape ${fmtShape(x.shape)}`);
  if (k === x.ndim) return extract(cond, x);
  if (k === 1) return compress(cond, x, { axis: 0 });
  const lead = cond.shape.reduce((a, b) => a * b, 1);
  return compress(ravel(cond), reshape(x, [lead, ...x.shape.slice(k)]), { axis: 0 });
}

/** numpy.flatnonzero: int64 indices of the non-zero elements of the flattened array. */
export function flatnonzero(x: ChunkedArray): ChunkedArray {
  const flat = x.ndim === 1 ? x : ravel(x);
  const idx = arange(0, flat.shape[0]!, { chunks: [[...flat.chunks[0]!]] });
  return compress(ne(flat, 0), idx, { axis: 0 });
}

/** numpy.nonzero: per axis, the int64 indices of the non-zero elements (C order). */
export function nonzero(x: ChunkedArray): ChunkedArray[] {
  if (x.ndim === 0) throw new ShapeError('nonzero: a 0-d array has no axes to index (numpy deprecates it); use atleast1d first');
  const flat = flatnonzero(x);
  if (x.ndim === 1) return [flat];
  let stride = x.size;
  return x.shape.map((d) => {
    stride /= d;
    return remainder(floorDivide(flat, stride), d);
  });
}

/** numpy.argwhere: the indices of the non-zero elements, one row per element (shape [n, ndim]). */
export function argwhere(x: ChunkedArray): ChunkedArray {
  if (x.ndim === 0) throw new ShapeError('argwhere: a 0-d array has no axes to index; use atleast1d first');
  const flat = x.ndim === 1 ? x : ravel(x);
  const i = arange(0, flat.shape[0]!, { chunks: [[...flat.chunks[0]!]] });
  let stride = x.size;
  const cols = x.shape.map((d) => {
    stride /= d;
    return remainder(floorDivide(i, stride), d);
  });
  return compress(ne(flat, 0), stack(cols, { axis: 1 }), { axis: 0 });
}

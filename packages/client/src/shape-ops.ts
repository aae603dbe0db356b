import { InvalidArgumentError, ShapeError, broadcastShapes, fmtShape } from '@tessera/protocol';
import { ChunkedArray, type SliceSpec } from './array.js';
import { where } from './elementwise.js';
import { zeros } from './creation.js';
import { normalizeAxes, normalizeAxis } from './reductions.js';
import { slice } from './slicing.js';
import { concatenate, reshape, transpose } from './structure.js';
import { requireKnown } from './deferred.js';

/**
 * numpy's shape manipulation, by numpy's names in camelCase, built from transpose, reshape
 * (which rechunks where it must, as Dask's does), slicing and concatenation: no new task kinds,
 * so every engine and the optimiser's fusion handle them as they handle those.
 */

/** Remove size-1 axes (all of them, or the ones named, which must have size 1). */
export function squeeze(x: ChunkedArray, axis?: number | readonly number[]): ChunkedArray {
  requireKnown('squeeze', x);
  const axes = axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axis, x.ndim);
  for (const a of axes) {
    if (x.shape[a] !== 1) throw new ShapeError(`squeeze: cannot select axis ${a} of shape ${fmtShape(x.shape)}: its size is ${x.shape[a]}, not 1`);
  }
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

/** Insert size-1 axes at `axis` (positions in the result, negative from the end). */
export function expandDims(x: ChunkedArray, axis: number | readonly number[]): ChunkedArray {
  requireKnown('expandDims', x);
  const list = typeof axis === 'number' ? [axis] : [...axis];
  const ndim = x.ndim + list.length;
  const at = new Set(list.map((a) => normalizeAxis('expandDims', a, ndim)));
  if (at.size !== list.length) throw new InvalidArgumentError(`expandDims: repeated axis in ${JSON.stringify(list)}`);
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < ndim; i++) shape.push(at.has(i) ? 1 : x.shape[k++]!);
  return reshape(x, shape);
}

export function swapaxes(x: ChunkedArray, a: number, b: number): ChunkedArray {
  const perm = x.shape.map((_, i) => i);
  const i = normalizeAxis('swapaxes', a, x.ndim);
  const j = normalizeAxis('swapaxes', b, x.ndim);
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  return transpose(x, perm);
}

/** Move axes to new positions; the others keep their order. */
export function moveaxis(x: ChunkedArray, source: number | readonly number[], destination: number | readonly number[]): ChunkedArray {
  requireKnown('moveaxis', x);
  const src = (typeof source === 'number' ? [source] : [...source]).map((a) => normalizeAxis('moveaxis', a, x.ndim));
  const dst = (typeof destination === 'number' ? [destination] : [...destination]).map((a) => normalizeAxis('moveaxis', a, x.ndim));
  if (src.length !== dst.length) throw new InvalidArgumentError('moveaxis: source and destination must have the same number of elements');
  const rest = x.shape.map((_, i) => i).filter((i) => !src.includes(i));
  const perm = new Array<number>(x.ndim);
  dst.forEach((d, k) => (perm[d] = src[k]!));
  for (let i = 0; i < x.ndim; i++) if (perm[i] === undefined) perm[i] = rest.shift()!;
  return transpose(x, perm);
}

/** Reverse the order of elements along the axes (all of them by default). */
export function flip(x: ChunkedArray, axis?: number | readonly number[]): ChunkedArray {
  const axes = normalizeAxes('flip', axis, x.ndim);
  const specs: SliceSpec[] = x.shape.map((_, i) => (axes.includes(i) ? { step: -1 } : null));
  return slice(x, ...specs);
}
export const flipud = (x: ChunkedArray): ChunkedArray => flip(x, 0);
export const fliplr = (x: ChunkedArray): ChunkedArray => {
  if (x.ndim < 2) throw new ShapeError(`fliplr: needs at least 2 dimensions, got shape ${fmtShape(x.shape)}`);
  return flip(x, 1);
};

/** Roll elements along axes (the flattened array without `axis`); what falls off one end comes back at the other. */
export function roll(x: ChunkedArray, shift: number | readonly number[], axis?: number | readonly number[]): ChunkedArray {
  if (axis === undefined) {
    if (typeof shift !== 'number') throw new InvalidArgumentError('roll: several shifts need as many axes');
    return reshape(roll(ravel(x), shift, 0), x.shape);
  }
  const axes = typeof axis === 'number' ? [axis] : [...axis];
  const shifts = typeof shift === 'number' ? axes.map(() => shift) : [...shift];
  if (shifts.length !== axes.length) throw new InvalidArgumentError('roll: shift and axis must have the same length');
  let y = x;
  axes.forEach((a, k) => {
    const ax = normalizeAxis('roll', a, x.ndim);
    const n = x.shape[ax]!;
    if (n === 0) return;
    const s = ((shifts[k]! % n) + n) % n;
    if (s === 0) return;
    const part = (start: number, stop: number): ChunkedArray => slice(y, ...y.shape.map((_, i) => (i === ax ? { start, stop } : null)));
    y = concatenate([part(n - s, n), part(0, n - s)], { axis: ax });
  });
  return y;
}

/** The array as one dimension, in C order (rechunking where the blocks do not line up). */
export function ravel(x: ChunkedArray): ChunkedArray {
  return reshape(x, [x.size]);
}
export const flatten = ravel;

/** The array broadcast to `shape` (numpy's rules). */
export function broadcastTo(x: ChunkedArray, shape: readonly number[]): ChunkedArray {
  requireKnown('broadcastTo', x);
  const b = broadcastShapes([x.shape, shape]);
  if (!b || b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`broadcastTo: cannot broadcast shape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  if (b.every((d, i) => d === x.shape[i]) && b.length === x.ndim) return x;
  // A select that always takes x: its values, bit for bit (-0 and NaN payloads too), broadcast.
  return where(1, x, zeros(shape, { dtype: x.dtype, chunks: chunksFor(x, shape) }));
}

/** Broadcast every array to their common shape. */
export function broadcastArrays(...arrays: ChunkedArray[]): ChunkedArray[] {
  const b = broadcastShapes(arrays.map((a) => a.shape));
  if (!b) throw new ShapeError(`broadcastArrays: shapes ${arrays.map((a) => fmtShape(a.shape)).join(', ')} do not broadcast together`);
  return arrays.map((a) => broadcastTo(a, b));
}

/** The chunks of a broadcast: x's along its own (right-aligned) axes of full size, whole elsewhere. */
function chunksFor(x: ChunkedArray, shape: readonly number[]): number[][] {
  const off = shape.length - x.ndim;
  return shape.map((d, i) => (i >= off && x.shape[i - off] === d ? [...x.chunks[i - off]!] : [d]));
}

export const atleast1d = (x: ChunkedArray): ChunkedArray => (x.ndim >= 1 ? x : reshape(x, [1]));
export const atleast2d = (x: ChunkedArray): ChunkedArray => (x.ndim >= 2 ? x : reshape(x, x.ndim === 0 ? [1, 1] : [1, x.shape[0]!]));
export const atleast3d = (x: ChunkedArray): ChunkedArray =>
  x.ndim >= 3 ? x : reshape(x, x.ndim === 0 ? [1, 1, 1] : x.ndim === 1 ? [1, x.shape[0]!, 1] : [...x.shape, 1]);

/** Stack along the first axis (1-D arrays become rows). */
export const vstack = (arrays: readonly ChunkedArray[]): ChunkedArray => concatenate(arrays.map(atleast2d), { axis: 0 });
/** Stack along the second axis (1-D arrays are joined end to end). */
export const hstack = (arrays: readonly ChunkedArray[]): ChunkedArray => {
  const a = arrays.map(atleast1d);
  return concatenate(a, { axis: a[0]?.ndim === 1 ? 0 : 1 });
};
/** Stack along the third axis. */
export const dstack = (arrays: readonly ChunkedArray[]): ChunkedArray => concatenate(arrays.map(atleast3d), { axis: 2 });

/**
 * numpy.array_split: `sections` pieces as equal as they can be (the first ones one longer), or
 * the pieces between the given indices.
 */
export function arraySplit(x: ChunkedArray, sections: number | readonly number[], opts: { axis?: number } = {}): ChunkedArray[] {
  const ax = normalizeAxis('arraySplit', opts.axis ?? 0, x.ndim);
  const n = x.shape[ax]!;
  let cuts: number[];
  if (typeof sections === 'number') {
    if (!Number.isInteger(sections) || sections < 1) throw new InvalidArgumentError(`arraySplit: sections must be a positive integer, got ${sections}`);
    const each = Math.floor(n / sections);
    const extra = n % sections;
    cuts = [];
    let at = 0;
    for (let k = 0; k < sections - 1; k++) cuts.push((at += each + (k < extra ? 1 : 0)));
  } else cuts = [...sections];
  const bounds = [0, ...cuts.map((c) => Math.min(Math.max(c < 0 ? c + n : c, 0), n)), n];
  return bounds.slice(1).map((stop, k) => {
    const start = Math.min(bounds[k]!, stop);
    return slice(x, ...x.shape.map((_, i) => (i === ax ? { start, stop } : null)));
  });
}

/** numpy.split: like arraySplit, but `sections` must divide the axis evenly. */
export function split(x: ChunkedArray, sections: number | readonly number[], opts: { axis?: number } = {}): ChunkedArray[] {
  const ax = normalizeAxis('split', opts.axis ?? 0, x.ndim);
  if (typeof sections === 'number' && x.shape[ax]! % sections !== 0) {
    throw new ShapeError(`split: array split does not result in an equal division (axis ${ax} of size ${x.shape[ax]} into ${sections})`);
  }
  return arraySplit(x, sections, { axis: ax });
}

/** Repeat the whole array `reps` times along each axis (numpy.tile). */
export function tile(x: ChunkedArray, reps: number | readonly number[]): ChunkedArray {
  const r = typeof reps === 'number' ? [reps] : [...reps];
  if (!r.every((n) => Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError(`tile: reps must be non-negative integers, got ${JSON.stringify(reps)}`);
  const ndim = Math.max(x.ndim, r.length);
  let y = reshape(x, [...new Array<number>(ndim - x.ndim).fill(1), ...x.shape]);
  const full = [...new Array<number>(ndim - r.length).fill(1), ...r];
  full.forEach((n, ax) => {
    if (n === 1) return;
    y = n === 0 ? slice(y, ...y.shape.map((_, i) => (i === ax ? { start: 0, stop: 0 } : null))) : concatenate(new Array<ChunkedArray>(n).fill(y), { axis: ax });
  });
  return y;
}

/** Repeat each element `repeats` times along `axis` (the flattened array without one). */
export function repeat(x: ChunkedArray, repeats: number, opts: { axis?: number } = {}): ChunkedArray {
  if (!Number.isInteger(repeats) || repeats < 0) throw new InvalidArgumentError(`repeat: repeats must be a non-negative integer, got ${repeats}`);
  if (opts.axis === undefined) return repeat(ravel(x), repeats, { axis: 0 });
  const ax = normalizeAxis('repeat', opts.axis, x.ndim);
  // Each element gets an axis of its own after `ax`, broadcast to `repeats`, then merged back.
  const expanded = expandDims(x, ax + 1);
  const shape = [...expanded.shape];
  shape[ax + 1] = repeats;
  const out = [...x.shape];
  out[ax] = x.shape[ax]! * repeats;
  return reshape(broadcastTo(expanded, shape), out);
}

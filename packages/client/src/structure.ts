import {
  InvalidArgumentError,
  isComplex,
  ShapeError,
  fmtShape,
  isPermutation,
  permuteShape,
  promoteTypes,
  sizeOf,
} from '@tessera/protocol';
import { ChunkedArray, makeArray } from './array.js';
import { type Chunks, chunksEqual, unifyAxis } from './chunks.js';
import { astype } from './elementwise.js';
import { listShapes } from './blockwise.js';
import { normalizeAxis } from './reductions.js';
import { rechunk } from './slicing.js';
import { requireKnown } from './deferred.js';

/** Permute the axes (default: reversed). One `transpose` task per block; fusion may turn it into a view. */
export function transpose(x: ChunkedArray, axes?: readonly number[]): ChunkedArray {
  requireKnown('transpose', x);
  const perm = axes ? axes.map((a) => (Number.isInteger(a) && a < 0 ? a + x.ndim : a)) : x.shape.map((_, i) => x.ndim - 1 - i);
  if (!isPermutation(perm, x.ndim)) {
    throw new InvalidArgumentError(`transpose: axes ${JSON.stringify(axes)} are not a permutation of the ${x.ndim} axes of ${fmtShape(x.shape)}`);
  }
  if (perm.every((p, i) => p === i)) return x;
  return makeArray({
    label: 'transpose',
    op: 'transpose',
    shape: permuteShape(x.shape, perm),
    dtype: x.dtype,
    chunks: perm.map((p) => x.chunks[p]!),
    inputs: [x],
    token: perm,
    block: (index) => {
      const src = new Array<number>(x.ndim);
      perm.forEach((p, i) => (src[p] = index[i]!));
      return { params: { axes: perm }, deps: [x.key(src)] };
    },
  });
}

/** One `reshape` task per block; `source` maps an output block index to its input block index. */
export function blockReshape(
  x: ChunkedArray,
  label: string,
  shape: readonly number[],
  chunks: Chunks,
  source: (index: readonly number[]) => number[],
): ChunkedArray {
  return makeArray({
    label,
    op: 'reshape',
    shape,
    dtype: x.dtype,
    chunks,
    inputs: [x],
    token: { shape, chunks },
    block: (index) => ({ params: { shape: index.map((b, ax) => chunks[ax]![b]!) }, deps: [x.key(source(index))] }),
  });
}

/** Resolve one -1 and check the size, numpy style. */
function resolveShape(x: ChunkedArray, shape: readonly number[]): number[] {
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new InvalidArgumentError(`reshape: invalid target shape ${fmtShape(shape)} (non-negative integers and at most one -1)`);
  }
  const known = sizeOf(shape.filter((d) => d !== -1));
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (!out.every(Number.isInteger) || sizeOf(out) !== x.size) {
    throw new ShapeError(`reshape: cannot reshape array of shape ${fmtShape(x.shape)} (size ${x.size}) into shape ${fmtShape(shape)}`);
  }
  return out;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * numpy's reshape, for any chunking. The axes of both shapes (size-1 axes aside) are grouped into
 * runs of equal size; in each group the input's leading axis may be chunked (by whole rows of the
 * others, which must be single blocks), and its blocks must split evenly into the output's
 * trailing axes. Then every output block is exactly one input block reshaped, no data moves.
 * Otherwise the input is rechunked to that layout first (Dask's algorithm).
 */
export function reshape(x: ChunkedArray, newShape: readonly number[]): ChunkedArray {
  requireKnown('reshape', x);
  const shape = resolveShape(x, newShape);
  if (shape.length === x.ndim && shape.every((d, i) => d === x.shape[i])) return x;
  if (x.size === 0 || x.numblocks.every((n) => n === 1)) {
    return blockReshape(x, 'reshape', shape, shape.map((d) => [d]), () => x.shape.map(() => 0));
  }
  const ins = x.shape.flatMap((d, i) => (d === 1 ? [] : [i]));
  const outs = shape.flatMap((d, i) => (d === 1 ? [] : [i]));
  const chunks: Chunks = shape.map((d) => [d]);
  /** For each output axis that carries blocks, the input axis whose block index it takes. */
  const from = new Map<number, number>();
  /** The chunks that make it fit: a chunk size for the axes in `changed`, the input's own elsewhere. */
  const suggestion = x.chunks.map((c) => [...c]);
  const changed = new Set<number>();
  let ok = true;
  let i = 0;
  let j = 0;
  while (i < ins.length && j < outs.length) {
    const gi = [ins[i++]!];
    const go = [outs[j++]!];
    let pi = x.shape[gi[0]!]!;
    let po = shape[go[0]!]!;
    // Grow the smaller side until both sides cover the same number of elements.
    while (pi !== po) {
      if (pi < po) {
        const a = ins[i++]!;
        gi.push(a);
        pi *= x.shape[a]!;
      } else {
        const a = outs[j++]!;
        go.push(a);
        po *= shape[a]!;
      }
    }
    const [lead, ...restIn] = gi as [number, ...number[]];
    const inRest = sizeOf(restIn.map((a) => x.shape[a]!));
    const outRest = sizeOf(go.slice(1).map((a) => shape[a]!));
    const step = outRest / gcd(outRest, inRest); // lead blocks must be multiples of this
    const leadChunks = x.chunks[lead]!;
    const fits = restIn.every((a) => x.chunks[a]!.length === 1) && leadChunks.every((c) => c % step === 0);
    if (!fits) {
      ok = false;
      for (const a of restIn) suggestion[a] = [x.shape[a]!];
      const size = Math.max(step, Math.floor(Math.max(...leadChunks) / step) * step);
      suggestion[lead] = [size];
      for (const a of gi) changed.add(a);
    } else {
      chunks[go[0]!] = leadChunks.map((c) => (c * inRest) / outRest);
      from.set(go[0]!, lead);
    }
  }
  // As Dask's reshape does: rechunk so that merged axes other than the first are single blocks
  // and the first's blocks split evenly, then reshape block by block (this second pass fits).
  if (!ok) return reshape(rechunk(x, suggestion.map((c, ax) => (changed.has(ax) ? c[0]! : c))), shape);
  return blockReshape(x, 'reshape', shape, chunks, (index) => {
    const src = x.shape.map(() => 0);
    for (const [o, a] of from) src[a] = index[o]!;
    return src;
  });
}

function checkSameRank(fn: string, arrays: readonly ChunkedArray[]): void {
  if (arrays.length === 0) throw new InvalidArgumentError(`${fn}: needs at least one array`);
  if (!arrays.every((a) => a instanceof ChunkedArray)) throw new InvalidArgumentError(`${fn}: every element must be a ChunkedArray`);
}

/** Cast to the common dtype and unify the chunks of the axes that are not `skip`. */
function harmonise(fn: string, arrays: readonly ChunkedArray[], skip: number | undefined): ChunkedArray[] {
  const dtype = arrays.map((a) => a.dtype).reduce(promoteTypes);
  const ndim = arrays[0]!.ndim;
  const unified = arrays[0]!.chunks.map((_, ax) => (ax === skip ? undefined : unifyAxis(arrays.map((a) => a.chunks[ax]!))));
  return arrays.map((a) => {
    if (a.ndim !== ndim) throw new ShapeError(`${fn}: arrays have different ranks`);
    const c = astype(a, dtype);
    const want = a.chunks.map((ch, ax) => unified[ax] ?? ch);
    return chunksEqual(want, c.chunks) ? c : rechunk(c, want);
  });
}

/**
 * Join along an existing axis. Each output block is its input block passed through an `astype`
 * elementwise task (a cast, or a copy when the dtype already matches), which fusion folds into
 * whatever elementwise chain reads it.
 */
export function concatenate(arrays: readonly ChunkedArray[], opts: { axis?: number } = {}): ChunkedArray {
  requireKnown('concatenate', ...arrays);
  checkSameRank('concatenate', arrays);
  const first = arrays[0]!;
  if (first.ndim === 0) throw new ShapeError('concatenate: zero-dimensional arrays cannot be concatenated');
  const axis = normalizeAxis('concatenate', opts.axis ?? 0, first.ndim);
  for (const a of arrays) {
    if (a.ndim !== first.ndim || a.shape.some((d, ax) => ax !== axis && d !== first.shape[ax])) {
      throw new ShapeError(`concatenate: shapes ${listShapes(arrays.map((b) => b.shape))} differ outside axis ${axis}`);
    }
  }
  const nonEmpty = arrays.filter((a) => a.shape[axis]! > 0);
  const parts = harmonise('concatenate', nonEmpty.length ? nonEmpty : [first], axis);
  const owner: { part: number; block: number }[] = parts.flatMap((p, k) => p.chunks[axis]!.map((_, b) => ({ part: k, block: b })));
  const chunks: Chunks = parts[0]!.chunks.map((c, ax) => (ax === axis ? parts.flatMap((p) => p.chunks[axis]!) : c));
  const dtype = parts[0]!.dtype;
  const program = [{ op: 'astype' as const, args: [{ input: 0 }], dtype }];
  // Complex blocks are copied by the complex kernel (no fusion with real programs there).
  const pairs = isComplex(dtype);
  return makeArray({
    label: 'concatenate',
    op: pairs ? 'complex' : 'elementwise',
    shape: chunks.map((c) => c.reduce((a, b) => a + b, 0)),
    dtype,
    chunks,
    inputs: parts,
    token: axis,
    block: (index) => {
      const { part, block } = owner[index[axis]!]!;
      const src = index.map((b, ax) => (ax === axis ? block : b));
      const domain = index.map((b, ax) => chunks[ax]![b]!);
      return { params: pairs ? { kind: 'astype', domain } : { program, inputs: [{}], domain }, deps: [parts[part]!.key(src)] };
    },
  });
}

/** Join along a new axis: each output block is one input block reshaped to hold the new size-1 axis. */
export function stack(arrays: readonly ChunkedArray[], opts: { axis?: number } = {}): ChunkedArray {
  requireKnown('stack', ...arrays);
  checkSameRank('stack', arrays);
  const first = arrays[0]!;
  if (!arrays.every((a) => a.ndim === first.ndim && a.shape.every((d, i) => d === first.shape[i]))) {
    throw new ShapeError(`stack: all arrays must have the same shape, got ${listShapes(arrays.map((a) => a.shape))}`);
  }
  const axis = normalizeAxis('stack', opts.axis ?? 0, first.ndim + 1);
  const parts = harmonise('stack', arrays, undefined);
  const inner = parts[0]!.chunks;
  const chunks: Chunks = [...inner.slice(0, axis), parts.map(() => 1), ...inner.slice(axis)];
  const shape = chunks.map((c) => c.reduce((a, b) => a + b, 0));
  return makeArray({
    label: 'stack',
    op: 'reshape',
    shape,
    dtype: parts[0]!.dtype,
    chunks,
    inputs: parts,
    token: axis,
    block: (index) => {
      const src = [...index.slice(0, axis), ...index.slice(axis + 1)];
      return { params: { shape: index.map((b, ax) => chunks[ax]![b]!) }, deps: [parts[index[axis]!]!.key(src)] };
    },
  });
}

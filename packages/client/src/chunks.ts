import { ChunkError, type Dtype, InvalidArgumentError, fmtShape, itemsize } from '@tessera/protocol';

/**
 * How a caller says how to cut an array into blocks, like dask's `chunks`:
 *  - a number: that block size on every axis (the last block of an axis may be smaller);
 *  - per axis: a block size, -1 (the whole axis), 'auto', or the explicit list of block sizes;
 *  - 'auto' or omitted: blocks of about 128 MiB.
 */
export type AxisChunks = number | 'auto' | readonly number[];
export type ChunksSpec = number | 'auto' | readonly AxisChunks[];

/** Per axis, the block sizes. */
export type Chunks = number[][];

export const AUTO_CHUNK_BYTES = 128 * 2 ** 20;

export function fmtChunks(chunks: readonly (readonly number[])[]): string {
  return `(${chunks.map((c) => fmtShape(c)).join(', ')}${chunks.length === 1 ? ',' : ''})`;
}

/** Block sizes of one axis cut into blocks of `size` (the last one smaller). */
export function regularChunks(dim: number, size: number): number[] {
  if (dim === 0) return [0];
  const out = new Array<number>(Math.floor(dim / size)).fill(size);
  if (dim % size) out.push(dim % size);
  return out;
}

/**
 * Block edges of about `limitBytes` per block, balanced over the axes: small axes are taken
 * whole first so the remaining budget goes to the large ones, then each axis is cut into
 * near-equal blocks (8000 with an edge of 4096 becomes 4000 + 4000, not 4096 + 3904).
 */
export function autoBlockSizes(dims: readonly number[], budgetElements: number): number[] {
  const order = dims.map((d, i) => ({ d, i })).sort((a, b) => a.d - b.d);
  const out = new Array<number>(dims.length).fill(1);
  let budget = Math.max(1, budgetElements);
  order.forEach(({ d, i }, k) => {
    const edge = Math.max(1, Math.floor(budget ** (1 / (order.length - k)) + 1e-9));
    const n = Math.max(1, Math.ceil(d / Math.min(Math.max(d, 1), edge)));
    out[i] = Math.max(1, Math.ceil(d / n));
    budget /= out[i]!;
  });
  return out;
}

/** Turn a ChunksSpec into explicit per-axis block sizes for `shape`, or throw naming `fn`. */
export function normalizeChunks(fn: string, shape: readonly number[], spec: ChunksSpec | undefined, dtype: Dtype): Chunks {
  const perAxis: AxisChunks[] =
    spec === undefined || spec === 'auto' ? shape.map(() => 'auto') : typeof spec === 'number' ? shape.map(() => spec) : [...spec];
  if (!Array.isArray(perAxis) || perAxis.length !== shape.length) {
    throw new InvalidArgumentError(`${fn}: chunks ${JSON.stringify(spec)} has ${perAxis.length} entries for the ${shape.length}-d shape ${fmtShape(shape)}`);
  }
  const out: (number[] | undefined)[] = perAxis.map((c, ax) => {
    const dim = shape[ax]!;
    if (c === 'auto') return undefined;
    if (typeof c === 'number') {
      if (c === -1) return [dim];
      if (!Number.isInteger(c) || c < 1) {
        throw new InvalidArgumentError(`${fn}: chunk size ${c} for axis ${ax} must be a positive integer, -1 (whole axis) or 'auto'`);
      }
      return regularChunks(dim, c);
    }
    if (!Array.isArray(c) || !c.every((b) => Number.isInteger(b) && b >= 0)) {
      throw new InvalidArgumentError(`${fn}: chunks for axis ${ax} must be block sizes (non-negative integers), got ${JSON.stringify(c)}`);
    }
    const sum = c.reduce((a, b) => a + b, 0);
    if (sum !== dim) throw new ChunkError(`${fn}: chunks ${fmtShape(c)} for axis ${ax} sum to ${sum}, but the axis has size ${dim}`);
    if (dim > 0 && c.includes(0)) throw new ChunkError(`${fn}: chunks ${fmtShape(c)} for axis ${ax} contain an empty block`);
    return dim === 0 ? [0] : [...c];
  });
  const autoAxes = out.flatMap((c, ax) => (c === undefined ? [ax] : []));
  if (autoAxes.length > 0) {
    const fixed = out.reduce((acc, c) => acc * (c ? Math.max(1, ...c) : 1), 1);
    const sizes = autoBlockSizes(
      autoAxes.map((ax) => shape[ax]!),
      AUTO_CHUNK_BYTES / itemsize(dtype) / fixed,
    );
    autoAxes.forEach((ax, k) => (out[ax] = regularChunks(shape[ax]!, sizes[k]!)));
  }
  return out as Chunks;
}

/** Start of every block plus the end: [0, c0, c0 + c1, ..., dim]. */
export function boundaries(chunks: readonly number[]): number[] {
  const out = [0];
  for (const c of chunks) out.push(out[out.length - 1]! + c);
  return out;
}

/** Common refinement of several chunkings of one axis (dask's unify_chunks for one axis). */
export function unifyAxis(lists: readonly (readonly number[])[]): number[] {
  const cuts = new Set<number>();
  for (const l of lists) for (const b of boundaries(l)) cuts.add(b);
  const sorted = [...cuts].sort((a, b) => a - b);
  const out = sorted.slice(1).map((b, i) => b - sorted[i]!);
  return out.length ? out : [0];
}

export function chunksEqual(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): boolean {
  return a.length === b.length && a.every((c, i) => c.length === b[i]!.length && c.every((x, j) => x === b[i]![j]));
}

/** Every block index of a grid, in C order. */
export function* gridIndices(counts: readonly number[]): Generator<number[]> {
  if (counts.some((c) => c === 0)) return;
  const idx = counts.map(() => 0);
  for (;;) {
    yield [...idx];
    let ax = counts.length - 1;
    while (ax >= 0 && ++idx[ax]! === counts[ax]) idx[ax--] = 0;
    if (ax < 0) return;
  }
}

/** Cartesian product of per-axis lists, in C order. */
export function product<T>(lists: readonly (readonly T[])[]): T[][] {
  return [...gridIndices(lists.map((l) => l.length))].map((idx) => idx.map((i, ax) => lists[ax]![i]!));
}

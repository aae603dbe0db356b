import { ChunkError, InvalidArgumentError, ShapeError, fmtShape, type Piece } from '@tessera/protocol';
import { ChunkedArray, makeArray } from './array.js';
import { align } from './blockwise.js';
import type { Chunks } from './chunks.js';
import { full } from './creation.js';
import { mapBlocks, type MapBlocksOptions } from './map-blocks.js';
import { normalizeAxis } from './reductions.js';

/**
 * What lies beyond the array's edges: dask.array's names. `reflect` mirrors the edge row in
 * (numpy.pad's `symmetric`: 2 1 0 | 0 1 2), `periodic` wraps around, `nearest` repeats the edge
 * row, a number fills with it, `none` adds nothing at the array's edges.
 */
export type Boundary = 'reflect' | 'periodic' | 'nearest' | 'none' | number;
/** One value for every axis, one per axis, or some axes by number (the rest 0 / 'none'). */
export type PerAxis<T> = T | readonly T[] | Readonly<Record<number, T>>;
/** Rows shared with each neighbour: n on both sides, or [before, after]. */
export type Depth = number | readonly [number, number];

export interface OverlapOptions {
  depth: PerAxis<Depth>;
  /** Default 'none' (dask's present default). */
  boundary?: PerAxis<Boundary>;
}

export interface MapOverlapOptions extends MapBlocksOptions, OverlapOptions {
  /** Cut the halos off the kernel's output blocks again (default true, as dask's). */
  trim?: boolean;
}

/** A run of positions along one axis of an output block: from one input block, or the fill. */
interface Run {
  block: number; // -1: the boundary value
  start: number;
  step: number;
  count: number;
}

/** For each axis: each output block's source range [lo, hi) in the input's positions, and the boundary there. */
export interface AxisWindows {
  ranges: [number, number][];
  boundary: Boundary;
}

function perAxis<T>(fn: string, what: string, v: PerAxis<T> | undefined, ndim: number, none: T, isValue: (v: unknown) => v is T): T[] {
  if (v === undefined) return new Array<T>(ndim).fill(none);
  // A list is one entry per axis (dask's tuple), so a [before, after] pair for all axes is { 0: .., 1: .. }.
  if (Array.isArray(v)) {
    if (v.length !== ndim) throw new InvalidArgumentError(`${fn}: ${v.length} ${what}s for ${ndim} axes`);
    return v.map((e: unknown) => {
      if (!isValue(e)) throw new InvalidArgumentError(`${fn}: bad ${what} ${JSON.stringify(e)}`);
      return e;
    });
  }
  if (isValue(v)) return new Array<T>(ndim).fill(v);
  if (typeof v !== 'object' || v === null) throw new InvalidArgumentError(`${fn}: bad ${what} ${JSON.stringify(v)}`);
  const out = new Array<T>(ndim).fill(none);
  for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
    const ax = normalizeAxis(fn, Number(k), ndim);
    if (!isValue(e)) throw new InvalidArgumentError(`${fn}: bad ${what} ${JSON.stringify(e)} for axis ${k}`);
    out[ax] = e;
  }
  return out;
}

const isDepth = (v: unknown): v is Depth =>
  (Number.isInteger(v) && (v as number) >= 0) ||
  (Array.isArray(v) && v.length === 2 && v.every((e) => Number.isInteger(e) && e >= 0) && typeof v[0] === 'number');
const isBoundary = (v: unknown): v is Boundary => typeof v === 'number' || ['reflect', 'periodic', 'nearest', 'none'].includes(v as string);

/** Depths as [before, after] per axis and boundaries per axis, checked. */
export function overlapPlan(fn: string, ndim: number, opts: OverlapOptions): { depth: [number, number][]; boundary: Boundary[] } {
  if (opts === null || typeof opts !== 'object' || opts.depth === undefined) throw new InvalidArgumentError(`${fn}: give { depth }`);
  const d = perAxis<Depth>(fn, 'depth', opts.depth as PerAxis<Depth>, ndim, 0, isDepth);
  const boundary = perAxis<Boundary>(fn, 'boundary', opts.boundary, ndim, 'none', isBoundary);
  return { depth: d.map((e) => (typeof e === 'number' ? [e, e] : [e[0], e[1]])), boundary };
}

/** Each block of an axis extended by its depth: at the array's edges only where the boundary adds rows. */
export function haloRanges(chunks: readonly number[], [before, after]: [number, number], boundary: Boundary): [number, number][] {
  const n = chunks.reduce((a, b) => a + b, 0);
  let off = 0;
  return chunks.map((c, i) => {
    const none = boundary === 'none';
    const lo = off - (none && i === 0 ? 0 : before);
    const hi = off + c + (none && i === chunks.length - 1 ? 0 : after);
    off += c;
    return none ? [Math.max(lo, 0), Math.min(hi, n)] : [lo, hi];
  });
}

/** Where position p (maybe outside [0, n)) reads from, or -1 for the boundary value. */
function source(p: number, n: number, boundary: Boundary): number {
  if (p >= 0 && p < n) return p;
  const mod = (a: number, m: number): number => ((a % m) + m) % m;
  switch (boundary) {
    case 'periodic':
      return mod(p, n);
    case 'nearest':
      return p < 0 ? 0 : n - 1;
    case 'reflect': {
      const j = mod(p, 2 * n);
      return j < n ? j : 2 * n - 1 - j;
    }
    case 'none':
      throw new Error(`overlap: position ${p} is outside an axis of ${n} with boundary none`);
    default:
      return -1;
  }
}

/** The runs one output block reads along one axis: cut where the input block or the direction changes. */
function runs(chunks: readonly number[], [lo, hi]: [number, number], boundary: Boundary): Run[] {
  const starts: number[] = [];
  let off = 0;
  for (const c of chunks) {
    starts.push(off);
    off += c;
  }
  const n = off;
  const blockOf = (s: number): number => {
    let [a, b] = [0, starts.length - 1];
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (starts[mid]! <= s) a = mid;
      else b = mid - 1;
    }
    return a;
  };
  const out: Run[] = [];
  for (let p = lo; p < hi; p++) {
    const s = source(p, n, boundary);
    const cur = out[out.length - 1];
    if (s < 0) {
      if (cur && cur.block === -1) cur.count++;
      else out.push({ block: -1, start: 0, step: 1, count: 1 });
      continue;
    }
    const b = blockOf(s);
    const local = s - starts[b]!;
    if (cur && cur.block === b && (cur.count === 1 ? Math.abs(local - cur.start) === 1 : local === cur.start + cur.count * cur.step)) {
      if (cur.count === 1) cur.step = local - cur.start;
      cur.count++;
    } else out.push({ block: b, start: local, step: 1, count: 1 });
  }
  return out;
}

/**
 * The array whose block i along each axis holds x's positions ranges[i] of that axis (beyond the
 * edges as its boundary says): one assemble task per block, reading the pieces straight from x's
 * blocks, however many blocks a range spans (a depth past the next block is no error, and nothing
 * is rechunked).
 */
export function windows(label: string, x: ChunkedArray, axes: readonly AxisWindows[], token: unknown): ChunkedArray {
  const fills = new Set(axes.map((a) => a.boundary).filter((b): b is number => typeof b === 'number' && b !== 0));
  if (fills.size > 1) throw new InvalidArgumentError(`${label}: one fill value for all axes, got ${[...fills].join(', ')}`);
  const sizes = axes.map((a) => a.ranges.map(([lo, hi]) => hi - lo));
  const plans = axes.map((a, ax) => a.ranges.map((r) => runs(x.chunks[ax]!, r, a.boundary)));
  const value = [...fills][0];
  // Rows of a non-zero boundary value come from one block of it (allocChunk zeroes the rest).
  const fill = value === undefined ? undefined : full(sizes.map((s) => Math.max(1, ...s)), value, { dtype: x.dtype, chunks: sizes.map((s) => [Math.max(1, ...s)]) });
  return makeArray({
    label,
    op: 'assemble',
    shape: sizes.map((s) => s.reduce((a, b) => a + b, 0)),
    dtype: x.dtype,
    chunks: sizes,
    inputs: fill ? [x, fill] : [x],
    token: { token, axes },
    block: (index) => {
      const deps: string[] = [];
      const slot = new Map<string, number>();
      const pieces: Piece[] = [];
      const per = index.map((i, ax) => plans[ax]![i]!);
      const dst = per.map((rs) => {
        let at = 0;
        return rs.map((r) => ((at += r.count), at - r.count));
      });
      const pick = new Array<number>(per.length).fill(0);
      const total = per.reduce((a, rs) => a * rs.length, 1);
      for (let t = 0; t < total; t++) {
        let rest = t;
        for (let ax = per.length - 1; ax >= 0; ax--) {
          pick[ax] = rest % per[ax]!.length;
          rest = Math.floor(rest / per[ax]!.length);
        }
        const chosen = pick.map((k, ax) => per[ax]![k]!);
        const filled = chosen.some((r) => r.block < 0);
        if (filled && !fill) continue;
        const key = filled ? fill!.key(chosen.map(() => 0)) : x.key(chosen.map((r) => r.block));
        if (!slot.has(key)) slot.set(key, deps.push(key) - 1);
        pieces.push({
          input: slot.get(key)!,
          src: chosen.map((r) => (filled ? { start: 0, step: 1, count: r.count } : { start: r.start, step: r.step, count: r.count })),
          dst: pick.map((k, ax) => dst[ax]![k]!),
        });
      }
      return { params: { pieces }, deps };
    },
  });
}

/**
 * dask.array.overlap.overlap: every block extended by `depth` rows of its neighbours along each
 * axis, and at the array's edges by the boundary (per axis). Block sizes grow by the depths.
 */
export function overlap(x: ChunkedArray, opts: OverlapOptions): ChunkedArray {
  const { depth, boundary } = overlapPlan('overlap', x.ndim, opts);
  if (depth.every(([a, b]) => a === 0 && b === 0)) return x;
  x.shape.forEach((n, ax) => {
    if (n === 0 && boundary[ax] !== 'none' && depth[ax]!.some((d) => d > 0)) throw new ShapeError(`overlap: axis ${ax} is empty, there is no edge to extend with ${String(boundary[ax])}`);
  });
  return windows('overlap', x, x.chunks.map((c, ax) => ({ ranges: haloRanges(c, depth[ax]!, boundary[ax]!), boundary: boundary[ax]! })), { depth, boundary });
}

/** Cut [before, after] rows off block i of each axis (per axis, per block). */
function trimBlocks(label: string, y: ChunkedArray, cuts: readonly (readonly [number, number])[][]): ChunkedArray {
  const chunks: Chunks = y.chunks.map((c, ax) =>
    c.map((len, i) => {
      const [b, a] = cuts[ax]![i]!;
      if (b + a > len) throw new ChunkError(`${label}: block ${i} of axis ${ax} has ${len} rows, fewer than the ${b + a} to trim`);
      return len - b - a;
    }),
  );
  return makeArray({
    label,
    op: 'assemble',
    shape: chunks.map((c) => c.reduce((a, b) => a + b, 0)),
    dtype: y.dtype,
    chunks,
    inputs: [y],
    token: { cuts },
    block: (index) => ({
      params: { pieces: [{ input: 0, src: index.map((i, ax) => ({ start: cuts[ax]![i]![0], step: 1, count: chunks[ax]![i]! })), dst: index.map(() => 0) }] },
      deps: [y.key(index)],
    }),
  });
}

/** The rows overlap added to each block of each axis of an array chunked as `chunks`. */
function added(chunks: Chunks, depth: readonly [number, number][], boundary: readonly Boundary[]): [number, number][][] {
  return chunks.map((c, ax) => {
    let off = 0;
    return haloRanges(c, depth[ax]!, boundary[ax]!).map(([lo, hi], i) => {
      const r: [number, number] = [off - lo, hi - off - c[i]!];
      off += c[i]!;
      return r;
    });
  });
}

/**
 * dask.array.overlap.trim_internal: cut from each block what overlap(x, the same options) added
 * (at the array's edges too, unless the boundary there is 'none').
 */
export function trimInternal(y: ChunkedArray, opts: OverlapOptions): ChunkedArray {
  const { depth, boundary } = overlapPlan('trimInternal', y.ndim, opts);
  // The chunks before the overlap: each block less the rows a boundary of that kind adds.
  const original = y.chunks.map((c, ax) =>
    c.map((len, i) => {
      const none = boundary[ax] === 'none';
      return len - (none && i === 0 ? 0 : depth[ax]![0]) - (none && i === c.length - 1 ? 0 : depth[ax]![1]);
    }),
  );
  return trimBlocks('trim', y, added(original, depth, boundary));
}

/**
 * dask.array.map_overlap: a registered kernel on every block of the arrays with its halos
 * (overlap), then the halos cut off its output blocks again (`trim`, default true). The arrays
 * must have one shape; their chunks are unified first.
 */
export function mapOverlap(kernel: string, ...args: [...ChunkedArray[], MapOverlapOptions]): ChunkedArray {
  const opts = args[args.length - 1];
  if (opts === undefined || opts instanceof ChunkedArray) throw new InvalidArgumentError('mapOverlap: the last argument must be the options, with depth');
  const arrays = args.slice(0, -1) as ChunkedArray[];
  if (arrays.length === 0 || !arrays.every((a) => a instanceof ChunkedArray)) throw new InvalidArgumentError('mapOverlap: give a kernel name, then one or more arrays, then the options');
  const shape = arrays[0]!.shape;
  const other = arrays.find((a) => a.ndim !== shape.length || a.shape.some((d, i) => d !== shape[i]));
  if (other) throw new ShapeError(`mapOverlap(${kernel}): the arrays must have one shape, got ${fmtShape(shape)} and ${fmtShape(other.shape)}`);
  const al = align(`mapOverlap(${kernel})`, arrays);
  const { depth, boundary } = overlapPlan(`mapOverlap(${kernel})`, shape.length, opts);
  const halos = al.arrays.map((a) => overlap(a, { depth, boundary }));
  const { depth: _d, boundary: _b, trim = true, ...blockOpts } = opts;
  const y = mapBlocks(kernel, ...halos, { ...blockOpts, chunks: blockOpts.chunks ?? halos[0]!.chunks });
  return !trim ? y : trimBlocks('map-overlap-trim', y, added(al.chunks, depth, boundary));
}

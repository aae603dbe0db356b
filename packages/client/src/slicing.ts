import { InvalidArgumentError, fmtShape, type Piece } from '@tessera/protocol';
import { type ChunkedArray, type SliceSpec, ellipsis, makeArray, newaxis } from './array.js';
import { type Chunks, type ChunksSpec, boundaries, chunksEqual, normalizeChunks, product } from './chunks.js';
import { blockReshape, reshape } from './structure.js';
import { requireKnown } from './deferred.js';

/** A selection along one axis: `count` elements from `start` by `step`; `drop` for an index. */
export interface AxisSelection {
  start: number;
  step: number;
  count: number;
  drop: boolean;
}

/** Python's slice.indices (and integer indexing) for one axis of length `dim`. */
export function normalizeSelection(fn: string, ax: number, dim: number, spec: Exclude<SliceSpec, typeof ellipsis | typeof newaxis> | undefined): AxisSelection {
  if (spec === undefined || spec === null) return { start: 0, step: 1, count: dim, drop: false };
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < -dim || spec >= dim) {
      throw new InvalidArgumentError(`${fn}: index ${spec} is out of bounds for axis ${ax} with size ${dim}`);
    }
    return { start: spec < 0 ? spec + dim : spec, step: 1, count: 1, drop: true };
  }
  if (typeof spec !== 'object') throw new InvalidArgumentError(`${fn}: axis ${ax}: expected a number, null or {start, stop, step}, got ${String(spec)}`);
  const step = spec.step ?? 1;
  if (!Number.isInteger(step) || step === 0) throw new InvalidArgumentError(`${fn}: axis ${ax}: step must be a non-zero integer, got ${step}`);
  for (const [k, v] of [['start', spec.start], ['stop', spec.stop]] as const) {
    if (v !== undefined && v !== null && !Number.isInteger(v)) throw new InvalidArgumentError(`${fn}: axis ${ax}: ${k} must be an integer, got ${v}`);
  }
  const [lower, upper] = step > 0 ? [0, dim] : [-1, dim - 1];
  const clamp = (v: number | null | undefined, dflt: number): number => {
    if (v === undefined || v === null) return dflt;
    if (v < 0) return Math.max(v + dim, lower);
    return Math.min(v, upper);
  };
  const start = clamp(spec.start, step > 0 ? lower : upper);
  const stop = clamp(spec.stop, step > 0 ? upper : lower);
  const count = step > 0 ? (stop > start ? Math.floor((stop - start - 1) / step) + 1 : 0) : start > stop ? Math.floor((start - stop - 1) / -step) + 1 : 0;
  return { start, step, count, drop: false };
}

/** One output block along an axis: `count` elements of input block `block`, from local `start` by `step`. */
interface Run {
  block: number;
  start: number;
  step: number;
  count: number;
}

/** Cut a selection at the input's block boundaries, in output order (descending for a negative step). */
function selectionRuns(chunks: readonly number[], sel: AxisSelection): Run[] {
  const bounds = boundaries(chunks);
  const runs: Run[] = [];
  const { start, step, count } = sel;
  const order = chunks.map((_, b) => b);
  if (step < 0) order.reverse();
  for (const b of order) {
    const lo = bounds[b]!;
    const hi = bounds[b + 1]!;
    // k0..k1: the selected positions start + k*step that fall in [lo, hi).
    const [k0, k1] =
      step > 0
        ? [Math.max(0, Math.ceil((lo - start) / step)), Math.min(count - 1, Math.floor((hi - 1 - start) / step))]
        : [Math.max(0, Math.ceil((start - (hi - 1)) / -step)), Math.min(count - 1, Math.floor((start - lo) / -step))];
    if (k0 <= k1) runs.push({ block: b, start: start + k0 * step - lo, step, count: k1 - k0 + 1 });
  }
  return runs;
}

/**
 * `x[...]` with Python semantics per axis. Each output block reads one input block (op
 * `assemble`), so only the touched input blocks are dependencies and culling drops the rest.
 * Integer indices drop their axis with a per-block reshape.
 */
export function slice(x: ChunkedArray, ...index: SliceSpec[]): ChunkedArray {
  requireKnown('slice', x);
  // `...` stands for the axes the index leaves out; `newaxis` entries become size-1 axes after.
  const dots = index.filter((s) => s === ellipsis).length;
  if (dots > 1) throw new InvalidArgumentError(`slice: an index can only have a single ellipsis ('...'), got ${dots}`);
  const real = index.filter((s) => s !== ellipsis && s !== newaxis).length;
  if (real > x.ndim) throw new InvalidArgumentError(`slice: ${real} indices for the ${x.ndim}-d array of shape ${fmtShape(x.shape)}`);
  const expanded = index.flatMap((s) => (s === ellipsis ? new Array<SliceSpec>(x.ndim - real).fill(null) : [s]));
  if (!expanded.includes(newaxis)) return sliceAxes(x, expanded as AxisSpec[]);
  // Where the new axes go in the result: after the kept axes before them (integer indices drop theirs).
  const at: number[] = [];
  let kept = 0;
  for (const s of expanded) {
    if (s === newaxis) at.push(kept + at.length);
    else if (typeof s !== 'number') kept++;
  }
  const y = sliceAxes(x, expanded.filter((s) => s !== newaxis) as AxisSpec[]);
  const shape = [...y.shape];
  for (const p of at) shape.splice(p, 0, 1);
  return reshape(y, shape);
}

type AxisSpec = Exclude<SliceSpec, typeof ellipsis | typeof newaxis>;

function sliceAxes(x: ChunkedArray, specs: readonly AxisSpec[]): ChunkedArray {
  const sels = x.shape.map((dim, ax) => normalizeSelection('slice', ax, dim, specs[ax]));
  if (sels.every((s, ax) => s.start === 0 && s.step === 1 && s.count === x.shape[ax] && !s.drop)) return x;
  const runs = sels.map((s, ax) => selectionRuns(x.chunks[ax]!, s));
  const empty: Run = { block: -1, start: 0, step: 1, count: 0 };
  const chunks: Chunks = runs.map((r) => (r.length ? r.map((c) => c.count) : [0]));
  const picked = makeArray({
    label: 'slice',
    op: 'assemble',
    shape: sels.map((s) => s.count),
    dtype: x.dtype,
    chunks,
    inputs: [x],
    token: sels,
    block: (index) => {
      const rs = index.map((b, ax) => runs[ax]![b] ?? empty);
      if (rs.some((r) => r.count === 0)) return { params: { pieces: [] }, deps: [] };
      const piece: Piece = { input: 0, src: rs.map(({ start, step, count }) => ({ start, step, count })), dst: rs.map(() => 0) };
      return { params: { pieces: [piece] }, deps: [x.key(rs.map((r) => r.block))] };
    },
  });
  if (!sels.some((s) => s.drop)) return picked;
  const keep = sels.flatMap((s, ax) => (s.drop ? [] : [ax]));
  return blockReshape(
    picked,
    'slice',
    keep.map((ax) => picked.shape[ax]!),
    keep.map((ax) => chunks[ax]!),
    (index) => sels.map((s, ax) => (s.drop ? 0 : index[keep.indexOf(ax)]!)),
  );
}

/** Pieces of one axis: for each output block, the overlapping input blocks. */
function overlaps(from: readonly number[], to: readonly number[]): { block: number; src: number; dst: number; count: number }[][] {
  const fb = boundaries(from);
  const tb = boundaries(to);
  return to.map((_, o) => {
    const lo = tb[o]!;
    const hi = tb[o + 1]!;
    const out: { block: number; src: number; dst: number; count: number }[] = [];
    from.forEach((_, b) => {
      const s = Math.max(lo, fb[b]!);
      const e = Math.min(hi, fb[b + 1]!);
      if (e > s) out.push({ block: b, src: s - fb[b]!, dst: s - lo, count: e - s });
    });
    return out;
  });
}

/** New block boundaries; each output block is assembled from the input blocks it overlaps. */
export function rechunk(x: ChunkedArray, spec: ChunksSpec): ChunkedArray {
  requireKnown('rechunk', x);
  const target = normalizeChunks('rechunk', x.shape, spec, x.dtype);
  if (chunksEqual(target, x.chunks)) return x;
  const axes = target.map((t, ax) => overlaps(x.chunks[ax]!, t));
  return makeArray({
    label: 'rechunk',
    op: 'assemble',
    shape: x.shape,
    dtype: x.dtype,
    chunks: target,
    inputs: [x],
    token: null,
    block: (index) => {
      const combos = product(index.map((b, ax) => axes[ax]![b]!));
      const pieces: Piece[] = combos.map((c, k) => ({
        input: k,
        src: c.map((o) => ({ start: o.src, step: 1, count: o.count })),
        dst: c.map((o) => o.dst),
      }));
      return { params: { pieces }, deps: combos.map((c) => x.key(c.map((o) => o.block))) };
    },
  });
}

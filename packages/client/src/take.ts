import { InvalidArgumentError, type Piece } from '@tessera/protocol';
import { type ChunkedArray, type SliceSpec, ellipsis, makeArray, newaxis } from './array.js';
import { boundaries } from './chunks.js';
import { normalizeAxis } from './reductions.js';
import { moveaxis } from './shape-ops.js';
import { slice } from './slicing.js';
import { requireKnown } from './deferred.js';

/** A run of the index list inside one input block: `count` positions from `start` by `step`. */
interface Run {
  block: number;
  start: number;
  step: number;
  count: number;
  /** Where it goes in the output block. */
  at: number;
}

/**
 * numpy.take with integer indices known when the expression is built (any order, repeats
 * allowed, negative from the end), along one axis: each output block is assembled from the input
 * blocks its indices fall in, one strided piece per run of evenly spaced indices, so a slice-like
 * index list costs one piece and nothing is gathered that is not asked for. Without `axis`, the
 * flattened array.
 */
export function take(x: ChunkedArray, indices: readonly number[] | ArrayLike<number>, opts: { axis?: number } = {}): ChunkedArray {
  requireKnown('take', x);
  if (opts.axis === undefined) return take(x.reshape([x.size]), indices, { axis: 0 });
  const axis = normalizeAxis('take', opts.axis, x.ndim);
  const n = x.shape[axis]!;
  const idx = Array.from(indices, (v, k) => {
    if (!Number.isInteger(v) || v < -n || v >= n) throw new InvalidArgumentError(`take: index ${v} (position ${k}) is out of bounds for axis ${axis} with size ${n}`);
    return v < 0 ? v + n : v;
  });
  const bounds = boundaries(x.chunks[axis]!);
  const blockOf = (i: number): number => {
    let lo = 0;
    let hi = bounds.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (bounds[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  // Output blocks as long as the input's largest along the axis.
  const size = Math.max(1, ...x.chunks[axis]!);
  const outChunks = idx.length === 0 ? [0] : Array.from({ length: Math.ceil(idx.length / size) }, (_, b) => Math.min(size, idx.length - b * size));
  const runsOf = outChunks.map((len, b) => runs(idx.slice(b * size, b * size + len), blockOf, bounds));
  const chunks = x.chunks.map((c, ax) => (ax === axis ? outChunks : [...c]));
  return makeArray({
    label: 'take',
    op: 'assemble',
    shape: x.shape.map((d, ax) => (ax === axis ? idx.length : d)),
    dtype: x.dtype,
    chunks,
    inputs: [x],
    token: { axis, idx },
    block: (index) => {
      const rs = runsOf[index[axis]!] ?? [];
      const blocks = [...new Set(rs.map((r) => r.block))];
      const pieces: Piece[] = rs.map((r) => ({
        input: blocks.indexOf(r.block),
        src: index.map((b, ax) => (ax === axis ? { start: r.start, step: r.step, count: r.count } : { start: 0, step: 1, count: chunks[ax]![b]! })),
        dst: index.map((_, ax) => (ax === axis ? r.at : 0)),
      }));
      return { params: { pieces }, deps: blocks.map((blk) => x.key(index.map((b, ax) => (ax === axis ? blk : b)))) };
    },
  });
}

/** The index list cut into runs of evenly spaced positions within one input block. */
function runs(idx: readonly number[], blockOf: (i: number) => number, bounds: readonly number[]): Run[] {
  const out: Run[] = [];
  let k = 0;
  while (k < idx.length) {
    const block = blockOf(idx[k]!);
    const lo = bounds[block]!;
    const hi = bounds[block + 1]!;
    let count = 1;
    const step = k + 1 < idx.length ? idx[k + 1]! - idx[k]! : 1;
    if (step !== 0) {
      while (k + count < idx.length && idx[k + count]! - idx[k + count - 1]! === step && idx[k + count]! >= lo && idx[k + count]! < hi) count++;
    }
    out.push({ block, start: idx[k]! - lo, step: count > 1 ? step : 1, count, at: k });
    k += count;
  }
  return out;
}

/**
 * `x.get(index)`: numpy's basic indexing plus one integer list. The list's axis is taken (any
 * order, repeats) after the other entries are sliced; an integer entry elsewhere drops its axis.
 */
export function getItem(x: ChunkedArray, index: readonly (SliceSpec | readonly number[] | Int32Array)[]): ChunkedArray {
  const lists = index.flatMap((e, i) => (Array.isArray(e) || ArrayBuffer.isView(e) ? [i] : []));
  if (lists.length === 0) return slice(x, ...(index as SliceSpec[]));
  if (lists.length > 1) throw new InvalidArgumentError(`get: at most one integer list per index (numpy's broadcasting of several is not supported), got ${lists.length}`);
  if (index.includes(ellipsis) || index.includes(newaxis)) throw new InvalidArgumentError('get: ellipsis and newaxis do not combine with an integer list here; use slice, then take');
  const at = lists[0]!;
  // The list's axis in the result: the axes before it that integer entries do not drop.
  const axis = index.slice(0, at).filter((e) => typeof e !== 'number').length;
  const sliced = slice(x, ...index.map((e, i) => (i === at ? null : (e as SliceSpec))));
  const taken = take(sliced, index[at] as readonly number[], { axis });
  // numpy: integers count as advanced indices too; when they and the list are not side by side,
  // the list's axis goes first.
  const advanced = index.flatMap((e, i) => (i === at || typeof e === 'number' ? [i] : []));
  const together = advanced.every((p, k) => k === 0 || p === advanced[k - 1]! + 1);
  return together || axis === 0 ? taken : moveaxis(taken, axis, 0);
}

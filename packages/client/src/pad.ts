import { InvalidArgumentError } from '@tessera/protocol';
import { ChunkedArray } from './array.js';
import { full } from './creation.js';
import { normalizeAxis } from './reductions.js';
import { concatenate, reshape } from './structure.js';
import { take } from './take.js';
import { requireKnown } from './deferred.js';

export type PadMode = 'constant' | 'edge' | 'reflect' | 'symmetric' | 'wrap';
/** numpy's pad_width: n for every side, [before, after] for every axis, or one pair per axis. */
export type PadWidth = number | readonly [number, number] | readonly (readonly [number, number])[];

/** Where each position of the padded axis reads the original from (numpy's modes, any width). */
function sourceIndex(mode: Exclude<PadMode, 'constant'>, i: number, n: number): number {
  const mod = (a: number, m: number): number => ((a % m) + m) % m;
  switch (mode) {
    case 'edge':
      return Math.min(Math.max(i, 0), n - 1);
    case 'wrap':
      return mod(i, n);
    case 'reflect': {
      if (n === 1) return 0;
      const j = mod(i, 2 * (n - 1));
      return j < n ? j : 2 * (n - 1) - j;
    }
    case 'symmetric': {
      const j = mod(i, 2 * n);
      return j < n ? j : 2 * n - 1 - j;
    }
  }
}

/**
 * numpy.pad: `constant` joins blocks of `constantValues`; the other modes read the original
 * along each axis through `take` (an exact copy, one strided piece per run of positions), so
 * reflections and wraps wider than the axis repeat as numpy's do.
 */
export function pad(x: ChunkedArray, width: PadWidth, opts: { mode?: PadMode; constantValues?: number } = {}): ChunkedArray {
  requireKnown('pad', x);
  const mode = opts.mode ?? 'constant';
  if (!['constant', 'edge', 'reflect', 'symmetric', 'wrap'].includes(mode)) throw new InvalidArgumentError(`pad: mode must be constant, edge, reflect, symmetric or wrap, got ${String(mode)}`);
  const pairs: [number, number][] =
    typeof width === 'number'
      ? x.shape.map(() => [width, width])
      : typeof width[0] === 'number'
        ? x.shape.map(() => [...(width as readonly [number, number])])
        : (width as readonly (readonly [number, number])[]).map((p) => [p[0], p[1]]);
  if (pairs.length !== x.ndim) throw new InvalidArgumentError(`pad: ${pairs.length} (before, after) pairs for ${x.ndim} axes`);
  if (pairs.some((p) => p.some((v) => !Number.isInteger(v) || v < 0))) throw new InvalidArgumentError(`pad: widths must be non-negative integers, got ${JSON.stringify(width)}`);
  let y = x;
  pairs.forEach(([before, after], ax) => {
    if (before === 0 && after === 0) return;
    const n = y.shape[ax]!;
    if (mode === 'constant') {
      const value = opts.constantValues ?? 0;
      const side = (k: number): ChunkedArray => full(y.shape.map((d, i) => (i === ax ? k : d)), value, { dtype: y.dtype, chunks: y.chunks.map((c, i) => (i === ax ? [k] : [...c])) });
      y = concatenate([...(before ? [side(before)] : []), y, ...(after ? [side(after)] : [])], { axis: ax });
      return;
    }
    if (n === 0) throw new InvalidArgumentError(`pad: cannot pad the empty axis ${ax} in mode ${mode}`);
    const idx = Array.from({ length: before + n + after }, (_, k) => sourceIndex(mode, k - before, n));
    y = take(y, idx, { axis: ax });
  });
  return y;
}

/** A nested list of arrays (numpy.block). */
export type Blocks = ChunkedArray | readonly Blocks[];

/** numpy.block: the innermost lists join along the last axis, the next along the one before, ... */
export function block(blocks: Blocks): ChunkedArray {
  const depthOf = (b: Blocks): number => (b instanceof ChunkedArray ? 0 : 1 + Math.max(0, ...b.map(depthOf)));
  const arraysOf = (b: Blocks): ChunkedArray[] => (b instanceof ChunkedArray ? [b] : b.flatMap(arraysOf));
  const depth = depthOf(blocks);
  const ndim = Math.max(depth, ...arraysOf(blocks).map((a) => a.ndim));
  const go = (b: Blocks, level: number): ChunkedArray => {
    if (b instanceof ChunkedArray) return b.ndim === ndim ? b : reshape(b, [...new Array<number>(ndim - b.ndim).fill(1), ...b.shape]);
    if (b.length === 0) throw new InvalidArgumentError('block: lists must not be empty');
    if (b.some((e) => depthOf(e) !== depth - level - 1)) throw new InvalidArgumentError('block: list depths are mismatched');
    return concatenate(b.map((e) => go(e, level + 1)), { axis: normalizeAxis('block', -(depth - level), ndim) });
  };
  return go(blocks, 0);
}

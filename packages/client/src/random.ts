import { DtypeError, InvalidArgumentError } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { type ChunksSpec, boundaries, normalizeChunks } from './chunks.js';
import { checkDtype } from './elementwise.js';
import { checkShape } from './creation.js';

interface RandomOptions {
  /** 0 .. 2^32-1; a fresh random seed when omitted. */
  seed?: number;
  chunks?: ChunksSpec;
  dtype?: 'float64' | 'float32';
}
export interface UniformOptions extends RandomOptions {
  low?: number;
  high?: number;
}
export interface NormalOptions extends RandomOptions {
  mean?: number;
  std?: number;
}

/**
 * One `random` task per block. The kernel draws from a counter-based generator keyed by seed and
 * the element's global index, so values do not depend on the chunking.
 */
function randomArray(fn: string, dist: 'uniform' | 'normal', shapeIn: readonly number[] | number, a: number, b: number, opts: RandomOptions): ChunkedArray {
  const shape = checkShape(fn, shapeIn);
  const dtype = checkDtype(fn, opts.dtype ?? 'float64');
  if (dtype !== 'float64' && dtype !== 'float32') throw new DtypeError(`${fn}: dtype ${dtype} is not supported (float64 or float32)`);
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new InvalidArgumentError(`${fn}: seed must be an integer in [0, 2^32), got ${seed}`);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new InvalidArgumentError(`${fn}: parameters must be finite numbers, got ${a} and ${b}`);
  const chunks = normalizeChunks(fn, shape, opts.chunks, dtype);
  const starts = chunks.map(boundaries);
  const base = { dist, seed, a, b };
  return makeArray({
    label: dist,
    op: 'random',
    shape,
    dtype,
    chunks,
    inputs: [],
    token: base,
    block: (index) => ({ params: { ...base, offset: index.map((i, ax) => starts[ax]![i]!), fullShape: shape }, deps: [] }),
  });
}

/** Uniform values in [low, high), default [0, 1). */
export function uniform(shape: readonly number[] | number, opts: UniformOptions = {}): ChunkedArray {
  return randomArray('random.uniform', 'uniform', shape, opts.low ?? 0, opts.high ?? 1, opts);
}

/** Normal values with `mean` (default 0) and standard deviation `std` (default 1). */
export function normal(shape: readonly number[] | number, opts: NormalOptions = {}): ChunkedArray {
  return randomArray('random.normal', 'normal', shape, opts.mean ?? 0, opts.std ?? 1, opts);
}

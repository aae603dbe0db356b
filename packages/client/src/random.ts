import { DtypeError, InvalidArgumentError } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { type ChunksSpec, boundaries, normalizeChunks } from './chunks.js';
import { astype, checkDtype, log, minimum, mul, neg, sub } from './elementwise.js';
import { floor } from './ufuncs.js';
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

/** Standard normal values (mean 0, standard deviation 1). */
export function standardNormal(shape: readonly number[] | number, opts: RandomOptions = {}): ChunkedArray {
  return normal(shape, { ...opts, mean: 0, std: 1 });
}

/** Uniform values in [0, 1) (numpy's random.random / random_sample). */
export function random(shape: readonly number[] | number, opts: RandomOptions = {}): ChunkedArray {
  return uniform(shape, { ...opts, low: 0, high: 1 });
}
export const randomSample = random;

export interface ExponentialOptions extends RandomOptions {
  /** The mean, 1/λ (default 1). */
  scale?: number;
}

/** Exponential values with mean `scale`: -log(1 - u) * scale over the same uniform stream (inversion). */
export function exponential(shape: readonly number[] | number, opts: ExponentialOptions = {}): ChunkedArray {
  const { scale = 1, ...rest } = opts;
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new InvalidArgumentError(`random.exponential: scale must be a finite number >= 0, got ${scale}`);
  const u = uniform(shape, { ...rest, low: 0, high: 1 });
  return mul(neg(log(sub(1, u))), scale);
}

export interface RandintOptions {
  /** Lowest value drawn (default 0). */
  low?: number;
  /** One more than the highest value drawn. */
  high: number;
  seed?: number;
  chunks?: ChunksSpec;
}

/** Integers uniform in [low, high) (numpy's random.randint), int64. */
export function randint(shape: readonly number[] | number, opts: RandintOptions): ChunkedArray {
  const { low = 0, high, ...rest } = opts ?? ({} as RandintOptions);
  for (const [k, v] of [['low', low], ['high', high]] as const) {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31) throw new InvalidArgumentError(`random.randint: ${k} must be an integer within int32, got ${String(v)}`);
  }
  if (!(low < high)) throw new InvalidArgumentError(`random.randint: low >= high (${low} >= ${high})`);
  const u = uniform(shape, { ...rest, low, high });
  // floor(low + (high - low) u) is in [low, high); the clamp guards the rounding of the last step.
  return astype(minimum(floor(u), high - 1), 'int64');
}

/** Integers uniform in [0, n): numpy's random.choice(n, size) with replacement. */
export function choice(n: number, shape: readonly number[] | number, opts: Omit<RandintOptions, 'low' | 'high'> = {}): ChunkedArray {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`random.choice: n must be a positive integer, got ${n}`);
  return randint(shape, { ...opts, low: 0, high: n });
}

import { DtypeError, InvalidArgumentError } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { type ChunksSpec, boundaries, normalizeChunks } from './chunks.js';
import { astype, checkDtype, log, minimum, mul, neg, sub } from './elementwise.js';
import { floor } from './ufuncs.js';
import { checkShape, fromArray } from './creation.js';
import { take } from './take.js';

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

export interface ChoiceOptions {
  /** With replacement (default true), as numpy's; without, every value is drawn at most once. */
  replace?: boolean;
  seed?: number;
  chunks?: ChunksSpec;
}

/**
 * numpy's random.choice(a, size, replace): `a` is n (integers in [0, n)) or a 1-d array whose
 * elements are drawn. Integers with replacement are generated by the workers like randint; the
 * other cases draw their index list in the client (a partial shuffle, n steps at most) and take
 * those elements, as Dask's choice does with its numpy index list.
 */
export function choice(a: number | ChunkedArray, shape: readonly number[] | number, opts: ChoiceOptions = {}): ChunkedArray {
  const { replace = true, ...rest } = opts;
  const n = populationOf('random.choice', a);
  const size = checkShape('random.choice', shape).reduce((m, d) => m * d, 1);
  if (typeof a === 'number' && replace) return randint(shape, { ...rest, low: 0, high: n });
  if (!replace && size > n) throw new InvalidArgumentError(`random.choice: cannot take a sample of ${size} from a population of ${n} without replacement`);
  if (n === 0 && size > 0) throw new InvalidArgumentError('random.choice: a cannot be empty unless no samples are taken');
  const next = generator('random.choice', rest.seed);
  const idx = replace ? Int32Array.from({ length: size }, () => Math.floor(next() * n)) : partialShuffle(n, size, next);
  const s = checkShape('random.choice', shape);
  if (typeof a === 'number') return astype(fromArray(idx, { shape: [size] }), 'int64').reshape(s).rechunk(normalizeChunks('random.choice', s, rest.chunks, 'int64'));
  const drawn = take(a, idx, { axis: 0 }).reshape(s);
  return rest.chunks === undefined ? drawn : drawn.rechunk(normalizeChunks('random.choice', s, rest.chunks, a.dtype));
}

/**
 * numpy's random.permutation: of n, the integers 0..n-1 (int64) in a random order; of an array,
 * its elements shuffled along the first axis (a copy). The order is drawn in the client from
 * the seed (a Fisher–Yates shuffle), so it does not depend on the chunking.
 */
export function permutation(a: number | ChunkedArray, opts: { seed?: number; chunks?: ChunksSpec } = {}): ChunkedArray {
  const n = populationOf('random.permutation', a);
  const idx = partialShuffle(n, n, generator('random.permutation', opts.seed));
  if (typeof a === 'number') return astype(fromArray(idx, { chunks: normalizeChunks('random.permutation', [n], opts.chunks, 'int64') }), 'int64');
  const out = take(a, idx, { axis: 0 });
  return opts.chunks === undefined ? out : out.rechunk(normalizeChunks('random.permutation', out.shape, opts.chunks, a.dtype));
}

function populationOf(fn: string, a: number | ChunkedArray): number {
  if (typeof a === 'number') {
    if (!Number.isInteger(a) || a < 0 || a >= 2 ** 31) throw new InvalidArgumentError(`${fn}: n must be an integer in [0, 2^31), got ${a}`);
    return a;
  }
  if (fn === 'random.choice' && a.ndim !== 1) throw new InvalidArgumentError(`${fn}: a must be 1-dimensional, got shape [${a.shape.join(', ')}]`);
  if (a.ndim === 0) throw new InvalidArgumentError(`${fn}: a 0-d array has no axis to shuffle`);
  const n = a.shape[0]!;
  if (n >= 2 ** 31) throw new InvalidArgumentError(`${fn}: the first axis (${n}) is too long to shuffle`);
  return n;
}

/** The first k of a Fisher–Yates shuffle of 0..n-1 (k swaps, not n). */
function partialShuffle(n: number, k: number, next: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = 0; i < k && i < n - 1; i++) {
    const j = i + Math.floor(next() * (n - i));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return k === n ? p : p.slice(0, k);
}

/** Doubles uniform in [0, 1) with 53 random bits, from a 32-bit seed (xoshiro128** seeded by splitmix32). */
function generator(fn: string, seedIn: number | undefined): () => number {
  const seed = seedIn ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new InvalidArgumentError(`${fn}: seed must be an integer in [0, 2^32), got ${seed}`);
  let z = seed >>> 0;
  const splitmix = (): number => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
  const s = [splitmix(), splitmix(), splitmix(), splitmix()];
  const u32 = (): number => {
    const [a, b, c, d] = s as [number, number, number, number];
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    s[2] = c ^ a;
    s[3] = d ^ b;
    s[1] = b ^ s[2]!;
    s[0] = a ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return r;
  };
  return () => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

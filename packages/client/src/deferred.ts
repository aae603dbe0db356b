import { ChunkError, isWideData } from '@tessera/protocol';
import { type ChunkedArray, type NDArray, makeArray } from './array.js';
import { zeros } from './creation.js';

/**
 * Arrays whose extent along an axis depends on the data (a boolean mask's result): Dask's unknown
 * chunk sizes. Their shape and chunks hold NaN there, and they have no tasks of their own: each is
 * a recipe that rebuilds it once the sizes are known. A `compress` leaf knows how to count its
 * blocks (an int64 array, one element per block); anything built on it (elementwise functions,
 * reductions) re-runs the same call on the rebuilt inputs. `client.compute` counts first, then
 * rebuilds and runs the real graph, as Dask's compute_chunk_sizes() followed by compute does.
 */
interface Recipe {
  /** Leaves only: per-block counts along the unknown axis, computed before the rebuild. */
  counts?: ChunkedArray;
  rebuild(resolve: (a: ChunkedArray) => ChunkedArray, counts: readonly number[] | undefined): ChunkedArray;
}

const RECIPES = new WeakMap<ChunkedArray, Recipe>();

export function hasUnknownChunks(a: ChunkedArray): boolean {
  return RECIPES.has(a);
}

/** The error of an op that needs chunk sizes an input does not know yet. */
export function unknownChunksError(fn: string, a: ChunkedArray): ChunkError {
  return new ChunkError(
    `${fn}: ${a.name} has unknown chunk sizes along an axis (shape ${JSON.stringify(a.shape).replace(/null/g, 'NaN')}, the result of a boolean mask); ` +
      `elementwise functions and reductions accept it, for ${fn} call \`x = await client.computeChunkSizes(x)\` first`,
  );
}

/** A known array of x's dtype and rank with each unknown extent 1: what calls on x are checked against. */
export function standIn(x: ChunkedArray): ChunkedArray {
  return zeros(
    x.shape.map((d) => (Number.isNaN(d) ? 1 : d)),
    { dtype: x.dtype, chunks: x.chunks.map((c) => (c.some(Number.isNaN) ? [1] : [...c])) },
  );
}

/**
 * A deferred array: `shape` with NaN where unknown, chunked like `like` along its axes (NaN sizes
 * stay NaN), rebuilt by `rebuild` once its inputs are known.
 */
export function deferred(
  label: string,
  inputs: readonly ChunkedArray[],
  meta: { shape: readonly number[]; dtype: ChunkedArray['dtype']; chunks: readonly (readonly number[])[] },
  recipe: Recipe,
  token: unknown,
): ChunkedArray {
  const a = makeArray({
    label,
    // Never submitted: compute rebuilds it first.
    op: 'compress',
    shape: meta.shape,
    dtype: meta.dtype,
    chunks: meta.chunks.map((c) => [...c]),
    inputs,
    token,
    unknownChunks: true,
    block: () => {
      throw unknownChunksError('compute', a);
    },
  });
  RECIPES.set(a, recipe);
  return a;
}

/** Counts of an int64 result as numbers. */
function countsOf(r: NDArray): number[] {
  return isWideData(r.data) ? Array.from(r.data, Number) : Array.from(r.data as ArrayLike<number>);
}

/**
 * Rebuild `roots` with every chunk size known: compute the counts of the leaves they reach
 * (through `compute`, one graph per round), rebuild, and repeat while rebuilt arrays reach new
 * leaves (a mask of a masked array). Known arrays come back as they are.
 */
export async function resolveChunkSizes(roots: readonly ChunkedArray[], compute: (a: ChunkedArray[]) => Promise<NDArray[]>): Promise<ChunkedArray[]> {
  let current = [...roots];
  const counted = new Map<ChunkedArray, number[]>();
  for (let round = 0; round < 64; round++) {
    const leaves = pendingLeaves(current, counted);
    if (leaves.length === 0 && current.every((a) => !hasUnknownChunks(a))) return current;
    if (leaves.length) {
      const results = await compute(leaves.map((l) => RECIPES.get(l)!.counts!));
      leaves.forEach((l, i) => counted.set(l, countsOf(results[i]!)));
    }
    const memo = new Map<ChunkedArray, ChunkedArray>();
    const resolve = (a: ChunkedArray): ChunkedArray => {
      const r = RECIPES.get(a);
      if (!r) return a;
      const done = memo.get(a);
      if (done) return done;
      const out = r.rebuild(resolve, counted.get(a));
      memo.set(a, out);
      return out;
    };
    current = current.map(resolve);
  }
  throw new ChunkError('computeChunkSizes: masks nested more than 64 deep');
}

/** The leaves reachable from `roots` (through deferred arrays only) whose counts are not known yet. */
function pendingLeaves(roots: readonly ChunkedArray[], counted: ReadonlyMap<ChunkedArray, number[]>): ChunkedArray[] {
  const out: ChunkedArray[] = [];
  const seen = new Set<ChunkedArray>();
  const stack = roots.filter(hasUnknownChunks);
  while (stack.length) {
    const a = stack.pop()!;
    if (seen.has(a)) continue;
    seen.add(a);
    const r = RECIPES.get(a)!;
    if (r.counts) {
      if (!counted.has(a)) out.push(a);
    } else for (const i of a.inputs) if (hasUnknownChunks(i)) stack.push(i);
  }
  return out;
}

/**
 * `call` over operands some of which have unknown chunk sizes, deferred: checked now on stand-ins
 * (so a wrong dtype or shape still fails when the expression is built), rebuilt at compute. Known
 * array operands may not span an unknown axis (their extent there must be 1): what they would
 * line up with is not known yet.
 */
export function deferCall(
  fn: string,
  operands: readonly unknown[],
  call: (operands: readonly unknown[]) => ChunkedArray,
  /** Where the result's unknown axes are, from the stand-in result and the first unknown operand. */
  unknownAxes: (probe: ChunkedArray, first: ChunkedArray) => number[],
  /** Refuse known operands that span an unknown axis (broadcasting calls). */
  checkKnown = true,
): ChunkedArray {
  const isArr = (o: unknown): o is ChunkedArray => typeof o === 'object' && o !== null && 'chunks' in o && 'blockTask' in o;
  const unknown = operands.filter((o): o is ChunkedArray => isArr(o) && hasUnknownChunks(o));
  const first = unknown[0]!;
  for (const u of unknown) {
    const same = u.ndim === first.ndim && u.shape.every((d, i) => Object.is(d, first.shape[i])) && u.chunks.every((c, i) => c.length === first.chunks[i]!.length);
    if (!same) throw unknownChunksError(`${fn} of arrays with different unknown chunks`, u);
  }
  const nanAxes = first.shape.flatMap((d, i) => (Number.isNaN(d) ? [i] : []));
  for (const o of checkKnown ? operands : []) {
    if (!isArr(o) || hasUnknownChunks(o)) continue;
    const off = first.ndim - o.ndim;
    if (nanAxes.some((ax) => ax - off >= 0 && o.shape[ax - off] !== 1)) throw unknownChunksError(`${fn} with ${o.name} of shape ${JSON.stringify(o.shape)}`, first);
  }
  const probe = call(operands.map((o) => (isArr(o) && hasUnknownChunks(o) ? standIn(o) : o)));
  const axes = unknownAxes(probe, first);
  const shape = probe.shape.map((d, i) => (axes.includes(i) ? NaN : d));
  const nanList = first.chunks[nanAxes[0]!]!;
  // An unknown axis the probe made (a mask of a stand-in) keeps its blocks; one the stand-ins had is the operands'.
  const chunks = probe.chunks.map((c, i) => (axes.includes(i) ? (c.some(Number.isNaN) ? c : nanList).map(() => NaN) : [...c]));
  const inputs = operands.filter(isArr);
  return deferred(fn, inputs, { shape, dtype: probe.dtype, chunks }, {
    rebuild: (resolve) => call(operands.map((o) => (isArr(o) ? resolve(o) : o))),
  }, { probe: probe.name });
}

/** Throw the unknown-chunks error for `fn` when an input has unknown chunk sizes (ops that need them). */
export function requireKnown(fn: string, ...arrays: readonly ChunkedArray[]): void {
  const u = arrays.find(hasUnknownChunks);
  if (u) throw unknownChunksError(fn, u);
}

import { DtypeError, InvalidArgumentError, isFloat, isInteger, type Dtype } from '@tessera/protocol';
import { type ChunkedArray, isChunkedArray, makeArray } from './array.js';
import { boundaries } from './chunks.js';
import { zeros } from './creation.js';
import { deferred, hasUnknownChunks } from './deferred.js';
import { ravel } from './shape-ops.js';

/**
 * numpy.unique over the flattened array, as Dask's unique computes it (x raveled, the distinct
 * values of each block, then merges of those), here with a tree of merges where Dask has one:
 * at most `splitEvery` nodes per merge, so no task holds more than that many nodes' distinct
 * values (or, counting, that many raw blocks), never every block's. The result is one chunk.
 *
 * How long each node is depends on the data, and every task here declares its shape, so the
 * tree is a deferred array (Dask's unknown chunk sizes, deferred.ts) resolved one level per
 * round: `client.compute` first counts the distinct values of each block and of each group of
 * splitEvery blocks (a `unique` task giving `size`, int64[1]), rebuilds those two levels with
 * exact shapes, counts the nodes of the next one over them, and so on up to the root; then the
 * real graph runs. With b > 1 blocks that is ceil(log_splitEvery b) counting graphs before it
 * (one for b <= splitEvery), each recomputing the levels below the one it counts (as Dask's
 * compute_chunk_sizes() then compute() recomputes the blocks): persist x first when it is
 * costly to make.
 */

export interface UniqueOptions {
  /** Also give the first flat index of each unique value (int64). */
  returnIndex?: boolean;
  /** Also give, for each element of x (flattened, as numpy 1.24 gives it), the index of its value among the unique values (int64). */
  returnInverse?: boolean;
  /** Also give the number of times each unique value occurs (int64). */
  returnCounts?: boolean;
  /** Nodes merged per task of the tree (default 8). */
  splitEvery?: number;
}

type NoFlags = UniqueOptions & { returnIndex?: false; returnInverse?: false; returnCounts?: false };
type SomeFlag = UniqueOptions & ({ returnIndex: true } | { returnInverse: true } | { returnCounts: true });
type Kind = 'values' | 'index' | 'inverse' | 'counts';

const FLAGS = ['returnIndex', 'returnInverse', 'returnCounts'] as const;
const OPTIONS: ReadonlySet<string> = new Set([...FLAGS, 'splitEvery']);

/** One level of the tree, known: one block per node, each its sorted distinct values (and their first indices, counts). */
interface Level {
  values: ChunkedArray;
  index?: ChunkedArray | undefined;
  counts?: ChunkedArray | undefined;
}

/** What every level of one unique call shares. */
interface Tree {
  flat: ChunkedArray;
  /** The flat index of each block's first element. */
  starts: number[];
  index: boolean;
  counts: boolean;
  splitEvery: number;
}

/** The root levels, by their values array: what the other outputs are taken from. */
const ROOTS = new WeakMap<ChunkedArray, Level>();

function groupsOf(n: number, size: number): number[][] {
  return Array.from({ length: Math.ceil(n / size) }, (_, g) => Array.from({ length: Math.min(size, n - g * size) }, (_, j) => g * size + j));
}

/** The nodes of the level above `prev` (the blocks of x's flattening when there is none): the lower nodes each merges. */
function nodesOver(t: Tree, prev: Level | undefined): number[][] {
  return prev ? groupsOf(prev.values.numblocks[0]!, t.splitEvery) : t.flat.chunks[0]!.map((_, b) => [b]);
}

/** A size task per node: the number of distinct values in the union of its `nodes` of `below` (int64, one element and block each). */
function sizes(t: Tree, below: ChunkedArray, nodes: readonly (readonly number[])[], merge: boolean, level: number): ChunkedArray {
  const params = { out: 'size', merge };
  return makeArray({
    label: 'unique-size',
    op: 'unique',
    shape: [nodes.length],
    dtype: 'int64',
    chunks: [nodes.map(() => 1)],
    inputs: [below],
    token: { level, splitEvery: t.splitEvery, merge },
    block: ([n]) => ({ params, deps: nodes[n!]!.map((b) => below.key([b])) }),
  });
}

/**
 * The first round's sizes: each block's, then (with several blocks) each group of splitEvery
 * blocks' read from the raw blocks, so the first round counts two levels (such a task holds no
 * more than the merge of those blocks' distinct values could).
 */
function firstSizes(t: Tree): ChunkedArray {
  const n = t.flat.numblocks[0]!;
  const nodes = [...nodesOver(t, undefined), ...(n > 1 ? groupsOf(n, t.splitEvery) : [])];
  return sizes(t, t.flat, nodes, false, 0);
}

/** The level above `prev`, its nodes `sizes` long. */
function levelOver(t: Tree, prev: Level | undefined, sizes: readonly number[], level: number): Level {
  const nodes = nodesOver(t, prev);
  const one = (out: 'values' | 'index' | 'counts'): ChunkedArray => {
    // A merge of indices or counts reads the level below's (the tree builds them at every level).
    const aux = out === 'values' ? undefined : prev?.[out];
    return makeArray({
      label: `unique-${out}`,
      op: 'unique',
      shape: [sizes.reduce((a, b) => a + b, 0)],
      dtype: out === 'values' ? t.flat.dtype : 'int64',
      chunks: [[...sizes]],
      inputs: prev ? (aux ? [prev.values, aux] : [prev.values]) : [t.flat],
      token: { level, splitEvery: t.splitEvery },
      block: ([n]) => {
        const group = nodes[n!]!;
        if (!prev) return { params: out === 'index' ? { out, merge: false, offset: t.starts[n!]! } : { out, merge: false }, deps: [t.flat.key([n!])] };
        const deps = group.map((b) => prev.values.key([b]));
        return { params: { out, merge: true }, deps: aux ? [...deps, ...group.map((b) => aux.key([b]))] : deps };
      },
    });
  };
  return { values: one('values'), index: t.index ? one('index') : undefined, counts: t.counts ? one('counts') : undefined };
}

/** The level above `prev` with its nodes' `sizes` known: the root, or the values while the next level is counted. */
function next(t: Tree, prev: Level | undefined, counted: readonly number[], level: number): ChunkedArray {
  const known = levelOver(t, prev, counted, level);
  if (counted.length > 1) return pending(t, known, level + 1);
  ROOTS.set(known.values, known);
  return known.values;
}

/**
 * The unique values while the level above `prev` is not counted yet (the first two levels when
 * there is no `prev`): a deferred array whose counts are that level's sizes, rebuilt into the
 * next pending level, or into the root.
 */
function pending(t: Tree, prev: Level | undefined, level: number): ChunkedArray {
  const first = prev === undefined;
  return deferred(
    'unique',
    [prev ? prev.values : t.flat],
    { shape: [NaN], dtype: t.flat.dtype, chunks: [[NaN]] },
    {
      counts: first ? firstSizes(t) : sizes(t, prev.values, nodesOver(t, prev), true, level),
      rebuild: (_resolve, counted) => {
        if (!first) return next(t, prev, counted!, level);
        const n = t.flat.numblocks[0]!;
        if (n === 1) return next(t, undefined, counted!, 0);
        return next(t, levelOver(t, undefined, counted!.slice(0, n), 0), counted!.slice(n), 1);
      },
    },
    { level, splitEvery: t.splitEvery, index: t.index, counts: t.counts },
  );
}

/** For each element of x, flattened, the position of its value among the unique values (one chunk): a binary search per block. */
function inverseOf(t: Tree, values: ChunkedArray): ChunkedArray {
  const params = { side: 'left' };
  return makeArray({
    label: 'unique-inverse',
    op: 'search-count',
    shape: t.flat.shape,
    dtype: 'int64',
    chunks: t.flat.chunks,
    inputs: [values, t.flat],
    token: params,
    block: ([b]) => ({ params, deps: [values.key([0]), t.flat.key([b!])] }),
  });
}

/** Output `kind` of the tree whose values are `u` (pending or the root): deferred until the root is known. */
function follow(t: Tree, u: ChunkedArray, kind: Exclude<Kind, 'values'>): ChunkedArray {
  const root = ROOTS.get(u);
  if (root) return kind === 'inverse' ? inverseOf(t, root.values) : root[kind]!;
  const meta = kind === 'inverse' ? { shape: t.flat.shape, chunks: t.flat.chunks } : { shape: [NaN], chunks: [[NaN]] };
  return deferred(`unique-${kind}`, [u], { ...meta, dtype: 'int64' }, { rebuild: (resolve) => follow(t, resolve(u), kind) }, { kind });
}

function kindsOf(o: UniqueOptions): Kind[] {
  return ['values', ...(o.returnIndex ? ['index' as const] : []), ...(o.returnInverse ? ['inverse' as const] : []), ...(o.returnCounts ? ['counts' as const] : [])];
}

/** The outputs for x of known chunk sizes, in numpy's order. */
function uniqueKnown(x: ChunkedArray, o: UniqueOptions, splitEvery: number): ChunkedArray[] {
  const kinds = kindsOf(o);
  const flat = x.ndim === 1 ? x : ravel(x);
  if (flat.size === 0) {
    return kinds.map((k) => (k === 'values' ? zeros([0], { dtype: x.dtype }) : zeros([0], { dtype: 'int64' })));
  }
  const t: Tree = { flat, starts: boundaries(flat.chunks[0]!), index: !!o.returnIndex, counts: !!o.returnCounts, splitEvery };
  const values = pending(t, undefined, 0);
  return kinds.map((k) => (k === 'values' ? values : follow(t, values, k)));
}

/** The outputs of a call on an array of unknown chunk sizes, by the rebuilt array: one tree however many outputs rebuild. */
const CALLS = new WeakMap<ChunkedArray, Map<string, ChunkedArray[]>>();

function uniqueOf(x: ChunkedArray, o: UniqueOptions, splitEvery: number): ChunkedArray[] {
  const kinds = kindsOf(o);
  if (!hasUnknownChunks(x)) return uniqueKnown(x, o, splitEvery);
  const key = JSON.stringify([kinds, splitEvery]);
  const rebuilt = (y: ChunkedArray): ChunkedArray[] => {
    const calls = CALLS.get(y) ?? new Map<string, ChunkedArray[]>();
    CALLS.set(y, calls);
    const had = calls.get(key);
    if (had) return had;
    const outs = uniqueOf(y, o, splitEvery);
    calls.set(key, outs);
    return outs;
  };
  return kinds.map((k, i) => {
    const dtype: Dtype = k === 'values' ? x.dtype : 'int64';
    return deferred(`unique-${k}`, [x], { shape: [NaN], dtype, chunks: [[NaN]] }, { rebuild: (resolve) => rebuilt(resolve(x))[i]! }, { kinds, splitEvery, i });
  });
}

/**
 * numpy.unique (axis=None): the sorted unique values of x, flattened, in x's dtype (NaN after
 * every number, all NaNs one value, as numpy 1.24's equal_nan; -0 and 0 one value, with the
 * sign of the first zero in flat order). With any flag, a list in numpy's order: the values,
 * then `returnIndex`'s first flat indices, `returnInverse`'s position of each element of x
 * among the values (1-d, x flattened, as numpy 1.24 gives it for axis=None, chunked like x
 * flattened: each block binary-searches the values), `returnCounts`'s occurrences (all int64).
 *
 * The values, indices and counts are one chunk each, of a length found when computed (shape NaN
 * until then, as for a boolean mask: elementwise functions and reductions take them, other
 * functions after `client.computeChunkSizes`); the inverse has x's size, but its tasks wait on
 * the values, so it is deferred the same way. x may itself have unknown chunk sizes (x[mask]).
 */
export function unique(x: ChunkedArray, opts?: NoFlags): ChunkedArray;
export function unique(x: ChunkedArray, opts: SomeFlag): ChunkedArray[];
export function unique(x: ChunkedArray, opts?: UniqueOptions): ChunkedArray | ChunkedArray[];
export function unique(x: ChunkedArray, opts: UniqueOptions = {}): ChunkedArray | ChunkedArray[] {
  if (!isChunkedArray(x)) throw new InvalidArgumentError(`unique: x must be an array, got ${x === null ? 'null' : typeof x}`);
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new InvalidArgumentError('unique: options must be an object');
  const unknown = Object.keys(opts).filter((k) => !OPTIONS.has(k));
  if (unknown.length) throw new InvalidArgumentError(`unique: unknown option ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: ${[...OPTIONS].join(', ')}`);
  for (const f of FLAGS) {
    const v = opts[f];
    if (v !== undefined && typeof v !== 'boolean') throw new InvalidArgumentError(`unique: ${f} must be a boolean, got ${JSON.stringify(v) ?? typeof v}`);
  }
  const splitEvery = opts.splitEvery ?? 8;
  if (!Number.isInteger(splitEvery) || splitEvery < 2) throw new InvalidArgumentError(`unique: splitEvery must be an integer >= 2, got ${splitEvery}`);
  if (!isFloat(x.dtype) && !isInteger(x.dtype)) throw new DtypeError(`unique: takes real arrays (numbers and bools), got ${x.dtype}`);
  const outs = uniqueOf(x, opts, splitEvery);
  return FLAGS.some((f) => opts[f]) ? outs : outs[0]!;
}

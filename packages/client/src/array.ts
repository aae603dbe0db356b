import { type Dtype, DtypeError, type OpName, complexRefusal, fmtShape, itemsize, sizeOf, taskKey, tokenize } from '@tessera/protocol';
import { type Chunks, type ChunksSpec, fmtChunks, gridIndices } from './chunks.js';
// The method bodies below call these at call time only, so the import cycle with the modules
// that construct arrays never touches an uninitialised binding at load time.
import * as ew from './elementwise.js';
import * as red from './reductions.js';
import * as uf from './ufuncs.js';
import * as so from './shape-ops.js';
import * as lm from './linalg-more.js';
import * as nr from './nan-reductions.js';
import * as cu from './cumulative.js';
import * as tk from './take.js';
import * as mk from './masking.js';
import * as st from './structure.js';
import * as sl from './slicing.js';
import * as la from './linalg.js';
import * as sr from './sorting.js';
import * as cx from './complex.js';
import { mapBlocks, type MapBlocksOptions } from './map-blocks.js';
import { hasUnknownChunks, unknownChunksError } from './deferred.js';

/** What one block's task needs beyond its key, shape and dtype. */
export interface BlockTask {
  params: Record<string, unknown>;
  /** Input keys in the order the op takes them. */
  deps: string[];
}

/** A layer: how every block of an array is computed. */
export interface ArrayInit {
  /** Name prefix (usually the op or function name); the token is appended. */
  label: string;
  op: OpName;
  shape: readonly number[];
  dtype: Dtype;
  chunks: Chunks;
  inputs: readonly ChunkedArray[];
  /** Whatever besides the inputs determines the values; hashed into the token. */
  token: unknown;
  block(index: readonly number[]): BlockTask;
  /** Reuse an existing name (persisted arrays keep their keys). */
  name?: string;
  /** A deferred array of unknown chunk sizes (deferred.ts): its inputs may have them too. */
  unknownChunks?: boolean;
}

/** A computed array: C-order data of `shape`. */
export interface NDArray {
  shape: number[];
  dtype: Dtype;
  data: import('@tessera/protocol').ChunkData;
}

/** An array or a scalar: a JS number (numpy's weak Python int / float) or a JS boolean (a bool). */
export type Operand = ChunkedArray | number | boolean;

/** What the file writers (toZarr, store, toParquet) need of a client: compute arrays, each block written by its task. */
export interface ComputesArrays {
  compute(arrays: readonly ChunkedArray[]): Promise<unknown>;
}

export interface ReduceOptions {
  axis?: number | readonly number[];
  keepdims?: boolean;
  /** Partials merged per tree-reduction task (default 4). */
  splitEvery?: number;
}
/** Options of a reduction over every axis without keepdims: the result is a scalar. */
export interface FullReduceOptions extends ReduceOptions {
  axis?: undefined;
  keepdims?: false;
}
export interface VarOptions extends ReduceOptions {
  ddof?: number;
}
export interface FullVarOptions extends FullReduceOptions {
  ddof?: number;
}
export interface ArgReduceOptions {
  axis?: number;
  keepdims?: boolean;
  splitEvery?: number;
}
export interface FullArgReduceOptions extends ArgReduceOptions {
  axis?: undefined;
  keepdims?: false;
}

/** One axis of a slice: an index (drops the axis), null (everything) or a Python-style range. */
/** numpy's `...` in an index: as many full axes as the index leaves out. */
export const ellipsis = '...' as const;
/** numpy's `newaxis` (None) in an index: a new axis of size 1 here. */
export const newaxis = 'newaxis' as const;
/** One entry of an index: an integer, null (the whole axis), a {start, stop, step} slice, `ellipsis` or `newaxis`. */
export type SliceSpec = number | null | { start?: number | null; stop?: number | null; step?: number | null } | typeof ellipsis | typeof newaxis;

/**
 * A lazy chunked N-d array: a name, shape, dtype, chunks and the recipe of its blocks' tasks.
 * Nothing runs until a Client computes it.
 */
export class ChunkedArray {
  /** `<label>-<token>`; block keys are `<name>:<i>,<j>`. */
  readonly name: string;
  readonly op: OpName;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
  readonly chunks: Chunks;
  readonly inputs: readonly ChunkedArray[];
  readonly #block: (index: readonly number[]) => BlockTask;

  constructor(init: ArrayInit & { name: string }) {
    this.name = init.name;
    this.op = init.op;
    this.shape = [...init.shape];
    this.dtype = init.dtype;
    this.chunks = init.chunks;
    this.inputs = init.inputs;
    this.#block = init.block;
  }

  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get nbytes(): number {
    return this.size * itemsize(this.dtype);
  }
  /** Number of blocks along each axis. */
  get numblocks(): number[] {
    return this.chunks.map((c) => c.length);
  }
  key(index: readonly number[]): string {
    return taskKey(this.name, index);
  }
  /** Every block key, in C order. */
  keys(): string[] {
    return [...gridIndices(this.numblocks)].map((i) => this.key(i));
  }
  blockShape(index: readonly number[]): number[] {
    return index.map((b, ax) => this.chunks[ax]![b]!);
  }
  /** The task recipe of one block (used by the graph builder). */
  blockTask(index: readonly number[]): BlockTask {
    return this.#block(index);
  }
  toString(): string {
    return `ChunkedArray<${this.name} ${this.dtype}${fmtShape(this.shape)} chunks ${fmtChunks(this.chunks)}>`;
  }

  // Elementwise
  add(o: Operand): ChunkedArray { return ew.add(this, o); }
  sub(o: Operand): ChunkedArray { return ew.sub(this, o); }
  mul(o: Operand): ChunkedArray { return ew.mul(this, o); }
  div(o: Operand): ChunkedArray { return ew.div(this, o); }
  pow(o: Operand): ChunkedArray { return ew.pow(this, o); }
  maximum(o: Operand): ChunkedArray { return ew.maximum(this, o); }
  minimum(o: Operand): ChunkedArray { return ew.minimum(this, o); }
  lt(o: Operand): ChunkedArray { return ew.lt(this, o); }
  le(o: Operand): ChunkedArray { return ew.le(this, o); }
  gt(o: Operand): ChunkedArray { return ew.gt(this, o); }
  ge(o: Operand): ChunkedArray { return ew.ge(this, o); }
  eq(o: Operand): ChunkedArray { return ew.eq(this, o); }
  ne(o: Operand): ChunkedArray { return ew.ne(this, o); }
  neg(): ChunkedArray { return ew.neg(this); }
  abs(): ChunkedArray { return ew.abs(this); }
  sqrt(): ChunkedArray { return ew.sqrt(this); }
  exp(): ChunkedArray { return ew.exp(this); }
  log(): ChunkedArray { return ew.log(this); }
  sin(): ChunkedArray { return ew.sin(this); }
  cos(): ChunkedArray { return ew.cos(this); }
  tanh(): ChunkedArray { return ew.tanh(this); }
  /** `cond.where(a, b)`: a where this is non-zero, else b. */
  where(a: Operand, b: Operand): ChunkedArray { return ew.where(this, a, b); }
  astype(dtype: Dtype): ChunkedArray { return ew.astype(this, dtype); }
  /** The real part (numpy's `x.real`); a real array's own values. */
  get real(): ChunkedArray { return cx.real(this); }
  /** The imaginary part (numpy's `x.imag`); zeros for a real array. */
  get imag(): ChunkedArray { return cx.imag(this); }
  conj(): ChunkedArray { return cx.conj(this); }
  conjugate(): ChunkedArray { return cx.conj(this); }
  floor(): ChunkedArray { return uf.floor(this); }
  ceil(): ChunkedArray { return uf.ceil(this); }
  trunc(): ChunkedArray { return uf.trunc(this); }
  rint(): ChunkedArray { return uf.rint(this); }
  round(decimals = 0): ChunkedArray { return uf.round(this, decimals); }
  clip(lo?: Operand | null, hi?: Operand | null): ChunkedArray { return uf.clip(this, lo, hi); }
  sign(): ChunkedArray { return uf.sign(this); }
  square(): ChunkedArray { return uf.square(this); }
  reciprocal(): ChunkedArray { return uf.reciprocal(this); }
  log1p(): ChunkedArray { return uf.log1p(this); }
  expm1(): ChunkedArray { return uf.expm1(this); }
  log2(): ChunkedArray { return uf.log2(this); }
  log10(): ChunkedArray { return uf.log10(this); }
  exp2(): ChunkedArray { return uf.exp2(this); }
  tan(): ChunkedArray { return uf.tan(this); }
  arcsin(): ChunkedArray { return uf.arcsin(this); }
  arccos(): ChunkedArray { return uf.arccos(this); }
  arctan(): ChunkedArray { return uf.arctan(this); }
  sinh(): ChunkedArray { return uf.sinh(this); }
  cosh(): ChunkedArray { return uf.cosh(this); }
  arcsinh(): ChunkedArray { return uf.arcsinh(this); }
  arccosh(): ChunkedArray { return uf.arccosh(this); }
  arctanh(): ChunkedArray { return uf.arctanh(this); }
  degrees(): ChunkedArray { return uf.degrees(this); }
  radians(): ChunkedArray { return uf.radians(this); }
  arctan2(o: Operand): ChunkedArray { return uf.arctan2(this, o); }
  hypot(o: Operand): ChunkedArray { return uf.hypot(this, o); }
  copysign(o: Operand): ChunkedArray { return uf.copysign(this, o); }
  floorDivide(o: Operand): ChunkedArray { return uf.floorDivide(this, o); }
  remainder(o: Operand): ChunkedArray { return uf.remainder(this, o); }
  mod(o: Operand): ChunkedArray { return uf.remainder(this, o); }
  fmod(o: Operand): ChunkedArray { return uf.fmod(this, o); }
  isnan(): ChunkedArray { return uf.isnan(this); }
  isinf(): ChunkedArray { return uf.isinf(this); }
  isfinite(): ChunkedArray { return uf.isfinite(this); }
  logicalNot(): ChunkedArray { return uf.logicalNot(this); }
  logicalAnd(o: Operand): ChunkedArray { return uf.logicalAnd(this, o); }
  logicalOr(o: Operand): ChunkedArray { return uf.logicalOr(this, o); }
  logicalXor(o: Operand): ChunkedArray { return uf.logicalXor(this, o); }
  invert(): ChunkedArray { return uf.invert(this); }
  bitwiseAnd(o: Operand): ChunkedArray { return uf.bitwiseAnd(this, o); }
  bitwiseOr(o: Operand): ChunkedArray { return uf.bitwiseOr(this, o); }
  bitwiseXor(o: Operand): ChunkedArray { return uf.bitwiseXor(this, o); }
  leftShift(o: Operand): ChunkedArray { return uf.leftShift(this, o); }
  rightShift(o: Operand): ChunkedArray { return uf.rightShift(this, o); }
  nanToNum(opts?: uf.NanToNumOptions): ChunkedArray { return uf.nanToNum(this, opts); }
  squeeze(axis?: number | readonly number[]): ChunkedArray { return so.squeeze(this, axis); }
  swapaxes(a: number, b: number): ChunkedArray { return so.swapaxes(this, a, b); }
  ravel(): ChunkedArray { return so.ravel(this); }
  flatten(): ChunkedArray { return so.ravel(this); }
  repeat(repeats: number, opts?: { axis?: number }): ChunkedArray { return so.repeat(this, repeats, opts); }
  dot(o: ChunkedArray): ChunkedArray { return lm.dot(this, o); }
  cumsum(opts?: { axis?: number }): ChunkedArray { return cu.cumsum(this, opts); }
  /** numpy's sort, returning a new array (numpy's ndarray.sort sorts in place). */
  sort(opts?: sr.SortOptions): ChunkedArray { return sr.sort(this, opts); }
  argsort(opts?: sr.SortOptions): ChunkedArray { return sr.argsort(this, opts); }
  topk(k: number, opts?: sr.TopkOptions): ChunkedArray { return sr.topk(this, k, opts); }
  argtopk(k: number, opts?: sr.TopkOptions): ChunkedArray { return sr.argtopk(this, k, opts); }
  searchsorted(v: ChunkedArray | number, opts?: sr.SearchsortedOptions): ChunkedArray { return sr.searchsorted(this, v, opts); }
  /** numpy's take / `x[idx]` along one axis: indices in any order, repeats allowed. */
  take(indices: readonly number[] | ArrayLike<number>, opts?: { axis?: number }): ChunkedArray { return tk.take(this, indices, opts); }
  /** numpy's x[cond]: the elements (or leading-axis slices) where the bool array is true; unknown size until computed. */
  mask(cond: ChunkedArray | readonly boolean[] | readonly number[]): ChunkedArray { return mk.mask(this, cond); }
  compress(cond: ChunkedArray | readonly (number | boolean)[], opts?: { axis?: number }): ChunkedArray { return mk.compress(cond, this, opts); }
  nonzero(): ChunkedArray[] { return mk.nonzero(this); }
  cumprod(opts?: { axis?: number }): ChunkedArray { return cu.cumprod(this, opts); }
  diagonal(offset = 0, axis1 = 0, axis2 = 1): ChunkedArray { return lm.diagonal(this, offset, axis1, axis2); }
  trace(offset = 0, axis1 = 0, axis2 = 1): ChunkedArray { return lm.trace(this, offset, axis1, axis2); }
  ptp(opts?: FullReduceOptions): ChunkedScalar;
  ptp(opts: ReduceOptions): ChunkedArray;
  ptp(opts?: ReduceOptions): ChunkedArray { return nr.ptp(this, opts as ReduceOptions); }
  all(opts?: FullReduceOptions): ChunkedScalar;
  all(opts: ReduceOptions): ChunkedArray;
  all(opts?: ReduceOptions): ChunkedArray { return uf.all(this, opts as ReduceOptions); }
  any(opts?: FullReduceOptions): ChunkedScalar;
  any(opts: ReduceOptions): ChunkedArray;
  any(opts?: ReduceOptions): ChunkedArray { return uf.any(this, opts as ReduceOptions); }

  // Reductions (over every axis without keepdims they give a ChunkedScalar)
  sum(opts?: FullReduceOptions): ChunkedScalar;
  sum(opts: ReduceOptions): ChunkedArray;
  sum(opts?: ReduceOptions): ChunkedArray { return red.sum(this, opts as ReduceOptions); }
  prod(opts?: FullReduceOptions): ChunkedScalar;
  prod(opts: ReduceOptions): ChunkedArray;
  prod(opts?: ReduceOptions): ChunkedArray { return red.prod(this, opts as ReduceOptions); }
  mean(opts?: FullReduceOptions): ChunkedScalar;
  mean(opts: ReduceOptions): ChunkedArray;
  mean(opts?: ReduceOptions): ChunkedArray { return red.mean(this, opts as ReduceOptions); }
  min(opts?: FullReduceOptions): ChunkedScalar;
  min(opts: ReduceOptions): ChunkedArray;
  min(opts?: ReduceOptions): ChunkedArray { return red.min(this, opts as ReduceOptions); }
  max(opts?: FullReduceOptions): ChunkedScalar;
  max(opts: ReduceOptions): ChunkedArray;
  max(opts?: ReduceOptions): ChunkedArray { return red.max(this, opts as ReduceOptions); }
  var(opts?: FullVarOptions): ChunkedScalar;
  var(opts: VarOptions): ChunkedArray;
  var(opts?: VarOptions): ChunkedArray { return red.var_(this, opts as VarOptions); }
  std(opts?: FullVarOptions): ChunkedScalar;
  std(opts: VarOptions): ChunkedArray;
  std(opts?: VarOptions): ChunkedArray { return red.std(this, opts as VarOptions); }
  argmin(opts?: FullArgReduceOptions): ChunkedScalar;
  argmin(opts: ArgReduceOptions): ChunkedArray;
  argmin(opts?: ArgReduceOptions): ChunkedArray { return red.argmin(this, opts as ArgReduceOptions); }
  argmax(opts?: FullArgReduceOptions): ChunkedScalar;
  argmax(opts: ArgReduceOptions): ChunkedArray;
  argmax(opts?: ArgReduceOptions): ChunkedArray { return red.argmax(this, opts as ArgReduceOptions); }

  // Structure
  /** The transpose (axes reversed). */
  get T(): ChunkedArray { return st.transpose(this); }
  transpose(axes?: readonly number[]): ChunkedArray { return st.transpose(this, axes); }
  reshape(shape: readonly number[]): ChunkedArray { return st.reshape(this, shape); }
  rechunk(chunks: ChunksSpec): ChunkedArray { return sl.rechunk(this, chunks); }
  /** Python-style slicing, one spec per leading axis: `x.slice({ start: 1, step: 2 }, 0)` is `x[1::2, 0]`. */
  slice(...specs: SliceSpec[]): ChunkedArray { return sl.slice(this, ...specs); }
  /**
   * numpy's `x[...]` in one call: slice entries as in `slice`, and at most one integer list (or
   * typed array) for fancy indexing along its axis (`x.get([idx, null])` is `x[idx, :]`).
   */
  get(index: readonly (SliceSpec | readonly number[] | Int32Array)[]): ChunkedArray { return tk.getItem(this, index); }
  /** `a.concatenate([b, c], { axis })` is `concatenate([a, b, c], { axis })`. */
  concatenate(others: readonly ChunkedArray[], opts?: { axis?: number }): ChunkedArray { return st.concatenate([this, ...others], opts); }
  stack(others: readonly ChunkedArray[], opts?: { axis?: number }): ChunkedArray { return st.stack([this, ...others], opts); }
  matmul(b: ChunkedArray): ChunkedArray { return la.matmul(this, b); }
  tensordot(b: ChunkedArray, opts?: { axes?: number | readonly [readonly number[], readonly number[]] }): ChunkedArray { return la.tensordot(this, b, opts); }
  mapBlocks(kernel: string, ...rest: (ChunkedArray | MapBlocksOptions)[]): ChunkedArray {
    return mapBlocks(kernel, this, ...(rest as ChunkedArray[]));
  }
}

/**
 * A 0-d array. Every 0-d array is created as this class, so `client.compute` resolves it to a
 * plain number; full reductions are typed to return it.
 */
export class ChunkedScalar extends ChunkedArray {
  /** Brand: a ChunkedArray is not structurally a ChunkedScalar. */
  readonly scalar = true as const;
}

/** Create an array from a layer, naming it `<label>-<token>`. */
export function makeArray(init: ArrayInit): ChunkedArray {
  // Only deferred arrays build on unknown chunk sizes; every other op needs them (Dask's rule).
  const unknown = init.unknownChunks ? undefined : init.inputs.find(hasUnknownChunks);
  if (unknown) throw unknownChunksError(init.label, unknown);
  const refused = complexRefusal(init.op, init.inputs, init);
  if (refused) throw new DtypeError(`${init.label}: ${refused}`);
  const name =
    init.name ??
    `${init.label}-${tokenize(init.label, init.op, init.token, init.inputs.map((a) => a.name), init.shape, init.dtype, init.chunks)}`;
  return init.shape.length === 0 ? new ChunkedScalar({ ...init, name }) : new ChunkedArray({ ...init, name });
}

export function isChunkedArray(v: unknown): v is ChunkedArray {
  return v instanceof ChunkedArray;
}

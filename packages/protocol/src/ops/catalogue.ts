import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { accumulatorType, Dtype, isComplex, isFloat, itemsize, ScalarValue } from '../dtype.js';
import {
  broadcastShapes,
  fmtShape,
  isPermutation,
  permuteShape,
  reducedShape,
  shapeEquals,
  Shape,
  sizeOf,
} from '../shape.js';
import { arityOf, elementwiseDtypeError, elementwiseResultDtype, InputView, Instruction, type Operand } from './elementwise.js';
import { partialComponents, ReduceFinal, ReducePartialSpec } from './reduction.js';
import { FAST_PARAMS } from './fast-params.js';
import {
  BincountParams,
  checkBincount,
  checkHistogram,
  checkHistogramdd,
  checkSearchCount,
  checkSort,
  checkTopk,
  checkUnique,
  HistogramParams,
  HistogramddParams,
  SearchCountParams,
  SortParams,
  TopkParams,
  UniqueParams,
} from './selection.js';
import {
  checkCholesky,
  checkDet,
  checkLu,
  checkQr,
  checkSolve,
  checkSvd,
  checkTriangularSolve,
  CholeskyParams,
  DetParams,
  LuParams,
  QrParams,
  SolveParams,
  SvdParams,
  TriangularSolveParams,
} from './linalg.js';
import { checkCorrelate, checkGradient, CorrelateParams, GradientParams } from './stencil.js';
import { checkComplex, checkFft, ComplexParams, FftParams } from './spectral.js';
import { Piece } from './pieces.js';
export { AxisSlice, Piece } from './pieces.js';

/**
 * The op catalogue: every op a task may name, its parameter schema, and the rule that checks a
 * task's declared output shape/dtype against its inputs. Kernels (CPU now, GPU later) implement
 * exactly these semantics; the client emits only these.
 */

const nonneg = z.number().int().nonnegative();

export const FullParams = z.object({ value: ScalarValue }).strict();
export const ArangeParams = z.object({ start: z.number(), step: z.number() }).strict();
export const RandomParams = z
  .object({
    dist: z.enum(['uniform', 'normal']),
    seed: z.number().int().min(0).max(0xffffffff),
    /** uniform: [a, b); normal: mean a, standard deviation b. */
    a: z.number(),
    b: z.number(),
    /** Global start of this chunk and the whole array's shape: values depend on the global index only. */
    offset: z.array(nonneg),
    fullShape: Shape,
  })
  .strict();
/** A chunk shipped inside the graph: raw little-endian bytes of the dtype, C order. */
export const FromBytesParams = z.object({ bytes: z.instanceof(Uint8Array) }).strict();
export const PersistedParams = z.object({}).strict();
export const ElementwiseParams = z
  .object({
    program: z.array(Instruction).min(1),
    inputs: z.array(InputView),
    /** Shape the program runs over (the broadcast of the input views). */
    domain: Shape,
    /** A reduction's first step fused in: the output is then a partial (see reduction.ts). */
    reduce: ReducePartialSpec.optional(),
  })
  .strict();
export const ReducePartialParams = ReducePartialSpec;
export const ReduceMergeParams = z
  .object({ kind: ReducePartialSpec.shape.kind, axes: z.array(nonneg), final: ReduceFinal.optional() })
  .strict();
export const TransposeParams = z.object({ axes: z.array(nonneg) }).strict();
/** A running sum or product along one axis of one block (the local step of cumsum / cumprod). */
export const CumulateParams = z.object({ kind: z.enum(['sum', 'prod']), axis: nonneg }).strict();
export const ReshapeParams = z.object({ shape: Shape }).strict();
/**
 * Quantiles (numpy's default 'linear' method) of each lane along `axis`, which the block holds
 * whole: the output's first axis is `q`, the others are the input's without `axis`. `skipNan`
 * ignores NaN (nanquantile); otherwise a lane with NaN gives NaN.
 */
export const QuantileParams = z
  .object({ axis: nonneg, q: z.array(z.number().min(0).max(1)).min(1), skipNan: z.boolean() })
  .strict();
/** Copy strided regions of inputs into a new chunk: slicing, rechunking, concatenation. */
export const AssembleParams = z.object({ pieces: z.array(Piece) }).strict();
/** out = sum over k of tensordot(deps[k], deps[pairs + k], axes). */
export const TensordotParams = z
  .object({ axesA: z.array(nonneg), axesB: z.array(nonneg), pairs: z.number().int().positive() })
  .strict();
/**
 * Boolean-mask selection (numpy.compress): the input's slices along `axis` where a 1-D bool
 * condition (the second input) is true. The output's extent along `axis` is the condition's count,
 * which the client learned from `count-nonzero` tasks first (Dask's unknown chunk sizes).
 */
export const CompressParams = z.object({ axis: nonneg }).strict();
/** The number of true elements of a 1-D bool chunk, as an int64 chunk of shape [1]. */
export const CountNonzeroParams = z.object({}).strict();
/** Write the input chunk as a .npy file on the worker (an npy stack's block); gives the bytes written, int64[1]. */
export const WriteNpyParams = z.object({ path: z.string().min(1) }).strict();
/** One chunk that is a whole C-order .npy file on the worker's filesystem (an npy stack's block). */
export const ReadNpyParams = z
  .object({ path: z.string().min(1), offset: z.number().int().nonnegative(), bigEndian: z.boolean() })
  .strict();
/**
 * A region of a Zarr array on the worker's store: `region` is [start, stop) per axis, `doc` the
 * array's metadata document (the worker opens the array without reading metadata, which a write
 * leaves for last). `write-zarr` writes its input there and gives the bytes it wrote, int64[1].
 */
export const ZarrRegionParams = z
  .object({
    store: z.string().min(1),
    path: z.string(),
    format: z.union([z.literal(2), z.literal(3)]),
    doc: z.string().min(2),
    region: z.array(z.tuple([nonneg, nonneg])),
  })
  .strict();
/** A region ([start, stop) per axis) of a dataset in an HDF5 (or NetCDF4) file on the worker's filesystem. */
export const ReadHdf5Params = z
  .object({ file: z.string().min(1), dataset: z.string().min(1), region: z.array(z.tuple([nonneg, nonneg])) })
  .strict();
/** One numeric column of one part of a columnar file: a Parquet row group (`read-parquet`) or an Arrow IPC record batch (`read-arrow`). */
export const ColumnPartParams = z.object({ path: z.string().min(1), part: nonneg, column: z.string().min(1) }).strict();
export const PARQUET_COMPRESSIONS = ['snappy', 'zstd', 'gzip', 'brotli', 'lz4', 'none'] as const;
/**
 * Write the inputs (1-d, of one length) as the named columns of one Parquet file (a part of a
 * dataset); gives the file's bytes, int64[1].
 */
export const WriteParquetParams = z
  .object({ path: z.string().min(1), names: z.array(z.string().min(1)).min(1), compression: z.enum(PARQUET_COMPRESSIONS) })
  .strict();
export const MapBlocksParams = z
  .object({
    kernel: z.string().min(1).max(200),
    params: z.record(z.string(), z.unknown()),
    blockIndex: z.array(nonneg),
    /**
     * applyAlongAxis: the kernel runs once per 1-d lane along `axis` of the one input (which holds
     * the axis whole); each result, of shape `out` ([] for a scalar), takes the axis's place.
     */
    along: z.object({ axis: nonneg, out: z.array(nonneg) }).strict().optional(),
    /** The user said the kernel is pure (its output depends on its inputs and params only): a result cache may keep it. */
    pure: z.literal(true).optional(),
  })
  .strict();

export type FullParams = z.infer<typeof FullParams>;
export type ArangeParams = z.infer<typeof ArangeParams>;
export type RandomParams = z.infer<typeof RandomParams>;
export type FromBytesParams = z.infer<typeof FromBytesParams>;
export type ReadNpyParams = z.infer<typeof ReadNpyParams>;
export type WriteNpyParams = z.infer<typeof WriteNpyParams>;
export type ZarrRegionParams = z.infer<typeof ZarrRegionParams>;
export type ReadHdf5Params = z.infer<typeof ReadHdf5Params>;
export type ColumnPartParams = z.infer<typeof ColumnPartParams>;
export type WriteParquetParams = z.infer<typeof WriteParquetParams>;
export type ParquetCompression = WriteParquetParams['compression'];
export type ElementwiseParams = z.infer<typeof ElementwiseParams>;
export type ReducePartialParams = z.infer<typeof ReducePartialParams>;
export type ReduceMergeParams = z.infer<typeof ReduceMergeParams>;
export type TransposeParams = z.infer<typeof TransposeParams>;
export type CumulateParams = z.infer<typeof CumulateParams>;
export type QuantileParams = z.infer<typeof QuantileParams>;
export type ReshapeParams = z.infer<typeof ReshapeParams>;
export type AssembleParams = z.infer<typeof AssembleParams>;
export type TensordotParams = z.infer<typeof TensordotParams>;
export type MapBlocksParams = z.infer<typeof MapBlocksParams>;
export type CompressParams = z.infer<typeof CompressParams>;

export interface ArrayMeta {
  shape: readonly number[];
  dtype: Dtype;
}

function regionFits(region: readonly (readonly [number, number])[], shape: readonly number[]): string | undefined {
  return expect(
    region.length === shape.length && region.every(([a, b], i) => b - a === shape[i]),
    () => `region ${JSON.stringify(region)} does not fit a chunk ${fmtShape(shape)}`,
  );
}

interface OpDef<P extends z.ZodTypeAny> {
  params: P;
  /** Returns a message when the declared output does not follow from params and inputs. */
  check(params: z.infer<P>, deps: readonly ArrayMeta[], out: ArrayMeta): string | undefined;
}

function def<P extends z.ZodTypeAny>(d: OpDef<P>): OpDef<P> {
  return d;
}

const oneD = (out: ArrayMeta): string | undefined => expect(out.shape.length === 1, () => `gives a 1-d column, declared ${fmtShape(out.shape)}`);
const noDeps = (deps: readonly ArrayMeta[]): string | undefined =>
  deps.length === 0 ? undefined : `takes no inputs, got ${deps.length}`;

function expect(cond: boolean, msg: () => string): string | undefined {
  return cond ? undefined : msg();
}

function operandDtype(o: Operand, deps: readonly ArrayMeta[], results: readonly Dtype[]): Dtype | string {
  if ('input' in o) return deps[o.input]?.dtype ?? `operand refers to input ${o.input}, but the task has ${deps.length} inputs`;
  if ('const' in o) return o.dtype;
  return results[o.ref] ?? `operand refers to instruction ${o.ref}, which does not precede it`;
}

function checkElementwise(p: ElementwiseParams, deps: readonly ArrayMeta[], out: ArrayMeta): string | undefined {
  const fromDeps = p.inputs.filter((v) => !v.source).length;
  if (fromDeps !== deps.length) return `has ${deps.length} inputs but ${fromDeps} input views that read dependencies`;
  const views: number[][] = [];
  const metas: ArrayMeta[] = [];
  let next = 0;
  for (const [i, v] of p.inputs.entries()) {
    let meta: ArrayMeta;
    if (v.source) {
      const src = v.source;
      const def = OPS[src.op] as OpDef<z.ZodTypeAny>;
      let params: unknown = src.params;
      if (!FAST_PARAMS[src.op]?.(params)) {
        const parsed = def.params.safeParse(src.params);
        if (!parsed.success) return `input ${i}: bad ${src.op} source params: ${parsed.error.issues[0]?.message ?? ''}`;
        params = parsed.data;
      }
      const bad = def.check(params, [], src);
      if (bad) return `input ${i}: ${src.op} source: ${bad}`;
      meta = src;
    } else {
      meta = deps[next++]!;
    }
    metas.push(meta);
    const s = meta.shape;
    if (v.perm && !isPermutation(v.perm, s.length)) return `input ${i}: perm [${v.perm.join(', ')}] is not a permutation of ${s.length} axes`;
    views.push(v.perm ? permuteShape(s, v.perm) : [...s]);
  }
  deps = metas;
  const b = broadcastShapes([...views, p.domain]);
  if (!b || !shapeEquals(b, p.domain)) {
    return `inputs ${views.map(fmtShape).join(', ')} do not broadcast to domain ${fmtShape(p.domain)}`;
  }
  const results: Dtype[] = [];
  for (const [i, ins] of p.program.entries()) {
    const argTypes: Dtype[] = [];
    for (const a of ins.args) {
      const t = operandDtype(a, deps, results);
      if (!Dtype.safeParse(t).success) return `instruction ${i} (${ins.op}): ${t}`;
      argTypes.push(t as Dtype);
    }
    if (ins.args.length !== arityOf(ins.op)) return `instruction ${i} (${ins.op}) takes ${arityOf(ins.op)} operands, got ${ins.args.length}`;
    const refused = elementwiseDtypeError(ins.op, argTypes);
    if (refused) return `instruction ${i}: ${refused}`;
    const want = ins.op === 'astype' ? ins.dtype : elementwiseResultDtype(ins.op, argTypes);
    if (want !== ins.dtype) return `instruction ${i} (${ins.op}) of ${argTypes.join(', ')} gives ${want}, declared ${ins.dtype}`;
    results.push(ins.dtype);
  }
  const last = results[results.length - 1]!;
  if (!p.reduce) {
    if (!shapeEquals(out.shape, p.domain)) return `output shape ${fmtShape(out.shape)} differs from domain ${fmtShape(p.domain)}`;
    return expect(out.dtype === last, () => `output dtype ${out.dtype} differs from the program's result ${last}`);
  }
  return checkPartialOut(p.reduce, p.domain, out);
}

function checkAxes(axes: readonly number[], rank: number): string | undefined {
  const sorted = axes.every((a, i) => i === 0 || a > axes[i - 1]!);
  return expect(sorted && axes.every((a) => a < rank), () => `axes [${axes.join(', ')}] must be ascending and within rank ${rank}`);
}

function checkPartialOut(r: ReducePartialParams, domain: readonly number[], out: ArrayMeta): string | undefined {
  const bad = checkAxes(r.axes, domain.length);
  if (bad) return bad;
  const want = [...reducedShape(domain, r.axes, true), partialComponents(r.kind)];
  if (!shapeEquals(out.shape, want)) return `partial of ${r.kind} over ${fmtShape(domain)} has shape ${fmtShape(want)}, declared ${fmtShape(out.shape)}`;
  if ((r.kind === 'argmin' || r.kind === 'argmax') && (!r.offset || !r.fullShape)) return `${r.kind} partial needs offset and fullShape`;
  return expect(out.dtype === 'float64', () => `partials are float64, declared ${out.dtype}`);
}

/** The pieces of an assemble (or a gather) each read inside their input and land inside the output. */
function checkPieces(pieces: readonly Piece[], deps: readonly ArrayMeta[], out: ArrayMeta): string | undefined {
  for (const [i, pc] of pieces.entries()) {
    const d = deps[pc.input];
    if (!d) return `piece ${i} reads input ${pc.input}, but the task has ${deps.length}`;
    if (d.dtype !== out.dtype) return `piece ${i}: input dtype ${d.dtype} differs from output ${out.dtype}`;
    if (pc.src.length !== d.shape.length || pc.dst.length !== out.shape.length || d.shape.length !== out.shape.length) {
      return `piece ${i}: rank mismatch between input ${fmtShape(d.shape)} and output ${fmtShape(out.shape)}`;
    }
    for (let ax = 0; ax < pc.src.length; ax++) {
      const s = pc.src[ax]!;
      const last = s.start + (s.count - 1) * s.step;
      const dim = d.shape[ax]!;
      if (s.count > 0 && (s.start >= dim || last < 0 || last >= dim)) return `piece ${i} axis ${ax}: source range out of bounds for ${fmtShape(d.shape)}`;
      if (pc.dst[ax]! + s.count > out.shape[ax]!) return `piece ${i} axis ${ax}: destination range out of bounds for ${fmtShape(out.shape)}`;
    }
  }
  return undefined;
}

export const OPS = {
  full: def({ params: FullParams, check: (_p, deps) => noDeps(deps) }),
  arange: def({
    params: ArangeParams,
    check: (_p, deps, out) =>
      noDeps(deps) ??
      expect(out.shape.length === 1, () => `arange chunks are 1-D, declared ${fmtShape(out.shape)}`) ??
      expect(out.dtype !== 'bool', () => 'arange has no bool ranges'),
  }),
  random: def({
    params: RandomParams,
    check: (p, deps, out) =>
      noDeps(deps) ??
      expect(out.dtype === 'float64' || out.dtype === 'float32', () => `random values are float, declared ${out.dtype}`) ??
      expect(
        p.offset.length === out.shape.length &&
          p.fullShape.length === out.shape.length &&
          out.shape.every((d, i) => p.offset[i]! + d <= p.fullShape[i]!),
        () => `chunk ${fmtShape(out.shape)} at offset [${p.offset.join(', ')}] does not fit in ${fmtShape(p.fullShape)}`,
      ),
  }),
  'from-bytes': def({
    params: FromBytesParams,
    check: (p, deps, out) =>
      noDeps(deps) ??
      expect(
        p.bytes.byteLength === sizeOf(out.shape) * itemsize(out.dtype),
        () => `${p.bytes.byteLength} bytes cannot hold ${out.dtype}${fmtShape(out.shape)}`,
      ),
  }),
  'read-npy': def({ params: ReadNpyParams, check: (_p, deps) => noDeps(deps) }),
  'write-npy': def({
    params: WriteNpyParams,
    check: (_p, deps, out) =>
      expect(deps.length === 1, () => `takes one input, got ${deps.length}`) ??
      expect(shapeEquals(out.shape, [1]) && out.dtype === 'int64', () => `gives int64[1], declared ${out.dtype}${fmtShape(out.shape)}`),
  }),
  'read-zarr': def({ params: ZarrRegionParams, check: (p, deps, out) => noDeps(deps) ?? regionFits(p.region, out.shape) }),
  'write-zarr': def({
    params: ZarrRegionParams,
    check: (p, deps, out) =>
      expect(deps.length === 1, () => `takes one input, got ${deps.length}`) ??
      regionFits(p.region, deps[0]!.shape) ??
      expect(shapeEquals(out.shape, [1]) && out.dtype === 'int64', () => `gives int64[1], declared ${out.dtype}${fmtShape(out.shape)}`),
  }),
  'read-hdf5': def({ params: ReadHdf5Params, check: (p, deps, out) => noDeps(deps) ?? regionFits(p.region, out.shape) }),
  'read-parquet': def({ params: ColumnPartParams, check: (_p, deps, out) => noDeps(deps) ?? oneD(out) }),
  'read-arrow': def({ params: ColumnPartParams, check: (_p, deps, out) => noDeps(deps) ?? oneD(out) }),
  'write-parquet': def({
    params: WriteParquetParams,
    check: (p, deps, out) =>
      expect(deps.length === p.names.length, () => `${deps.length} inputs for ${p.names.length} column names`) ??
      expect(new Set(p.names).size === p.names.length, () => `column names repeat: ${p.names.join(', ')}`) ??
      expect(deps.every((d) => d.shape.length === 1 && d.shape[0] === deps[0]!.shape[0]), () => `columns are 1-d and of one length, got ${deps.map((d) => fmtShape(d.shape)).join(', ')}`) ??
      expect(shapeEquals(out.shape, [1]) && out.dtype === 'int64', () => `gives int64[1], declared ${out.dtype}${fmtShape(out.shape)}`),
  }),
  persisted: def({ params: PersistedParams, check: (_p, deps) => noDeps(deps) }),
  elementwise: def({ params: ElementwiseParams, check: checkElementwise }),
  cumulate: def({
    params: CumulateParams,
    check: (p, deps, out) =>
      expect(deps.length === 1, () => `takes 1 input, got ${deps.length}`) ??
      expect(p.axis < deps[0]!.shape.length, () => `axis ${p.axis} of a ${deps[0]!.shape.length}-D input`) ??
      expect(shapeEquals(out.shape, deps[0]!.shape), () => `output shape ${fmtShape(out.shape)} differs from input ${fmtShape(deps[0]!.shape)}`) ??
      expect(out.dtype === cumulateDtype(deps[0]!.dtype), () => `running ${p.kind} of ${deps[0]!.dtype} is ${cumulateDtype(deps[0]!.dtype)}, declared ${out.dtype}`),
  }),
  quantile: def({
    params: QuantileParams,
    check: (p, deps, out) => {
      if (deps.length !== 1) return `takes 1 input, got ${deps.length}`;
      const x = deps[0]!;
      if (p.axis >= x.shape.length) return `axis ${p.axis} of a ${x.shape.length}-D input`;
      const want = [p.q.length, ...x.shape.filter((_, i) => i !== p.axis)];
      return (
        expect(shapeEquals(out.shape, want), () => `output shape ${fmtShape(out.shape)}, expected ${fmtShape(want)}`) ??
        expect(out.dtype === quantileDtype(x.dtype), () => `quantiles of ${x.dtype} are ${quantileDtype(x.dtype)}, declared ${out.dtype}`)
      );
    },
  }),
  'reduce-partial': def({
    params: ReducePartialParams,
    check: (p, deps, out) =>
      expect(deps.length === 1, () => `takes 1 input, got ${deps.length}`) ?? checkPartialOut(p, deps[0]!.shape, out),
  }),
  'reduce-merge': def({
    params: ReduceMergeParams,
    check: (p, deps, out) => {
      if (deps.length < 1) return 'takes at least 1 partial';
      const first = deps[0]!;
      const c = partialComponents(p.kind);
      for (const [i, d] of deps.entries()) {
        if (!shapeEquals(d.shape, first.shape) || d.dtype !== 'float64') return `partial ${i} is ${d.dtype}${fmtShape(d.shape)}, expected float64${fmtShape(first.shape)}`;
      }
      if (first.shape[first.shape.length - 1] !== c) return `partials of ${p.kind} have ${c} components, got shape ${fmtShape(first.shape)}`;
      if (!p.final) return expect(shapeEquals(out.shape, first.shape) && out.dtype === 'float64', () => `merged partial must keep shape ${fmtShape(first.shape)} float64`);
      const valueShape = first.shape.slice(0, -1);
      const bad = checkAxes(p.axes, valueShape.length);
      if (bad) return bad;
      const want = p.final.keepdims ? valueShape : reducedShape(valueShape, p.axes, false);
      return (
        expect(shapeEquals(out.shape, want), () => `result shape ${fmtShape(out.shape)}, expected ${fmtShape(want)}`) ??
        expect(out.dtype === p.final.dtype, () => `result dtype ${out.dtype}, final says ${p.final!.dtype}`)
      );
    },
  }),
  transpose: def({
    params: TransposeParams,
    check: (p, deps, out) => {
      if (deps.length !== 1) return `takes 1 input, got ${deps.length}`;
      const d = deps[0]!;
      if (!isPermutation(p.axes, d.shape.length)) return `axes [${p.axes.join(', ')}] are not a permutation of ${d.shape.length} axes`;
      const want = permuteShape(d.shape, p.axes);
      return expect(shapeEquals(want, out.shape) && d.dtype === out.dtype, () => `transposing ${fmtShape(d.shape)} gives ${fmtShape(want)}, declared ${fmtShape(out.shape)}`);
    },
  }),
  reshape: def({
    params: ReshapeParams,
    check: (p, deps, out) => {
      if (deps.length !== 1) return `takes 1 input, got ${deps.length}`;
      const d = deps[0]!;
      return (
        expect(sizeOf(d.shape) === sizeOf(p.shape), () => `cannot reshape ${fmtShape(d.shape)} to ${fmtShape(p.shape)}`) ??
        expect(shapeEquals(out.shape, p.shape) && out.dtype === d.dtype, () => `declared ${out.dtype}${fmtShape(out.shape)} differs from params`)
      );
    },
  }),
  assemble: def({ params: AssembleParams, check: (p, deps, out) => checkPieces(p.pieces, deps, out) }),
  tensordot: def({
    params: TensordotParams,
    check: (p, deps, out) => {
      if (deps.length !== 2 * p.pairs) return `takes ${2 * p.pairs} inputs (pairs=${p.pairs}), got ${deps.length}`;
      if (p.axesA.length !== p.axesB.length) return 'axesA and axesB differ in length';
      let want: number[] | undefined;
      for (let k = 0; k < p.pairs; k++) {
        const a = deps[k]!;
        const b = deps[p.pairs + k]!;
        for (let i = 0; i < p.axesA.length; i++) {
          const da = a.shape[p.axesA[i]!];
          const db = b.shape[p.axesB[i]!];
          if (da === undefined || db === undefined || da !== db) return `pair ${k}: contracted axes of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} do not match`;
        }
        const free = [
          ...a.shape.filter((_, i) => !p.axesA.includes(i)),
          ...b.shape.filter((_, i) => !p.axesB.includes(i)),
        ];
        if (want && !shapeEquals(want, free)) return `pair ${k} gives ${fmtShape(free)}, pair 0 gave ${fmtShape(want)}`;
        want = free;
      }
      return expect(!!want && shapeEquals(want, out.shape), () => `result ${fmtShape(want ?? [])} differs from declared ${fmtShape(out.shape)}`);
    },
  }),
  compress: def({
    params: CompressParams,
    check: (p, deps, out) => {
      if (deps.length !== 2) return `takes 2 inputs (the array and its condition), got ${deps.length}`;
      const [x, c] = deps as [ArrayMeta, ArrayMeta];
      if (p.axis >= x.shape.length) return `axis ${p.axis} of a ${x.shape.length}-D input`;
      if (c.dtype !== 'bool' || c.shape.length !== 1 || c.shape[0] !== x.shape[p.axis])
        return `condition ${c.dtype}${fmtShape(c.shape)} must be a 1-D bool of the input's extent ${x.shape[p.axis]} along axis ${p.axis}`;
      const fits = out.shape.length === x.shape.length && out.shape.every((d, i) => (i === p.axis ? d <= x.shape[i]! : d === x.shape[i]));
      return (
        expect(fits, () => `output shape ${fmtShape(out.shape)} is not a selection of ${fmtShape(x.shape)} along axis ${p.axis}`) ??
        expect(out.dtype === x.dtype, () => `output dtype ${out.dtype} differs from the input's ${x.dtype}`)
      );
    },
  }),
  'count-nonzero': def({
    params: CountNonzeroParams,
    check: (_p, deps, out) =>
      expect(deps.length === 1 && deps[0]!.dtype === 'bool' && deps[0]!.shape.length === 1, () => 'takes one 1-D bool input') ??
      expect(shapeEquals(out.shape, [1]) && out.dtype === 'int64', () => `gives int64[1], declared ${out.dtype}${fmtShape(out.shape)}`),
  }),
  sort: def({ params: SortParams, check: checkSort }),
  topk: def({ params: TopkParams, check: checkTopk }),
  'search-count': def({ params: SearchCountParams, check: checkSearchCount }),
  histogram: def({ params: HistogramParams, check: checkHistogram }),
  histogramdd: def({ params: HistogramddParams, check: checkHistogramdd }),
  bincount: def({ params: BincountParams, check: checkBincount }),
  unique: def({ params: UniqueParams, check: checkUnique }),
  qr: def({ params: QrParams, check: checkQr }),
  svd: def({ params: SvdParams, check: checkSvd }),
  cholesky: def({ params: CholeskyParams, check: checkCholesky }),
  'triangular-solve': def({ params: TriangularSolveParams, check: checkTriangularSolve }),
  solve: def({ params: SolveParams, check: checkSolve }),
  lu: def({ params: LuParams, check: checkLu }),
  det: def({ params: DetParams, check: checkDet }),
  gradient: def({ params: GradientParams, check: checkGradient }),
  correlate: def({ params: CorrelateParams, check: checkCorrelate }),
  fft: def({
    params: FftParams,
    check: (p, deps, out) => {
      if (!p.gather) return checkFft(p, deps, out);
      const block = { shape: p.gather.shape, dtype: deps[0]?.dtype ?? out.dtype };
      return checkPieces(p.gather.pieces, deps, block) ?? checkFft(p, [block], out);
    },
  }),
  complex: def({ params: ComplexParams, check: checkComplex }),
  'map-blocks': def({ params: MapBlocksParams, check: () => undefined }),
} as const;

export type OpName = keyof typeof OPS;
export const OP_NAMES = Object.keys(OPS) as OpName[];
export type OpParams<N extends OpName> = z.infer<(typeof OPS)[N]['params']>;

/**
 * The ops whose kernels take or give complex chunks (interleaved pairs): those that only move
 * elements, the complex ones, files that store complex, and user kernels (which see the pairs).
 * Every other op refuses a complex input or output when the graph is built or submitted.
 */
export const COMPLEX_OPS: ReadonlySet<string> = new Set<OpName>([
  'full', 'from-bytes', 'persisted', 'read-npy', 'write-npy', 'transpose', 'reshape', 'assemble', 'fft', 'complex', 'map-blocks', 'cumulate', 'sort',
]);

/** The message for an op that does not take complex dtypes, or undefined where it does or none is there. */
export function complexRefusal(op: string, deps: readonly ArrayMeta[], out: ArrayMeta): string | undefined {
  if (COMPLEX_OPS.has(op)) return undefined;
  const c = [out, ...deps].find((m) => isComplex(m.dtype));
  return c ? `${op} does not take ${c.dtype} (complex arrays have fft, real, imag, conj, abs, angle, arithmetic, sum, prod, cumsum, cumprod, sort, argsort, slicing, rechunk, transpose, reshape, .npy files)` : undefined;
}

/** Ops whose kernels wait on a store or a file library: they run asynchronously on a pool thread. */
export const ASYNC_OPS: ReadonlySet<string> = new Set<OpName>(['read-zarr', 'write-zarr', 'read-hdf5', 'read-parquet', 'read-arrow', 'write-parquet']);

export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, name);
}

/**
 * A task's params as the catalogue types them for `op`. Graphs are validated against the
 * catalogue's schemas at submission, so this reads without parsing again; asking for the params
 * of another op than the task's is a bug, and throws.
 */
export function paramsOf<N extends OpName>(task: { op: string; params: unknown }, op: N): OpParams<N> {
  if (task.op !== op) throw new InvalidArgumentError(`${op} params asked of a ${task.op} task`);
  return task.params as OpParams<N>;
}

/** The dtype of a running sum or product: numpy's accumulator (the input's for floats, int64 / uint64 for integers). */
export function cumulateDtype(input: Dtype): Dtype {
  return accumulatorType(input);
}

/** The dtype of quantiles: the input's for floats, float64 for integers (numpy's). */
export function quantileDtype(input: Dtype): Dtype {
  return isFloat(input) ? input : 'float64';
}

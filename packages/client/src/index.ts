/**
 * @tessera/client: lazy chunked arrays, graph building and optimisation, and the Client that
 * runs them on an Engine.
 *
 *   import * as ta from '@tessera/client';
 *   const client = await ta.Client.connect();
 *   const x = ta.random.uniform([8000, 8000], { chunks: [1000, 1000], seed: 42 });
 *   const total = await client.compute(x.add(x.T).sum());
 */
export {
  ChunkedArray,
  ChunkedArray as Array,
  ChunkedScalar,
  isChunkedArray,
  type NDArray,
  type Operand,
  type SliceSpec,
  ellipsis,
  newaxis,
  type ReduceOptions,
  type FullReduceOptions,
  type VarOptions,
  type ArgReduceOptions,
  type BlockTask,
} from './array.js';
export { type ChunksSpec, type AxisChunks, type Chunks, AUTO_CHUNK_BYTES } from './chunks.js';
export { fromArray, full, zeros, ones, arange, type CreationOptions } from './creation.js';
export * as random from './random.js';
export * as linalg from './linalg-api.js';
export * as fft from './fft.js';
export { real, imag, conj, conjugate, angle, complex, iscomplexobj } from './complex.js';
export type { UniformOptions, NormalOptions, ExponentialOptions, RandintOptions, ChoiceOptions } from './random.js';
export {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  lt,
  le,
  gt,
  ge,
  eq,
  ne,
  neg,
  abs,
  sqrt,
  exp,
  log,
  sin,
  cos,
  tanh,
  where,
  astype,
} from './elementwise.js';
export {
  floor,
  ceil,
  trunc,
  rint,
  round,
  around,
  clip,
  sign,
  square,
  reciprocal,
  log1p,
  expm1,
  log2,
  log10,
  exp2,
  tan,
  arcsin,
  arccos,
  arctan,
  sinh,
  cosh,
  arcsinh,
  arccosh,
  arctanh,
  degrees,
  radians,
  arctan2,
  hypot,
  copysign,
  floorDivide,
  remainder,
  mod,
  fmod,
  isnan,
  isinf,
  isfinite,
  isposinf,
  isneginf,
  logicalNot,
  logicalAnd,
  logicalOr,
  logicalXor,
  invert,
  bitwiseNot,
  bitwiseAnd,
  bitwiseOr,
  bitwiseXor,
  leftShift,
  rightShift,
  isclose,
  allclose,
  all,
  any,
  nanToNum,
  type IsCloseOptions,
  type NanToNumOptions,
} from './ufuncs.js';
export {
  squeeze,
  expandDims,
  swapaxes,
  moveaxis,
  flip,
  fliplr,
  flipud,
  roll,
  ravel,
  flatten,
  broadcastTo,
  broadcastArrays,
  atleast1d,
  atleast2d,
  atleast3d,
  vstack,
  hstack,
  dstack,
  split,
  arraySplit,
  tile,
  repeat,
} from './shape-ops.js';
export {
  linspace,
  eye,
  identity,
  tri,
  tril,
  triu,
  zerosLike,
  onesLike,
  fullLike,
  empty,
  emptyLike,
  meshgrid,
  indices,
  type LinspaceOptions,
} from './creation-grid.js';
export {
  nansum,
  nanprod,
  nanmin,
  nanmax,
  nanmean,
  nanvar,
  nanstd,
  nanargmin,
  nanargmax,
  countNonzero,
  ptp,
  average,
  type AverageOptions,
} from './nan-reductions.js';
export { dot, inner, vdot, outer, kron, diagonal, trace, diag } from './linalg-more.js';
export { cumsum, cumprod, nancumsum, nancumprod } from './cumulative.js';
export { einsum } from './einsum.js';
export { take } from './take.js';
export { compress, extract, mask, nonzero, flatnonzero, argwhere, type CompressOptions } from './masking.js';
export { fromNpy, toNpy, fromNpyStack, toNpyStack } from './npy.js';
export { fromHdf5, fromNetcdf, openHdf5, type Hdf5Ref } from './hdf5.js';
export { fromArrowIpc, fromParquet, toParquet, type Columns, type ToParquetOptions } from './tables.js';
export { createZarr, fromZarr, openZarr, toZarr, type ToZarrOptions, type ZarrArrayRef } from './zarr.js';
export { registerZarrStore, type ZarrCompressor, type ZarrFormat, type ZarrStore, type ZarrStoreFactory } from '@tessera/protocol/zarr';
export { quantile, percentile, median, nanquantile, nanpercentile, nanmedian, type QuantileOptions } from './quantiles.js';
export {
  sort,
  argsort,
  partition,
  argpartition,
  topk,
  argtopk,
  searchsorted,
  isin,
  digitize,
  type SortOptions,
  type TopkOptions,
  type SearchsortedOptions,
  type IsinOptions,
  type DigitizeOptions,
} from './sorting.js';
export { histogram, bincount, type HistogramOptions, type BincountOptions } from './counting.js';
export { unique, type UniqueOptions } from './unique.js';
export { histogramdd, histogram2d, type BinsDd, type HistogramddOptions, type Histogram2dOptions } from './histogramdd.js';
export { pad, block, type PadMode, type PadWidth, type Blocks } from './pad.js';
export { sum, prod, mean, min, max, var_ as var, std, argmin, argmax, type Reducer } from './reductions.js';
export { transpose, reshape, concatenate, stack } from './structure.js';
export { slice, rechunk } from './slicing.js';
export { matmul, tensordot, type TensordotOptions } from './linalg.js';
export { mapBlocks, type MapBlocksOptions } from './map-blocks.js';
export { mapOverlap, overlap, trimInternal, type Boundary, type Depth, type MapOverlapOptions, type OverlapOptions, type PerAxis } from './overlap.js';
export { blockwise, type BlockwiseOptions } from './blockwise-index.js';
export { reduction, applyOverAxes, applyAlongAxis, type ReductionOptions, type ApplyAlongAxisOptions } from './reduction-custom.js';
export { convolve, correlate, diff, gradient, type CorrelateMode, type DiffOptions, type GradientOptions, type Spacing } from './differences.js';
export { buildGraph } from './graph/build.js';
export { cull } from './graph/cull.js';
export { fuse } from './graph/fuse.js';
export { order } from './graph/order.js';
export { toGraph, type GraphOptions } from './graph/optimize.js';
export { Client, type ComputeOptions, type ConnectOptions } from './client.js';
export { HttpEngine, type HttpEngineOptions } from './http-engine.js';
export { Job } from './job.js';
export { ProgressBar, type ProgressOptions, type ProgressStream } from './progress.js';
export type { Result, Results } from './results.js';

export {
  type Dtype,
  DTYPES,
  type NumericArray,
  type ChunkData,
  type Chunk,
  type Graph,
  type TaskSpec,
  type EngineEvent,
  type TaskEvent,
  type GraphEvent,
  type Engine,
  TesseraError,
  ShapeError,
  DtypeError,
  ChunkError,
  InvalidArgumentError,
  FileFormatError,
  GraphValidationError,
  TaskError,
  KernelNotFoundError,
  NotFoundError,
  CancelledError,
  EngineClosedError,
  ChunkLostError,
} from '@tessera/protocol';
export { NoGpuError, type DeviceRequest, type GpuInfo } from '@tessera/protocol';
export { type PerformanceReport } from './report.js';

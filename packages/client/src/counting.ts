import { DtypeError, fmtShape, InvalidArgumentError, isFloat, ShapeError, type Dtype } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { chunksEqual, gridIndices } from './chunks.js';
import { fromArray, full } from './creation.js';
import { deferred, requireKnown } from './deferred.js';
import { add, astype, div } from './elementwise.js';
import { max, sum } from './reductions.js';
import { rechunk } from './slicing.js';
import { reshape } from './structure.js';
import { sumParts } from './sorting.js';

/**
 * Counting into bins: numpy.histogram and numpy.bincount, each block counted by a task of its
 * own and the counts summed in a tree, so nothing is gathered.
 */

export interface HistogramOptions {
  /** The number of equal bins over `range` (default 10), or the bin edges, increasing. */
  bins?: number | readonly number[];
  /** The lower and upper edge of equal bins: needed with a number of bins (Dask's rule: no pass over the data to find them). */
  range?: readonly [number, number];
  /** A weight per value (x's shape): the bins sum them. */
  weights?: ChunkedArray;
  /** Give the density (counts / total / bin width, float64) instead of the counts. */
  density?: boolean;
}

/** numpy's edges of equal bins: linspace in float64, in the dtype the values are binned in. */
export function equalEdges(bins: number, range: readonly [number, number] | undefined, dtype: Dtype, fn = 'histogram'): number[] {
  if (!Number.isInteger(bins) || bins < 1) throw new InvalidArgumentError(`${fn}: bins must be a positive integer or a list of edges, got ${bins}`);
  if (!range) throw new InvalidArgumentError(`${fn}: give range: [lower, upper] with a number of bins (finding them would take a pass over the data first, as in Dask)`);
  let [lo, hi] = range;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new InvalidArgumentError(`histogram: range [${lo}, ${hi}] must be finite`);
  if (lo > hi) throw new InvalidArgumentError(`histogram: max must be larger than min in range [${lo}, ${hi}]`);
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const step = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : i * step + lo));
  return dtype === 'float32' ? edges.map(Math.fround) : edges;
}

/**
 * numpy.histogram: [counts, binEdges]. Each block counts its values (a binary search over the
 * edges; NaN and values outside them are left out), and the counts are summed; counts are int64,
 * sums of weights the weights' dtype, a density float64. Bools count as 0 and 1 (numpy's uint8).
 */
export function histogram(x: ChunkedArray, opts: HistogramOptions = {}): [ChunkedArray, ChunkedArray] {
  requireKnown('histogram', x);
  const bins = opts.bins ?? 10;
  // numpy bins float32 values against float32 edges of equal bins, everything else in float64.
  const edgeType: Dtype = x.dtype === 'float32' && typeof bins === 'number' ? 'float32' : 'float64';
  let edges: number[];
  if (typeof bins === 'number') edges = equalEdges(bins, opts.range, edgeType);
  else {
    edges = [...bins];
    if (edges.length < 2 || !edges.every((e) => typeof e === 'number' && !Number.isNaN(e))) throw new InvalidArgumentError('histogram: bin edges must be at least 2 numbers');
    if (!edges.every((e, i) => i === 0 || e >= edges[i - 1]!)) throw new InvalidArgumentError('histogram: bins must increase monotonically');
  }
  const weights = alignedWeights('histogram', x, opts.weights);
  const nbins = edges.length - 1;
  const params = { edges };
  // One count per block of x, whatever its shape.
  const parts = [...gridIndices(x.numblocks)].map((index) =>
    makeArray({
      label: 'histogram',
      op: 'histogram',
      shape: [nbins],
      dtype: weights ? 'float64' : 'int64',
      chunks: [[nbins]],
      inputs: weights ? [x, weights] : [x],
      token: { edges, block: index },
      block: () => ({ params, deps: weights ? [x.key(index), weights.key(index)] : [x.key(index)] }),
    }),
  );
  let counts = parts.length === 0 ? full([nbins], 0, { dtype: weights ? 'float64' : 'int64' }) : sumParts(parts);
  if (weights && weights.dtype !== 'float64') counts = astype(counts, weights.dtype);
  const binEdges = fromArray(edgeType === 'float32' ? Float32Array.from(edges) : Float64Array.from(edges));
  if (!opts.density) return [counts, binEdges];
  const width = (e: number, i: number) => (edgeType === 'float32' ? Math.fround(e - edges[i]!) : e - edges[i]!);
  const widths = fromArray(Float64Array.from(edges.slice(1), width));
  return [div(div(counts, widths), sum(counts)), binEdges];
}

export interface BincountOptions {
  /** A weight per value (x's shape): each bin sums them (the result is float64). */
  weights?: ChunkedArray;
  /** The result's length, as in Dask: known when the expression is built (a value not below it fails the task). */
  minlength?: number;
}

/** A weights array of x's shape, chunked as x. */
function alignedWeights(fn: string, x: ChunkedArray, w: ChunkedArray | undefined): ChunkedArray | undefined {
  if (!w) return undefined;
  if (w.shape.length !== x.shape.length || w.shape.some((d, i) => d !== x.shape[i])) {
    throw new ShapeError(`${fn}: weights of shape ${fmtShape(w.shape)} differ from the values' ${fmtShape(x.shape)}`);
  }
  requireKnown(fn, w);
  return chunksEqual(w.chunks, x.chunks) ? w : rechunk(w, x.chunks);
}

/**
 * numpy.bincount: the number of times each value 0, 1, ... occurs in the 1-d integer array x (or
 * the sum of its weights). Without `minlength` the length is max(x) + 1, which depends on the
 * data: the result has an unknown size (Dask's NaN) that compute finds first, with a graph of
 * its own for max(x); with `minlength` it is that length, as Dask's is.
 */
export function bincount(x: ChunkedArray, opts: BincountOptions = {}): ChunkedArray {
  requireKnown('bincount', x);
  if (x.ndim !== 1) throw new ShapeError(`bincount: x must be 1-d, got shape ${fmtShape(x.shape)}`);
  if (isFloat(x.dtype) || x.dtype === 'uint64') throw new DtypeError(`bincount: x must be of integers or bools (numpy cannot cast ${x.dtype} to int64 safely)`);
  const { minlength } = opts;
  if (minlength !== undefined && (!Number.isInteger(minlength) || minlength < 0)) throw new InvalidArgumentError(`bincount: minlength must be a non-negative integer, got ${minlength}`);
  const weights = alignedWeights('bincount', x, opts.weights);
  const dtype: Dtype = weights ? 'float64' : 'int64';
  const build = (length: number): ChunkedArray => {
    const params = { length };
    const parts = x.chunks[0]!.map((_, c) =>
      makeArray({
        label: 'bincount',
        op: 'bincount',
        shape: [length],
        dtype,
        chunks: [[length]],
        inputs: weights ? [x, weights] : [x],
        token: { length, block: c },
        block: () => ({ params, deps: weights ? [x.key([c]), weights.key([c])] : [x.key([c])] }),
      }),
    );
    return parts.length === 0 ? full([length], 0, { dtype }) : sumParts(parts);
  };
  if (minlength !== undefined && minlength > 0) return build(minlength);
  if (x.shape[0] === 0) return build(0);
  const length = reshape(add(max(astype(x, 'int64')), 1), [1]);
  return deferred('bincount', weights ? [x, weights] : [x], { shape: [NaN], dtype, chunks: [[NaN]] }, {
    counts: length,
    rebuild: (_resolve, counts) => build(Math.max(counts?.[0] ?? 0, 0)),
  }, { bincount: weights ? [x.name, weights.name] : [x.name] });
}

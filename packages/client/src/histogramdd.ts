import { InvalidArgumentError, ShapeError, fmtShape } from '@tessera/protocol';
import { ChunkedArray, makeArray } from './array.js';
import { align } from './blockwise.js';
import { gridIndices } from './chunks.js';
import { fromArray, full } from './creation.js';
import { requireKnown } from './deferred.js';
import { div } from './elementwise.js';
import { equalEdges } from './counting.js';
import { sum } from './reductions.js';
import { rechunk, slice } from './slicing.js';
import { reshape } from './structure.js';
import { sumParts } from './sorting.js';

/** Bins per dimension: a count for all, or per dimension a count or its edges. */
export type BinsDd = number | readonly (number | readonly number[])[];

export interface HistogramddOptions {
  bins?: BinsDd;
  /** [min, max] per dimension, needed where its bins are a count (as in Dask: no pass over the data to find them). */
  range?: readonly (readonly [number, number])[];
  /** A weight per point: the bins sum them. */
  weights?: ChunkedArray;
  /** Counts divided by their total and the bins' volumes. */
  density?: boolean;
}

function edgesOf(fn: string, bins: BinsDd, dims: number, range: HistogramddOptions['range']): number[][] {
  const per = typeof bins === 'number' ? new Array<number>(dims).fill(bins) : bins;
  if (per.length !== dims) throw new InvalidArgumentError(`${fn}: bins for ${per.length} dimensions, the sample has ${dims}`);
  if (range !== undefined && range.length !== dims) throw new InvalidArgumentError(`${fn}: a range for ${range.length} dimensions, the sample has ${dims}`);
  return per.map((b, k) => {
    if (typeof b === 'number') {
      if (!Number.isInteger(b) || b < 1) throw new InvalidArgumentError(`${fn}: bins in dimension ${k} must be a positive integer, got ${b}`);
      if (!range?.[k]) throw new InvalidArgumentError(`${fn}: give range for dimension ${k}: its bins are a count (${b}), and finding min and max would take a pass over the data`);
      return equalEdges(b, range[k], 'float64', fn);
    }
    const e = [...b];
    if (e.length < 2 || !e.every((v) => typeof v === 'number' && !Number.isNaN(v))) throw new InvalidArgumentError(`${fn}: bin edges of dimension ${k} must be at least 2 numbers`);
    if (!e.every((v, i) => i === 0 || v >= e[i - 1]!)) throw new InvalidArgumentError(`${fn}: bins must increase monotonically, in dimension ${k}`);
    return e;
  });
}

/**
 * numpy.histogramdd (dask.array.histogramdd): [H, edges] for a sample of N points in D
 * dimensions, given as an (N, D) array or as D arrays of one shape. Each block of points counts
 * its own [bins_1, .., bins_D] (a binary search over each dimension's edges; the last bin
 * closed, NaN and points outside left out) and the counts are summed. H is float64, as numpy's.
 */
export function histogramdd(sample: ChunkedArray | readonly ChunkedArray[], opts: HistogramddOptions = {}): [ChunkedArray, ChunkedArray[]] {
  const fn = 'histogramdd';
  let coords: ChunkedArray[];
  if (sample instanceof ChunkedArray) {
    requireKnown(fn, sample);
    if (sample.ndim !== 2) throw new ShapeError(`${fn}: a sample array must be (N, D), got ${fmtShape(sample.shape)}; or give a list of D arrays`);
    const whole = sample.chunks[1]!.length === 1 ? sample : rechunk(sample, [[...sample.chunks[0]!], [sample.shape[1]!]]);
    coords = Array.from({ length: sample.shape[1]! }, (_, k) => slice(whole, null, k));
  } else {
    if (!Array.isArray(sample) || sample.length === 0 || !sample.every((a) => a instanceof ChunkedArray)) throw new InvalidArgumentError(`${fn}: the sample is an (N, D) array or a list of D arrays`);
    coords = [...sample];
    coords.forEach((a) => requireKnown(fn, a));
    const other = coords.find((a) => a.ndim !== coords[0]!.ndim || a.shape.some((d, i) => d !== coords[0]!.shape[i]));
    if (other) throw new ShapeError(`${fn}: the coordinate arrays differ in shape: ${fmtShape(coords[0]!.shape)} and ${fmtShape(other.shape)}`);
  }
  const edges = edgesOf(fn, opts.bins ?? 10, coords.length, opts.range);
  if (opts.weights !== undefined && (opts.weights.ndim !== coords[0]!.ndim || opts.weights.shape.some((d, i) => d !== coords[0]!.shape[i]))) {
    throw new ShapeError(`${fn}: weights of shape ${fmtShape(opts.weights.shape)} differ from the points' ${fmtShape(coords[0]!.shape)}`);
  }
  const al = align(fn, opts.weights ? [...coords, opts.weights] : coords);
  const shape = edges.map((e) => e.length - 1);
  const params = { edges, weighted: opts.weights !== undefined };
  const parts = [...gridIndices(al.chunks.map((c) => c.length))].map((index) =>
    makeArray({
      label: 'histogramdd',
      op: 'histogramdd',
      shape,
      dtype: 'float64',
      chunks: shape.map((d) => [d]),
      inputs: al.arrays,
      token: { edges, block: index },
      block: () => ({ params, deps: al.arrays.map((a, k) => a.key(al.blockOf(k, index))) }),
    }),
  );
  const counts = parts.length === 0 ? full(shape, 0, { dtype: 'float64' }) : sumParts(parts);
  const edgeArrays = edges.map((e) => fromArray(Float64Array.from(e)));
  if (!opts.density) return [counts, edgeArrays];
  // numpy: H / sum(H) / the width of each bin along each dimension.
  let h = div(counts, sum(counts));
  edges.forEach((e, k) => {
    const widths = fromArray(Float64Array.from(e.slice(1), (v, i) => v - e[i]!));
    h = div(h, reshape(widths, shape.map((d, i) => (i === k ? d : 1))));
  });
  return [h, edgeArrays];
}

export interface Histogram2dOptions {
  /** A count for both, [nx, ny], the edges for both, or [xedges, yedges] (numpy's rules). */
  bins?: number | readonly number[] | readonly [number | readonly number[], number | readonly number[]];
  range?: readonly [readonly [number, number], readonly [number, number]];
  weights?: ChunkedArray;
  density?: boolean;
}

/** numpy.histogram2d: [H, xedges, yedges] of the points (x[i], y[i]), through histogramdd. */
export function histogram2d(x: ChunkedArray, y: ChunkedArray, opts: Histogram2dOptions = {}): [ChunkedArray, ChunkedArray, ChunkedArray] {
  const b = opts.bins ?? 10;
  // numpy: a sequence of other than 1 or 2 entries is the edges of both dimensions.
  const bins: BinsDd = typeof b === 'number' ? b : b.length !== 1 && b.length !== 2 ? [b as readonly number[], b as readonly number[]] : (b as BinsDd);
  const [h, [ex, ey]] = histogramdd([x, y], { bins, ...(opts.range && { range: opts.range }), ...(opts.weights && { weights: opts.weights }), ...(opts.density !== undefined && { density: opts.density }) });
  return [h, ex!, ey!];
}

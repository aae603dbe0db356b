import { nativeKernels } from './native.js';
import {
  allocChunk,
  isComplex,
  isWideData,
  sizeOf,
  topkTakesIndices,
  type Chunk,
  type ChunkData,
  type Dtype,
  type BincountParams,
  type HistogramParams,
  type HistogramddParams,
  type SearchCountParams,
  type SortParams,
  type TopkParams,
} from '@tessera/protocol';

/** An element as a chunk holds it: a number, or a bigint for int64 / uint64. */
type V = number | bigint;
type Elements = { [i: number]: V; length: number };

/** numpy's sort order: NaN after every number, -0 equal to 0. */
function order(a: V, b: V): number {
  if (a < b) return -1;
  if (a > b) return 1;
  // Equal, or at least one NaN (a bigint is never NaN).
  const an = a !== a;
  const bn = b !== b;
  return an === bn ? 0 : an ? 1 : -1;
}

/** A chunk as lanes along `axis`: lane (o, i)'s element k sits at (o n + k) inner + i. */
function lanes(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), n: shape[axis]!, inner: sizeOf(shape.slice(axis + 1)) };
}

function newLike(d: ChunkData, n: number): ChunkData {
  return new (d.constructor as new (n: number) => ChunkData)(n);
}

/**
 * The default typed-array sort puts -0 before 0; numpy's stable sort keeps them in input order.
 * The sorted lane's run of zeros gets the input's zeros, in order.
 */
function keepZerosInOrder(sorted: Float64Array | Float32Array, input: Elements, at: (k: number) => number): void {
  let z = 0;
  while (z < sorted.length && sorted[z]! < 0) z++;
  for (let k = 0; k < sorted.length && z < sorted.length && sorted[z] === 0; k++) {
    const v = input[at(k)] as number;
    if (v === 0) sorted[z++] = v;
  }
}

/** numpy.sort / argsort (kind='stable') of each lane along the axis the block holds whole. */
export function sort(p: SortParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const x = inputs[0];
  if (inputs.length !== 1 || !x) throw new Error(`sort: takes 1 input, got ${inputs.length}`);
  const out = allocChunk(dtype, shape);
  const { outer, n, inner } = lanes(x.shape, p.axis);
  if (isComplex(x.dtype)) return sortComplex(p.arg, x.data as Float64Array | Float32Array, out, outer, n, inner);
  const src = x.data as Elements;
  const native = nativeKernels();
  if (native && !p.arg && inner === 1 && n > 0 && (src instanceof Float64Array || src instanceof Float32Array)) {
    // Contiguous float lanes: sorted in place in the output by the native introsort, then the
    // zeros of each lane put back in their input order (numpy's stable sort keeps -0 and 0 so).
    const d = out.data as Float64Array | Float32Array;
    d.set(src);
    native.sortLanes(d, n);
    for (let o = 0; o < outer; o++) keepZerosInOrder(d.subarray(o * n, (o + 1) * n), src, (k) => o * n + k);
    return out;
  }
  const lane = newLike(x.data, n);
  const float = lane instanceof Float64Array || lane instanceof Float32Array;
  const idx = p.arg ? new Uint32Array(n) : undefined;
  const dst = out.data as Elements;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => (o * n + k) * inner + i;
      for (let k = 0; k < n; k++) (lane as Elements)[k] = src[at(k)]!;
      if (idx) {
        for (let k = 0; k < n; k++) idx[k] = k;
        const l = lane as Elements;
        idx.sort((a, b) => order(l[a]!, l[b]!) || a - b);
        for (let k = 0; k < n; k++) dst[at(k)] = BigInt(idx[k]!);
      } else {
        lane.sort();
        if (float) keepZerosInOrder(lane, src, at);
        for (let k = 0; k < n; k++) dst[at(k)] = (lane as Elements)[k]!;
      }
    }
  }
  return out;
}

/**
 * numpy's stable sort of complex lanes (interleaved pairs): by the real part, then the imaginary
 * part, NaN last in each (numpy's R + Rj, R + nanj, nan + Rj, nan + nanj); ties in input order.
 */
function sortComplex(arg: boolean, d: Float64Array | Float32Array, out: Chunk, outer: number, n: number, inner: number): Chunk {
  const idx = new Uint32Array(n);
  const dst = out.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => (o * n + k) * inner + i;
      for (let k = 0; k < n; k++) idx[k] = k;
      idx.sort((a, b) => order(d[2 * at(a)]!, d[2 * at(b)]!) || order(d[2 * at(a) + 1]!, d[2 * at(b) + 1]!) || a - b);
      if (arg) for (let k = 0; k < n; k++) (dst as BigInt64Array)[at(k)] = BigInt(idx[k]!);
      else
        for (let k = 0; k < n; k++) {
          (dst as Float64Array)[2 * at(k)] = d[2 * at(idx[k]!)]!;
          (dst as Float64Array)[2 * at(k) + 1] = d[2 * at(idx[k]!) + 1]!;
        }
    }
  }
  return out;
}

/**
 * The |k| first of each lane in topk's order (largest first for k > 0, smallest first for k < 0,
 * ties by the lower index), over the value blocks concatenated along the axis: a heap of the
 * kept ones, whose root is the one that would come last.
 */
export function topk(p: TopkParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const merged = topkTakesIndices(p);
  const m = merged ? inputs.length / 2 : inputs.length;
  const values = inputs.slice(0, m);
  const indices = merged ? inputs.slice(m) : undefined;
  const first = values[0];
  if (!first || !Number.isInteger(m)) throw new Error(`topk: bad inputs (${inputs.length})`);
  const { outer, inner } = lanes(first.shape, p.axis);
  const want = shape[p.axis]!;
  const largest = p.k > 0;
  const before = (a: V, ia: number, b: V, ib: number): boolean => {
    const c = order(a, b);
    return c !== 0 ? (largest ? c > 0 : c < 0) : ia < ib;
  };
  const hv: V[] = new Array<V>(want);
  const hi = new Float64Array(want);
  const swap = (a: number, b: number) => {
    const v = hv[a]!;
    hv[a] = hv[b]!;
    hv[b] = v;
    const t = hi[a]!;
    hi[a] = hi[b]!;
    hi[b] = t;
  };
  // Heap order: a parent comes after its children in the result.
  const later = (a: number, b: number) => before(hv[b]!, hi[b]!, hv[a]!, hi[a]!);
  const out = allocChunk(dtype, shape);
  const dst = out.data as Elements;
  const order2 = Array.from({ length: want }, (_, r) => r);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let size = 0;
      // Without indices, ties go by the position in the blocks' concatenation: blocks come in axis
      // order, each with its equal values in index order, so that is the index order too.
      let pos = 0;
      values.forEach((block, j) => {
        const n = block.shape[p.axis]!;
        const src = block.data as Elements;
        const ix = indices?.[j]?.data as BigInt64Array | undefined;
        for (let k = 0; k < n; k++) {
          const at = (o * n + k) * inner + i;
          const v = src[at]!;
          // Most values fall short of the heap's root: rejected on the value alone (a tie, a NaN
          // or a root that is NaN take the full comparison below).
          if (size === want && (largest ? v < hv[0]! : v > hv[0]!)) continue;
          const index = ix ? Number(ix[at]) : p.offsets ? p.offsets[j]! + k : pos + k;
          if (size < want) {
            hv[size] = v;
            hi[size] = index;
            for (let c = size++; c > 0; ) {
              const parent = (c - 1) >> 1;
              if (!later(c, parent)) break;
              swap(c, parent);
              c = parent;
            }
          } else if (before(v, index, hv[0]!, hi[0]!)) {
            hv[0] = v;
            hi[0] = index;
            for (let c = 0; ; ) {
              const l = 2 * c + 1;
              if (l >= size) break;
              const r = l + 1;
              const worst = r < size && later(r, l) ? r : l;
              if (!later(worst, c)) break;
              swap(c, worst);
              c = worst;
            }
          }
        }
        pos += n;
      });
      order2.sort((a, b) => (before(hv[a]!, hi[a]!, hv[b]!, hi[b]!) ? -1 : 1));
      for (let r = 0; r < want; r++) {
        const at = (o * want + r) * inner + i;
        const s = order2[r]!;
        dst[at] = p.arg ? BigInt(hi[s]!) : hv[s]!;
      }
    }
  }
  return out;
}

/** For each value, how many elements of the sorted 1-d block come before it (numpy.searchsorted's side). */
export function searchCount(p: SearchCountParams, inputs: readonly Chunk[], shape: readonly number[]): Chunk {
  const [a, v] = inputs;
  if (inputs.length !== 2 || !a || !v) throw new Error(`search-count: takes 2 inputs, got ${inputs.length}`);
  const out = allocChunk('int64', shape);
  const sorted = a.data as Elements;
  const xs = v.data as Elements;
  const dst = out.data as BigInt64Array;
  const left = p.side === 'left';
  for (let q = 0; q < xs.length; q++) {
    const x = xs[q]!;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = order(sorted[mid]!, x);
      if (c < 0 || (!left && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    dst[q] = BigInt(lo);
  }
  return out;
}

/** Counts (or sums of weights) of a block's values in the bins between the edges, numpy.histogram's. */
/** The bin of v among edges: [e_b, e_b+1), the last bin closed; -1 outside them (NaN too). */
function binOf(edges: readonly number[], v: number): number {
  const bins = edges.length - 1;
  if (!(v >= edges[0]! && v <= edges[bins]!)) return -1;
  // The last edge not above v (numpy's searchsorted side='right', less one).
  let a = 0;
  let b = bins + 1;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (edges[mid]! <= v) a = mid + 1;
    else b = mid;
  }
  return Math.min(a - 1, bins - 1);
}

const numberAt = (xs: Chunk['data'], q: number): number => (isWideData(xs) ? Number(xs[q]) : (xs[q] as number));

/** numpy.histogram's counts (or sums of weights) of one block's values. */
export function histogram(p: HistogramParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const [x, w] = inputs;
  if (!x || inputs.length > 2) throw new Error(`histogram: takes 1 or 2 inputs, got ${inputs.length}`);
  const acc = new Float64Array(p.edges.length - 1);
  for (let q = 0; q < x.data.length; q++) {
    const bin = binOf(p.edges, numberAt(x.data, q));
    if (bin >= 0) acc[bin] = acc[bin]! + (w === undefined ? 1 : numberAt(w.data, q));
  }
  const out = allocChunk(dtype, shape);
  const dst = out.data as Elements;
  const wideOut = isWideData(out.data);
  acc.forEach((c, b) => (dst[b] = wideOut ? BigInt(c) : c));
  return out;
}

/** numpy.histogramdd's counts (or sums of weights) of one block of D coordinate arrays, float64. */
export function histogramdd(p: HistogramddParams, inputs: readonly Chunk[], shape: readonly number[]): Chunk {
  const d = p.edges.length;
  if (inputs.length !== d + (p.weighted ? 1 : 0)) throw new Error(`histogramdd: takes ${d} coordinate blocks${p.weighted ? ' and weights' : ''}, got ${inputs.length}`);
  const w = p.weighted ? inputs[d]! : undefined;
  const out = allocChunk('float64', shape);
  const acc = out.data as Float64Array;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const n = inputs[0]!.data.length;
  for (let q = 0; q < n; q++) {
    let at = 0;
    let k = 0;
    for (; k < d; k++) {
      const bin = binOf(p.edges[k]!, numberAt(inputs[k]!.data, q));
      if (bin < 0) break;
      at += bin * strides[k]!;
    }
    if (k === d) acc[at] = acc[at]! + (w === undefined ? 1 : numberAt(w.data, q));
  }
  return out;
}

/** numpy.bincount's counts (or sums of weights) of one block's values, over 0 .. length - 1. */
export function bincount(p: BincountParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const [x, w] = inputs;
  if (!x || inputs.length > 2) throw new Error(`bincount: takes 1 or 2 inputs, got ${inputs.length}`);
  const acc = new Float64Array(p.length);
  const xs = x.data as Elements;
  const ws = w?.data as Elements | undefined;
  for (let q = 0; q < xs.length; q++) {
    const v = Number(xs[q]);
    if (v < 0) throw new Error(`bincount: the values must not be negative, got ${v}`);
    if (v >= p.length) throw new Error(`bincount: value ${v} is not below the result's length ${p.length} (minlength): give a larger minlength, or none`);
    acc[v] = acc[v]! + (ws ? Number(ws[q]) : 1);
  }
  const out = allocChunk(dtype, shape);
  const dst = out.data as Elements;
  const wide = isWideData(out.data);
  acc.forEach((c, b) => (dst[b] = wide ? BigInt(c) : c));
  return out;
}

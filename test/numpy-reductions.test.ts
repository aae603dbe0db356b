// numpy is the oracle for the NaN-ignoring reductions (nansum ... nanargmax), countNonzero, ptp,
// average, and the products and diagonals (dot, inner, vdot, outer, kron, diagonal, trace, diag),
// on odd shapes and chunkings with NaN in them, on the local engine and a cluster. Sums are added
// in another order than numpy's: 1e-12 relative for float64, 1e-5 for float32; products, moves
// and selections are exact.
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import type { Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { expectMatch, numpyAnswers, values, wireArray, type NumpyCall, typedFrom, type WireArray } from './numpy-oracle.test-util.js';

interface Case {
  label: string;
  np: NumpyCall;
  build: () => ta.ChunkedArray;
  as?: Dtype;
  rel?: number;
  abs?: number;
}

function input(dtype: Dtype, shape: number[], chunks: number[], salt = 0, nans = true, small = false) {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = values(dtype, salt)
    .filter((v) => Number.isFinite(v) || (nans && Number.isNaN(v)))
    .map((v) => (small ? v % 100 : v));
  const data = Array.from({ length: n }, (_, i) => (dtype === 'float32' ? Math.fround(base[i % base.length]! + i * 0.01) : dtype === 'float64' ? base[i % base.length]! + i * 0.01 : base[i % base.length]!));
  // A whole NaN row: numpy's all-NaN slices.
  if (nans && (dtype === 'float64' || dtype === 'float32') && shape.length === 2) for (let j = 0; j < shape[1]!; j++) data[j] = NaN;
  return { ours: ta.fromArray(typedFrom(dtype, data), { shape, chunks, dtype }), theirs: wireArray(dtype, data, shape) };
}

function cases(): Case[] {
  const out: Case[] = [];
  const sumTol = (d: Dtype) => (d === 'float32' ? 1e-5 : 1e-12);
  for (const dtype of ['float64', 'float32', 'int64', 'int32', 'uint16', 'bool'] as const) {
    const x = input(dtype, [7, 5], [3, 2]);
    const intSum = undefined; // integer sums are int64, as numpy's
    const small = ((d) => ({ ours: ta.fromArray(Int32Array.from(d), { shape: [7, 5], chunks: [3, 2] }), theirs: wireArray('int32', d, [7, 5]) }))(
      values('int32', 0).map((v) => (v % 5) - 2),
    );
    const r = { rel: sumTol(dtype) };
    for (const [name, np, sums] of [
      ['nansum', 'nansum', true],
      ['nanprod', 'nanprod', true],
      ['nanmin', 'nanmin', false],
      ['nanmax', 'nanmax', false],
      ['nanmean', 'nanmean', true],
      ['nanvar', 'nanvar', true],
      ['nanstd', 'nanstd', true],
    ] as const) {
      const f = ta[name] as unknown as (x: ta.ChunkedArray, o?: object) => ta.ChunkedArray;
      // numpy's int64 products wrap past 2^63 and ours (float64) do not: small integers for products.
      const src = name === 'nanprod' && dtype === 'int32' ? small : x;
      const as = sums && name !== 'nanmean' && name !== 'nanvar' && name !== 'nanstd' ? intSum : undefined;
      for (const axis of [0, 1]) {
        out.push({ label: `${name}(${dtype}, axis ${axis})`, np: { fn: np, args: [src.theirs], kwargs: { axis } }, build: () => f(src.ours, { axis }), ...(as ? { as } : {}), ...(sums ? r : {}) });
      }
    }
    out.push({ label: `nanvar(${dtype}, axis 1, ddof 1)`, np: { fn: 'nanvar', args: [x.theirs], kwargs: { axis: 1, ddof: 1 } }, build: () => ta.nanvar(x.ours, { axis: 1, ddof: 1 }), ...r });
    const y = input(dtype, [7, 5], [3, 2], 1, false);
    for (const axis of [0, 1]) {
      out.push({ label: `nanargmin(${dtype}, axis ${axis})`, np: { fn: 'nanargmin', args: [y.theirs], kwargs: { axis } }, build: () => ta.nanargmin(y.ours, { axis }) });
      out.push({ label: `nanargmax(${dtype}, axis ${axis})`, np: { fn: 'nanargmax', args: [y.theirs], kwargs: { axis } }, build: () => ta.nanargmax(y.ours, { axis }) });
      out.push({ label: `countNonzero(${dtype}, axis ${axis})`, np: { fn: 'count_nonzero', args: [x.theirs], kwargs: { axis } }, build: () => ta.countNonzero(x.ours, { axis }) });
      out.push({ label: `ptp(${dtype}, axis ${axis})`, np: { fn: 'ptp', args: [y.theirs], kwargs: { axis } }, build: () => ta.ptp(y.ours, { axis }) });
    }
    const w = input('float64', [5], [2], 2, false);
    out.push({ label: `average(${dtype}, weights along axis 1)`, np: { fn: 'average', args: [y.theirs], kwargs: { axis: 1, weights: w.theirs } }, build: () => ta.average(y.ours, { axis: 1, weights: w.ours }), rel: 1e-12 });
    // Products and diagonals, without NaN; integers below 100 (int32 products past 2^53 are float64-rounded here, exact in numpy).
    const a = input(dtype, [6, 4], [4, 3], 3, false, false);
    const b = input(dtype, [4, 5], [3, 2], 4, false, false);
    const v = input(dtype, [4], [3], 5, false, false);
    const t = input(dtype, [3, 6, 4], [2, 4, 3], 6, false, false);
    // Sums of products may cancel: float32 within 1e-5 relative plus 1e-6 of sum |a||b| (about 400 here).
    const p = dtype === 'float32' ? { rel: 1e-5, abs: 4e-4 } : { rel: 1e-12, abs: 1e-12 };
    out.push({ label: `dot(${dtype} 2-D, 2-D)`, np: { fn: 'dot', args: [a.theirs, b.theirs] }, build: () => ta.dot(a.ours, b.ours), ...p });
    out.push({ label: `dot(${dtype} 3-D, 1-D)`, np: { fn: 'dot', args: [t.theirs, v.theirs] }, build: () => ta.dot(t.ours, v.ours), ...p });
    out.push({ label: `dot(${dtype} 3-D, 2-D)`, np: { fn: 'dot', args: [t.theirs, b.theirs] }, build: () => ta.dot(t.ours, b.ours), ...p });
    out.push({ label: `inner(${dtype})`, np: { fn: 'inner', args: [a.theirs, t.theirs] }, build: () => ta.inner(a.ours, t.ours), ...p });
    out.push({ label: `outer(${dtype})`, np: { fn: 'outer', args: [v.theirs, a.theirs] }, build: () => ta.outer(v.ours, a.ours) });
    out.push({ label: `kron(${dtype})`, np: { fn: 'kron', args: [a.theirs, b.theirs] }, build: () => ta.kron(a.ours, b.ours) });
    for (const k of [0, 2, -3]) {
      out.push({ label: `diagonal(${dtype} 2-D, ${k})`, np: { fn: 'diagonal', args: [a.theirs, k] }, build: () => ta.diagonal(a.ours, k) });
      out.push({ label: `diag(${dtype} 1-D, ${k})`, np: { fn: 'diag', args: [v.theirs, k] }, build: () => ta.diag(v.ours, k) });
    }
    out.push({ label: `diagonal(${dtype} 3-D, 1, axes 2, 1)`, np: { fn: 'diagonal', args: [t.theirs, 1, 2, 1] }, build: () => ta.diagonal(t.ours, 1, 2, 1) });
    // Running sums and products across blocks: a scan per block, then the carries.
    const c = input(dtype, [9, 7], [4, 3], 7, true, true);
    for (const [name, np] of [['cumsum', 'cumsum'], ['cumprod', 'cumprod'], ['nancumsum', 'nancumsum'], ['nancumprod', 'nancumprod']] as const) {
      const f = ta[name];
      // Products of 9 values below 100 stay well inside float64 and int64.
      const src = name.endsWith('prod') ? input(dtype, [9, 7], [4, 3], 8, true, true) : c;
      const tol = dtype === 'float32' ? { rel: 1e-5, abs: 1e-3 } : { rel: 1e-12 };
      for (const axis of [0, 1, undefined]) {
        out.push({
          label: `${name}(${dtype}, axis ${axis})`,
          np: { fn: np, args: [src.theirs], kwargs: axis === undefined ? {} : { axis } },
          build: () => f(src.ours, axis === undefined ? {} : { axis }),
          ...(intSum ? { as: intSum } : {}),
          ...tol,
        });
      }
    }
    // Quantiles along an axis a chunk holds whole (rechunked for it), numpy's linear method.
    // Integers below 100: numpy 1.24 interpolates int32 in int32, and b - a overflows near 2^31.
    const qx = input(dtype, [9, 7], [4, 3], 13, false, false);
    const qn = dtype !== 'float64' && dtype !== 'float32' ? qx : x;
    const scattered = ((d) => ({ ours: ta.fromArray(Float32Array.from(d), { shape: [9, 7], chunks: [4, 3] }), theirs: wireArray('float32', d, [9, 7]) }))(
      values('float32', 13).concat(values('float32', 14)).slice(0, 63).map((v, i) => (i % 10 === 3 ? NaN : Number.isFinite(v) ? v : 0.5)),
    );
    for (const axis of [0, 1, undefined]) {
      const ax = axis === undefined ? {} : { axis };
      const tol = dtype === 'float32' ? { rel: 2e-7, abs: 1e-6 } : { rel: 1e-15 };
      out.push({ label: `median(${dtype}, axis ${axis})`, np: { fn: 'median', args: [qx.theirs], kwargs: ax }, build: () => ta.median(qx.ours, ax), ...tol });
      out.push({ label: `quantile(${dtype}, [0, .1, .5, .99, 1], axis ${axis})`, np: { fn: 'quantile', args: [qx.theirs, [0, 0.1, 0.5, 0.99, 1]], kwargs: ax }, build: () => ta.quantile(qx.ours, [0, 0.1, 0.5, 0.99, 1], ax), ...tol });
      out.push({ label: `percentile(${dtype}, 37.5, axis ${axis})`, np: { fn: 'percentile', args: [qx.theirs, 37.5], kwargs: ax }, build: () => ta.percentile(qx.ours, 37.5, ax), ...tol });
      out.push({ label: `nanmedian(${dtype}, axis ${axis})`, np: { fn: 'nanmedian', args: [qn.theirs], kwargs: ax }, build: () => ta.nanmedian(qn.ours, ax), ...tol });
      // (numpy 1.24 gives an all-NaN first lane's float32 to the whole float32 result: float32 inputs here have none.)
      const nx = dtype === 'float32' ? scattered : qn;
      out.push({ label: `nanpercentile(${dtype}, [5, 95], axis ${axis})`, np: { fn: 'nanpercentile', args: [nx.theirs, [5, 95]], kwargs: ax }, build: () => ta.nanpercentile(nx.ours, [5, 95], ax), ...tol });
      out.push({ label: `median(${dtype} with NaN, axis ${axis})`, np: { fn: 'median', args: [qn.theirs], kwargs: ax }, build: () => ta.median(qn.ours, ax), ...tol });
    }
    // einsum: contractions through tensordot, batch letters as broadcast products, diagonals.
    const bt = input(dtype, [2, 6, 4], [1, 4, 3], 9, false, false);
    const bu = input(dtype, [2, 4, 5], [1, 3, 2], 10, false, false);
    const sqm = input(dtype, [5, 5], [3, 2], 11, false, false);
    const w4 = input(dtype, [4], [3], 12, false, false);
    for (const [sub, ops] of [
      ['ij,jk->ik', [a, b]],
      ['ij,jk', [a, b]],
      ['ki,ij->kj', [a, b]],
      ['ii', [sqm]],
      ['ii->i', [sqm]],
      ['ij->ji', [a]],
      ['ij->j', [a]],
      ['bij,bjk->bik', [bt, bu]],
      ['i,j->ij', [w4, v]],
      ['ijk,k->ij', [t, w4]],
      ['ij,ij->ij', [a, a]],
      ['ij,ij->i', [a, a]],
      // Ellipses: batch axes, aligned from the right; implicit outputs put them first.
      ['...ij,...jk->...ik', [bt, bu]],
      ['...ij,...jk', [bt, bu]],
      ['i...,i...->...', [a, a]],
      ['...j,j->...', [t, w4]],
      ['...ii->...i', [sqm]],
    ] as const) {
      out.push({
        label: `einsum('${sub}', ${dtype})`,
        np: { fn: 'einsum', args: [sub, ...ops.map((o) => o.theirs)] },
        build: () => ta.einsum(sub, ...ops.map((o) => o.ours)),
        ...p,
      });
    }
    out.push({ label: `trace(${dtype}, -1)`, np: { fn: 'trace', args: [a.theirs, -1] }, build: () => ta.trace(a.ours, -1), ...(intSum ? { as: intSum } : {}), ...p });
  }
  return out;
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

describe.each(['local', 'cluster'] as const)('numpy reductions and products on the %s engine', (engine) => {
  const e = engineClient(engine);

  it(`${CASES.length} cases match numpy`, { timeout: 240_000 }, async () => {
    const all = CASES.map((c, i) => ({ c, want: numpy.answers[i]! }));
    // What numpy refuses (ptp or quantiles of bools) we refuse when the expression is built.
    for (const { c, want } of all.filter((x) => 'error' in x.want)) expect(() => c.build(), `${c.label}: numpy says ${JSON.stringify(want)}`).toThrow(ta.DtypeError);
    const runnable = all.filter((x) => !('error' in x.want));
    expect(runnable.length).toBeGreaterThan(CASES.length * 0.9);
    const got = (await e.client.compute(runnable.map(({ c }) => c.build()))) as ta.NDArray[];
    runnable.forEach(({ c, want }, i) => {
      if ('list' in want) expect.fail(`${c.label}: numpy gave ${JSON.stringify(want).slice(0, 200)}`);
      const { as, rel, abs } = c;
      expectMatch(c.label, got[i]!, want as WireArray, { ...(as ? { as } : {}), ...(rel !== undefined ? { rel } : {}), ...(abs !== undefined ? { abs } : {}) });
    });
  });
});

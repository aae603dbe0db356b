// The array API end to end, against plain-JS references: the same tests on the embedded local
// engine and on a real cluster (scheduler and two worker processes over Redis).
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { engineClient } from './cluster.test-util.js';

const kernels = fileURLToPath(new URL('./fixtures/array-kernels.mjs', import.meta.url));

const N = 7;
const M = 9;
const ref = Float64Array.from({ length: N * M }, (_, i) => Math.sin(i * 1.3) * 10 + (i % 5));
const at = (i: number, j: number) => ref[i * M + j]!;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const rows = range(N);
const cols = range(M);

function close(got: ArrayLike<number | bigint>, want: readonly number[], digits = 9): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Number(got[i])).toBeCloseTo(want[i]!, digits);
}

describe.each(['local', 'cluster'] as const)('array API on the %s engine', (engine) => {
  const eng = engineClient(engine, { kernels: [kernels] });
  let client: ta.Client;
  const x = ta.fromArray(ref, { shape: [N, M], chunks: [3, 4] });
  beforeAll(() => {
    client = eng.client;
  });

  it('sum, mean, min, max, prod over axes', async () => {
    expect(await client.compute(x.sum())).toBeCloseTo([...ref].reduce((a, b) => a + b), 9);
    const m = await client.compute(x.mean({ axis: 0 }));
    expect(m.shape).toEqual([M]);
    close(m.data, cols.map((j) => rows.reduce((s, i) => s + at(i, j), 0) / N));
    const mx = await client.compute(x.max({ axis: -1, keepdims: true }));
    expect(mx.shape).toEqual([N, 1]);
    close(mx.data, rows.map((i) => Math.max(...cols.map((j) => at(i, j)))));
    expect(await client.compute(x.min({ splitEvery: 2 }))).toBe(Math.min(...ref));
    expect(await client.compute(ta.fromArray([1, 2, 3, 4, 5, 6], { chunks: 4 }).prod())).toBe(720);
    const totals = await client.compute([x.sum({ axis: 1 }), x.T.sum({ axis: 0 })] as const);
    close(totals[0].data, Array.from(totals[1].data, Number));
  });

  it('var and std with ddof', async () => {
    const mean = [...ref].reduce((a, b) => a + b) / ref.length;
    const ss = [...ref].reduce((a, b) => a + (b - mean) ** 2, 0);
    expect(await client.compute(x.var())).toBeCloseTo(ss / ref.length, 9);
    expect(await client.compute(x.std({ ddof: 1 }))).toBeCloseTo(Math.sqrt(ss / (ref.length - 1)), 9);
    const v = await client.compute(x.var({ axis: 1, ddof: 1 }));
    close(
      v.data,
      rows.map((i) => {
        const r = cols.map((j) => at(i, j));
        const mu = r.reduce((a, b) => a + b) / M;
        return r.reduce((a, b) => a + (b - mu) ** 2, 0) / (M - 1);
      }),
    );
  });

  it('argmin and argmax: flat index and along an axis', async () => {
    expect(await client.compute(x.argmin())).toBe([...ref].indexOf(Math.min(...ref)));
    expect(await client.compute(x.argmax())).toBe([...ref].indexOf(Math.max(...ref)));
    const a = await client.compute(x.argmax({ axis: 0 }));
    expect(a.dtype).toBe('int64');
    expect(Array.from(a.data, Number)).toEqual(cols.map((j) => {
      const c = rows.map((i) => at(i, j));
      return c.indexOf(Math.max(...c));
    }));
  });

  it('matmul and tensordot', async () => {
    const b = ta.fromArray(Float64Array.from({ length: M * 4 }, (_, i) => (i % 7) - 3), { shape: [M, 4], chunks: [5, 3] });
    const bv = Float64Array.from({ length: M * 4 }, (_, i) => (i % 7) - 3);
    const c = await client.compute(x.matmul(b));
    expect(c.shape).toEqual([N, 4]);
    close(c.data, range(N * 4).map((o) => cols.reduce((s, k) => s + at(Math.floor(o / 4), k) * bv[k * 4 + (o % 4)]!, 0)));
    expect(await client.compute(ta.tensordot(x, x, { axes: 2 }))).toBeCloseTo([...ref].reduce((s, v) => s + v * v, 0), 8);
  });

  it('slicing with steps and indices, rechunk, reshape', async () => {
    const s = await client.compute(x.slice({ start: -1, step: -2 }, { start: 1, stop: 8, step: 3 }));
    const rs = [6, 4, 2, 0];
    const cs = [1, 4, 7];
    expect(s.shape).toEqual([4, 3]);
    expect([...s.data]).toEqual(rs.flatMap((i) => cs.map((j) => at(i, j))));
    const row = await client.compute(x.slice(2));
    expect([...row.data]).toEqual(cols.map((j) => at(2, j)));
    expect(await client.compute(x.slice(-1, -1))).toBe(at(N - 1, M - 1));
    const r = await client.compute(x.rechunk([[1, 6], 2]));
    expect([...r.data]).toEqual([...ref]);
    const flat = await client.compute(x.rechunk([3, -1]).reshape([-1]));
    expect([...flat.data]).toEqual([...ref]);
    const split = await client.compute(ta.arange(24, { chunks: 12 }).reshape([2, 3, 4]));
    expect(split.shape).toEqual([2, 3, 4]);
    expect(Array.from(split.data, Number)).toEqual(range(24));
    // Any chunking: rechunked for the reshape, as Dask does.
    expect([...(await client.compute(x.reshape([-1]))).data]).toEqual([...ref]);
  });

  it('concatenate and stack', async () => {
    const a = ta.arange(6, { chunks: 4 }).reshape([1, 6]);
    const b = ta.full([2, 6], 0.5, { chunks: [1, 3] });
    const c = await client.compute(ta.concatenate([a, b], { axis: 0 }));
    expect(c.dtype).toBe('float64');
    expect([...c.data]).toEqual([...range(6), ...new Array(12).fill(0.5)]);
    const s = await client.compute(ta.stack([ta.arange(3), ta.arange(3).mul(10)], { axis: 1 }));
    expect(s.shape).toEqual([3, 2]);
    expect([...s.data]).toEqual([0n, 0n, 1n, 10n, 2n, 20n]);
  });

  it('broadcasting, where, comparisons and dtype promotion', async () => {
    const col = ta.fromArray([1, 2, 3, 4, 5, 6, 7], { shape: [N, 1], chunks: [2, 1] });
    const d = await client.compute(x.sub(col).mul(ta.arange(M, { chunks: 5 })));
    close(d.data, range(N * M).map((o) => (at(Math.floor(o / M), o % M) - (Math.floor(o / M) + 1)) * (o % M)));
    const w = await client.compute(ta.where(x.gt(0), x, x.neg().mul(2)));
    close(w.data, [...ref].map((v) => (v > 0 ? v : -2 * v)));
    const cmp = await client.compute(x.ge(3));
    expect(cmp.dtype).toBe('bool');
    expect([...cmp.data]).toEqual([...ref].map((v) => +(v >= 3)));
    const i = ta.arange(5, { chunks: 2 });
    const half = await client.compute(i.add(0.5));
    expect(half.dtype).toBe('float64');
    expect([...half.data]).toEqual([0.5, 1.5, 2.5, 3.5, 4.5]);
    const q = await client.compute(i.div(2));
    expect([...q.data]).toEqual([0, 0.5, 1, 1.5, 2]);
    const u8 = await client.compute(ta.fromArray(new Uint8Array([200, 100])).add(100));
    expect(u8.dtype).toBe('uint8');
    expect([...u8.data]).toEqual([44, 200]);
    const f32 = await client.compute(ta.ones([3], { dtype: 'float32' }).div(3));
    expect(f32.dtype).toBe('float32');
    expect(f32.data[0]).toBe(Math.fround(1 / 3));
    const sq = await client.compute(ta.fromArray(new Int32Array([4, 9])).sqrt());
    expect(sq.dtype).toBe('float64');
    expect([...sq.data]).toEqual([2, 3]);
    const t = await client.compute(x.add(x.slice({ stop: 1 })).sub(x.slice({ stop: 1 })).sub(x).abs().max());
    expect(t).toBeLessThan(1e-12);
  });

  it('x + x.T and fused chains give the reference', async () => {
    const sq = ta.fromArray(ref.slice(0, 49), { shape: [7, 7], chunks: 3 });
    const s = await client.compute(sq.add(sq.T).sum());
    expect(s).toBeCloseTo(2 * [...ref.slice(0, 49)].reduce((a, b) => a + b), 9);
    const one = await client.compute(ta.mean(ta.sin(x).pow(2).add(ta.cos(x).pow(2))));
    expect(one).toBeCloseTo(1, 12);
  });

  it('random values depend on seed and index only, not on the chunking', async () => {
    const a = await client.compute(ta.random.uniform([30, 20], { chunks: [7, 6], seed: 5, low: -2, high: 3 }));
    const b = await client.compute(ta.random.uniform([30, 20], { chunks: [30, 20], seed: 5, low: -2, high: 3 }));
    expect([...a.data]).toEqual([...b.data]);
    expect(Math.min(...Array.from(a.data, Number))).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...Array.from(a.data, Number))).toBeLessThan(3);
    const c = await client.compute(ta.random.uniform([30, 20], { chunks: [7, 6], seed: 6, low: -2, high: 3 }));
    expect([...c.data]).not.toEqual([...a.data]);
    const n = ta.random.normal([200_000], { mean: 3, std: 2, seed: 1, chunks: 50_000 });
    expect(await client.compute(n.mean())).toBeCloseTo(3, 1);
    expect(await client.compute(n.std())).toBeCloseTo(2, 1);
    const f = await client.compute(ta.random.uniform([4], { seed: 1, dtype: 'float32' }));
    expect(f.data).toBeInstanceOf(Float32Array);
  });

  it('random.randint, choice, exponential, standardNormal and random: their ranges and moments, whatever the chunking', async () => {
    const r = ta.random.randint([40_000], { low: -3, high: 4, seed: 2, chunks: 7_000 });
    expect(r.dtype).toBe('int64');
    const ri = await client.compute(r);
    const again = await client.compute(ta.random.randint([40_000], { low: -3, high: 4, seed: 2, chunks: 40_000 }));
    expect([...again.data]).toEqual([...ri.data]);
    const counts = new Map<number, number>();
    for (const v of Array.from(ri.data, Number)) counts.set(v, (counts.get(v) ?? 0) + 1);
    // Every value of [-3, 4) and no other, each about 1/7 of the draws (within 6 sigma).
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    const sigma = Math.sqrt((40_000 * (1 / 7) * (6 / 7)));
    for (const c of counts.values()) expect(Math.abs(c - 40_000 / 7)).toBeLessThan(6 * sigma);
    const ch = await client.compute(ta.random.choice(5, [1_000], { seed: 3 }));
    expect(Math.min(...Array.from(ch.data, Number))).toBe(0);
    expect(Math.max(...Array.from(ch.data, Number))).toBe(4);
    const e = ta.random.exponential([200_000], { scale: 2.5, seed: 4, chunks: 60_000 });
    // Mean 2.5 and standard deviation 2.5: the mean of 2e5 draws is within 6 sigma of it.
    expect(Math.abs((await client.compute(e.mean())) - 2.5)).toBeLessThan((6 * 2.5) / Math.sqrt(200_000));
    expect(await client.compute(e.min())).toBeGreaterThanOrEqual(0);
    const z = ta.random.standardNormal([200_000], { seed: 5, chunks: 50_000 });
    expect(Math.abs(await client.compute(z.mean()))).toBeLessThan(6 / Math.sqrt(200_000));
    const u = await client.compute(ta.random.random([1_000], { seed: 6 }));
    expect(Math.min(...Array.from(u.data, Number))).toBeGreaterThanOrEqual(0);
    expect(Math.max(...Array.from(u.data, Number))).toBeLessThan(1);
    expect(() => ta.random.randint([3], { low: 4, high: 4 })).toThrow(/low >= high/);
    expect(() => ta.random.exponential([3], { scale: -1 })).toThrow(/scale must be a finite number >= 0/);
  });

  it('random.permutation and random.choice without replacement or of an array: the same draw whatever the chunking', async () => {
    const p = ta.random.permutation(1_000, { seed: 7, chunks: 130 });
    expect(p.dtype).toBe('int64');
    const pv = Array.from((await client.compute(p)).data, Number);
    expect([...pv].sort((a, b) => a - b)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(pv.slice(0, 20)).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Array.from((await client.compute(ta.random.permutation(1_000, { seed: 7 }))).data, Number)).toEqual(pv);
    expect(Array.from((await client.compute(ta.random.permutation(1_000, { seed: 8 }))).data, Number)).not.toEqual(pv);
    // Of an array: its rows in that order (numpy's x[perm]), chunked as the input along the other axes.
    const x = ta.arange(0, 37 * 5, 1, { chunks: 40 }).reshape([37, 5]).rechunk([9, 2]);
    const order = Array.from((await client.compute(ta.random.permutation(37, { seed: 9 }))).data, Number);
    const shuffled = await client.compute(ta.random.permutation(x, { seed: 9 }));
    expect(shuffled.shape).toEqual([37, 5]);
    expect(Array.from(shuffled.data, Number)).toEqual(order.flatMap((r) => [0, 1, 2, 3, 4].map((c) => r * 5 + c)));
    const c = await client.compute(ta.random.choice(50, [5, 8], { replace: false, seed: 10, chunks: 3 }));
    expect(c.shape).toEqual([5, 8]);
    const cv = Array.from(c.data, Number);
    expect(new Set(cv).size).toBe(40);
    expect(cv.every((v) => v >= 0 && v < 50)).toBe(true);
    const pool = ta.fromArray(Float64Array.from({ length: 20 }, (_, i) => i * 0.5), { chunks: 6 });
    const picks = Array.from((await client.compute(ta.random.choice(pool, 200, { seed: 11 }))).data, Number);
    expect(picks.every((v) => Number.isInteger(v * 2) && v >= 0 && v <= 9.5)).toBe(true);
    expect(new Set(picks).size).toBeGreaterThan(15);
    expect(() => ta.random.choice(5, [6], { replace: false })).toThrow(/cannot take a sample of 6 from a population of 5 without replacement/);
    expect(() => ta.random.choice(ta.zeros([2, 2]), 3)).toThrow(/must be 1-dimensional/);
    expect(() => ta.random.permutation(-1)).toThrow(/n must be an integer/);
  });

  it('mapBlocks runs a kernel module by name', async () => {
    const y = await client.compute(ta.mapBlocks('scale', x, x, { params: { k: 2 } }));
    close(y.data, [...ref].map((v) => 3 * v));
    const tags = await client.compute(ta.mapBlocks('block-tag', ta.arange(10, { chunks: 4 }), { dtype: 'int32', chunks: [[1, 1, 1]] }));
    expect([...tags.data]).toEqual([4, 104, 202]);
  });

  it('a kernel failure is a TaskError; the engine keeps working', async () => {
    const bad = ta.mapBlocks('fail-on-block', ta.arange(10, { chunks: 2, dtype: 'float64' }), { params: { block: 3 } });
    const err = await client.compute(bad.sum()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ta.TaskError);
    expect((err as ta.TaskError).message).toMatch(/block 3 is cursed/);
    expect(await client.compute(ta.arange(10, { chunks: 2 }).sum())).toBe(45);
  });

  it('persist, then compute from the persisted blocks; unpersist', async () => {
    const y = x.mul(3);
    const p = await client.persist(y);
    expect(p.name).toBe(y.name);
    expect(await client.compute(p.sum())).toBeCloseTo(3 * [...ref].reduce((a, b) => a + b), 9);
    await client.unpersist(p);
  });

  it('submit: events from running to finished, then the result', async () => {
    const job = await client.submit(x.sum({ axis: 0 }));
    const states: string[] = [];
    for await (const ev of job.events()) if (ev.type === 'graph') states.push(ev.state);
    expect(states[0]).toBe('running');
    expect(states[states.length - 1]).toBe('finished');
    const r = await job.result();
    expect(r.shape).toEqual([M]);
  });

  it('abort cancels', async () => {
    const ac = new AbortController();
    const big = ta.random.uniform([4000, 4000], { chunks: 500, seed: 1 });
    const p = client.compute(big.sin().matmul(big.cos()).sum(), { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toBeInstanceOf(ta.CancelledError);
    expect(await client.compute(ta.ones([3]).sum())).toBe(3);
  });
});

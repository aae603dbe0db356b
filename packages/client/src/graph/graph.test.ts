import { type Graph, keyOp, validateGraph } from '@tessera/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '../index.js';
import { computeList, connectLocal } from '../../test-util/engine.js';
import { countOps, graphOf } from '../../test-util/graphs.js';
import { buildGraph } from './build.js';
import { cull } from './cull.js';
import { fuse } from './fuse.js';

describe('keys', () => {
  it('the same expression built twice has the same keys; other params other keys', () => {
    const build = (seed: number, k: number) => {
      const x = ta.random.uniform([40, 40], { chunks: 10, seed });
      return graphOf(x.add(x.T).mul(k).sum({ axis: 0 }));
    };
    const keys = (g: Graph) => g.tasks.map((t) => t.key).sort();
    expect(keys(build(1, 2))).toEqual(keys(build(1, 2)));
    expect(keys(build(1, 2))).not.toEqual(keys(build(1, 3)));
    expect(keys(build(1, 2))).not.toEqual(keys(build(2, 2)));
    for (const k of keys(build(1, 2))) expect(k).toMatch(/^[a-z][a-z0-9_.-]*-[0-9a-f]{16}:(\d+(,\d+)*)?$/);
    expect(ta.ones([4], { chunks: 2 }).name).not.toBe(ta.ones([4], { chunks: 4 }).name);
  });
});

describe('build and cull', () => {
  it('build walks back from the outputs; cull drops what they do not need', () => {
    const x = ta.random.uniform([100, 100], { chunks: 10, seed: 1 });
    const y = x.slice({ start: 0, stop: 10 }, { start: 0, stop: 25 });
    const all = buildGraph([y], { cull: false });
    expect(countOps(all)).toEqual({ random: 100, assemble: 3 });
    const culled = cull(all);
    expect(countOps(culled)).toEqual({ random: 3, assemble: 3 });
    expect(countOps(buildGraph([y]))).toEqual(countOps(culled));
    validateGraph(culled);
  });
  it('several outputs share their inputs; outputs are listed once', () => {
    const x = ta.fromArray(new Float64Array([1, 2, 3, 4]), { shape: [4], chunks: 2 });
    const g = graphOf([x.add(1), x.mul(2), x.add(1)]);
    expect(g.outputs).toHaveLength(4);
    expect(countOps(g)).toEqual({ 'from-bytes': 2, elementwise: 4 });
  });
});

describe('fusion', () => {
  // Data (not a creation op, which fusion would regenerate in place: see 'creation sources').
  const x = ta.fromArray(Float64Array.from({ length: 6400 }, (_, k) => Math.sin(k * 0.37) * 3), { shape: [80, 80], chunks: 10 }); // 64 blocks
  // Fused and unfused graphs run on the local engine and are checked against plain JS over x's values.
  let client: ta.Client;
  let xs: number[];
  beforeAll(async () => {
    client = await connectLocal();
    xs = await values(x);
  });
  afterAll(async () => {
    await client?.close();
  });
  const values = (a: ta.ChunkedArray, opts?: ta.GraphOptions) => computeList(client, a, opts);
  const xAt = (i: number, j: number) => xs[i * 80 + j]!;
  /** f(i, j) over an (n, m) grid, C order. */
  const grid = (n: number, m: number, f: (i: number, j: number) => number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out.push(f(i, j));
    return out;
  };
  const close = (got: number[], want: number[]) => {
    expect(got.length).toBe(want.length);
    got.forEach((g, k) => expect(Math.abs(g - want[k]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want[k]!))));
  };
  it('sin(x)**2 + cos(x)**2 over 64 blocks is 64 fused tasks (not 320)', async () => {
    const y = ta.sin(x).pow(2).add(ta.cos(x).pow(2));
    expect(countOps(graphOf(y, { fuse: false }))).toEqual({ 'from-bytes': 64, elementwise: 320 });
    const g = graphOf(y);
    expect(countOps(g)).toEqual({ 'from-bytes': 64, elementwise: 64 });
    const t = g.tasks.find((u) => u.key === y.key([3, 5]))!; // keeps the key of the chain's last array
    expect((t.params['program'] as unknown[]).length).toBe(5);
    expect(t.deps).toEqual([x.key([3, 5])]);
    const want = xs.map((v) => Math.sin(v) ** 2 + Math.cos(v) ** 2);
    close(await values(y), want);
    close(await values(y, { fuse: false }), want);
  });

  it('with .sum() the partial is fused into the chain too', async () => {
    const s = ta.sin(x).pow(2).add(ta.cos(x).pow(2)).sum();
    const g = graphOf(s);
    expect(countOps(g)).toEqual({ 'from-bytes': 64, elementwise: 64, 'reduce-merge': 21 });
    for (const t of g.tasks.filter((u) => u.op === 'elementwise')) {
      expect(t.params['reduce']).toEqual({ kind: 'sum', axes: [0, 1] });
      expect(keyOp(t.key)).toBe('sum-partial');
    }
    expect((await values(s))[0]).toBeCloseTo(6400, 8);
  });

  it('x + x.T reads the transposed block through a perm view: no transpose task', async () => {
    const s = x.add(x.T).sum();
    const g = graphOf(s);
    expect(countOps(g)).toEqual({ 'from-bytes': 64, elementwise: 64, 'reduce-merge': 21 });
    const t = g.tasks.find((u) => u.key.endsWith(':1,2,0') && u.op === 'elementwise')!;
    expect(t.deps).toEqual([x.key([1, 2]), x.key([2, 1])]);
    expect(t.params['inputs']).toEqual([{}, { perm: [1, 0] }]);
    const total = 2 * xs.reduce((a, b) => a + b, 0);
    expect((await values(s))[0]).toBeCloseTo(total, 8);
    expect((await values(s, { fuse: false }))[0]).toBeCloseTo(total, 8);
    close(await values(x.add(x.T)), grid(80, 80, (i, j) => xAt(i, j) + xAt(j, i)));
    const y = x.slice({ stop: 20 }, { stop: 30 });
    expect(await values(y.T.T.mul(2))).toEqual(grid(20, 30, (i, j) => 2 * xAt(i, j)));
    const yt = grid(30, 20, (i, j) => 2 * xAt(j, i) + Math.exp(xAt(j, i)));
    close(await values(y.T.mul(2).add(y.T.exp())), yt);
    close(await values(y.T.mul(2).add(y.T.exp()), { fuse: false }), yt);
    expect(await values(x.transpose([1, 0]).add(1).T)).toEqual(xs.map((v) => v + 1));
  });

  it('an intermediate read inside the chain several times is fused; one read outside is not', () => {
    const y = x.sin();
    const inside = y.mul(y).add(y);
    expect(countOps(graphOf(inside))).toEqual({ 'from-bytes': 64, elementwise: 64 });
    const g = graphOf([inside, y.exp().sum()]);
    // y is read by two chains: it stays a task; each chain fuses what it alone reads.
    expect(countOps(g)).toEqual({ 'from-bytes': 64, elementwise: 64 * 3, 'reduce-merge': 21 });
    // An output is never fused away.
    expect(countOps(graphOf([y, y.cos()]))).toEqual({ 'from-bytes': 64, elementwise: 128 });
  });

  it('broadcast inputs stay inputs; a smaller intermediate is not fused into a bigger domain', async () => {
    const rowData = Float64Array.from({ length: 80 }, (_, j) => j / 80);
    const row = ta.fromArray(rowData, { shape: [1, 80], chunks: 10 }).exp();
    const y = x.add(row);
    const g = graphOf(y);
    expect(countOps(g)).toEqual({ 'from-bytes': 64 + 8, elementwise: 64 + 8 });
    const r = Array.from(rowData);
    const want = grid(80, 80, (i, j) => xAt(i, j) + Math.exp(r[j]!));
    close(await values(y), want);
    close(await values(y, { fuse: false }), want);
  });

  it('fuse leaves a graph without elementwise chains alone', () => {
    const g = buildGraph([ta.fromArray(new Float64Array(4), { shape: [4], chunks: 2 }).sum()]);
    expect(fuse(g)).toEqual(g);
  });
});

describe('creation sources', () => {
  const x = ta.random.uniform([80, 80], { chunks: 10, seed: 42 });
  let client: ta.Client;
  beforeAll(async () => {
    client = await connectLocal();
  });
  afterAll(async () => {
    await client?.close();
  });

  it('a creation op read only by chains is regenerated inside them, never held', async () => {
    const s = x.add(x.T).sum();
    const g = graphOf(s);
    expect(countOps(g)).toEqual({ elementwise: 64, 'reduce-merge': 21 });
    const t = g.tasks.find((u) => u.key.endsWith(':1,2,0') && u.op === 'elementwise')!;
    expect(t.deps).toEqual([]);
    const views = t.params['inputs'] as { perm?: number[]; source?: { op: string; params: { offset: number[] } } }[];
    expect(views.map((v) => [v.perm, v.source?.op, v.source?.params.offset])).toEqual([
      [undefined, 'random', [10, 20]],
      [[1, 0], 'random', [20, 10]],
    ]);
    validateGraph(g);
    const xs = await computeList(client, x);
    const want = 2 * xs.reduce((a, b) => a + b, 0);
    expect((await computeList(client, s))[0]).toBeCloseTo(want, 8);
    expect((await computeList(client, s, { fuse: false }))[0]).toBeCloseTo(want, 8);
    // ones().sum(): the partial reads the source directly (an identity program).
    expect(countOps(graphOf(ta.ones([8], { chunks: 2 }).sum()))).toEqual({ elementwise: 4, 'reduce-merge': 1 });
    expect(await client.compute(ta.ones([8], { chunks: 2 }).sum())).toBe(8);
  });

  it('a creation op that is an output, or read by a non-elementwise task, stays a task', () => {
    expect(countOps(graphOf([x, x.add(1)]))).toEqual({ random: 64, elementwise: 64 });
    const a = ta.random.uniform([20, 20], { chunks: 10, seed: 1 });
    expect(countOps(graphOf(ta.matmul(a, a.add(1))))).toEqual({ random: 4, elementwise: 4, tensordot: 4 });
  });
});

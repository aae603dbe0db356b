import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import * as ta from '@tessera/client';
import { testRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster } from './cluster.test-util.js';

// The README's examples, as a user runs them (smaller arrays), so the docs cannot drift.
describe('README examples', () => {
  it('quick-start API: sum(x + x.T) is a number, mean(axis 0) an NDArray', async () => {
    const client = await ta.Client.connect();
    try {
      const x = ta.random.uniform([800, 800], { chunks: [100, 100], seed: 42 });
      const total: number = await client.compute(x.add(x.T).sum());
      const m: ta.NDArray = await client.compute(x.mean({ axis: 0 }));
      const xs = (await client.compute(x)).data as Float64Array;
      let want = 0;
      for (let i = 0; i < 800; i++) for (let j = 0; j < 800; j++) want += xs[i * 800 + j]! + xs[j * 800 + i]!;
      expect(total).toBeCloseTo(want, 6);
      expect(m.shape).toEqual([800]);
      expect(m.dtype).toBe('float64');
      let col0 = 0;
      for (let i = 0; i < 800; i++) col0 += xs[i * 800]!;
      expect(m.data[0]).toBeCloseTo(col0 / 800, 12);
      // Functions and methods are the same operations.
      expect(await client.compute(ta.sum(x, { axis: 0 }))).toEqual(await client.compute(x.sum({ axis: 0 })));
      expect(await client.compute(ta.arange(0, 10, 2, { chunks: [2] }))).toMatchObject({ shape: [5], data: BigInt64Array.from([0n, 2n, 4n, 6n, 8n]) });
      expect(await client.compute(ta.ones([7], { chunks: [3] }).sum())).toBe(7);
    } finally {
      await client.close();
    }
  });

  it('user kernels registered in a module the engine loads', async () => {
    const client = await ta.Client.connect({ kernels: [fileURLToPath(new URL('./fixtures/readme-kernels.mjs', import.meta.url))] });
    try {
      const x = ta.fromArray(Float64Array.from([-1, 0.25, 2, 0.5, 7, -3]), { shape: [2, 3], chunks: [1, 2] });
      const y = await client.compute(ta.mapBlocks('clip01', x, { dtype: 'float64' }));
      expect(Array.from(y.data as ArrayLike<number | bigint>)).toEqual([0, 0.25, 1, 0.5, 1, 0]);
      const missing = await client.compute(ta.mapBlocks('no-such-kernel', x, { dtype: 'float64' })).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(ta.TaskError);
      expect((missing as Error).message).toMatch(/no kernel registered under the name "no-such-kernel"/);
    } finally {
      await client.close();
    }
  });

  it('jobs stream events; AbortSignal cancels; persist keeps chunks for reuse', async () => {
    const client = await ta.Client.connect();
    try {
      const x = ta.random.normal([300, 300], { chunks: [100, 100], seed: 3 });
      const job = await client.submit(x.std());
      const states = new Set<string>();
      for await (const ev of job.events()) if (ev.type === 'task') states.add(ev.state);
      expect([...states].sort()).toEqual(['memory', 'processing', 'queued', 'released']);
      expect(await job.result()).toBeCloseTo(1, 1);
      const ac = new AbortController();
      ac.abort();
      await expect(client.compute(x.sum(), { signal: ac.signal })).rejects.toBeInstanceOf(ta.CancelledError);
      const kept = await client.persist(x.mul(2));
      expect(await client.compute(kept.std())).toBeCloseTo(2 * (await client.compute(x.std())), 10);
      await client.unpersist(kept);
    } finally {
      await client.close();
    }
  });

  it('cluster mode: the same code against a scheduler and two workers gives the same answers', async () => {
    const redis = await testRedis();
    const cluster = await startCluster({ redis: redis.url, workers: 2, threads: 1 });
    const local = await ta.Client.connect();
    const client = await ta.Client.connect(cluster.url);
    try {
      const x = ta.random.uniform([400, 400], { chunks: [100, 100], seed: 42 });
      const total = await client.compute(x.add(x.T).sum());
      expect(total).toBe(await local.compute(x.add(x.T).sum()));
      // Persisted blocks stay on the workers and later graphs start from them.
      const kept = await client.persist(x.mul(2));
      expect(await client.compute(kept.sum())).toBeCloseTo(2 * (await local.compute(x.sum())), 6);
      await client.unpersist(kept);
      await expect(client.compute(kept.sum())).rejects.toBeInstanceOf(ta.ChunkLostError);
    } finally {
      await client.close();
      await local.close();
      await cluster.stop();
      await redis.deletePrefix(cluster.prefix);
      await redis.close();
    }
  });

  it('the configuration table lists every flag and variable of every command, and only those', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Security'));
    const rows = [...section.matchAll(/^\| `(--[a-z-]+)[^`]*` \| `([A-Z_]+)` \| ([a-z, ]+) \|/gm)].map((m) => ({
      flag: m[1]!,
      env: m[2]!,
      commands: m[3]!.split(', '),
    }));
    expect(rows.length).toBeGreaterThan(20);
    const bin = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
    for (const command of ['scheduler', 'worker', 'local', 'submit', 'status']) {
      const help = spawnSync(process.execPath, [bin, command, '--help'], { encoding: 'utf8' }).stdout;
      const inHelp = [...help.matchAll(/^\s+(--[a-z-]+)[^\n]*(?:\n(?!\s+-)[^\n]*)*?env:\s+([A-Z_]+)\)/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
      const inTable = rows.filter((r) => r.commands.includes(command)).map((r) => `${r.flag} ${r.env}`).sort();
      expect([command, inTable]).toEqual([command, inHelp]);
    }
  });

  it('Zarr: the anomaly job reads a store, computes, writes a store that zarr-python reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-readme-zarr-'));
    const py = (code: string): string => execFileSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8', cwd: dir });
    py(`
import zarr, numpy as np
rng = np.random.default_rng(0)
t = 15 + 10 * np.sin(np.arange(90) / 30.0)[None, :, None] + rng.standard_normal((96, 90, 180))
zarr.open('data/temperature.zarr', mode='w', shape=t.shape, chunks=(32, 45, 60), dtype='f8')[...] = t
`);
    const client = await ta.Client.connect();
    try {
      const t = await ta.fromZarr(join(dir, 'data/temperature.zarr'));
      const anomaly = t.sub(t.mean({ axis: 0, keepdims: true }));
      await ta.toZarr(anomaly, join(dir, 'out/anomaly.zarr'), { client, chunks: [24, 90, 180], compressor: 'zstd' });
      const back = await ta.fromZarr(join(dir, 'out/anomaly.zarr'));
      expect([back.shape, back.chunks[0]]).toEqual([[96, 90, 180], [24, 24, 24, 24]]);
      expect(Math.abs(await client.compute(back.mean()))).toBeLessThan(1e-12);
      const ok = py(`
import zarr, numpy as np
t = zarr.open('data/temperature.zarr', mode='r')[...]
a = zarr.open('out/anomaly.zarr', mode='r')
print(a.chunks == (24, 90, 180) and a.compressor.codec_id == 'zstd' and bool(np.allclose(a[...], t - t.mean(axis=0, keepdims=True), rtol=0, atol=1e-12)))
`);
      expect(ok.trim()).toBe('True');
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('files: an HDF5 dataset, a Parquet dataset and an Arrow file read by the workers; toParquet writes part files hyparquet reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-readme-files-'));
    execFileSync('/usr/bin/python3', ['-c', `
import h5py, numpy as np
with h5py.File('run.h5', 'w') as f: f.create_dataset('fields/temperature', data=np.arange(600.0).reshape(20, 30), chunks=(5, 10), compression='gzip')
`], { cwd: dir });
    mkdirSync(join(dir, 'trades'));
    for (const [i, n] of [40, 25].entries()) {
      const price = Float64Array.from({ length: n }, (_, k) => 100 + k + i);
      const qty = BigInt64Array.from({ length: n }, (_, k) => BigInt(k + 1));
      writeFileSync(join(dir, `trades/part.${i}.parquet`), new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'price', data: price, type: 'DOUBLE' }, { name: 'qty', data: qty, type: 'INT64' }] })));
    }
    writeFileSync(join(dir, 'points.arrow'), arrow.tableToIPC(arrow.tableFromArrays({ x: Float64Array.from([1, 2, 3.5]) }), 'file'));
    const client = await ta.Client.connect();
    try {
      const t = await ta.fromHdf5(join(dir, 'run.h5'), { dataset: '/fields/temperature' });
      const { price, qty } = await ta.fromParquet(join(dir, 'trades/'), { columns: ['price', 'qty'] });
      const turnover = price!.mul(qty!.astype('float64'));
      await ta.toParquet({ price: price!, qty: qty!, turnover }, join(dir, 'out/trades/'), { client });
      const { x } = await ta.fromArrowIpc(join(dir, 'points.arrow'), { columns: ['x'] });
      expect([t.shape, price!.chunks[0]]).toEqual([[20, 30], [40, 25]]);
      expect(await client.compute([t.sum(), x!.sum()])).toEqual([(599 * 600) / 2, 6.5]);
      const rows = [];
      for (const i of [0, 1]) rows.push(...(await parquetReadObjects({ file: await asyncBufferFromFile(join(dir, `out/trades/part.${i}.parquet`)) })));
      expect(rows.length).toBe(65);
      expect(rows[41]).toEqual({ price: 102, qty: 2n, turnover: 204 });
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the API table names every array function the client exports", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| kind | operations |'), readme.indexOf('Errors in shapes, dtypes or chunks'));
    const named = new Set([...table.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1]!.split(/[\s/,(]+/)));
    // The functions a user calls on arrays (not the client, errors, graph helpers or types).
    const notArrayApi = new Set(['buildGraph', 'cull', 'fuse', 'order', 'toGraph', 'isChunkedArray']);
    const fns = Object.entries(ta)
      .filter(([k, v]) => typeof v === 'function' && /^[a-z]/.test(k) && !notArrayApi.has(k))
      .map(([k]) => k);
    expect(fns.length).toBeGreaterThan(60);
    expect(fns.filter((f) => !named.has(f))).toEqual([]);
  });
});

// File I/O on a cluster. --zarr: read a Zarr array (zstd), mean along axis 0, write the result as
// a new Zarr array. --hdf5: read an HDF5 dataset (gzip + shuffle, as h5py users write), mean
// along axis 0, gather the result. Tessera's scheduler + 2 workers × 1 thread (the tessera CLI)
// against Dask distributed's LocalCluster (2 worker processes × 1 thread), on the same file, in
// the same run.
//
//   node bench/run.mjs --zarr|--hdf5 [--quick] [--no-dask] [--repeats N] [--timeout S]
//
// The store (float64, 2 GiB, HDF5 1 GiB; --quick 32 MiB; Zarr chunks of 8 MiB, zstd level 1; HDF5
// chunks of 4 MiB, gzip level 1, read in blocks of 32 MiB by both sides) is made once by
// zarr-python or h5py under $TMPDIR/tessera-bench-zarr and reused while its parameters match. Both sides
// warm up once (so both read from the page cache), then the best of N timed runs counts. Each
// side's result is checked against the other's and against numpy's mean of a sample of columns.
// Results go to bench/results/<timestamp>-zarr.json.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { Redis } from 'ioredis';
import * as ta from '@tessera/client';
import { REDIS, fmtS, here, memOf, root, startTessera, withTimeout } from './cluster-tessera.mjs';

const PYTHON = process.env.TESSERA_BENCH_PYTHON ?? '/usr/bin/python3';

function parseFlags(argv) {
  const o = { format: 'zarr', quick: false, dask: true, repeats: undefined, timeoutS: 1200 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--zarr') continue;
    else if (a === '--hdf5') o.format = 'hdf5';
    else if (a === '--quick') o.quick = true;
    else if (a === '--no-dask') o.dask = false;
    else if (a === '--repeats') o.repeats = Number(argv[++i]);
    else if (a === '--timeout') o.timeoutS = Number(argv[++i]);
    else {
      console.error(`bench: unknown argument ${a}\nusage: node bench/run.mjs --zarr|--hdf5 [--quick] [--no-dask] [--repeats N] [--timeout S]`);
      process.exit(2);
    }
  }
  return o;
}

function python(code, what) {
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${what} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`);
  return r.stdout.trim();
}

/** The source store, made by zarr-python where it is missing or of other parameters. */
function ensureStore(params) {
  const dir = join(process.env.TMPDIR ?? os.tmpdir(), 'tessera-bench-zarr');
  const src = join(dir, `src-${params.rows}x${params.cols}.${params.format === 'hdf5' ? 'h5' : 'zarr'}`);
  const marker = params.format === 'hdf5' ? `${src}.bench-params` : join(src, '.bench-params');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === JSON.stringify(params)) return { dir, src };
  rmSync(src, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`  making ${src} (${(params.rows * params.cols * 8) / 2 ** 30} GiB float64) with ${params.format === 'hdf5' ? 'h5py' : 'zarr-python'}… `);
  const t0 = performance.now();
  const open =
    params.format === 'hdf5'
      ? `import h5py; z = h5py.File('${src}', 'w').create_dataset('x', shape=(rows, cols), chunks=(cr, cc), dtype='f8', compression='gzip', compression_opts=1, shuffle=True)`
      : `z = zarr.open('${src}', mode='w', shape=(rows, cols), chunks=(cr, cc), dtype='f8', compressor=numcodecs.Zstd(level=1))`;
  python(
    `
import zarr, numcodecs, numpy as np
rows, cols, cr, cc = ${params.rows}, ${params.cols}, ${params.chunk[0]}, ${params.chunk[1]}
${open}
rng = np.random.default_rng(1)
# A smooth field plus noise rounded to 1/1024: compressible as measured data is, not random bytes.
for r in range(0, rows, cr):
    n = min(cr, rows - r)
    z[r:r + n] = np.round(np.sin(np.arange(r, r + n)[:, None] / 500.0) * np.cos(np.arange(cols)[None, :] / 300.0) * 20 + rng.standard_normal((n, cols)), 10)
if hasattr(z, 'file'): z.file.close()
`,
    'making the store',
  );
  writeFileSync(marker, JSON.stringify(params));
  process.stderr.write(`${fmtS((performance.now() - t0) / 1000)}\n`);
  return { dir, src };
}

function runDask(params, o) {
  const args = [join(here, 'dask_files.py'), '--params', JSON.stringify(params)];
  if (o.repeats !== undefined) args.push('--repeats', String(o.repeats));
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').findLast((l) => l.startsWith('{'));
      resolve(code === 0 && line ? JSON.parse(line) : { engine: 'dask', error: `exit ${code}: ${(err || out).trim().split('\n').slice(-6).join('\n')}` });
    });
  });
}

async function runTesseraSide(params, redis, o) {
  const t0 = performance.now();
  const cluster = await startTessera(redis);
  const startupSeconds = (performance.now() - t0) / 1000;
  const client = await ta.Client.connect(cluster.url);
  try {
    const run = async () => {
      const start = performance.now();
      if (params.format === 'hdf5') {
        const x = await ta.fromHdf5(params.src, { dataset: 'x', chunks: params.blocks });
        const m = await withTimeout(client.compute(x.mean({ axis: params.axis })), o.timeoutS, 'the Tessera HDF5 job');
        writeFileSync(params.dst, new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      } else {
        const x = await ta.fromZarr(params.src);
        await withTimeout(ta.toZarr(x.mean({ axis: params.axis }), params.dst, { client, overwrite: true }), o.timeoutS, 'the Tessera Zarr job');
      }
      return (performance.now() - start) / 1000;
    };
    const warmup = await run();
    const n = o.repeats ?? (warmup <= 60 ? 3 : 1);
    const runs = [];
    for (let i = 0; i < n; i++) runs.push(await run());
    const workerMaxRssMiB = Math.max(...cluster.workers.map((w) => memOf(w.pid).peakMiB ?? 0));
    return { engine: 'tessera', seconds: Math.min(...runs), runs, warmup, startupSeconds, workerMaxRssMiB };
  } finally {
    await client.close();
    await cluster.stop();
  }
}

/** Resolves to the exit code. */
export async function runFiles(argv) {
  const o = parseFlags(argv);
  const hdf5 = o.format === 'hdf5';
  const params = o.quick
    ? { format: o.format, rows: 2048, cols: 2048, chunk: hdf5 ? [512, 1024] : [1024, 1024], axis: 0, ...(hdf5 && { blocks: [1024, 2048] }) }
    : hdf5
      ? { format: o.format, rows: 8192, cols: 16384, chunk: [512, 1024], axis: 0, blocks: [1024, 4096] }
      : { format: o.format, rows: 16384, cols: 16384, chunk: [1024, 1024], axis: 0 };
  const bytes = params.rows * params.cols * 8;
  const redis = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const { dir, src } = ensureStore(params);
    const stored = Number(python(`import os; p = '${src}'; print(os.path.getsize(p) if os.path.isfile(p) else sum(os.path.getsize(os.path.join(p, f)) for f in os.listdir(p)))`, 'measuring the store'));
    const ext = hdf5 ? 'f8' : 'zarr';
    const tParams = { ...params, src, dst: join(dir, `mean-tessera.${ext}`) };
    const dParams = { format: params.format, src, dst: join(dir, `mean-dask.${ext}`), axis: params.axis, blocks: params.blocks };
    console.error(`bench --${o.format}: ${params.rows}×${params.cols} float64 (${(bytes / 2 ** 30).toFixed(2)} GiB, ${(stored / 2 ** 30).toFixed(2)} GiB stored) on ${os.cpus().length}× ${os.cpus()[0]?.model}`);
    process.stderr.write('  tessera… ');
    const tessera = await runTesseraSide(tParams, redis, o).catch((e) => ({ engine: 'tessera', error: e.message }));
    process.stderr.write(tessera.error ? 'FAILED ' : `${fmtS(tessera.seconds)} `);
    let dask;
    if (o.dask) {
      process.stderr.write('dask… ');
      dask = await runDask(dParams, o);
      process.stderr.write(dask.error ? 'FAILED' : fmtS(dask.seconds));
    }
    process.stderr.write('\n');
    // Check: the means agree with each other and with numpy's over 64 sampled columns.
    const check = JSON.parse(
      python(
        `
import zarr, h5py, numpy as np, json, os
src = h5py.File('${src}', 'r')['x'] if '${o.format}' == 'hdf5' else zarr.open('${src}', mode='r')
cols = np.linspace(0, src.shape[1] - 1, 64).astype(int)
want = np.stack([src[:, c] for c in cols], axis=1).mean(axis=0)
out = {}
for side in ('tessera', 'dask'):
    p = '${dir}/mean-%s.${ext}' % side
    if not os.path.exists(p): continue
    m = np.fromfile(p, dtype='<f8') if p.endswith('.f8') else zarr.open(p, mode='r')[...]
    out[side] = bool(m.shape == (src.shape[1],) and np.allclose(m[cols], want, rtol=1e-10, atol=1e-12))
print(json.dumps(out))
`,
        'checking the results',
      ),
    );
    for (const r of [tessera, dask]) if (r && !r.error) r.ok = check[r.engine] === true;
    const gbps = (r) => (r && !r.error ? bytes / r.seconds / 2 / 1e9 : undefined);
    const ratio = tessera.seconds && dask?.seconds ? dask.seconds / tessera.seconds : undefined;
    const row = (r) => (!r ? '—' : r.error ? 'FAILED' : `${fmtS(r.seconds)} (${gbps(r).toFixed(2)} GB/s per worker, worker peak RSS ${Math.round(r.workerMaxRssMiB)} MiB)${r.ok ? '' : ' WRONG'}`);
    console.log(
      hdf5
        ? `hdf5 read + mean(axis 0), ${params.rows}×${params.cols} float64 in ${params.chunk.join('×')} chunks (gzip 1 + shuffle), blocks ${params.blocks.join('×')}`
        : `zarr read + mean(axis 0) + write, ${params.rows}×${params.cols} float64 in ${params.chunk.join('×')} chunks, zstd`,
    );
    console.log(`  tessera (scheduler + 2 workers × 1 thread): ${row(tessera)}`);
    console.log(`  dask distributed (2 workers × 1 thread):   ${row(dask)}`);
    if (ratio) console.log(`  ratio (Dask time / Tessera time): ${ratio.toFixed(2)}×; target no slower than Dask: ${ratio >= 1 ? 'met' : 'MISSED'}`);
    for (const r of [tessera, dask]) if (r?.error) console.log(`  ${r.engine} FAILED: ${r.error}`);
    const out = join(here, 'results');
    mkdirSync(out, { recursive: true });
    const file = join(out, `${new Date().toISOString().replace(/[:.]/g, '-')}-${o.format}${o.quick ? '-quick' : ''}.json`);
    const machine = { cpuModel: os.cpus()[0]?.model, cpuCount: os.cpus().length, node: process.version, loadAvg: os.loadavg() };
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), params, bytes, stored, machine, tessera, dask, ratio }, null, 2) + '\n');
    console.log(`results: ${relative(process.cwd(), file)}`);
    return [tessera, dask].some((r) => r && (r.error || !r.ok)) ? 1 : 0;
  } finally {
    redis.disconnect();
  }
}

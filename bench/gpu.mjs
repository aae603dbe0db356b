// The GPU benchmark (`npm run bench -- --gpu`, or `node bench/run.mjs --gpu` after a build):
//   1. float32 matmul N x N on the device (one tensordot task, inputs already there): GFLOPS and
//      the fraction of the card's float32 peak.
//   2. an elementwise chain ((x * 1.5 + 2) * x) and a sum over S bytes of float32 on the device:
//      GB/s (bytes read + written) and the fraction of the card's memory bandwidth.
//   3. end to end through the embedded engine: mean(sin(x)**2 + cos(x)**2 + x * x.T) over a random
//      float32 x in chunks of C x C, on the GPU (device 'gpu') and on the CPU path, same run: the ratio.
// Every figure is checked against the CPU kernels first. On a software adapter (lavapipe,
// SwiftShader) only correctness is reported, never speed, and the --quick sizes are used.
//
// Flags: --quick (N 512, S 16 MiB, 1024^2 in 256^2 chunks; full: N 8192, S 1 GiB, 16384^2 in
// 4096^2), --repeats N (default 3), --json PATH. Env: TESSERA_GPU_PEAK_GFLOPS, TESSERA_GPU_BANDWIDTH_GBS
// (the card's figures when the adapter name is not in the table below).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 2 ** 20;

/** float32 peak (non-tensor-core) GFLOPS and memory GB/s of some cards, by a name fragment. */
const CARDS = [
  ['H200', 66900, 4800],
  ['H100 PCIe', 51200, 2000],
  ['H100', 66900, 3350],
  ['A100', 19500, 2039],
  ['L40S', 91600, 864],
  ['L4', 30300, 300],
  ['A10', 31200, 600],
  ['RTX 4090', 82600, 1008],
  ['RTX 3090', 35600, 936],
  ['MI300X', 163400, 5300],
  ['Apple M2 Max', 13600, 400],
];

function cardFigures(name) {
  const peak = Number(process.env.TESSERA_GPU_PEAK_GFLOPS) || undefined;
  const bw = Number(process.env.TESSERA_GPU_BANDWIDTH_GBS) || undefined;
  const known = CARDS.find(([n]) => name.includes(n));
  return { peakGflops: peak ?? known?.[1], bandwidthGBs: bw ?? known?.[2] };
}

function usage(msg) {
  if (msg) console.error(`bench --gpu: ${msg}`);
  console.error('usage: node bench/run.mjs --gpu [--quick] [--repeats N] [--json PATH]');
  return 2;
}

const best = (xs) => Math.min(...xs);
const fmt = (x, d = 1) => (x === undefined ? '-' : x.toFixed(d));

function maxRelErr(got, want, floor = 1e-6) {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]) / Math.max(floor, Math.abs(want[i])));
  return m;
}

export async function runGpu(argv) {
  const args = argv.filter((a) => a !== '--gpu');
  if (args.includes('--help') || args.includes('-h')) return usage();
  const known = new Set(['--quick', '--repeats', '--json']);
  for (let i = 0; i < args.length; i++) {
    if (!known.has(args[i])) return usage(`unknown argument ${args[i]}`);
    if (args[i] === '--repeats' || args[i] === '--json') i++;
  }
  const value = (f) => {
    const i = args.indexOf(f);
    return i < 0 ? undefined : args[i + 1];
  };
  const repeats = Number(value('--repeats') ?? 3);
  if (!Number.isInteger(repeats) || repeats < 1) return usage('--repeats needs a positive integer');

  const worker = await import('@tessera/worker');
  const protocol = await import('@tessera/protocol');
  const ta = await import('@tessera/client');
  let runner;
  try {
    runner = await worker.GpuRunner.open();
  } catch (e) {
    console.error(`bench --gpu: no GPU: ${e.message}`);
    return 1;
  }
  const info = runner.info;
  const software = info.fallback;
  const quick = args.includes('--quick') || software;
  const N = quick ? 512 : 8192;
  const S = quick ? 16 * MiB : 1024 * MiB;
  const E = quick ? { n: 1024, c: 256 } : { n: 16384, c: 4096 };
  const card = cardFigures(info.name);
  console.log(`GPU: ${info.name}${software ? ' (software adapter: correctness only, no speed figures)' : ''}`);
  if (software && !args.includes('--quick')) console.log('  (software adapter: using the --quick sizes)');
  const results = { adapter: info.name, fallback: software, quick, sizes: { matmulN: N, streamBytes: S, engine: E }, checks: {}, speed: {} };
  const key = (op, i = 0) => `${op}-${i.toString(16).padStart(16, '0')}:0`;
  const time = async (fn) => {
    const t0 = performance.now();
    await fn();
    return (performance.now() - t0) / 1000;
  };

  // ---- 1. matmul ------------------------------------------------------------------------------
  {
    const mk = (seed) => {
      const c = protocol.allocChunk('float32', [N, N]);
      let s = seed;
      for (let i = 0; i < c.data.length; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        c.data[i] = s / 2 ** 32 - 0.5;
      }
      return c;
    };
    const a = mk(1);
    const b = mk(2);
    const task = { key: key('matmul'), op: 'tensordot', params: { axesA: [1], axesB: [0], pairs: 1 }, shape: [N, N], dtype: 'float32' };
    const why = runner.unsupported(task, [a, b]);
    if (why) {
      console.log(`matmul ${N}^2: skipped (${why})`);
      results.checks.matmul = `skipped: ${why}`;
    } else {
      const da = runner.upload(a);
      const db = runner.upload(b);
      // Correctness on a corner: the CPU kernel on the first 64 rows.
      const out = await runner.run(task, [da, db]);
      const [got] = await runner.readback([out.device]);
      runner.release(out.device);
      const rows = Math.min(N, 64);
      const aTop = { dtype: 'float32', shape: [rows, N], data: a.data.subarray(0, rows * N) };
      const want = worker.executeTask({ ...task, shape: [rows, N] }, [aTop, b]);
      // Error relative to K * max|a| * max|b| (0.25 here): float32 accumulation over K terms.
      let maxAbs = 0;
      for (let i = 0; i < want.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got.data[i] - want.data[i]));
      const err = maxAbs / (N * 0.25);
      results.checks.matmul = { errOfKAB: err, ok: err < 1e-5 };
      const times = [];
      for (let r = 0; r < repeats; r++) {
        times.push(
          await time(async () => {
            const o = await runner.run(task, [da, db]);
            runner.release(o.device);
          }),
        );
      }
      const gflops = (2 * N ** 3) / best(times) / 1e9;
      if (!software) results.speed.matmul = { seconds: best(times), gflops, fractionOfPeak: card.peakGflops ? gflops / card.peakGflops : undefined };
      console.log(
        `matmul ${N}^2 float32: check ${err < 1e-5 ? 'ok' : 'FAILED'} (max error ${err.toExponential(1)} of K|a||b|)` +
          (software ? '' : `, ${fmt(gflops, 0)} GFLOPS${card.peakGflops ? ` = ${fmt((100 * gflops) / card.peakGflops)}% of ${card.peakGflops} peak` : ''}`),
      );
      runner.release(da);
      runner.release(db);
    }
  }

  // ---- 2. elementwise chain and sum on S bytes ---------------------------------------------
  {
    const maxBinding = info.limits.maxStorageBufferBindingSize ?? 2 ** 27;
    const chunkBytes = Math.min(S, 256 * MiB, 2 ** Math.floor(Math.log2(maxBinding)));
    const chunks = S / chunkBytes;
    const n = chunkBytes / 4;
    const make = { key: key('random'), op: 'random', params: { dist: 'uniform', seed: 5, a: -1, b: 1, offset: [0], fullShape: [n] }, shape: [n], dtype: 'float32' };
    const xs = [];
    for (let i = 0; i < chunks; i++) xs.push((await runner.run({ ...make, params: { ...make.params, seed: 5 + i } }, [])).device);
    const chain = {
      key: key('chain'),
      op: 'elementwise',
      params: {
        program: [
          { op: 'mul', args: [{ input: 0 }, { const: 1.5, dtype: 'float32' }], dtype: 'float32' },
          { op: 'add', args: [{ ref: 0 }, { const: 2, dtype: 'float32' }], dtype: 'float32' },
          { op: 'mul', args: [{ ref: 1 }, { input: 0 }], dtype: 'float32' },
        ],
        inputs: [{}],
        domain: [n],
      },
      shape: [n],
      dtype: 'float32',
    };
    const sum = { key: key('sum'), op: 'reduce-partial', params: { kind: 'sum', axes: [0] }, shape: [1, 1], dtype: 'float64' };
    // Correctness on the first chunk against the CPU kernels.
    const [x0] = await runner.readback([xs[0]]);
    const y0 = await runner.run(chain, [xs[0]]);
    const [gy] = await runner.readback([y0.device]);
    runner.release(y0.device);
    const cy = worker.executeTask(chain, [x0]);
    const errChain = maxRelErr(gy.data, cy.data, 1e-3);
    const gs = (await runner.run(sum, [xs[0]])).host.data[0];
    const cs = worker.executeTask(sum, [x0]).data[0];
    const l1 = x0.data.reduce((s, v) => s + Math.abs(v), 0);
    const errSum = Math.abs(gs - cs) / l1;
    results.checks.elementwise = { maxRelErr: errChain, ok: errChain < 1e-6 };
    results.checks.sum = { relErrOfL1: errSum, ok: errSum < 1e-5 };
    const tChain = [];
    const tSum = [];
    for (let r = 0; r < repeats; r++) {
      tChain.push(
        await time(async () => {
          const outs = await Promise.all(xs.map((x) => runner.run(chain, [x])));
          for (const o of outs) runner.release(o.device);
        }),
      );
      tSum.push(await time(() => Promise.all(xs.map((x) => runner.run(sum, [x])))));
    }
    const chainGBs = (2 * S) / best(tChain) / 1e9;
    const sumGBs = S / best(tSum) / 1e9;
    if (!software) {
      results.speed.elementwise = { seconds: best(tChain), GBs: chainGBs, fractionOfBandwidth: card.bandwidthGBs ? chainGBs / card.bandwidthGBs : undefined };
      results.speed.sum = { seconds: best(tSum), GBs: sumGBs, fractionOfBandwidth: card.bandwidthGBs ? sumGBs / card.bandwidthGBs : undefined };
    }
    const pct = (g) => (card.bandwidthGBs ? ` = ${fmt((100 * g) / card.bandwidthGBs)}% of ${card.bandwidthGBs} GB/s` : '');
    console.log(`elementwise chain on ${S / MiB} MiB: check ${errChain < 1e-6 ? 'ok' : 'FAILED'}${software ? '' : `, ${fmt(chainGBs)} GB/s${pct(chainGBs)}`}`);
    console.log(`sum on ${S / MiB} MiB: check ${errSum < 1e-5 ? 'ok' : 'FAILED'}${software ? '' : `, ${fmt(sumGBs)} GB/s${pct(sumGBs)}`}`);
    for (const x of xs) runner.release(x);
  }
  runner.close();

  // ---- 3. end to end through the engine ----------------------------------------------------
  {
    const expr = () => {
      const x = ta.random.uniform([E.n, E.n], { chunks: E.c, seed: 42, dtype: 'float32' });
      return ta.sin(x).pow(2).add(ta.cos(x).pow(2)).add(x.mul(x.T)).mean();
    };
    const gpuClient = await ta.Client.connect({ gpu: true });
    const cpuClient = await ta.Client.connect({ gpu: false });
    try {
      const g = await gpuClient.compute(expr(), { device: 'gpu' });
      const c = await cpuClient.compute(expr());
      const err = Math.abs(g - c) / Math.abs(c);
      results.checks.engine = { gpu: g, cpu: c, relErr: err, ok: err < 1e-4 };
      const tg = [];
      const tc = [];
      for (let r = 0; r < repeats; r++) {
        tg.push(await time(() => gpuClient.compute(expr(), { device: 'gpu' })));
        tc.push(await time(() => cpuClient.compute(expr())));
      }
      const ratio = best(tc) / best(tg);
      if (!software) results.speed.engine = { gpuSeconds: best(tg), cpuSeconds: best(tc), ratio };
      console.log(
        `engine, mean(sin(x)**2 + cos(x)**2 + x * x.T), ${E.n}^2 float32 in ${E.c}^2 chunks: check ${err < 1e-4 ? 'ok' : 'FAILED'} (GPU ${g}, CPU ${c})` +
          (software ? '' : `, GPU ${fmt(best(tg), 3)} s, CPU ${fmt(best(tc), 3)} s: ${fmt(ratio)}x`),
      );
    } finally {
      await gpuClient.close();
      await cpuClient.close();
    }
  }

  const ok = Object.values(results.checks).every((c) => typeof c === 'string' || c.ok);
  const out = value('--json') ?? join(here, 'results', `gpu-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`${ok ? 'all checks passed' : 'SOME CHECKS FAILED'}; results in ${out}`);
  return ok ? 0 : 1;
}

// `npm run demo`: a sample array job on the embedded local engine, with a progress bar.
import * as ta from '@tessera/client';

const n = Number(process.env.TESSERA_DEMO_N ?? 8000);
const chunk = Math.max(1, Math.round(n / 8));
const client = await ta.Client.connect();
try {
  const x = ta.random.uniform([n, n], { chunks: [chunk, chunk], seed: 42 });
  console.log(`x: ${n}x${n} float64 (${((n * n * 8) / 2 ** 20).toFixed(0)} MiB) in ${chunk}x${chunk} chunks, uniform [0, 1)`);

  let t0 = performance.now();
  const total = await client.compute(x.add(x.T).sum(), { progress: true });
  let dt = performance.now() - t0;
  console.log(`sum(x + x.T)          = ${total.toFixed(3)}   (expected about ${(n * n).toLocaleString()})   ${dt.toFixed(0)} ms`);

  t0 = performance.now();
  const m = await client.compute(x.mean({ axis: 0 }), { progress: true });
  dt = performance.now() - t0;
  const avg = m.data.reduce((a, b) => a + b, 0) / m.data.length;
  console.log(`mean(x, axis=0)       = ${m.dtype}${JSON.stringify(m.shape)}, average ${avg.toFixed(5)} (expected about 0.5)   ${dt.toFixed(0)} ms`);

  t0 = performance.now();
  const one = await client.compute(ta.mean(ta.sin(x).pow(2).add(ta.cos(x).pow(2))), { progress: true });
  dt = performance.now() - t0;
  console.log(`mean(sin²x + cos²x)   = ${one.toFixed(12)} (expected 1)   ${dt.toFixed(0)} ms`);
} finally {
  await client.close();
}

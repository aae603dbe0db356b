// CPU binding's effect on a memory-bound workload: `tessera local --workers 2 --threads 1`
// with and without `--bind`, alternating, each computing sum(x + x.T) of 8000² float64 in 1000²
// blocks unfused (every block of x materialised and read twice), best of the runs after a
// warm-up. Prints one JSON line per mode:
//
//   node bench/binding.mjs [--rounds 2] [--repeats 5]
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as ta from '@tessera/client';

const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const arg = (f, d) => (process.argv.includes(f) ? Number(process.argv[process.argv.indexOf(f) + 1]) : d);
const rounds = arg('--rounds', 2);
const repeats = arg('--repeats', 5);

async function measure(bind) {
  const args = [BIN, 'local', '--workers', '2', '--threads', '1', '--port', '0', ...(bind ? ['--bind'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    let out = '';
    const started = new Promise((resolve) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
    });
    const url = await Promise.race([started, sleep(60_000, undefined, { ref: false }).then(() => Promise.reject(new Error('tessera local did not start in 60 s')))]);
    const client = await ta.Client.connect(url);
    try {
      const times = [];
      for (let i = 0; i <= repeats; i++) {
        const x = ta.random.uniform([8000, 8000], { chunks: [1000, 1000], seed: 1 });
        const t = performance.now();
        await client.compute(x.add(x.T).sum(), { fuse: false });
        times.push(performance.now() - t);
      }
      return Math.min(...times.slice(1));
    } finally {
      await client.close();
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const best = { free: [], bind: [] };
for (let r = 0; r < rounds; r++) for (const mode of ['free', 'bind']) best[mode].push(await measure(mode === 'bind'));
for (const mode of ['free', 'bind']) console.log(JSON.stringify({ mode, bestMs: Math.round(Math.min(...best[mode])), runsMs: best[mode].map(Math.round) }));

// Fifty clients against one scheduler, and what one flooding client costs them: per-client p99
// graph latency with no flood, with a flood under the default per-client rate limits, and with
// the same flood and no limits (--rate-limit 0), each on a fresh scheduler and 2 workers.
//
//   npm run build && node bench/many-clients.mjs [--clients 50] [--graphs 6]
//
// The flooder is a child process of its own (16 loops of junk msgpack and 4 of 8 MiB junk bodies,
// as fast as the scheduler answers), so its load is not this process's. Redis: TESSERA_BENCH_REDIS
// (default redis://127.0.0.1:6379), a fresh prefix per phase.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as ta from '@tessera/client';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'packages/cli/bin/tessera.mjs');
const REDIS = process.env.TESSERA_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const CLIENTS = arg('clients', 50);
const GRAPHS = arg('graphs', 6);

const FLOODER = `
const [url, kind] = process.argv.slice(1);
const body = kind === 'huge' ? new Uint8Array(8 * 2 ** 20).fill(0xc1) : new Uint8Array([0xc1, 0xc1]);
const counts = {};
const loop = async () => { for (;;) {
  const res = await fetch(url + '/api/graphs', { method: 'POST', headers: { 'content-type': 'application/msgpack', 'x-tessera-client': 'c-flood' }, body }).catch(() => undefined);
  if (res) { counts[res.status] = (counts[res.status] ?? 0) + 1; await res.arrayBuffer().catch(() => undefined); }
} };
for (let i = 0; i < (kind === 'huge' ? 4 : 16); i++) void loop();
process.on('SIGTERM', () => { console.log(JSON.stringify(counts)); process.exit(0); });
`;

const children = [];
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function start(args, ready) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(ready);
      if (m) resolve({ child, match: m });
    });
    child.once('exit', (code) => reject(new Error(`tessera ${args[0]} exited ${code}`)));
  });
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function phase(name, { flood, limits }) {
  const prefix = `bench-clients-${randomBytes(4).toString('hex')}`;
  const schedArgs = ['scheduler', '--redis', REDIS, '--port', '0', '--prefix', prefix, '--log-level', 'warn'];
  if (!limits) schedArgs.push('--rate-limit', '0');
  const { child: scheduler, match } = await start(schedArgs, /listening on (http:\/\/\S+)/);
  const url = match[1];
  const workers = [];
  for (let i = 0; i < 2; i++)
    workers.push(
      (await start(['worker', '--redis', REDIS, '--scheduler', url, '--threads', '1', '--log-level', 'warn'], /serving chunks at/)).child,
    );
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => ta.Client.connect(url)));
  // Warm: one graph each, not timed.
  await Promise.all(clients.map((c) => c.compute(ta.arange(500, { dtype: 'float64', chunks: [50] }).sum())));
  const flooders = flood
    ? ['junk', 'huge'].map((kind) => spawn(process.execPath, ['-e', FLOODER, url, kind], { stdio: ['ignore', 'pipe', 'inherit'] }))
    : [];
  const floodOut = flooders.map(
    (f) =>
      new Promise((r) => {
        let s = '';
        f.stdout.on('data', (d) => (s += d));
        f.once('exit', () => r(s));
      }),
  );
  await sleep(flood ? 1_000 : 0);
  const p99 = await Promise.all(
    clients.map(async (c, i) => {
      const ms = [];
      for (let j = 0; j < GRAPHS; j++) {
        const n = 2_000 + 31 * i + j;
        const t0 = performance.now();
        const got = await c.compute(
          ta
            .arange(n, { dtype: 'float64', chunks: [97] })
            .mul(2)
            .sum(),
        );
        ms.push(performance.now() - t0);
        if (got !== n * (n - 1)) throw new Error(`client ${i}: wrong answer ${got}`);
      }
      return quantile(ms, 0.99);
    }),
  );
  flooders.forEach((f) => f.kill('SIGTERM'));
  const counts = (await Promise.all(floodOut)).map((s) => (s.trim() ? JSON.parse(s) : {}));
  await Promise.all(clients.map((c) => c.close()));
  for (const c of [scheduler, ...workers]) c.kill('SIGTERM');
  await sleep(500);
  const r = { name, medianP99: quantile(p99, 0.5), worstP99: Math.max(...p99), flood: counts };
  console.log(
    `${name.padEnd(28)} per-client p99: median ${r.medianP99.toFixed(0)} ms, worst ${r.worstP99.toFixed(0)} ms${flood ? `; flooder answers ${JSON.stringify(counts)}` : ''}`,
  );
  return r;
}

console.log(`${CLIENTS} clients x ${GRAPHS} graphs (sum(2 arange(n)), ~45 tasks each), scheduler + 2 workers, ${os.cpus()[0]?.model}`);
const quiet = await phase('no flood', { flood: false, limits: true });
const limited = await phase('flood, rate limits on', { flood: true, limits: true });
const open = await phase('flood, no rate limits', { flood: true, limits: false });
console.log(
  `worst per-client p99 vs no flood: with limits ${(limited.worstP99 / quiet.worstP99).toFixed(2)}x, without ${(open.worstP99 / quiet.worstP99).toFixed(2)}x`,
);
process.exit(0);

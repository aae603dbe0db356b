// The result cache across runs (joblib's Memory), with real processes: each run of the local
// engine is a process of its own; the cluster's workers share one cache folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { engineClient, until } from './cluster.test-util.js';

const root = mkdtempSync(join(tmpdir(), 'tessera-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const RUN = fileURLToPath(new URL('./fixtures/cache-run.mjs', import.meta.url));
const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));

interface Run {
  sha: string;
  shape: number[];
  stats?: { tasksExecuted: number; cache: { hits: number; misses: number; writes: number; corrupt: number } };
}
const run = (...args: string[]): Run => JSON.parse(execFileSync(process.execPath, [RUN, ...args], { encoding: 'utf8' })) as Run;
const runWith = (kernels: string, dir: string): Run =>
  JSON.parse(execFileSync(process.execPath, [RUN, dir], { encoding: 'utf8', env: { ...process.env, CACHE_KERNELS: kernels } })) as Run;
const WORKER = new URL('../packages/worker/dist/index.js', import.meta.url).href;
/** A kernel module of the test's own, in a temporary folder (so that the test may change it). */
function kernelModule(file: string, note: string): void {
  writeFileSync(
    file,
    `import { registerKernel } from '${WORKER}';
// ${note}
registerKernel('cache-scale', ([x], { k }) => x.data.map((v) => v * k));
registerKernel('cache-plain', ([x]) => x.data.map((v) => -v));
`,
  );
}
const entries = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.chunk'))
    .map((f) => join(dir, f));

describe('result cache, local engine, a process per run', () => {
  const dir = join(root, 'local');

  it('a second run reads every cached chunk from disk, computes none of them, and gives the same bytes', () => {
    const first = run(dir);
    // Every cacheable task missed and was stored (the last writes finish as the engine closes).
    const stored = entries(dir).length;
    expect(first.stats!.cache).toMatchObject({ hits: 0, corrupt: 0, misses: stored });
    expect(stored).toBeGreaterThan(10);
    const second = run(dir);
    expect(second.sha).toBe(first.sha);
    expect(second.stats!.cache).toMatchObject({ hits: stored, misses: 0, writes: 0 });
    // What still runs is what is never cached (views), not the work.
    expect(second.stats!.tasksExecuted).toBe(first.stats!.tasksExecuted - stored);
  });

  it('a corrupted entry is found by its checksum and recomputed, never returned', () => {
    const biggest = entries(dir).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const bytes = readFileSync(biggest);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    writeFileSync(biggest, bytes);
    const count = entries(dir).length;
    const repaired = run(dir);
    expect(repaired.stats!.cache).toMatchObject({ corrupt: 1, misses: 1, hits: count - 1 });
    // Recomputed and stored again: the next run hits everything.
    expect(entries(dir)).toHaveLength(count);
    const after = run(dir);
    expect(after.stats!.cache).toMatchObject({ corrupt: 0, misses: 0, hits: count });
    expect(repaired.sha).toBe(after.sha);
  });

  it('user kernels: a pure one is cached, until its module changes; one not said to be pure never is, nor what follows it', () => {
    const kdir = join(root, 'kernels');
    const module = join(root, 'cache-kernels.mjs');
    kernelModule(module, 'version 1');
    const first = runWith(module, kdir);
    const listed = JSON.parse(execFileSync(process.execPath, [BIN, 'cache', 'ls', '--dir', kdir, '--json'], { encoding: 'utf8' })) as { key: string; op: string }[];
    const pure = listed.filter((e) => e.op === 'map-blocks');
    // x has 5 x 3 blocks: x and each block of the pure kernel are stored; not the other kernel,
    // nor the sum and rechunk downstream of it (their keys would not change with its answers).
    expect(pure).toHaveLength(15);
    expect(pure.every((e) => e.key.startsWith('cache_scale-'))).toBe(true);
    expect(listed.map((e) => e.op).sort()).toEqual([...Array<string>(15).fill('map-blocks'), ...Array<string>(15).fill('random')]);
    const second = runWith(module, kdir);
    expect(second.sha).toBe(first.sha);
    expect(second.stats!.cache).toMatchObject({ hits: listed.length, misses: 0 });
    kernelModule(module, 'version 2: the module changed');
    expect(runWith(module, kdir).stats!.cache).toMatchObject({ hits: listed.length - 15, misses: 15 });
  });

  it('tessera cache ls lists the entries and clear empties the folder', () => {
    const listed = JSON.parse(execFileSync(process.execPath, [BIN, 'cache', 'ls', '--dir', dir, '--json'], { encoding: 'utf8' })) as { key: string; op: string }[];
    expect(listed).toHaveLength(entries(dir).length);
    expect(new Set(listed.map((e) => e.op))).toEqual(new Set(['random', 'elementwise', 'transpose', 'sort', 'cumulate', 'assemble']));
    expect(execFileSync(process.execPath, [BIN, 'cache', 'clear', '--dir', dir], { encoding: 'utf8' })).toMatch(`deleted ${listed.length} entries`);
    expect(entries(dir)).toEqual([]);
    expect(() => execFileSync(process.execPath, [BIN, 'cache', 'ls'], { encoding: 'utf8', stdio: 'pipe', env: { ...process.env, TESSERA_CACHE_DIR: '' } })).toThrow(/--dir/);
  });
});

describe('result cache, a cluster whose workers share a folder', () => {
  const dir = join(root, 'cluster');
  const eng = engineClient('cluster', { env: { TESSERA_CACHE_DIR: dir } });
  const executed = async (): Promise<number> => (await (eng.client.engine as ta.HttpEngine).workers()).reduce((s, w) => s + (w.heartbeat?.executed ?? 0), 0);

  it('compute(x, { cache: true }) stores the outputs; the same graph again, from another client, runs none of them', async () => {
    const url = eng.cluster!.url;
    const x = ta.random.uniform([400, 300], { chunks: [100, 100], seed: 5 });
    // Without cache: true nothing is stored.
    await eng.client.compute(x.mul(2).sum());
    expect(entries(dir)).toEqual([]);
    const first = run(dir, url);
    // The workers write their entries after the results went out: count once the folder has been
    // still for two seconds (a loaded CI machine pauses a write for longer than one look).
    let stored = entries(dir).length;
    for (let still = 0; still < 4; ) {
      await new Promise((r) => setTimeout(r, 500));
      const n = entries(dir).length;
      still = n === stored ? still + 1 : 0;
      stored = n;
    }
    expect(stored).toBeGreaterThan(10);
    await until('the heartbeats to report the first run', async () => (await executed()) > 0, 10_000, eng.cluster);
    await new Promise((r) => setTimeout(r, 600));
    const ran = await executed();
    const second = run(dir, url);
    expect(second.sha).toBe(first.sha);
    expect(entries(dir)).toHaveLength(stored);
    await new Promise((r) => setTimeout(r, 600));
    // Only the never-cached views ran again (far fewer than the stored tasks).
    expect((await executed()) - ran).toBeLessThan(stored / 2);
  }, 90_000);
});

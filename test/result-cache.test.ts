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
    const stored = entries(dir).length;
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

// CPU binding with real processes: `tessera worker --cpus` and `tessera local --bind` pin every
// thread of a worker, as /proc/<pid>/task/*/status says; a CPU that is not there fails the start.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { parseCpuList } from '@tessera/protocol';
import { engineClient, until } from './cluster.test-util.js';
import { testRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';

const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const run = promisify(execFile);

/** Cpus_allowed_list of every thread of a process. */
function threadCpus(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'))![1]!);
}
const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
const last = parseCpuList(allowed).at(-1)!;

describe('tessera worker --cpus', () => {
  const eng = engineClient('cluster', { env: { TESSERA_CPUS: String(last) } });

  it('pins every thread of the worker (pool threads included), says so at registration, and runs graphs', async () => {
    const http = eng.client.engine as ta.HttpEngine;
    await until('both workers to register', async () => (await http.workers()).length === 2, 20_000);
    const workers = await http.workers();
    for (const w of workers) {
      expect(w.info.cpus).toEqual([last]);
      expect(w.info.threads).toBe(1);
      const cpus = threadCpus(w.info.pid);
      expect(cpus.length).toBeGreaterThan(3); // main, pool, libuv's, V8's
      expect(new Set(cpus)).toEqual(new Set([String(last)]));
    }
    expect(await eng.client.compute(ta.arange(1000, { chunks: [100] }).sum())).toBe(499500);
    const status = await run(process.execPath, [BIN, 'status', '--scheduler', eng.cluster!.url]);
    expect(status.stdout).toContain(`1 (CPUs ${last})`);
  });

  it('a CPU the machine does not have, or a list that is not one, fails the start with a message naming it', async () => {
    const bad = (cpus: string) => run(process.execPath, [BIN, 'worker', '--scheduler', eng.cluster!.url, '--cpus', cpus], { timeout: 20_000 });
    await expect(bad('4000')).rejects.toMatchObject({ stderr: expect.stringMatching(/CPU 4000 is not one this process may run on/) });
    await expect(bad('3-1')).rejects.toMatchObject({ stderr: expect.stringMatching(/runs backwards/) });
  });
});

describe('tessera local --bind', () => {
  const redis = testRedis();
  afterAll(async () => (await redis).close());

  it('gives each worker CPUs of its own', async () => {
    const r = await redis;
    const n = parseCpuList(allowed).length;
    const child = spawn(process.execPath, [BIN, 'local', '--workers', String(n), '--threads', '1', '--bind', '--port', '0', '--redis', r.url, '--prefix', `bind-${process.pid}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await until('tessera local to start', () => /listening on (http:\/\/\S+)/.test(out), 60_000);
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
      const client = await ta.Client.connect(url);
      try {
        const http = client.engine as ta.HttpEngine;
        await until('every worker to register', async () => (await http.workers()).length === n, 20_000);
        const workers = await http.workers();
        expect(workers.map((w) => w.info.cpus![0]!).sort((a, b) => a - b)).toEqual(parseCpuList(allowed));
        for (const w of workers) expect(new Set(threadCpus(w.info.pid))).toEqual(new Set([String(w.info.cpus![0])]));
      } finally {
        await client.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
      await (await redis).deletePrefix(`bind-${process.pid}`);
    }
  }, 90_000);
});

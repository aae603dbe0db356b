// The README's commands and programs, run exactly as a newcomer types them on one machine: each
// command line must appear verbatim in the README, runs through a shell with `npx` from the
// repository (or from a folder holding the README's file), and long-running ones are stopped as
// a terminal does it (SIGINT to the whole process group for Ctrl-C). Only the environment keeps
// runs apart (a Redis key prefix of their own); nothing is added to a command line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** A command line of the README, checked to be there word for word. */
function readmeCommand(line: string): string {
  expect(README.includes(line), `README has the command \`${line}\``).toBe(true);
  return line;
}

/** The body of the README's code block whose first line is `// <name>` (or `// <name>: ...`). */
function readmeFile(name: string): string {
  const m = new RegExp('```ts\\n(// ' + name.replace('.', '\\.') + '[\\s:][\\s\\S]*?)```').exec(README);
  expect(m, `README has a code block for ${name}`).not.toBeNull();
  return m![1]!;
}

interface Shell {
  child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Signal the whole process group (SIGINT is the terminal's Ctrl-C) and wait until all of it has exited. */
  stop(signal: NodeJS.Signals, ms?: number): Promise<void>;
}

function shell(cmd: string, cwd: string, env: Record<string, string>): Shell {
  const child = spawn('bash', ['-c', cmd], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  const group = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  const groupAlive = (): boolean => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.once('exit', () => group('SIGKILL'));
  return {
    child,
    output: () => out,
    async waitFor(re, ms = 60_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`\`${cmd}\` exited ${child.exitCode} before printing ${re}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`\`${cmd}\` printed no ${re} within ${ms} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(signal, ms = 60_000) {
      const deadline = Date.now() + ms;
      if (groupAlive()) group(signal);
      // npx itself dies of the SIGINT (as in a terminal); what counts is that every process of
      // the group, ours included, is gone by itself in time.
      while (groupAlive()) {
        if (Date.now() > deadline) {
          group('SIGKILL');
          throw new Error(`\`${cmd}\` left processes running ${ms} ms after ${signal}:\n${out.slice(-4000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await exit;
    },
  };
}

/** Run a command to its end: its exit code and everything it printed. */
async function run(cmd: string, cwd: string, env: Record<string, string> = {}, ms = 120_000): Promise<{ code: number | null; out: string; stdout: string }> {
  const s = shell(cmd, cwd, env);
  let stdout = '';
  s.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise<number | null>((r) => s.child.once('exit', (c) => r(c))),
    new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms))),
  ]);
  clearTimeout(timer);
  if (code === 'hung') {
    await s.stop('SIGKILL', 5_000);
    throw new Error(`\`${cmd}\` did not finish within ${ms} ms:\n${s.output()}`);
  }
  return { code, out: s.output(), stdout };
}

/** A folder a user would keep their programs in, that sees this repository's packages. */
function userFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-readme-'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('README commands, run as written', { timeout: 180_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = userFolder({
      'quickstart.ts': readmeFile('quickstart.ts'),
      'kernels.mjs': readmeFile('kernels.mjs'),
      'clip.ts': readmeFile('clip.ts'),
      'cluster.ts': readmeFile('cluster.ts'),
      'job.ts': readmeFile('job.ts'),
      'blur.mjs': readmeFile('blur.mjs'),
      'blur.ts': readmeFile('blur.ts'),
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the quick-start program and the user-kernel program run on the embedded engine', async () => {
    const quick = await run(readmeCommand('npx tessera submit --local quickstart.ts'), dir);
    expect(quick.code, quick.out).toBe(0);
    const [total, ...rest] = quick.stdout.trim().split(/\s+/);
    expect(Number(total)).toBeCloseTo(16_000_000, -5); // 16M uniform pairs, mean 1
    expect(rest.join(' ')).toBe('[ 4000 ] float64');
    const clip = await run('npx tessera submit --local clip.ts', dir);
    expect(README).toContain('`npx tessera submit --local <file>`');
    expect(clip.code, clip.out).toBe(0);
    expect(clip.stdout.trim()).toBe('true true');
  });

  it('the Gaussian blur by mapOverlap gives scipy.ndimage.gaussian_filter at the corners and a block junction', async () => {
    const blur = await run('npx tessera submit --local blur.ts', dir);
    expect(blur.code, blur.out).toBe(0);
    const ours = blur.stdout.trim().split(/\s+/).map(Number);
    const scipy = spawnSync(process.env['TESSERA_NUMPY_PYTHON'] ?? '/usr/bin/python3', ['-c', [
      'import numpy as np, scipy.ndimage as nd',
      'i = np.arange(2000)[:, None]; j = np.arange(3000)',
      'b = nd.gaussian_filter(((i * 7 + j * 13) % 17).astype("f8"), 2)',
      'print(b[0, 0], b[1000, 1500], b[1999, 2999])',
    ].join('\n')], { encoding: 'utf8' });
    expect(scipy.status, scipy.stderr).toBe(0);
    const want = scipy.stdout.trim().split(/\s+/).map(Number);
    expect(ours).toHaveLength(3);
    ours.forEach((v, k) => expect(Math.abs(v - want[k]!)).toBeLessThan(1e-12));
  });

  it('cluster mode: a scheduler and two workers, the cluster program, status and the dashboard', async () => {
    // The README's Redis is the machine's own at 6379: a key prefix of this run's keeps it apart.
    const prefix = `readme-${randomUUID().slice(0, 8)}`;
    const env = { TESSERA_PREFIX: prefix };
    const procs: Shell[] = [];
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    try {
      const scheduler = shell(readmeCommand('npx tessera scheduler --redis redis://127.0.0.1:6379 --port 8786'), ROOT, env);
      procs.push(scheduler);
      await scheduler.waitFor(/tessera scheduler listening on http:\/\/127\.0\.0\.1:8786/);
      const workerLine = readmeCommand('npx tessera worker --redis redis://127.0.0.1:6379 --scheduler http://127.0.0.1:8786 --threads 4');
      const workers = [shell(workerLine, ROOT, env), shell(workerLine, ROOT, env)];
      procs.push(...workers);
      await Promise.all(workers.map((w) => w.waitFor(/serving chunks at/)));

      const program = await run('npx tessera submit cluster.ts', dir);
      expect(README).toContain('`npx tessera submit cluster.ts`');
      expect(program.code, program.out).toBe(0);
      const local = await ta.Client.connect();
      try {
        const x = ta.random.uniform([4000, 4000], { chunks: [1000, 1000], seed: 42 });
        expect(Number(program.stdout.trim())).toBe(await local.compute(x.add(x.T).sum()));
      } finally {
        await local.close();
      }

      const status = await run(readmeCommand('npx tessera status'), ROOT);
      expect(status.code, status.out).toBe(0);
      expect(status.stdout).toMatch(/^scheduler http:\/\/127\.0\.0\.1:8786: 2 workers, \d+ graphs/);

      const dashboard = shell(readmeCommand('npx tessera dashboard --scheduler http://127.0.0.1:8786 --port 8787'), ROOT, {});
      procs.push(dashboard);
      await dashboard.waitFor(/tessera dashboard listening on http:\/\/127\.0\.0\.1:8787/);
      const page = await fetch('http://127.0.0.1:8787/');
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<title>[^<]*Tessera/i);

      // Ctrl-C in each terminal: every process leaves by itself, saying so.
      for (const p of [dashboard, ...workers, scheduler]) {
        await p.stop('SIGINT');
        expect(p.output()).toMatch(/SIGINT, shutting down/);
        expect(p.output()).not.toMatch(/shutdown failed/);
      }
      expect(scheduler.output()).toMatch(/scheduler stopped; graph state stays in Redis/);
    } finally {
      for (const p of procs) await p.stop('SIGKILL', 5_000).catch(() => undefined);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });

  it('run locally: `tessera local`, then `tessera submit ./job.ts` and `tessera status`, then Ctrl-C', async () => {
    const local = shell(readmeCommand('npx tessera local --workers 2 --threads 1'), ROOT, {});
    try {
      const ready = await local.waitFor(/tessera local: scheduler listening on http:\/\/127\.0\.0\.1:8786 with 2 workers of 1 threads \(Redis (\S+)\)/, 90_000);
      const job = await run(readmeCommand('npx tessera submit ./job.ts -- 1000'), dir);
      expect(job.code, job.out).toBe(0);
      expect(JSON.parse(job.stdout)).toEqual({ sum: 499_500, mean: 499.5 });
      const status = await run(readmeCommand('npx tessera status'), ROOT);
      expect(status.stdout).toMatch(/^scheduler http:\/\/127\.0\.0\.1:8786: 2 workers, \d+ graphs/);
      const json = await run('npx tessera status --json', ROOT);
      expect((JSON.parse(json.stdout) as { workers: unknown[] }).workers).toHaveLength(2);
      // Ctrl-C reaches every process of the terminal's group: the workers drain, then the
      // scheduler and its private Redis (a group of its own, so it outlives them) stop.
      await local.stop('SIGINT');
      expect(local.output()).toMatch(/scheduler stopped; graph state stays in Redis/);
      expect(local.output()).not.toMatch(/shutdown failed|redis connection lost/);
      const port = Number(new URL(ready[1]!).port);
      const refused = await new Promise<string>((r) => {
        const sock = connect(port, '127.0.0.1', () => (sock.destroy(), r('connected')));
        sock.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? e.message));
      });
      expect(refused).toBe('ECONNREFUSED');
    } finally {
      await local.stop('SIGKILL', 5_000).catch(() => undefined);
    }
  });
});
